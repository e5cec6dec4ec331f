/** The proxy alone in its own process (so its CPU can be measured): prints its port, serves until killed. */
import { WeightedProxy } from '../../src/adapters/local/proxy.js';

const backendPort = Number(process.argv[2]);
const proxy = new WeightedProxy({ name: 'bench', port: 0 });
proxy.addBackend({ id: 'b', version: 'v1', port: backendPort });
proxy.setWeights({ v1: 100 });
await proxy.start();
process.stdout.write(`${proxy.productionPort}\n`);
process.on('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
