import { describe, expect, it } from 'vitest';
import { assessGate, judgeObservation, shareJudgeAlpha, withStoredDefaults, type GateSpec, type JudgeGate, type Observation } from '../../src/core/gates.js';
import { DEMONSTRATED_BATCHES, dispersionAt, eValue, HISTORY_MINUTES, UNMEASURED_DISPERSION } from '../../src/core/judge.js';
import { beta, poisson, seeded } from '../support/traffic.js';
import type { Step } from '../../src/core/plan.js';

/** The issue 25 review's findings: bursts lasting minutes, a bad history minute, AWS's watched shifts, stored releases. */
const T0 = Date.parse('2026-01-01T00:00:00Z');
const gate = (over: Partial<JudgeGate> = {}): JudgeGate => ({
  kind: 'judge',
  name: 'judge-errors',
  signal: 'errors',
  alpha: 0.05,
  tolerance: 0.1,
  periodSeconds: 60,
  warmupSeconds: 0,
  latencyFloorSeconds: 0.005,
  alphaShare: 1,
  minErrors: 3,
  ...over,
});
// Ten step minutes at a 50% share, 6 events a minute expected on each side.
const step = Array.from({ length: 10 }, () => ({ n1: 1200, n0: 1200, x1: 6, k: 12 }));

describe('over-dispersion', () => {
  it('bursts lasting five minutes widen more than the same minutes alternating (batch means; one-minute blocks saw them equal)', () => {
    const minutes = (order: number[]) => order.map((x) => ({ requests: 2400, events: x }));
    const runs = dispersionAt(step, 1, minutes([6, 6, 6, 6, 6, 18, 18, 18, 18, 18]));
    const alternating = dispersionAt(step, 1, minutes([6, 18, 6, 18, 6, 18, 6, 18, 6, 6]));
    expect(runs).toBeGreaterThan(1.3 * alternating);
  });

  it('one 20%-error minute in the history does not blind the judge: it is left out', () => {
    const quiet = Array.from({ length: 10 }, (_, i) => ({ requests: 2400, events: [12, 10, 14, 11, 13, 12, 9, 15, 12, 11][i]! }));
    const blip = quiet.map((h, i) => (i === 5 ? { requests: 2400, events: 480 } : h));
    expect(dispersionAt(step, 1, blip)).toBeLessThan(1.2 * dispersionAt(step, 1, quiet));
    expect(dispersionAt(step, 1, blip)).toBeLessThan(3);
  });
});

describe('an hour of history: widened only where the over-dispersion is demonstrated', () => {
  // Step minutes at a 10% share of 40 requests/s, 0.5% errors: what the 2x case bakes.
  const stepOf = (random: () => number, minutes: number) =>
    Array.from({ length: minutes }, () => {
      const x1 = poisson(random, 1.2);
      return { n1: 240, n0: 2160, x1, k: x1 + poisson(random, 10.8) };
    });
  const historyOf = (random: () => number, minutes: number, rate: (minute: number) => number) =>
    Array.from({ length: minutes }, (_, m) => ({ requests: 2400, events: poisson(random, 2400 * rate(m)) }));

  it('independent errors are widened for far less with an hour known than with ten minutes (the boundary stays near the exact one)', () => {
    expect(HISTORY_MINUTES / 5).toBeGreaterThanOrEqual(DEMONSTRATED_BATCHES);
    const dispersions = (minutes: number) =>
      Array.from({ length: 100 }, (_, i) => {
        const random = seeded(i + 1);
        return dispersionAt(
          stepOf(random, 10),
          1,
          historyOf(random, minutes, () => 0.005),
        );
      }).sort((a, b) => a - b);
    const hour = dispersions(HISTORY_MINUTES);
    const tenMinutes = dispersions(10);
    // Widened only where Pearson's test (or its lack of power at this step) leaves room for bursts.
    expect(hour[49]).toBeLessThan(1.06);
    expect(hour[89]).toBeLessThan(1.25);
    // With ten minutes the upper estimate widens most bakes by more.
    expect(tenMinutes[49]).toBeGreaterThan(1.15);
    expect(tenMinutes[89]).toBeGreaterThan(1.4);
  });

  it('errors in bursts of five minutes (the rate drawn afresh, Beta with concentration 1,000) are widened for, with an hour known', () => {
    let widened = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const random = seeded(seed);
      const rates = Array.from({ length: HISTORY_MINUTES / 5 }, () => beta(random, 0.005, 1000));
      if (
        dispersionAt(
          stepOf(random, 5),
          1,
          historyOf(random, HISTORY_MINUTES, (m) => rates[Math.floor(m / 5)]!),
        ) > 1.2
      )
        widened++;
    }
    expect(widened).toBeGreaterThanOrEqual(48);
  });
});

