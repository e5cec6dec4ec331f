import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assessGate,
  judgedSteps,
  judgeObservation,
  shareJudgeAlpha,
  type GateSpec,
  type JudgeGate,
  type JudgePeriod,
  type Observation,
} from '../../src/core/gates.js';
import { binQuantile, JudgeCache, latencyCounts, sequentialLooks, slowerThan, type CountPeriod, type LatencyBins } from '../../src/core/judge.js';
import type { Step } from '../../src/core/plan.js';
import { beta, binomial, poisson, seeded, simulateCounts } from '../support/traffic.js';

/**
 * Issue 25: the judge honest on real traffic. One alpha per release, robust to clustered errors, a
 * minimum of evidence, a warm-up that costs CloudWatch's first minute nothing, and no hidden state.
 */
const T0 = Date.parse('2026-01-01T00:00:00Z');
const gate = (over: Partial<JudgeGate> = {}): JudgeGate => ({
  kind: 'judge',
  name: 'judge-errors',
  signal: 'errors',
  alpha: 0.05,
  tolerance: 0.1,
  periodSeconds: 10,
  warmupSeconds: 10,
  latencyFloorSeconds: 0.005,
  minErrors: 3,
  ...over,
});
const observed = (periods: readonly CountPeriod[], periodSeconds = 10, stepStart?: number): Extract<Observation, { kind: 'judge' }> => ({
  gate: 'judge-errors',
  kind: 'judge',
  periods: periods.map((p, i): JudgePeriod => ({
    start: new Date((stepStart !== undefined ? Math.floor(stepStart / 60_000) * 60_000 : T0) + i * periodSeconds * 1000).toISOString(),
    candidate: { requests: p.candidate.requests, errors: p.candidate.events },
    baseline: { requests: p.baseline.requests, errors: p.baseline.events },
  })),
  ...(stepStart !== undefined ? { stepStart: new Date(stepStart).toISOString() } : {}),
});
const judges: GateSpec[] = [gate(), gate({ name: 'judge-latency', signal: 'latency' })];

describe('one alpha per release', () => {
  const canary = (...percents: number[]): Step[] => [
    ...percents.flatMap((percent): Step[] => [
      { type: 'setWeight', percent },
      { type: 'bake', seconds: 600 },
    ]),
    { type: 'setWeight', percent: 100 },
    { type: 'bake', seconds: 60 },
    { type: 'finalize' },
  ];

  it.each([
    ['a 10% canary then 100%', canary(10), true, 1],
    ['10%, 50%, then 100%', canary(10, 50), true, 2],
    ['10%, 50%, then 100%, on a target that shifts on its own (each shift watched)', canary(10, 50), false, 5],
  ])('%s: judged steps', (_name, steps, landsExactly, expected) => {
    expect(judgedSteps({ steps }, judges, landsExactly)).toBe(expected);
  });

  it('property: whatever the plan and the signals, the tests a release runs spend its alpha at most', () => {
    const step = fc.oneof(
      fc.integer({ min: 0, max: 100 }).map((percent): Step => ({ type: 'setWeight', percent })),
      fc.constant<Step>({ type: 'bake', seconds: 300 }),
      fc.constant<Step>({ type: 'analysis', seconds: 300, gates: ['judge-errors'] }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), fc.subarray([...judges], { minLength: 1 }), fc.boolean(), (steps, gates, landsExactly) => {
        const shared = shareJudgeAlpha(gates, { steps }, landsExactly).filter((g): g is JudgeGate => g.kind === 'judge');
        const perTest = (name: string) => {
          const g = shared.find((s) => s.name === name);
          return g ? g.alpha * (g.alphaShare ?? 1) : 0;
        };
        // Spend as the release would: every test of every judged step, each at its share.
        let spent = 0;
        let weight = 0;
        for (const s of steps) {
          if (s.type === 'setWeight') {
            if (!landsExactly && s.percent > 0 && weight < 100) spent += perTest('judge-errors') + perTest('judge-latency');
            weight = s.percent;
          } else if (s.type === 'bake' && weight < 100) spent += perTest('judge-errors') + perTest('judge-latency');
          else if (s.type === 'analysis' && weight < 100) spent += perTest('judge-errors');
        }
        expect(spent).toBeLessThanOrEqual(0.05 + 1e-12);
      }),
      { numRuns: 200 },
    );
  });

  it('a healthy release with two judged bakes (10%, then 50%) is rolled back by judge-errors at most its share of alpha', () => {
    const [errors] = shareJudgeAlpha(judges, { steps: canary(10, 50) }, true) as JudgeGate[];
    const random = seeded(2501);
    const RUNS = 400;
    let rolledBack = 0;
    for (let run = 0; run < RUNS; run++) {
      const bakes = [0.1, 0.5].map((share) =>
        judgeObservation(
          errors!,
          observed(simulateCounts({ rps: 40, share: () => share, baselineErrorRate: 0.005, errorRatio: 1, periodSeconds: 10, periods: 60 }, random)),
          {
            stepSeconds: 600,
          },
        ),
      );
      if (bakes.some((a) => a.verdict === 'fail')) rolledBack++;
    }
    // 0.8 of alpha over both bakes (the rest is latency's); a wide, honest bound for 400 runs.
    expect(rolledBack / RUNS).toBeLessThanOrEqual(0.04 + 3 * Math.sqrt((0.04 * 0.96) / RUNS));
  });
});

