/**
 * The canary judge beside the gates teams use today, on seeded simulated traffic: 40 requests/s,
 * 10% on the new version, a stable error rate of 0.5%, a 10-minute bake, RELEASES releases per case.
 * For each method: the share of releases it rolls back, and the median time to roll back.
 *
 *  - judge: Switchyard's group-sequential test (alpha 0.05 spent over the bake; errors: a quarter in its
 *    first 80 s, latency: three quarters), looking at the end of every period: 10 s, and every second;
 *  - threshold: error rate of the new version over the last minute above 1% (and 2%), at least 50
 *    requests, checked every minute;
 *  - Mann-Whitney (Kayenta's test): one-sided, one-minute error-rate buckets of new versus stable,
 *    re-run every minute, and run once at the end; alpha 0.05.
 *
 * Cases: no regression (A/A), the new version's error rate 2x and 4x the stable one's, and 20%
 * more latency and none (the judge's latency signal, tolerance 5% and floor 1 ms, against Mann-Whitney on
 * one-minute mean latencies).
 *
 *   npm run bench:judge
 */
import {
  DEFAULT_EARLY_SHARE,
  judgeCounts,
  LATENCY_ALTERNATIVES,
  latencyCounts,
  sequentialLooks,
  type CountPeriod,
  type LatencyBins,
} from '../src/core/judge.js';
import { binomial, poisson, seeded } from '../test/support/traffic.js';
import { mannWhitneyP } from './support/mann-whitney.js';

const RELEASES = Number(process.env['RELEASES'] ?? 1000);
const RPS = 40;
const SHARE = 0.1;
const BASE_ERROR = 0.005;
const BAKE_SECONDS = 600;
const ALPHA = 0.05;
/** To stop for +20% latency, the tolerance must be below it: 5% of the stable median, floor 1 ms. */
const LATENCY_TOLERANCE = { tolerance: 0.05, floorSeconds: 0.001 };

interface Second {
  readonly n1: number;
  readonly x1: number;
  readonly n0: number;
  readonly x0: number;
  /** Latency histograms (only in the latency case). */
  readonly l1?: number[];
  readonly l0?: number[];
}

/** Latency bins 2% wide from 5 ms (fine enough for a 5% tolerance). */
const GROWTH = 1.02;
const BOUNDS = Array.from({ length: 350 }, (_, i) => 0.005 * Math.pow(GROWTH, i));
function latencySample(random: () => number, scale: number): number {
  // Lognormal around 50 ms (sigma 0.5), times `scale`.
  const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
  return 0.05 * Math.exp(0.5 * z) * scale;
}
function bin(counts: number[], seconds: number): void {
  const at = Math.max(0, Math.ceil(Math.log(seconds / 0.005) / Math.log(GROWTH)));
  counts[Math.min(BOUNDS.length - 1, at)]!++;
}

function simulate(random: () => number, errorRatio: number, latencyScale: number | undefined): Second[] {
  const out: Second[] = [];
  for (let t = 0; t < BAKE_SECONDS; t++) {
    const total = poisson(random, RPS);
    const n1 = binomial(random, total, SHARE);
    const n0 = total - n1;
    const second: Second = { n1, x1: binomial(random, n1, BASE_ERROR * errorRatio), n0, x0: binomial(random, n0, BASE_ERROR) };
    if (latencyScale !== undefined) {
      const l1 = BOUNDS.map(() => 0);
      const l0 = BOUNDS.map(() => 0);
      for (let i = 0; i < n1; i++) bin(l1, latencySample(random, latencyScale));
      for (let i = 0; i < n0; i++) bin(l0, latencySample(random, 1));
      out.push({ ...second, l1, l0 });
    } else out.push(second);
  }
  return out;
}

