/**
 * The proxy alone in a child process, so a test can give it few descriptors (`ulimit -n`): prints its port,
 * answers the message 'health' with `proxy.health()`, serves until killed.
 */
import { WeightedProxy } from '../../src/adapters/local/proxy.js';

const proxy = new WeightedProxy({ name: 'limited', port: 0 });
proxy.addBackend({ id: 'a', version: 'v2', port: Number(process.argv[2]) });
proxy.setWeights({ v2: 100 });
await proxy.start();
process.on('message', (m) => {
  if (m === 'health') process.send?.(proxy.health());
});
process.stdout.write(`${proxy.productionPort}\n`);
