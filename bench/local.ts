/**
 * Local mode benchmarks, on real processes behind the real proxy:
 *  (a) zero downtime: failed requests through a full release and through a rollback under steady
 *      load, and the latency the proxy adds (p50/p99 through the proxy vs. direct to one backend);
 *  (b) rollback reaction: time from the faulty version's first 5xx to 0% traffic on it.
 *
 *   npm run bench:local
 */
import { Agent, request } from 'node:http';
import { resolveConfig } from '../src/config/config.js';
import { percentile } from '../src/core/percentile.js';
import { LoadGenerator } from '../src/local/load.js';
import { startLocalMode } from '../src/composition/local-mode.js';
import type { Release } from '../src/core/release.js';

const CHECK_INTERVAL_S = 1;
const RPS = 200;
const config = resolveConfig({
  services: [
    {
      name: 'demo',
      target: {
        driver: 'local',
        command: ['node', 'examples/demo-service/server.mjs'],
        replicas: 2,
        port: 8080,
        testPort: 8081,
        readiness: { interval: 0 },
        drainTimeout: '5s',
        env: { STARTUP_MS: '100' },
      },
      strategy: {
        type: 'canary',
        steps: [
          { percent: 10, bake: '4s' },
          { percent: 50, bake: '4s' },
        ],
        finalBake: '3s',
      },
      gates: {
        metrics: [
          { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '2s', minSamples: 5 },
        ],
        checkInterval: `${CHECK_INTERVAL_S}s`,
      },
    },
  ],
});

const mode = await startLocalMode({ config, port: 0, inMemory: true, ephemeralPorts: true, token: 'bench' });
const target = mode.targets.get('demo');
if (!target) throw new Error('no demo target');
const proxyUrl = `http://127.0.0.1:${target.proxy.productionPort}/`;
const actor = { id: 'bench', channel: 'api' } as const;

async function sequentialLatencies(url: string, n: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/', agent }, (res) => {
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

async function waitEnd(id: string): Promise<Release> {
  for (;;) {
    const r = await mode.runtime.deps.store.get(id);
    if (r && ['succeeded', 'rolled_back', 'failed', 'cancelled'].includes(r.phase)) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(3));

// Latency the proxy adds: the same sequential keep-alive requests, direct and through the proxy.
const [backendPort] = target.backendPorts('v1');
await sequentialLatencies(proxyUrl, 300); // warm-up
const direct = await sequentialLatencies(`http://127.0.0.1:${backendPort}/`, 3000);
const proxied = await sequentialLatencies(proxyUrl, 3000);
console.log('(a) latency, 3000 sequential keep-alive GETs each');
console.log(`    direct to one backend   p50 ${fmt(percentile(direct, 50))} ms   p99 ${fmt(percentile(direct, 99))} ms`);
console.log(`    through the proxy       p50 ${fmt(percentile(proxied, 50))} ms   p99 ${fmt(percentile(proxied, 99))} ms`);
console.log(`    proxy adds              p50 ${fmt((percentile(proxied, 50) ?? 0) - (percentile(direct, 50) ?? 0))} ms (goal < 1 ms)`);

async function underLoad(label: string, run: () => Promise<Release>): Promise<void> {
  const load = new LoadGenerator({ url: proxyUrl, requestsPerSecond: RPS, concurrency: 8 });
  load.start();
  const started = Date.now();
  const release = await run();
  await new Promise((r) => setTimeout(r, 500));
  const stats = await load.stop();
  const lat = [...stats.latenciesMs].sort((a, b) => a - b);
  console.log(
    `    ${label.padEnd(28)} ${release.phase.padEnd(11)} ${((Date.now() - started) / 1000).toFixed(1)}s  ${stats.sent} requests, ${stats.failed} failed (goal 0)  p50 ${fmt(percentile(lat, 50))} ms  p99 ${fmt(percentile(lat, 99))} ms`,
  );
}

console.log(`\n(a) zero downtime at ${RPS} requests/s`);
await underLoad('full release v1 -> v2', async () => waitEnd((await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor })).release.id));
await underLoad('rollback at 50% (v3)', async () => {
  const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v3', actor });
  for (;;) {
    const r = await mode.runtime.deps.store.get(release.id);
    if (r?.weight === 50) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  await mode.runtime.releases.act(release.id, 'rollback', actor, 'benchmark');
  return waitEnd(release.id);
});

// Rollback reaction: first 5xx from the faulty version -> 0% on it.
let firstError: number | undefined;
const load = new LoadGenerator({
  url: proxyUrl,
  requestsPerSecond: RPS,
  concurrency: 8,
  onFailure: (who) => (firstError ??= who === 'v4-faulty' ? performance.now() : undefined),
});
load.start();
const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v4-faulty', actor });
let zeroAt: number | undefined;
while (zeroAt === undefined) {
  if (firstError !== undefined && !target.traffic['v4-faulty']) zeroAt = performance.now();
  await new Promise((res) => setTimeout(res, 5));
}
const faulty = await waitEnd(release.id);
await load.stop();
const reaction = (zeroAt - (firstError ?? zeroAt)) / 1000;
console.log(
  `\n(b) rollback reaction: first 5xx from v4-faulty -> 0% on it in ${reaction.toFixed(2)}s; gate interval ${CHECK_INTERVAL_S}s (goal <= ${2 * CHECK_INTERVAL_S + 1}s); release ${faulty.phase}: ${faulty.reason}`,
);

await mode.stop();