/** Groups seconds into periods of `seconds`. */
function periods(run: Second[], seconds: number): Second[][] {
  const out: Second[][] = [];
  for (let i = 0; i + seconds <= run.length; i += seconds) out.push(run.slice(i, i + seconds));
  return out;
}
const sum = (xs: Second[], f: (s: Second) => number) => xs.reduce((a, s) => a + f(s), 0);
const sumBins = (xs: Second[], f: (s: Second) => number[] | undefined) =>
  xs.reduce(
    (acc, s) => acc.map((c, i) => c + (f(s)?.[i] ?? 0)),
    BOUNDS.map(() => 0),
  );

/** Seconds until the judge rolls back (checked at the end of every period), or undefined. */
function judge(run: Second[], periodSeconds: number, signal: 'errors' | 'latency'): number | undefined {
  const ps = periods(run, periodSeconds);
  const counts: CountPeriod[] =
    signal === 'errors'
      ? ps.map((p) => ({
          candidate: { requests: sum(p, (s) => s.n1), events: sum(p, (s) => s.x1) },
          baseline: { requests: sum(p, (s) => s.n0), events: sum(p, (s) => s.x0) },
        }))
      : latencyCounts(
          ps.map((p) => ({
            candidate: { bounds: BOUNDS, counts: sumBins(p, (s) => s.l1) } as LatencyBins,
            baseline: { bounds: BOUNDS, counts: sumBins(p, (s) => s.l0) },
          })),
          LATENCY_TOLERANCE,
        );
  // latencyCounts skips the first period (no threshold yet): its periods start one later.
  const offset = signal === 'latency' ? 1 : 0;
  // A look at the end of every period, spending alpha over the bake as the judge does in one.
  const fractions = counts.map((_, i) => ((i + 1 + offset) * periodSeconds) / BAKE_SECONDS);
  const { crossedAt } = sequentialLooks(counts, fractions, ALPHA, DEFAULT_EARLY_SHARE[signal]);
  return crossedAt === undefined ? undefined : (crossedAt + 1 + offset) * periodSeconds;
}

/** Seconds until the threshold gate trips (error rate over the last minute above `limit`, at least 50 requests). */
function threshold(run: Second[], limit: number): number | undefined {
  for (let minute = 1; minute * 60 <= run.length; minute++) {
    const window = run.slice((minute - 1) * 60, minute * 60);
    const n = sum(window, (s) => s.n1);
    if (n >= 50 && sum(window, (s) => s.x1) / n > limit) return minute * 60;
  }
  return undefined;
}

/** Seconds until Mann-Whitney on one-minute buckets rejects (re-run every minute, or once at the end). */
function mannWhitney(run: Second[], signal: 'errors' | 'latency', once: boolean): number | undefined {
  const minutes = periods(run, 60);
  const value = (m: Second[], side: 1 | 0) => {
    if (signal === 'errors') {
      const n = sum(m, (s) => (side ? s.n1 : s.n0));
      return n === 0 ? 0 : sum(m, (s) => (side ? s.x1 : s.x0)) / n;
    }
    const bins = sumBins(m, (s) => (side ? s.l1 : s.l0));
    const n = bins.reduce((a, b) => a + b, 0);
    return n === 0 ? 0 : bins.reduce((a, c, i) => a + c * BOUNDS[i]!, 0) / n;
  };
  for (let k = once ? minutes.length : 2; k <= minutes.length; k++) {
    const seen = minutes.slice(0, k);
    if (
      mannWhitneyP(
        seen.map((m) => value(m, 1)),
        seen.map((m) => value(m, 0)),
      ) < ALPHA
    )
      return k * 60;
  }
  return undefined;
}

const CASES = [
  { name: 'A/A (no regression)', errorRatio: 1, latency: undefined },
  { name: 'error rate 2x', errorRatio: 2, latency: undefined },
  { name: 'error rate 4x', errorRatio: 4, latency: undefined },
  { name: 'latency A/A', errorRatio: 1, latency: 1 },
  { name: 'latency +20%', errorRatio: 1, latency: 1.2 },
] as const;

const median = (xs: number[]) => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

