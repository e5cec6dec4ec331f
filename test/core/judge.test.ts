import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FINAL_SHARE, eValue, eValueTrail, finalPValue, judgeCounts, latencyCounts, type CountPeriod, type LatencyBins } from '../../src/core/judge.js';
import { seeded, simulateCounts } from '../support/traffic.js';
import { decide } from '../../src/core/decide.js';
import { mannWhitneyP } from '../../bench/support/mann-whitney.js';
import type { JudgeGate, Observation } from '../../src/core/gates.js';
import { markDeployed, markShifted } from '../../src/core/release.js';
import { canary, release, T0 } from '../support/releases.js';

const period = (n1: number, x1: number, n0: number, x0: number): CountPeriod => ({
  candidate: { requests: n1, events: x1 },
  baseline: { requests: n0, events: x0 },
});

/** test/fixtures/judge/reference.py, run with SciPy 1.17.1 (binom.pmf ratios, not the judge's closed form). */
const REFERENCE_PERIODS = [period(40, 1, 360, 2), period(55, 0, 345, 3), period(38, 2, 362, 1), period(400, 9, 3600, 18), period(120, 6, 880, 5)];
const REFERENCE = {
  up_r1: 112997.765370395,
  up_r2: 17.262069443960378,
  down_r1_2: 0.01614141852618665,
  up_first_two: 0.43074083071074465,
  up_r1_old_grid: 65509.46140502259,
  final_p: 6.659297094855221e-7,
  final_p_first_two: 0.5322596464843751,
};

describe('the judge’s statistic, against independent reference values (SciPy)', () => {
  it.each([
    ['up, r0 = 1', () => eValue(REFERENCE_PERIODS, 1, 'up'), REFERENCE.up_r1],
    ['up, r0 = 2', () => eValue(REFERENCE_PERIODS, 2, 'up'), REFERENCE.up_r2],
    ['down, r0 = 1.2', () => eValue(REFERENCE_PERIODS, 1.2, 'down'), REFERENCE.down_r1_2],
    ['up, r0 = 1, the first two periods', () => eValue(REFERENCE_PERIODS.slice(0, 2), 1, 'up'), REFERENCE.up_first_two],
    ['up, r0 = 1, any grid of alternatives (here 1.5, 2, 3, 5)', () => eValue(REFERENCE_PERIODS, 1, 'up', [1.5, 2, 3, 5]), REFERENCE.up_r1_old_grid],
    ['the look at the bake’s end: the Poisson-binomial tail', () => finalPValue(REFERENCE_PERIODS), REFERENCE.final_p],
    ['the look at the bake’s end, the first two periods', () => finalPValue(REFERENCE_PERIODS.slice(0, 2)), REFERENCE.final_p_first_two],
  ])('%s', (_name, compute, expected) => {
    expect(compute() / expected).toBeCloseTo(1, 9);
  });

  it('the trail ends where the whole computation does', () => {
    expect(eValueTrail(REFERENCE_PERIODS, 1, 'up').at(-1)! / REFERENCE.up_r1).toBeCloseTo(1, 9);
  });
});

describe('false alarms stay at or below α, however often the judge looks', () => {
  // Under the null (equal error rates) with random traffic shares and loads, the share of releases
  // whose e-value ever reaches its bound when checked after every period, or whose look at the end
  // rejects, must be at most α (+ sampling error).
  const ALPHA = 0.05;
  const RUNS = 1500;
  const slack = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / RUNS);

  it.each([
    ['every 10 s for 10 minutes', 10, 60],
    ['every second for 10 minutes', 1, 600],
  ])('checked %s', (_name, periodSeconds, periods) => {
    const random = seeded(periodSeconds * 7919);
    let alarms = 0;
    for (let run = 0; run < RUNS; run++) {
      const base = 0.002 + random() * 0.02;
      const rps = 10 + random() * 90;
      // The traffic share moves during the release (a canary's steps).
      const steps = [0.05 + random() * 0.2, 0.3 + random() * 0.3, 0.5 + random() * 0.5];
      const counts = simulateCounts(
        { rps, share: (i) => steps[Math.min(2, Math.floor((3 * i) / periods))]!, baselineErrorRate: base, errorRatio: 1, periodSeconds, periods },
        random,
      );
      // The sequential test with its share of α at every check, and the one look at the end with the rest.
      const sequential = eValueTrail(counts, 1, 'up').some((e) => e >= 1 / (ALPHA * (1 - DEFAULT_FINAL_SHARE)));
      if (sequential || finalPValue(counts) <= ALPHA * DEFAULT_FINAL_SHARE) alarms++;
    }
    expect(alarms / RUNS).toBeLessThanOrEqual(ALPHA + slack);
  });
});

