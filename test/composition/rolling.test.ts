import { describe, expect, it } from 'vitest';
import { demoTarget } from '../support/demo.js';
import { ended, localUnderLoad } from '../support/local-under-load.js';
import { releaseUntil } from '../support/poll.js';

/** The local driver's rolling strategy with real processes behind the proxy, under load. */
function rollingService(overrides: Record<string, unknown> = {}) {
  return {
    name: 'demo',
    target: demoTarget({ replicas: 4, readiness: { path: '/ready', interval: 0, timeout: '5s' }, drainTimeout: '5s', env: { STARTUP_MS: '100' } }),
    strategy: { type: 'rolling', batch: 25, batchBake: '2s', finalBake: '1s' },
    gates: {
      metrics: [
        { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '2s', minSamples: 5 },
      ],
      checkInterval: '1s',
      maxExtension: '2s',
    },
    ...overrides,
  };
}

const start = localUnderLoad();

describe('rolling in local mode (real processes, real HTTP)', () => {
  it('replaces the replicas a batch at a time (new ready before old drain), weights following the replicas, zero failed requests', async () => {
    const { mode, target, load } = await start(rollingService());
    await new Promise((r) => setTimeout(r, 300));
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: { id: 't', channel: 'api' } });
    // Watch the processes: there are never fewer than 4 ready replicas serving, never more than 5.
    const seen: { v1: number; v2: number }[] = [];
    const watch = setInterval(() => {
      const v1 = target.backendPorts('v1').length;
      const v2 = target.backendPorts('v2').length;
      seen.push({ v1, v2 });
    }, 20);
    const done = await releaseUntil(mode.runtime.deps.store, release.id, ended, { timeoutMs: 40_000, intervalMs: 50 });
    clearInterval(watch);
    await new Promise((r) => setTimeout(r, 300));
    const stats = await load.stop();
    expect(done.phase).toBe('succeeded');
    expect(done.timeline.filter((e) => e.type === 'shifted').map((e) => e.message)).toEqual(
      [25, 50, 75, 100].map((p) => `${p}% of production traffic on the new version`),
    );
    expect(stats.failed).toBe(0);
    expect(stats.servedBy.get('v1')).toBeGreaterThan(50);
    expect(stats.servedBy.get('v2')).toBeGreaterThan(50);
    expect(target.traffic).toEqual({ v2: 100 });
    expect(target.pids).toHaveLength(4);
    // One batch of surge at most, and at least the desired count running all along.
    expect(Math.max(...seen.map((s) => s.v1 + s.v2))).toBeLessThanOrEqual(5);
    expect(Math.min(...seen.map((s) => s.v1 + s.v2))).toBeGreaterThanOrEqual(4);
    expect(seen.some((s) => s.v1 === 2 && s.v2 === 2)).toBe(true);
  }, 60_000);

  it('a faulty version is caught at its first batch; the replaced replicas come back, and only the faulty version failed requests', async () => {
    const { mode, target, load } = await start(rollingService());
    const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v3-faulty', actor: { id: 't', channel: 'api' } });
    const done = await releaseUntil(mode.runtime.deps.store, release.id, ended, { timeoutMs: 40_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 500));
    const stats = await load.stop();
    expect(done.phase).toBe('rolled_back');
    expect([...stats.failuresBy.keys()]).toEqual(['v3-faulty']);
    expect(target.stableVersion).toBe('v1');
    expect(target.traffic).toEqual({ v1: 100 });
    expect(target.backendPorts('v1')).toHaveLength(4);
    expect(target.candidatePids).toEqual([]);
  }, 60_000);
});
