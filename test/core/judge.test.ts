import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EARLY_SHARE,
  eValue,
  eValueTrail,
  judgeCounts,
  latencyCounts,
  sequentialLooks,
  spending,
  type CountPeriod,
  type LatencyBins,
} from '../../src/core/judge.js';
import { seeded, simulateCounts } from '../support/traffic.js';
import { decide } from '../../src/core/decide.js';
import { mannWhitneyP } from '../../bench/support/mann-whitney.js';
import type { JudgeGate, Observation } from '../../src/core/gates.js';
import { markDeployed, markShifted } from '../../src/core/transitions.js';
import { canary, release, T0 } from '../support/releases.js';

const period = (n1: number, x1: number, n0: number, x0: number): CountPeriod => ({
  candidate: { requests: n1, events: x1 },
  baseline: { requests: n0, events: x0 },
});

/** test/fixtures/judge/reference.py, run with SciPy 1.17.1 (binom.pmf ratios, not the judge's closed form). */
const REFERENCE_PERIODS = [period(40, 1, 360, 2), period(55, 0, 345, 3), period(38, 2, 362, 1), period(400, 9, 3600, 18), period(120, 6, 880, 5)];
const REFERENCE = {
  up_r1: 65509.46140502259,
  up_r2: 45.56351225174159,
  down_r1_2: 0.01614141852618665,
  up_first_two: 0.8523275991453321,
  up_r1_other_grid: 112997.765370395,
};
/** The group-sequential test's looks (reference.py: full SciPy pmfs, numpy convolutions). */
const REFERENCE_FRACTIONS = [0.05, 0.1, 0.3, 0.6, 1.0];
const REFERENCE_LOOKS = [
  { events: 1, limit: 3, spent: 0.0010000000000000002, allowed: 0.0046877343750000005 },
  { events: 1, limit: 4, spent: 0.0030227324218750004, allowed: 0.00937875 },
  { events: 3, limit: 4, spent: 0.012293784111766359, allowed: 0.012803750000000001 },
  { events: 12, limit: 10, spent: 0.014265482583750582, allowed: 0.01736 },
  { events: 18, limit: 10, spent: 0.03403033799316432, allowed: 0.05 },
];
const REFERENCE_SUBTLE_LIMITS = [5, 7, 9, 11, 13, 15, 17, 18, 21, 22, 24, 25, 27, 28, 29, 30, 31, 32, 34, 35, 35, 37, 38, 39, 39, 41, 41, 42, 43, 44];

describe('the judge’s statistic, against independent reference values (SciPy)', () => {
  it.each([
    ['up, r0 = 1', () => eValue(REFERENCE_PERIODS, 1, 'up'), REFERENCE.up_r1],
    ['up, r0 = 2', () => eValue(REFERENCE_PERIODS, 2, 'up'), REFERENCE.up_r2],
    ['down, r0 = 1.2', () => eValue(REFERENCE_PERIODS, 1.2, 'down'), REFERENCE.down_r1_2],
    ['up, r0 = 1, the first two periods', () => eValue(REFERENCE_PERIODS.slice(0, 2), 1, 'up'), REFERENCE.up_first_two],
    ['up, r0 = 1, any grid of alternatives (here 4, 8)', () => eValue(REFERENCE_PERIODS, 1, 'up', [4, 8]), REFERENCE.up_r1_other_grid],
  ])('%s', (_name, compute, expected) => {
    expect(compute() / expected).toBeCloseTo(1, 9);
  });

  it('the group-sequential test: each look’s boundary and the α spent, exactly', () => {
    // The reference values were computed with a quarter of α early (the errors' default until issue 25's history).
    const { looks, crossedAt } = sequentialLooks(REFERENCE_PERIODS, REFERENCE_FRACTIONS, 0.05, 0.25);
    looks.forEach((look, i) => {
      const expected = REFERENCE_LOOKS[i]!;
      expect({ events: look.events, limit: look.limit }).toEqual({ events: expected.events, limit: expected.limit });
      expect(look.spent / expected.spent).toBeCloseTo(1, 9);
      expect(look.allowed / expected.allowed).toBeCloseTo(1, 12);
      expect(look.spent).toBeLessThanOrEqual(look.allowed);
    });
    expect(crossedAt).toBe(3); // 12 events on the new version against a boundary of 10
    // A steady 2x regression at a 10% share: every boundary of a 30-period bake.
    const subtle = Array.from({ length: 30 }, () => period(400, 2, 3600, 9));
    const steady = sequentialLooks(
      subtle,
      subtle.map((_, i) => (i + 1) / 30),
      0.05,
      0.25,
    );
    expect(steady.looks.map((l) => l.limit)).toEqual(REFERENCE_SUBTLE_LIMITS);
    expect(steady.crossedAt).toBe(13); // 28 errors against 28, 140 s into a 300 s bake
  });

  it('spends its early share of α (errors: 30%) over the first 2/15 of the bake and all of it by the end, never more', () => {
    expect(spending(0)).toBe(0);
    expect(DEFAULT_EARLY_SHARE.errors).toBe(0.3);
    expect(spending(2 / 15)).toBeCloseTo(0.3 + 0.7 * (2 / 15) ** 4, 12);
    expect(spending(2 / 15, 0.25)).toBeCloseTo(0.25 + 0.75 * (2 / 15) ** 4, 12);
    expect(spending(1)).toBe(1);
    expect(spending(3)).toBe(1); // an extended bake spends nothing more
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true }), (a, b) =>
        a <= b ? spending(a) <= spending(b) : true,
      ),
    );
  });

  it('the trail ends where the whole computation does', () => {
    expect(eValueTrail(REFERENCE_PERIODS, 1, 'up').at(-1)! / REFERENCE.up_r1).toBeCloseTo(1, 9);
  });
});

