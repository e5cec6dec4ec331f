import { expect, it } from 'vitest';
import type { LocalMode } from '../../src/composition/local-mode.js';
import type { Release } from '../../src/core/release.js';
import { describeWithHaproxy, liveShares } from '../support/haproxy.js';
import { ended, localUnderLoad } from '../support/local-under-load.js';
import { eventually, releaseUntil } from '../support/poll.js';

// Local mode end to end with HAProxy as the service's data plane: the workflow, the store and the gates
// as in local-mode.test.ts, real processes, real HTTP under steady load, HAProxy driven only through its
// runtime API. No request may fail because of a switch, whatever a person decides.

const DEMO = ['node', 'examples/demo-service/server.mjs'];

function demoService(strategy: Record<string, unknown>) {
  return {
    name: 'demo',
    target: {
      driver: 'local',
      command: DEMO,
      replicas: 2,
      port: 8080,
      testPort: 8081,
      readiness: { path: '/ready', interval: 0, timeout: '5s' },
      drainTimeout: '5s',
      env: { STARTUP_MS: '100' },
      dataPlane: { type: 'haproxy' },
    },
    strategy,
    gates: {
      metrics: [
        { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '3s', minSamples: 5 },
      ],
      checkInterval: '1s',
      maxExtension: '3s',
    },
  };
}

const start = localUnderLoad();
const until = (m: LocalMode, id: string, predicate: (r: Release) => boolean, timeoutMs = 30_000) =>
  releaseUntil(m.runtime.deps.store, id, predicate, { timeoutMs, intervalMs: 50 });
const person = { id: 'oncall', channel: 'api' } as const;

describeWithHaproxy('local mode with HAProxy as the data plane, end to end under load', () => {
  it('a release rolled back by a person, then one promoted by a person: zero failed requests, and HAProxy itself holds the split', async () => {
    const { mode, target, load } = await start(demoService({ type: 'canary', steps: [{ percent: 10, bake: '1m' }], finalBake: '1s' }));
    const admin = target.adminSocket ?? '';
    const share = async (version: string) => {
      const shares = await liveShares(admin);
      return Math.round(target.backendPorts(version).reduce((n, port) => n + (shares.get(port) ?? 0), 0));
    };

    const first = (await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: person })).release;
    await until(mode, first.id, (r) => r.phase === 'baking');
    expect(await share('v2')).toBe(10);
    expect(await share('v1')).toBe(90);
    // The test route serves the new version only.
    const tested = await fetch(`http://127.0.0.1:${target.proxy.testPortBound}/`);
    expect(tested.headers.get('x-version')).toBe('v2');
    await eventually(
      async () => load.stats.servedBy.get('v2') ?? 0,
      (n) => n >= 5,
      { timeoutMs: 15_000 },
    );
    await mode.runtime.releases.act(first.id, 'rollback', person);
    expect((await until(mode, first.id, ended)).phase).toBe('rolled_back');
    expect(await share('v1')).toBe(100);
    expect((await fetch(`http://127.0.0.1:${target.proxy.testPortBound}/`)).status).toBe(503); // no new version: nothing to test

    const second = (await mode.runtime.releases.startRelease({ service: 'demo', image: 'v3', actor: person })).release;
    await until(mode, second.id, (r) => r.phase === 'baking');
    await eventually(
      async () => load.stats.servedBy.get('v3') ?? 0,
      (n) => n >= 5,
      { timeoutMs: 15_000 },
    );
    await mode.runtime.releases.act(second.id, 'promote', person);
    expect((await until(mode, second.id, ended)).phase).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 300));
    const stats = await load.stop();
    expect(stats.failed).toBe(0);
    expect(stats.servedBy.get('v2')).toBeGreaterThan(0);
    expect(stats.servedBy.get('v3')).toBeGreaterThan(0);
    expect(target.traffic).toEqual({ v3: 100 });
    expect(await share('v3')).toBe(100);
    expect(target.pids).toHaveLength(2);
  });

  it('a rolling release replaces the replicas a batch at a time through HAProxy’s slots: zero failed requests, only the new replicas serving at the end', async () => {
    const service = demoService({ type: 'rolling', batch: 25, batchBake: '1s', finalBake: '1s' });
    const { mode, target, load } = await start({ ...service, target: { ...service.target, replicas: 4 } });
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: person });
    const done = await until(mode, release.id, ended, 40_000);
    await new Promise((r) => setTimeout(r, 300));
    const stats = await load.stop();
    expect(done.phase).toBe('succeeded');
    expect(stats.failed).toBe(0);
    expect(stats.servedBy.get('v1')).toBeGreaterThan(0);
    expect(stats.servedBy.get('v2')).toBeGreaterThan(0);
    // HAProxy itself: the four new replicas share production, and nothing else takes any.
    const shares = await liveShares(target.adminSocket ?? '');
    expect([...shares.keys()].sort()).toEqual(target.backendPorts('v2').sort());
    expect(Math.round([...shares.values()].reduce((a, b) => a + b, 0))).toBe(100);
  }, 60_000);

  it('a faulty version is rolled back by its gate on HAProxy’s counters; errors come only from it', async () => {
    const { mode, target, load } = await start(
      demoService({
        type: 'canary',
        steps: [
          { percent: 10, bake: '3s' },
          { percent: 50, bake: '3s' },
        ],
        finalBake: '2s',
      }),
    );
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v3-faulty', actor: person });
    const done = await until(mode, release.id, ended);
    const failedAtEnd = load.stats.failed;
    await new Promise((r) => setTimeout(r, 500));
    const stats = await load.stop();
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toMatch(/^gate failed: error-rate: Average of ErrorRate = [\d.]+ \(breaches > 5\)/);
    expect([...stats.failuresBy.keys()]).toEqual(['v3-faulty']);
    expect(stats.failed).toBe(failedAtEnd);
    expect(target.traffic).toEqual({ v1: 100 });
  });
});