describe('robust to clustered errors', () => {
  it('errors whose rate each version draws afresh every minute: the widened boundary keeps false alarms near alpha, the exact one does not', () => {
    const random = seeded(2502);
    const RUNS = 300;
    let exact = 0;
    let widened = 0;
    for (let run = 0; run < RUNS; run++) {
      const counts: CountPeriod[] = [];
      let p1 = 0;
      let p0 = 0;
      for (let i = 0; i < 60; i++) {
        if (i % 6 === 0) [p1, p0] = [beta(random, 0.005, 1000), beta(random, 0.005, 1000)];
        const total = poisson(random, 400);
        const n1 = binomial(random, total, 0.5);
        counts.push({
          candidate: { requests: n1, events: binomial(random, n1, p1) },
          baseline: { requests: total - n1, events: binomial(random, total - n1, p0) },
        });
      }
      const fractions = counts.map((_, i) => (i + 1) / 60);
      if (sequentialLooks(counts, fractions, 0.05).crossedAt !== undefined) exact++;
      if (sequentialLooks(counts, fractions, 0.05, 0.25, 1, { blocks: counts.map((_, i) => Math.floor(i / 6)) }).crossedAt !== undefined) widened++;
    }
    const se = Math.sqrt((0.05 * 0.95) / RUNS);
    expect(exact / RUNS).toBeGreaterThan(0.05 + 3 * se); // the model's promise broken
    expect(widened / RUNS).toBeLessThanOrEqual(0.05 + 0.01 + 3 * se);
  });

  it('where the model holds, the widening only ever fails less: never a failure the exact test does not make', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 300 }), fc.nat(10), fc.integer({ min: 1, max: 3000 }), fc.nat(30)), { minLength: 1, maxLength: 40 }),
        (raw) => {
          const counts = raw.map(([n1, x1, n0, x0]) => ({
            candidate: { requests: n1, events: Math.min(x1, n1) },
            baseline: { requests: n0, events: Math.min(x0, n0) },
          }));
          const fractions = counts.map((_, i) => (i + 1) / 40);
          const widened = sequentialLooks(counts, fractions, 0.05, 0.25, 1, { blocks: counts.map((_, i) => Math.floor(i / 6)), minEvents: 3 });
          if (widened.crossedAt !== undefined) expect(sequentialLooks(counts, fractions, 0.05).crossedAt).toBeLessThanOrEqual(widened.crossedAt);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('one always-failing client (5% of the requests)', () => {
  // 40 requests/s, a 10% canary baking 10 minutes, 0.5% errors on both versions, and one client whose
  // every request fails. `held`: the share of the client's requests the new version gets.
  const bakeWith = (random: () => number, held: number | undefined): CountPeriod[] =>
    Array.from({ length: 60 }, () => {
      const total = poisson(random, 38);
      const n1 = binomial(random, total, 0.1);
      const client = poisson(random, 20);
      // Routed per request (the local proxies: a weighted draw, HAProxy's roundrobin), or held on one version.
      const toNew = held === undefined ? binomial(random, client, 0.1) : Math.round(client * held);
      return {
        candidate: { requests: n1 + toNew, events: binomial(random, n1, 0.005) + toNew },
        baseline: { requests: total - n1 + client - toNew, events: binomial(random, total - n1, 0.005) + client - toNew },
      };
    });
  const [errors] = shareJudgeAlpha(
    judges,
    {
      steps: [
        { type: 'setWeight', percent: 10 },
        { type: 'bake', seconds: 600 },
        { type: 'setWeight', percent: 100 },
      ],
    },
    true,
  ) as JudgeGate[];

  it('routed per request, as local mode routes every request: a healthy version is rolled back at most its share of alpha', () => {
    const random = seeded(2510);
    const RUNS = 300;
    let rolledBack = 0;
    for (let run = 0; run < RUNS; run++)
      if (judgeObservation(errors!, observed(bakeWith(random, undefined)), { stepSeconds: 600 }).verdict === 'fail') rolledBack++;
    const share = errors!.alpha * errors!.alphaShare!;
    expect(rolledBack / RUNS).toBeLessThanOrEqual(share + 3 * Math.sqrt((share * (1 - share)) / RUNS));
  });

  it('held on the new version (an ALB’s stickiness, on AWS): counts cannot tell it from a regression, and the judge rolls back (the documented limit)', () => {
    const random = seeded(2511);
    const rolledBack = Array.from({ length: 20 }, () => judgeObservation(errors!, observed(bakeWith(random, 1)), { stepSeconds: 600 }).verdict).filter(
      (v) => v === 'fail',
    );
    expect(rolledBack).toHaveLength(20);
  });
});

describe('latency: events that are requests (each slow or not)', () => {
  it('given the totals, the new version’s are Hypergeometric (Fisher’s exact test), not Binomial: exact boundaries against reference values', () => {
    // One period: 40 requests on the new version, 360 on stable, 200 of them slow; all of α at this look.
    // Reference: exact rational sums in Python (math.comb, fractions.Fraction).
    const period: CountPeriod = { candidate: { requests: 40, events: 20 }, baseline: { requests: 360, events: 180 } };
    const requests = sequentialLooks([period], [1], 0.05, 0.25, 1, { events: 'requests' }).looks[0]!;
    expect(requests.limit).toBe(26);
    expect(requests.spent).toBeCloseTo(0.03282936354087661, 12);
    const counts = sequentialLooks([period], [1], 0.05).looks[0]!;
    expect(counts.limit).toBe(28);
    expect(counts.spent).toBeCloseTo(0.04342849961061078, 12);
  });

  it('a healthy version is failed at most α of the time, and a slower one far more often than the Binomial model did', () => {
    const random = seeded(2520);
    const RUNS = 200;
    const bake = (slow: number) =>
      Array.from({ length: 60 }, (): CountPeriod => {
        const total = poisson(random, 400);
        const n1 = binomial(random, total, 0.1);
        return {
          candidate: { requests: n1, events: binomial(random, n1, slow) },
          baseline: { requests: total - n1, events: binomial(random, total - n1, 0.5) },
        };
      });
    const fractions = Array.from({ length: 60 }, (_, i) => (i + 1) / 60);
    const fails = (counts: CountPeriod[], events: 'counts' | 'requests') =>
      sequentialLooks(counts, fractions, 0.05, 0.75, 1, { events, blocks: counts.map((_, i) => Math.floor(i / 6)) }).crossedAt !== undefined;
    let healthy = 0;
    let slower = { requests: 0, counts: 0 };
    for (let run = 0; run < RUNS; run++) {
      if (fails(bake(0.5), 'requests')) healthy++;
      const slow = bake(0.53);
      slower = { requests: slower.requests + (fails(slow, 'requests') ? 1 : 0), counts: slower.counts + (fails(slow, 'counts') ? 1 : 0) };
    }
    expect(healthy / RUNS).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / RUNS));
    expect(slower.requests).toBeGreaterThan(slower.counts * 1.5); // 218 against 100 in 400 runs
  });
});

