import { describe, expect, it } from 'vitest';
import { ended, localUnderLoad } from '../support/local-under-load.js';
import { releaseUntil } from '../support/poll.js';
import { demoTarget } from '../support/demo.js';

/**
 * The canary judge in local mode, on real processes under load: subtle faults that the usual
 * thresholds (error rate above 5%, p99 above 500 ms) let through are caught by comparing the new
 * version with the stable one, period by period, in the same windows.
 */
const start = localUnderLoad({ requestsPerSecond: 200, concurrency: 8 });

/** A 50% canary baking 30 s, thresholds at 5% errors and 500 ms p99, and the judge on 1 s periods. */
const judged = {
  name: 'demo',
  target: demoTarget(),
  strategy: { type: 'canary', steps: [{ percent: 50, bake: '30s' }], finalBake: '1s' },
  gates: {
    metrics: [
      { name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5, period: '5s', minSamples: 10 },
      { name: 'latency-p99', metric: 'TargetResponseTime', statistic: 'p99', comparison: 'GreaterThanThreshold', threshold: 0.5, period: '5s', minSamples: 10 },
    ],
    judge: { signals: ['errors', 'latency'], period: '1s', alpha: 0.05 },
    checkInterval: '1s',
  },
};

describe('the judge catches what thresholds miss (local mode, real traffic)', () => {
  it.each([
    ['a version failing 2% of requests', 'v2-flaky', 'judge-errors', 'error-rate'],
    ['a version 30 ms slower', 'v3-laggy', 'judge-latency', 'latency-p99'],
  ])(
    '%s is rolled back by the judge while its threshold gate still passes',
    async (_name, image, judge, threshold) => {
      const { mode: m } = await start(judged);
      const { release } = await m.runtime.releases.startRelease({ service: 'demo', image, actor: { id: 't', channel: 'api' } });
      const done = await releaseUntil(m.runtime.deps.store, release.id, ended, { timeoutMs: 40_000, intervalMs: 100 });
      expect(done.phase).toBe('rolled_back');
      expect(done.reason).toContain(`gate failed: ${judge}`);
      const verdicts = Object.fromEntries(done.gateResults.map((g) => [g.gate, g]));
      expect(verdicts[threshold]?.verdict).not.toBe('fail');
      const evidence = verdicts[judge]?.evidence;
      // The new version's events reached the boundary of the bake's group-sequential test, and the
      // interval's lower end (the same test inverted) is above 1.
      expect(evidence?.events).toBeGreaterThanOrEqual(evidence?.limit ?? Infinity);
      expect(evidence?.interval?.[0]).toBeGreaterThanOrEqual(1);
      console.log(`${image}: ${done.reason}\n  ${verdicts[threshold]?.summary}`);
      expect(verdicts[judge]?.summary).toMatch(/new\/stable .* \[.*\], \d+ (errors|slow requests) on new, \d+ fail now: worse/);
      // Caught well before the 30 s bake ended.
      const baking = done.timeline.find((e) => e.type === 'baking')!;
      const rolling = done.timeline.find((e) => e.type === 'rollback_started')!;
      expect(Date.parse(rolling.at) - Date.parse(baking.at)).toBeLessThan(25_000);
    },
    60_000,
  );
});