describe('the evidence says what the verdict was taken against (issue 25, second review)', () => {
  it('"N fail now" is never reached without a failure, also when the stable version erred in a period the new version had no requests in', () => {
    const g = gate({ periodSeconds: 10 });
    // The stable version's only errors fall in periods without requests on the new version: the test
    // sees none on stable, so minErrors (3) holds; the new version has two.
    const periods = Array.from({ length: 30 }, (_, i) => ({
      start: new Date(T0 + i * 10_000).toISOString(),
      candidate: { requests: i === 0 || i === 10 ? 0 : 40, errors: i === 28 || i === 29 ? 1 : 0 },
      baseline: { requests: i === 0 ? 400 : 360, errors: i === 0 || i === 10 ? 1 : 0 },
    }));
    for (let n = 2; n <= periods.length; n++) {
      const r = assessGate(g, { gate: g.name, kind: 'judge', periods: periods.slice(0, n) }, T0 + n * 10_000, { stepSeconds: 600 });
      expect(r.verdict).not.toBe('fail');
      expect(r.evidence.events ?? 0).toBeLessThan(r.evidence.limit ?? Infinity);
    }
  });
});

describe('watched shifts (no planned length, no history before them yet)', () => {
  it('the mixture is widened: before three minutes are known its evidence is tempered by UNMEASURED_DISPERSION (the exact mixture was used before)', () => {
    const periods = [0, 1].map((i) => ({
      start: new Date(T0 + i * 60_000).toISOString(),
      candidate: { requests: 240, errors: 5 },
      baseline: { requests: 2160, errors: 11 },
    }));
    const o: Extract<Observation, { kind: 'judge' }> = { gate: 'judge-errors', kind: 'judge', stepStart: new Date(T0).toISOString(), periods };
    const exact = eValue(
      periods.map(() => ({ candidate: { requests: 240, events: 5 }, baseline: { requests: 2160, events: 11 } })),
      1,
      'up',
    );
    expect(UNMEASURED_DISPERSION).toBeGreaterThan(1);
    expect(judgeObservation(gate(), o).eValue).toBeLessThan(exact / 2);
  });
});

describe('releases stored before alphaShare and minErrors', () => {
  const plan: { steps: Step[] } = {
    steps: [
      { type: 'setWeight', percent: 10 },
      { type: 'bake', seconds: 600 },
      { type: 'setWeight', percent: 50 },
      { type: 'bake', seconds: 600 },
      { type: 'setWeight', percent: 100 },
      { type: 'finalize' },
    ],
  };
  const stored: GateSpec[] = [
    { ...gate(), alphaShare: undefined, minErrors: undefined } as unknown as JudgeGate,
    { ...gate({ name: 'judge-latency', signal: 'latency' }), alphaShare: undefined, minErrors: undefined } as unknown as JudgeGate,
  ];
  it('get α shared over the stored plan (every shift counted as watched) and minErrors 3', () => {
    const migrated = withStoredDefaults(stored, stored, plan) as JudgeGate[];
    const shared = shareJudgeAlpha(stored, plan, true) as JudgeGate[];
    expect(migrated[0]).toMatchObject({ alphaShare: shared[0]!.alphaShare, minErrors: 3 });
    expect(migrated[0]!.alphaShare).toBeLessThan(0.5);
  });
  it('judged without decide, two lone errors on the new version are not a rollback (minErrors falls back to 3, not 1)', () => {
    const periods = [0, 1, 2].map((i) => ({
      start: new Date(T0 + i * 60_000).toISOString(),
      candidate: { requests: 100, errors: i === 2 ? 2 : 0 },
      baseline: { requests: 900, errors: 0 },
    }));
    const a = judgeObservation(stored[0] as JudgeGate, { gate: 'judge-errors', kind: 'judge', periods }, { stepSeconds: 600 });
    expect(a.verdict).not.toBe('fail');
  });
});