describe('a minimum of evidence', () => {
  // A 1% share: 40 requests/s, no errors on stable, one error on the new version 70 s into the bake.
  const lone = Array.from({ length: 60 }, (_, i): CountPeriod => ({
    candidate: { requests: 4, events: i === 6 ? 1 : 0 },
    baseline: { requests: 396, events: 0 },
  }));

  it('one error on the new version and none on stable rolls nothing back (minErrors 3)', () => {
    expect(assessGate(gate(), observed(lone), T0 + 600_000, { stepSeconds: 600 }).verdict).not.toBe('fail');
    // With minErrors 1, as before: the model is valid, but one error is fragile evidence.
    expect(assessGate(gate({ minErrors: 1 }), observed(lone), T0 + 600_000, { stepSeconds: 600 }).verdict).toBe('fail');
  });

  it('with errors on stable too, the ratio decides as the test says, whatever minErrors', () => {
    const both = lone.map((p, i) => (i === 20 ? { ...p, baseline: { requests: 396, events: 1 } } : p));
    const withMin = assessGate(
      gate({ minErrors: 1000 }),
      observed([...both, ...lone.map((p) => ({ ...p, candidate: { requests: 4, events: 1 } }))]),
      T0 + 1_200_000,
      {
        stepSeconds: 600,
      },
    );
    expect(withMin.verdict).toBe('fail');
  });
});