describe('verdicts', () => {
  const settings = { alpha: 0.05, tolerance: 0.2 };

  it('a 4x regression fails with the ratio and its interval above 1; a healthy version does not', () => {
    const random = seeded(42);
    const bad = judgeCounts(
      simulateCounts({ rps: 40, share: () => 0.1, baselineErrorRate: 0.005, errorRatio: 4, periodSeconds: 10, periods: 60 }, random),
      settings,
    );
    expect(bad.verdict).toBe('fail');
    expect(bad.eValue).toBeGreaterThanOrEqual(bad.bound);
    expect(bad.interval[0]).toBeGreaterThan(1);
    expect(bad.ratio).toBeGreaterThan(bad.interval[0]);

    const good = judgeCounts(
      simulateCounts({ rps: 2000, share: () => 0.5, baselineErrorRate: 0.01, errorRatio: 1, periodSeconds: 10, periods: 60 }, seeded(7)),
      settings,
    );
    expect(good.verdict).toBe('pass'); // enough evidence that it is less than 20% worse
    expect(good.interval[0]).toBeLessThan(1);
    expect(good.interval[1]).toBeLessThan(1.25);
  });

  it('with no events on either side it says nothing: inconclusive, an unbounded interval, no ratio', () => {
    const none = judgeCounts([period(100, 0, 900, 0)], settings);
    expect(none).toMatchObject({ verdict: 'inconclusive', eValue: 1 });
    expect(none.ratio).toBeUndefined();
    expect(none.interval[1]).toBe(Infinity);
  });

  it('is pure and deterministic: the same counts give the same assessment', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.nat(500), fc.nat(20), fc.nat(5000), fc.nat(50)).map(([n1, x1, n0, x0]) => period(n1, Math.min(x1, n1), n0, Math.min(x0, n0))),
          { maxLength: 20 },
        ),
        (periods) => {
          const frozen = JSON.stringify(periods);
          expect(judgeCounts(periods, settings)).toEqual(judgeCounts(periods, settings));
          expect(JSON.stringify(periods)).toBe(frozen);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('latency as counts over the stable version’s median', () => {
  const BOUNDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
  const FLOOR = { tolerance: 0.2, floorSeconds: 0.005 };
  const bins = (random: () => number, n: number, extra: number): LatencyBins => {
    const counts = BOUNDS.map(() => 0);
    for (let i = 0; i < n; i++) {
      const seconds = 0.001 + random() * 0.004 + extra;
      const at = BOUNDS.findIndex((b) => seconds <= b);
      counts[at < 0 ? BOUNDS.length - 1 : at]!++;
    }
    return { bounds: BOUNDS, counts };
  };

  it('30 ms more on the new version fails; the same distribution does not', () => {
    const random = seeded(3);
    const slow = latencyCounts(
      Array.from({ length: 20 }, () => ({ candidate: bins(random, 30, 0.03), baseline: bins(random, 300, 0) })),
      FLOOR,
    );
    expect(judgeCounts(slow, { alpha: 0.05, tolerance: 0.2 }).verdict).toBe('fail');
    const same = latencyCounts(
      Array.from({ length: 20 }, () => ({ candidate: bins(random, 30, 0), baseline: bins(random, 300, 0) })),
      FLOOR,
    );
    expect(judgeCounts(same, { alpha: 0.05, tolerance: 0.2 }).verdict).not.toBe('fail');
  });

  it('a slowdown under the floor is not a regression: a fresh process 0.5 ms slower passes', () => {
    const random = seeded(11);
    const fine = Array.from({ length: 40 }, () => ({ candidate: bins(random, 100, 0.0005), baseline: bins(random, 300, 0) }));
    expect(judgeCounts(latencyCounts(fine, FLOOR), { alpha: 0.05, tolerance: 0.2 }).verdict).not.toBe('fail');
    // Without a floor (and no tolerance) the same half millisecond is a detectable difference.
    expect(judgeCounts(latencyCounts(fine, { tolerance: 0, floorSeconds: 0 }), { alpha: 0.05, tolerance: 0.2 }).verdict).toBe('fail');
  });

  it('the threshold of each period comes only from earlier periods (the first period is not judged)', () => {
    const random = seeded(5);
    const periods = Array.from({ length: 3 }, () => ({ candidate: bins(random, 10, 0), baseline: bins(random, 100, 0) }));
    expect(latencyCounts(periods, FLOOR)).toHaveLength(2);
  });
});

describe('the judge in a bake (decide)', () => {
  const judge = (earlyPassAfterSeconds?: number): JudgeGate => ({
    kind: 'judge',
    name: 'judge-errors',
    signal: 'errors',
    alpha: 0.05,
    tolerance: 0.2,
    periodSeconds: 10,
    warmupSeconds: 0,
    latencyFloorSeconds: 0.005,
    ...(earlyPassAfterSeconds !== undefined ? { earlyPassAfterSeconds } : {}),
  });
  /** At 10%, baking 300 s since T0. */
  const baking = (gate: JudgeGate) => {
    let r = release(canary, { settings: { gates: [gate] } });
    r = decide(r, [], T0).release;
    r = markDeployed(r, T0, {});
    r = markShifted(decide(r, [], T0).release, 10, 1, T0);
    return decide(r, [], T0).release;
  };
  const healthy = (at: number): Observation => ({
    gate: 'judge-errors',
    kind: 'judge',
    periods: Array.from({ length: 12 }, (_, i) => ({
      start: new Date(at - (12 - i) * 10_000).toISOString(),
      candidate: { requests: 20_000, errors: 200 },
      baseline: { requests: 20_000, errors: 200 },
    })),
  });

  it('ends the bake early once it passes and the opt-in minimum has run; never without the opt-in', () => {
    const now = T0 + 120_000;
    const early = decide(baking(judge(60)), [healthy(now)], now);
    expect(early.release.timeline.some((e) => e.type === 'bake_ended_early')).toBe(true);
    expect(early.action).toMatchObject({ type: 'shift', percent: 100 });
    const opted = decide(baking(judge()), [healthy(now)], now);
    expect(opted.action.type).toBe('wait');
    const tooSoon = decide(baking(judge(180)), [healthy(now)], now);
    expect(tooSoon.action.type).toBe('wait');
  });

  it('a subtle regression the sequential test does not reach is caught by the one look at the bake’s planned end, only there', () => {
    // 2x the stable error rate at a 10% share over 5 minutes: 60 vs 270 errors.
    const subtle = (at: number, periods: number): Observation => ({
      gate: 'judge-errors',
      kind: 'judge',
      periods: Array.from({ length: periods }, (_, i) => ({
        start: new Date(at - (periods - i) * 10_000).toISOString(),
        candidate: { requests: 400, errors: 2 },
        baseline: { requests: 3600, errors: 9 },
      })),
    });
    const gate = { ...judge(), finalShare: DEFAULT_FINAL_SHARE };
    const counts = Array.from({ length: 30 }, () => period(400, 2, 3600, 9));
    expect(judgeCounts(counts, { alpha: 0.05, tolerance: 0.2, finalShare: DEFAULT_FINAL_SHARE }).verdict).not.toBe('fail');
    expect(judgeCounts(counts, { alpha: 0.05, tolerance: 0.2, finalShare: DEFAULT_FINAL_SHARE }, undefined, { finalLook: true }).verdict).toBe('fail');
    // Mid-bake: the same counts so far do not roll back (no look at the end yet).
    const mid = decide(baking(gate), [subtle(T0 + 290_000, 29)], T0 + 290_000);
    expect(mid.action.type).toBe('wait');
    // At the planned end: the fixed-horizon look, with its share of α, rolls back, and says so.
    const end = decide(baking(gate), [subtle(T0 + 300_000, 30)], T0 + 300_000);
    expect(end.action).toMatchObject({ type: 'rollback' });
    expect(end.release.reason).toMatch(/at the bake's end p [\d.e-]+ vs 0\.03/);
    // Once extended (another gate undecided), the bake's end has been looked at: no second look.
    const extended = { ...baking(gate), bake: { extendedSeconds: 60, errors: 0 } };
    expect(decide(extended, [subtle(T0 + 330_000, 33)], T0 + 330_000).action.type).not.toBe('rollback');
  });

  it('a judge with no verdict yet (no errors on either side) does not hold the bake past its end', () => {
    const end = T0 + 301_000;
    const quiet: Observation = {
      gate: 'judge-errors',
      kind: 'judge',
      periods: [{ start: new Date(T0).toISOString(), candidate: { requests: 50, errors: 0 }, baseline: { requests: 450, errors: 0 } }],
    };
    const next = decide(baking(judge()), [quiet], end);
    expect(next.release.gateResults[0]?.verdict).toBe('inconclusive');
    expect(next.action).toMatchObject({ type: 'shift', percent: 100 });
  });
});

describe('the benchmark’s comparator', () => {
  it('Mann-Whitney (one-sided, normal approximation with tie and continuity corrections) matches SciPy’s mannwhitneyu', () => {
    const x = [0.01, 0.0, 0.02, 0.015, 0.0, 0.03];
    const y = [0.005, 0.004, 0.0, 0.006, 0.005, 0.0, 0.007];
    // test/fixtures/judge/reference.py: mannwhitneyu(x, y, alternative="greater", use_continuity=True, method="asymptotic")
    expect(mannWhitneyP(x, y)).toBeCloseTo(0.10877668175399269, 6);
  });
});
