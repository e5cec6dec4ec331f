/**
 * HAProxy driven by Switchyard, with the router in its own process (so the CPU of following HAProxy's log
 * ring and reading its counters is counted): prints `<port> <haproxy pid>`, serves until killed. With
 * `release` as its second argument, the one backend is also registered as a second version and the split
 * between them changes every second (10/90 ... 90/10), as during a release.
 */
import { HaproxyAdmin } from '../../src/adapters/local/haproxy-admin.js';
import { HaproxyRouter } from '../../src/adapters/local/haproxy-router.js';

const backendPort = Number(process.argv[2]);
const releasing = process.argv[3] === 'release';
// One thread, as the hand-configured HAProxy beside it (and each Node proxy) has.
const router = new HaproxyRouter({ name: 'bench', port: 0, upstreamTimeoutMs: 60_000, readinessPath: '/ready', threads: 1 });
await router.addBackend({ id: 'a', version: 'v1', port: backendPort });
if (releasing) await router.addBackend({ id: 'b', version: 'v2', port: backendPort });
await router.setWeights({ v1: 100 });
await router.start();
const pid = Number(/^Pid: (\d+)$/m.exec(await new HaproxyAdmin(router.adminSocket).run('show info'))?.[1]);
process.stdout.write(`${router.productionPort} ${pid}\n`);
if (releasing) {
  let step = 0;
  setInterval(() => {
    const v2 = 10 + 10 * (step++ % 9);
    void router.setWeights({ v1: 100 - v2, v2 });
  }, 1000);
}
process.on('SIGTERM', () => void router.close().then(() => process.exit(0)));