describe('warm-up and CloudWatch’s minutes', () => {
  it('a warm-up shorter than one period leaves nothing out: a 60 s period begun before the step is judged', () => {
    const stepStart = T0 + 30_000; // mid-minute, as a step usually begins
    const minutes = Array.from({ length: 5 }, (): CountPeriod => ({ candidate: { requests: 240, events: 1 }, baseline: { requests: 2160, events: 11 } }));
    const result = assessGate(gate({ periodSeconds: 60 }), observed(minutes, 60, stepStart), T0 + 330_000, { stepSeconds: 600 });
    expect(result.evidence.samples).toBe(5 * 240);
  });

  it('a warm-up of several periods leaves out the periods that end within it', () => {
    const a = judgeObservation(
      gate({ periodSeconds: 3 }),
      observed(
        Array.from({ length: 10 }, () => ({ candidate: { requests: 10, events: 0 }, baseline: { requests: 90, events: 1 } })),
        3,
      ),
    );
    expect(a.requests.candidate).toBe(7 * 10); // periods ending at 3, 6 and 9 s left out; 9-12 s kept
  });
});

describe('no hidden state', () => {
  it('a cache the caller owns makes checks faster and changes nothing: each check with one more period as a fresh one', () => {
    const counts = simulateCounts({ rps: 200, share: () => 0.2, baselineErrorRate: 0.01, errorRatio: 1.5, periodSeconds: 1, periods: 300 }, seeded(2503));
    const cache = new JudgeCache();
    for (const n of [100, 101, 102, 250, 300]) {
      const fresh = judgeObservation(gate({ periodSeconds: 1 }), observed(counts.slice(0, n), 1), { stepSeconds: 300 });
      expect(judgeObservation(gate({ periodSeconds: 1 }), observed(counts.slice(0, n), 1), { stepSeconds: 300, judgeCache: cache })).toEqual(fresh);
    }
  });
});