describe('false alarms stay at or below α, however often the judge looks', () => {
  // Under the null (equal error rates) with random traffic shares and loads, the share of releases
  // the judge would roll back, looking at the end of every period, must be at most α (+ sampling error).
  const ALPHA = 0.05;
  const RUNS = 1500;
  const slack = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / RUNS);
  const healthy = (random: () => number, periodSeconds: number, periods: number) => {
    const base = 0.002 + random() * 0.02;
    const rps = 10 + random() * 90;
    // The traffic share moves during the release (a canary's steps).
    const steps = [0.05 + random() * 0.2, 0.3 + random() * 0.3, 0.5 + random() * 0.5];
    return simulateCounts(
      { rps, share: (i) => steps[Math.min(2, Math.floor((3 * i) / periods))]!, baselineErrorRate: base, errorRatio: 1, periodSeconds, periods },
      random,
    );
  };

  it.each([
    ['every minute (CloudWatch’s periods) for 10 minutes', 60, 10],
    ['every 10 s for 10 minutes', 10, 60],
    ['every second for 10 minutes', 1, 600],
  ])('in a bake, looked at %s', (_name, periodSeconds, periods) => {
    const random = seeded(periodSeconds * 7919);
    let alarms = 0;
    for (let run = 0; run < RUNS; run++) {
      const counts = healthy(random, periodSeconds, periods);
      // Looks at the end of every period, and on past the planned end (an extended bake): nothing more is spent.
      const fractions = counts.map((_, i) => ((i + 1) * periodSeconds) / (periods * periodSeconds * 0.8));
      if (sequentialLooks(counts, fractions, ALPHA).crossedAt !== undefined) alarms++;
    }
    expect(alarms / RUNS).toBeLessThanOrEqual(ALPHA + slack);
  });

  it('without a planned length (gates watched while a target shifts), the e-value checked every second', () => {
    const random = seeded(31);
    let alarms = 0;
    for (let run = 0; run < RUNS; run++) if (eValueTrail(healthy(random, 1, 600), 1, 'up').some((e) => e >= 1 / ALPHA)) alarms++;
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

  it('in a bake, the interval’s lower end is at or above 1 exactly when the judge fails', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc
            .tuple(fc.integer({ min: 1, max: 200 }), fc.nat(12), fc.integer({ min: 1, max: 2000 }), fc.nat(30))
            .map(([n1, x1, n0, x0]) => period(n1, Math.min(x1, n1), n0, Math.min(x0, n0))),
          { minLength: 1, maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 60 }),
        (periods, planned) => {
          const fractions = periods.map((_, i) => (i + 1) / planned);
          const a = judgeCounts(periods, settings, undefined, { fractions });
          expect(a.verdict === 'fail').toBe(a.interval[0] >= 1);
          // The look shown: where the test failed, else the latest.
          const walk = sequentialLooks(periods, fractions, 0.05);
          expect(a.look).toEqual(walk.crossedAt !== undefined ? walk.looks[walk.crossedAt] : walk.looks.at(-1));
          if (a.verdict === 'fail') expect(a.look!.events).toBeGreaterThanOrEqual(a.look!.failsAt);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a judge checked again with one more period gives what a fresh computation gives', () => {
    const random = seeded(99);
    const counts = simulateCounts(
      { rps: 60, share: (i) => (i < 20 ? 0.1 : 0.4), baselineErrorRate: 0.01, errorRatio: 1.5, periodSeconds: 10, periods: 40 },
      random,
    );
    const fractions = counts.map((_, i) => (i + 1) / 48);
    const fresh = sequentialLooks(counts, fractions, 0.05); // nothing remembered for these periods yet
    sequentialLooks(counts.slice(0, 25), fractions.slice(0, 25), 0.05); // remembered: the first 25
    expect(sequentialLooks(counts, fractions, 0.05)).toEqual(fresh); // taken up after the 25th
    // A period that changed after it was seen (late data) is not taken up from memory.
    const revised = counts.map((c, i) => (i === 10 ? period(c.candidate.requests, c.candidate.events + 5, c.baseline.requests, c.baseline.events) : c));
    expect(sequentialLooks(revised, fractions, 0.05).looks[10]!.events).toBe(fresh.looks[10]!.events + 5);
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
          // In a bake too, where a walk already made is taken up again: the same answer, inputs untouched.
          const fractions = periods.map((_, i) => (i + 1) / 20);
          const first = judgeCounts(periods, settings, undefined, { fractions });
          expect(judgeCounts(periods, settings, undefined, { fractions })).toEqual(first);
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
    alphaShare: 1,
    minErrors: 1,
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

  it('a subtle regression is caught by the boundary the bake’s planned length sets, and the reason says so', () => {
    // 2x the stable error rate at a 10% share: 2 vs 9 errors every 10 s of a 300 s bake (reference.py's "subtle").
    const subtle = (periods: number): Observation => ({
      gate: 'judge-errors',
      kind: 'judge',
      periods: Array.from({ length: periods }, (_, i) => ({
        start: new Date(T0 + i * 10_000).toISOString(),
        candidate: { requests: 400, errors: 2 },
        baseline: { requests: 3600, errors: 9 },
      })),
    });
    // 130 s in: 26 errors on the new version, 27 would fail at that look.
    const before = decide(baking(judge()), [subtle(13)], T0 + 130_000);
    expect(before.action.type).toBe('wait');
    expect(before.release.gateResults[0]?.evidence).toMatchObject({ events: 26, limit: 27 });
    // 140 s in: 28 against 28.
    const at = decide(baking(judge()), [subtle(14)], T0 + 140_000);
    expect(at.action).toMatchObject({ type: 'rollback' });
    expect(at.release.reason).toContain('28 errors on new, 28 fail now: worse');
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