console.log(
  `${RELEASES} seeded releases per case: ${RPS} requests/s, ${SHARE * 100}% on the new version, stable error rate ${BASE_ERROR * 100}%, ${BAKE_SECONDS / 60}-minute bake, alpha ${ALPHA}`,
);
console.log(`${'case'.padEnd(22)}${'method'.padEnd(44)}rolled back   median time to roll back`);
for (const c of CASES) {
  const random = seeded(c.errorRatio * 1000 + (c.latency ?? 0) * 10);
  const signal = c.latency === undefined ? 'errors' : 'latency';
  const methods: [string, (run: Second[]) => number | undefined][] = [
    ['judge, checked every 10 s', (r) => judge(r, 10, signal)],
    ['judge, checked every second', (r) => judge(r, 1, signal)],
    ...(signal === 'errors'
      ? ([
          ['threshold: error rate > 1% over 1 min, every min', (r: Second[]) => threshold(r, 0.01)],
          ['threshold: error rate > 2% over 1 min, every min', (r: Second[]) => threshold(r, 0.02)],
        ] as [string, (run: Second[]) => number | undefined][])
      : []),
    ['Mann-Whitney on 1-min buckets, re-run every min', (r) => mannWhitney(r, signal, false)],
    ['Mann-Whitney on 1-min buckets, once at the end', (r) => mannWhitney(r, signal, true)],
  ];
  const times = methods.map(() => [] as number[]);
  for (let i = 0; i < RELEASES; i++) {
    const run = simulate(random, c.errorRatio, c.latency);
    methods.forEach(([, method], m) => {
      const t = method(run);
      if (t !== undefined) times[m]!.push(t);
    });
  }
  methods.forEach(([name], m) => {
    const share = times[m]!.length / RELEASES;
    const med = median(times[m]!);
    console.log(`${c.name.padEnd(22)}${name.padEnd(44)}${`${(share * 100).toFixed(1)}%`.padStart(11)}   ${med === undefined ? '-' : `${med} s`}`);
  });
}

/**
 * What one check costs: the judge's whole assessment (verdict, interval, evidence) at the end of a
 * 10-minute bake of 200 requests/s with 1 s periods, latency signal (about half the requests count):
 * the first check of these periods, and a check with one more period after it (the walk so far is
 * taken up again). Medians of 5.
 */
{
  const random = seeded(77);
  const run = simulate(random, 1, 1.1);
  // Scale the load to 200 requests/s: five seconds of simulated traffic per period.
  const periodsOf = (n: number) =>
    latencyCounts(
      Array.from({ length: n }, (_, i) => {
        const five = run.slice((i * 5) % (run.length - 5), ((i * 5) % (run.length - 5)) + 5);
        return { candidate: { bounds: BOUNDS, counts: sumBins(five, (s) => s.l1) }, baseline: { bounds: BOUNDS, counts: sumBins(five, (s) => s.l0) } };
      }),
      LATENCY_TOLERANCE,
    );
  const counts = periodsOf(BAKE_SECONDS);
  const fractions = counts.map((_, i) => (i + 2) / BAKE_SECONDS);
  const settings = { alpha: ALPHA, tolerance: 0.05, earlyShare: DEFAULT_EARLY_SHARE.latency };
  const time = (f: () => void) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  const cold: number[] = [];
  const warm: number[] = [];
  for (let k = 0; k < 5; k++) {
    // A different first period each round, so nothing is remembered from the round before.
    const shifted = [{ ...counts[0]!, candidate: { ...counts[0]!.candidate, requests: counts[0]!.candidate.requests + k + 1 } }, ...counts.slice(1)];
    cold.push(time(() => judgeCounts(shifted.slice(0, -1), settings, LATENCY_ALTERNATIVES, { fractions: fractions.slice(0, -1) })));
    warm.push(time(() => judgeCounts(shifted, settings, LATENCY_ALTERNATIVES, { fractions })));
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
  console.log(
    `\none check at the end of a 10-minute bake, 200 requests/s, 1 s periods, latency: first ${mid(cold).toFixed(0)} ms, next (one more period) ${mid(warm).toFixed(0)} ms (${(mid(cold) / mid(warm)).toFixed(1)}x faster)`,
  );
}