describe('latency at bin edges', () => {
  it('a threshold of m · (1 + tolerance) landing on a bin’s edge counts the bin above it (20% bins: "20%" acted as 44%)', () => {
    const bounds = Array.from({ length: 65 }, (_, i) => 0.0005 * Math.pow(1.2, i));
    // bounds[3] is one rounding below bounds[2] + 0.2 · bounds[2]: the edge case.
    expect(bounds[3]!).toBeLessThan(bounds[2]! + 0.2 * bounds[2]!);
    const at = (bin: number, n: number) => ({ bounds, counts: bounds.map((_, i) => (i === bin ? n : 0)) });
    const periods = [0, 1].map(() => ({ candidate: at(4, 100), baseline: at(2, 900) }));
    const [judged] = latencyCounts(periods, { tolerance: 0.2, floorSeconds: 0 });
    // Every request of the new version lies above the median's bin edge times 1.2: all count.
    expect(judged!.candidate.events).toBe(100);
  });
});

describe('latency with fine bins, sparse', () => {
  it('property: the median followed from period to period is the one searched for in the whole history, sparse or dense', () => {
    const bounds = Array.from({ length: 40 }, (_, i) => 0.001 * 1.01 ** i);
    const sparse = (counts: number[]): LatencyBins => {
      const at = counts.flatMap((c, i) => (c > 0 ? [i] : []));
      return { bounds, counts: at.map((i) => counts[i]!), at };
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(fc.nat(5), { minLength: 40, maxLength: 40 }), fc.array(fc.nat(5), { minLength: 40, maxLength: 40 })), {
          minLength: 1,
          maxLength: 12,
        }),
        (raw) => {
          const tolerance = { tolerance: 0.1, floorSeconds: 0 };
          const got = latencyCounts(
            raw.map(([c, b]) => ({ candidate: sparse(c), baseline: sparse(b) })),
            tolerance,
          );
          // The reference: the median of the dense history, searched for again at every period.
          const expected: CountPeriod[] = [];
          const history = bounds.map(() => 0);
          for (const [c, b] of raw) {
            const median = binQuantile({ bounds, counts: history }, 0.5);
            if (median !== undefined) {
              const dense = (counts: number[]) => ({ bounds, counts });
              expected.push({
                candidate: { requests: c.reduce((x, y) => x + y, 0), events: slowerThan(dense(c), median * 1.1, 'certainly') },
                baseline: { requests: b.reduce((x, y) => x + y, 0), events: slowerThan(dense(b), median, 'possibly') },
              });
            }
            b.forEach((n, i) => (history[i]! += n));
          }
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
  it('property: with a cache, checks that see one more period, the same periods over a socket or a changed past give what a fresh computation gives', () => {
    const bounds = Array.from({ length: 40 }, (_, i) => 0.001 * 1.01 ** i);
    const sparse = (counts: number[]): LatencyBins => {
      const at = counts.flatMap((c, i) => (c > 0 ? [i] : []));
      return { bounds, counts: at.map((i) => counts[i]!), at };
    };
    const bins = fc.array(fc.nat(5), { minLength: 40, maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.tuple(bins, bins), { minLength: 2, maxLength: 12 }), fc.nat(11), bins, (raw, changed, other) => {
        const tolerance = { tolerance: 0.1, floorSeconds: 0 };
        const periods = raw.map(([c, b]) => ({ candidate: sparse(c), baseline: sparse(b) }));
        const cache = new JudgeCache();
        const fresh = (ps: typeof periods) => {
          const effective: number[] = [];
          return { counts: latencyCounts(ps, tolerance, effective), effective };
        };
        const cached = (ps: typeof periods) => {
          const effective: number[] = [];
          return { counts: latencyCounts(ps, tolerance, effective, cache), effective };
        };
        for (let n = 1; n <= periods.length; n++) expect(cached(periods.slice(0, n))).toEqual(fresh(periods.slice(0, n)));
        // The same periods as the data plane sends them (new arrays, equal items).
        const copied = JSON.parse(JSON.stringify(periods)) as typeof periods;
        expect(cached(copied)).toEqual(fresh(periods));
        // A past that is not the one remembered (another release's gate, say) is counted afresh.
        const altered = periods.map((p, i) => (i === changed % periods.length ? { ...p, baseline: sparse(other) } : p));
        expect(cached(altered)).toEqual(fresh(altered));
      }),
      { numRuns: 200 },
    );
  });
});
