/**
 * Steering reaction: how long a rollback (and a promote) asked mid-bake takes to move traffic,
 * with a 60 s gate check interval and a 10-minute bake, so a steer that waited for the next check
 * would take up to a minute. Two paths:
 *  (a) local mode: real processes behind the real proxy, the local engine; time from the API call
 *      to 0% on the new version at the proxy (rollback) or to 100% (promote);
 *  (b) the AWS wiring: the Step Functions adapter, whose wake is a SendTaskSuccess through the SDK,
 *      answered by the same definition in the local interpreter (test/support/fake-stepfunctions.ts).
 *
 *   npm run bench:steering
 */
import { startLocalDynamo } from '../src/adapters/dynamodb/dynalite.js';
import type { DataPlaneTarget } from '../src/adapters/local/data-plane-client.js';
import { HaproxyAdmin } from '../src/adapters/local/haproxy-admin.js';
import { findHaproxy } from '../src/adapters/local/haproxy-router.js';
import { startLocalMode } from '../src/composition/local-mode.js';
import { resolveConfig } from '../src/config/config.js';
import type { HumanDecision } from '../src/core/approvals.js';
import { percentile } from '../src/core/percentile.js';
import type { Release } from '../src/core/release.js';
import type { ReleaseService } from '../src/engine/releases.js';
import type { Releases } from '../src/ports/release-store.js';
import { awsRuntimeOnFake } from '../test/support/fake-stepfunctions.js';
import { demoTarget } from '../test/support/demo.js';

const RUNS = 5;
const actor = { id: 'bench', channel: 'api' } as const;
const strategy = { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '10m' } as const;
const gates = { metrics: [], checkInterval: '60s' } as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(2);
  }
}
const baking = (store: Releases, id: string) =>
  until(async () => {
    const r = await store.get(id);
    return r?.phase === 'baking' && r.weight === 10 && r.wake && 'token' in r.wake ? r : undefined;
  });

interface Path {
  readonly releases: ReleaseService;
  readonly store: Releases;
  /** Resolves when the traffic the decision asks for is in place. */
  moved(decision: HumanDecision, image: string): Promise<unknown>;
}

async function measure(label: string, path: Path): Promise<void> {
  for (const decision of ['rollback', 'promote'] as const) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const image = `v${decision === 'rollback' ? 'r' : 'p'}${i + 2}`;
      const { release } = await path.releases.startRelease({ service: 'demo', image, actor });
      await baking(path.store, release.id);
      await sleep(200); // deep in the wait
      const asked = performance.now();
      await path.releases.act(release.id, decision, actor, 'benchmark');
      await path.moved(decision, image);
      times.push(performance.now() - asked);
      await until(async () => {
        const r: Release | undefined = await path.store.get(release.id);
        return r && ['succeeded', 'rolled_back'].includes(r.phase) ? r : undefined;
      });
    }
    times.sort((a, b) => a - b);
    const what = decision === 'rollback' ? 'rollback -> 0% on the new version' : 'promote  -> 100% on the new version';
    console.log(
      `    ${label.padEnd(34)} ${what}  p50 ${percentile(times, 50)!.toFixed(0)} ms  max ${times.at(-1)!.toFixed(0)} ms  (${RUNS} runs; goal <= 2s; next check was up to 60s away)`,
    );
  }
}

console.log('Steering mid-bake, gate check interval 60 s, bake 10 min');

/** Local mode with one data plane: the demo service's production split, as that data plane applies it. */
async function localMode(label: string, dataPlane: Record<string, unknown> | undefined, applied: (target: DataPlaneTarget, image: string) => Promise<number>) {
  const mode = await startLocalMode({
    config: resolveConfig({ services: [{ name: 'demo', target: demoTarget(dataPlane ? { dataPlane } : {}), strategy, gates }] }),
    port: 0,
    inMemory: true,
    ephemeralPorts: true,
    token: 'bench',
  });
  const target = mode.targets.get('demo')!;
  await measure(label, {
    releases: mode.runtime.releases,
    store: mode.runtime.deps.store,
    moved: (decision, image) =>
      until(async () => {
        const share = await applied(target, image);
        // Promote: 100% on the new version, or finalized already (the old version gone).
        return (decision === 'rollback' ? share === 0 : share === 100 || target.stableVersion === image) ? true : undefined;
      }),
  });
  await mode.stop();
}

// (a) local mode, real processes behind the built-in proxy.
await localMode('(a) local engine, real processes', undefined, async (target, image) => target.traffic[image] ?? 0);

// (a') the same with HAProxy as the data plane: the split read from HAProxy's runtime API (its servers' weights).
if (findHaproxy()) {
  await localMode("(a') the same, HAProxy data plane", { type: 'haproxy' }, async (target, image) => {
    const stats = (await new HaproxyAdmin(target.adminSocket ?? '').serverStats()).filter((s) => s.backend === 'production' && s.status === 'UP');
    const total = stats.reduce((n, s) => n + s.weight, 0);
    const ports = new Set(target.backendPorts(image).map((p) => `127.0.0.1:${p}`));
    const mine = stats.filter((s) => ports.has(s.address)).reduce((n, s) => n + s.weight, 0);
    return total === 0 ? 0 : Math.round((100 * mine) / total);
  });
} else console.log("    (a') HAProxy data plane: left out, HAProxy is not installed (apt-get install haproxy)");

// (b) the Step Functions adapter.
const dynamo = await startLocalDynamo();
const { runtime, driver, close } = awsRuntimeOnFake({
  config: resolveConfig({ services: [{ name: 'demo', target: { driver: 'local', command: 'true', port: 9000 }, strategy, gates }] }),
  dynamo,
});
await measure('(b) Step Functions adapter', {
  releases: runtime.releases,
  store: runtime.store,
  moved: (decision, image) =>
    until(() => {
      const s = driver.state('demo');
      return (decision === 'rollback' ? s.weight === 0 : s.stable === image || (s.candidate === image && s.weight === 100)) ? true : undefined;
    }),
});
await close();
await dynamo.close();
