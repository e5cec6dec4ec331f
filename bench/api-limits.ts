/**
 * What the API's readers cost what else local mode serves (the attacker's findings): another
 * service's latency through its proxy, and the API's own (GET /healthz), sequential keep-alive GETs, while
 *  (a) nothing else happens;
 *  (b) 500 event streams are asked for on a release waiting for approval (125 people's tokens, 4 each);
 *  (c) 20 callers each list releases by phase once a second, with 2,000 releases stored.
 *
 *   npm run bench:api
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startLocalMode } from '../src/composition/local-mode.js';
import { resolveConfig } from '../src/config/config.js';
import { compilePlan } from '../src/core/plan.js';
import { createRelease } from '../src/core/transitions.js';
import { percentile } from '../src/core/percentile.js';

const STREAMS = 500;
const LISTERS = 20;
const STORED = 2000;
const people = Array.from({ length: STREAMS / 4 }, (_, i) => ({ name: `p${i}`, localToken: `P${i}_TOKEN` }));
const env = Object.fromEntries(people.map((p, i) => [p.localToken, `bench-person-token-${String(i).padStart(4, '0')}`]));
const service = (name: string, port: number, approvals?: object) => ({
  name,
  target: { driver: 'local', command: ['node', 'examples/demo-service/server.mjs'], replicas: 1, port, readiness: { interval: 0 }, env: { STARTUP_MS: '50' } },
  strategy: { type: 'canary', steps: [{ percent: 20, bake: '1s' }], finalBake: '1s' },
  gates: { metrics: [], checkInterval: '1s' },
  ...(approvals ? { approvals } : {}),
});
const config = resolveConfig({
  services: [service('watched', 8080, { at: ['after-first-step'], timeout: '1h' }), service('other', 8090)],
  people,
});
const mode = await startLocalMode({ config, port: 0, inMemory: true, ephemeralPorts: true, token: 'bench-shared-token', env });
const other = mode.targets.get('other');
if (!other) throw new Error('no other target');
const proxyUrl = new URL(`http://127.0.0.1:${other.proxy.productionPort}/`);

const apiUrl = new URL(`${mode.apiUrl}/healthz`);

async function latencies(n: number, url: URL = proxyUrl): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    out.push(performance.now() - started);
  }
  agent.destroy();
  return out.sort((a, b) => a - b);
}

const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(2));
async function measure(label: string): Promise<void> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const lat = await latencies(300);
  const api = await latencies(100, apiUrl);
  delay.disable();
  console.log(
    `${label.padEnd(58)} other service p50 ${fmt(percentile(lat, 50))} ms  p99 ${fmt(percentile(lat, 99))} ms  API p50 ${fmt(percentile(api, 50))} ms  p99 ${fmt(percentile(api, 99))} ms  event loop delay p99 ${fmt(delay.percentile(99) / 1e6)} ms`,
  );
}

await latencies(100); // warm-up
await measure('(a) quiet');

// (b) A release waiting for approval, and 500 streams asked for on it.
const actor = { id: 'bench', channel: 'api' } as const;
const { release } = await mode.runtime.releases.startRelease({ service: 'watched', image: 'v2', actor });
for (;;) {
  if ((await mode.runtime.deps.store.get(release.id))?.phase === 'awaiting_approval') break;
  await new Promise((r) => setTimeout(r, 50));
}
const aborts: AbortController[] = [];
const statuses = new Map<number, number>();
for (let i = 0; i < STREAMS; i++) {
  const controller = new AbortController();
  const token = env[`P${Math.floor(i / 4)}_TOKEN`] ?? '';
  const res = await fetch(`${mode.apiUrl}/releases/${release.id}/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (res.ok) {
    aborts.push(controller);
    void res.body?.pipeTo(new WritableStream()).catch(() => undefined);
  } else await res.body?.cancel();
}
await new Promise((r) => setTimeout(r, 1000)); // a second of the streams' steady state before measuring
await measure(`(b) ${STREAMS} streams asked (${[...statuses].map(([s, n]) => `${n}x ${s}`).join(', ')})`);
for (const a of aborts) a.abort();
await new Promise((r) => setTimeout(r, 500));

// (c) 2,000 releases stored (3 waiting for approval), 20 callers listing the waiting ones in a loop.
const plan = compilePlan({ type: 'canary', steps: [{ percent: 10, bakeSeconds: 60 }], finalBakeSeconds: 60 });
const settings = {
  gates: [],
  gatePolicy: { checkIntervalSeconds: 30, onInconclusive: 'fail', maxExtensionSeconds: 60, maxErrors: 2 },
  approvalRules: { approvers: [], fourEyes: false },
  pauseTimeoutSeconds: 600,
} as const;
for (let i = 0; i < STORED; i++) {
  const r = createRelease({ id: `r-bench-${i}`, service: 'watched', artifact: { image: `v${i}` }, plan, settings, actor }, Date.now() - (STORED - i) * 1000);
  await mode.runtime.deps.store.create({ ...r, phase: 'succeeded' });
}
let listing = true;
let lists = 0;
let listMs = 0;
const listers = Array.from({ length: LISTERS }, async (_, i) => {
  await new Promise((r) => setTimeout(r, (1000 / LISTERS) * i)); // spread over the second
  while (listing) {
    const started = performance.now();
    const res = await fetch(`${mode.apiUrl}/releases?phase=awaiting_approval&limit=20`);
    await res.arrayBuffer();
    lists++;
    listMs += performance.now() - started;
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - started))));
  }
});
await new Promise((r) => setTimeout(r, 1500));
await measure(`(c) ${LISTERS} callers listing by phase once a second, ${STORED} releases stored`);
console.log(`    ${lists} lists by phase answered, ${fmt(listMs / lists)} ms each on average`);
listing = false;
await Promise.all(listers);
await mode.stop();
