/**
 * The canary judge on the product path: the gates a user gets from `resolveConfig` (the defaults:
 * alpha 0.05 per release, tolerance 20%, 10 s periods, 10 s warm-up, minErrors 3), observations built
 * as the local driver builds them (its VersionMetrics, the proxy's 1% latency buckets) or as
 * CloudWatch's aligned minutes give them, judged by `judgeObservation` (what every gate check runs).
 * Seeded simulated traffic: 40 requests/s, a stable error rate of 0.5%, latencies lognormal around
 * 50 ms; RELEASES releases per case, each rate printed with its standard error.
 *
 * A check runs after every period (10 s periods checked every 10 s, 1 s periods every second): the
 * judge fails at the first look whose boundary the counts reach, and a check sees it at that look.
 * Comparators on the same streams: thresholds on the new version's error rate over the last minute
 * (at least 50 requests, checked every minute) and Mann-Whitney on one-minute buckets (Kayenta's test).
 *
 *   npm run bench:judge              (RELEASES=300 for a quick look; ONLY=cost,sticky for some cases)
 */
import { resolveConfig } from '../src/config/config.js';
import { judgeObservation, type JudgeGate, type JudgePeriod, type Observation } from '../src/core/gates.js';
import { HISTORY_MINUTES, JudgeCache, judgeCounts, type CountPeriod } from '../src/core/judge.js';
import { VersionMetrics } from '../src/adapters/local/version-metrics.js';
import { JUDGE_LATENCY_BINS, judgePeriods } from '../src/adapters/local/local-target.js';
import { beta, binomial, poisson, seeded } from '../test/support/traffic.js';
import { mannWhitneyP } from './support/mann-whitney.js';
import { ecsTarget } from './judge-review/common.js';

const RELEASES = Number(process.env['RELEASES'] ?? 1000);
/** Only these cases (comma-separated: aa, clustered, sticky, power, latency, lone, minerrors, cost), to iterate on one; all by default. */
const ONLY = process.env['ONLY']?.split(',');
const runs = (name: string) => ONLY === undefined || ONLY.includes(name);
const RPS = 40;
const BASE_ERROR = 0.005;
const BAKE = 600;
const T0 = Date.parse('2026-01-01T00:00:00Z');

// ---------------------------------------------------------------------------------------------
// The product's gates.

const localTarget = { driver: 'local', command: ['node', 'server.mjs'], port: 18080 };
function judgeGates(service: Record<string, unknown>): { errors: JudgeGate; latency?: JudgeGate } {
  const config = resolveConfig({ environment: 'bench', services: [{ name: 'svc', ...service }] });
  const gates = config.services[0]!.settings.gates.filter((g): g is JudgeGate => g.kind === 'judge');
  const latency = gates.find((g) => g.signal === 'latency');
  return { errors: gates.find((g) => g.signal === 'errors')!, ...(latency ? { latency } : {}) };
}
/** A release with two judged bakes (10%, then 50%), errors and latency: the judge's α shared by four tests. */
const TWO_BAKES = judgeGates({
  target: localTarget,
  strategy: {
    type: 'canary',
    steps: [
      { percent: 10, bake: '10m' },
      { percent: 50, bake: '10m' },
    ],
    finalBake: '1m',
  },
  gates: { judge: {} },
});
/** The set-up of issue 25's check: a 10% canary baking 10 minutes, then 100% (one judged bake, two signals). */
const ONE_BAKE = judgeGates({
  target: localTarget,
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' },
  gates: { judge: {} },
});
const ONE_BAKE_1S = judgeGates({
  target: localTarget,
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' },
  gates: { judge: { period: '1s' }, checkInterval: '1s' },
});
/** On AWS (ecs, CloudWatch's minutes): errors only, and the shifts ECS makes on its own are watched too. */
const ECS = judgeGates({
  target: ecsTarget,
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' },
  gates: { judge: { signals: ['errors'], period: '1m' } },
});

// ---------------------------------------------------------------------------------------------
// Traffic.

interface Traffic {
  readonly share: number;
  readonly errorRatio?: number;
  /** Per-version clustered errors: each version's error probability drawn per minute, Beta with this concentration around 0.5%. */
  readonly clustered?: number;
  /** One client sending 5% of the requests, all failing: stuck to one version ('new' or 'stable'), or routed per request ('split'). */
  readonly sticky?: 'new' | 'stable' | 'split';
  /** The new version's latencies times this (undefined: no latency recorded). */
  readonly latencyScale?: number;
  /** Seconds before a step's first whole CloudWatch minute (the step starts mid-minute). */
  readonly offset?: number;
  /** Exactly these errors on the new version at these seconds, none on stable (else drawn). */
  readonly errorsAt?: readonly number[];
}

/** One second of both versions' counts. */
interface Second {
  n1: number;
  x1: number;
  n0: number;
  x0: number;
}

/** One bake: counts per second, and (with latency) the local driver's own metrics of both versions. */
function bake(random: () => number, t: Traffic): Run {
  const metrics = t.latencyScale !== undefined ? new VersionMetrics() : undefined;
  const seconds: Second[] = [];
  let p1 = BASE_ERROR * (t.errorRatio ?? 1);
  let p0 = BASE_ERROR;
  // The stable version's hour before the step (all the traffic): what the drivers send as history.
  const history = Array.from({ length: HISTORY_MINUTES }, () => {
    const p = t.clustered ? beta(random, BASE_ERROR, t.clustered) : BASE_ERROR;
    const requests = poisson(random, RPS * 60 * (t.sticky ? 0.95 : 1));
    const client = t.sticky === 'stable' || t.sticky === 'split' ? poisson(random, RPS * 60 * 0.05) : 0;
    // With `errorsAt` (no errors on stable during the step), none before it either.
    return { requests: requests + client, errors: (t.errorsAt ? 0 : binomial(random, requests, p)) + client };
  });
  for (let s = 0; s < BAKE; s++) {
    if (t.clustered && s % 60 === 0) {
      p1 = beta(random, BASE_ERROR, t.clustered) * (t.errorRatio ?? 1);
      p0 = beta(random, BASE_ERROR, t.clustered);
    }
    const total = poisson(random, RPS * (t.sticky ? 0.95 : 1));
    const n1 = binomial(random, total, t.share);
    const second = { n1, x1: 0, n0: total - n1, x0: 0 };
    if (t.errorsAt) second.x1 = t.errorsAt.filter((e) => e === s).length;
    else {
      second.x1 = binomial(random, n1, Math.min(1, p1));
      second.x0 = binomial(random, second.n0, p0);
    }
    if (t.sticky) {
      const client = poisson(random, RPS * 0.05);
      const toNew = t.sticky === 'new' ? client : t.sticky === 'stable' ? 0 : binomial(random, client, t.share);
      second.n1 += toNew;
      second.x1 += toNew;
      second.n0 += client - toNew;
      second.x0 += client - toNew;
    }
    if (metrics) {
      const at = T0 + s * 1000;
      for (let i = 0; i < second.n1; i++) metrics.record('new', i < second.x1 ? 500 : 200, latency(random, t.latencyScale!), at + random() * 999);
      for (let i = 0; i < second.n0; i++) metrics.record('stable', i < second.x0 ? 500 : 200, latency(random, 1), at + random() * 999);
    }
    seconds.push(second);
  }
  return { seconds, history, ...(metrics ? { metrics } : {}) };
}
interface Run {
  readonly seconds: Second[];
  readonly metrics?: VersionMetrics;
  readonly history?: readonly { requests: number; errors: number }[];
}
function latency(random: () => number, scale: number): number {
  const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
  return 50 * Math.exp(0.5 * z) * scale; // ms
}

/** The observation a gate check gets: as the local driver builds it, or CloudWatch's whole minutes (`offset`). */
function observation(gate: JudgeGate, run: Run, offset?: number): Extract<Observation, { kind: 'judge' }> {
  const p = gate.periodSeconds;
  if (gate.signal === 'latency') {
    return { gate: gate.name, kind: 'judge', bounds: JUDGE_LATENCY_BINS.bounds, periods: judgePeriods(run.metrics!, 'new', 'stable', p, T0, T0 + BAKE * 1000) };
  }
  // Periods cut from `-offset` seconds (CloudWatch: whole minutes, the first begun before the step, with stable traffic only).
  const from = offset !== undefined ? -offset : 0;
  const periods: JudgePeriod[] = [];
  for (let start = from; start + p <= BAKE; start += p) {
    const c = { requests: 0, errors: 0 };
    const b = { requests: 0, errors: 0 };
    for (let s = Math.max(0, start); s < start + p; s++) {
      const x = run.seconds[s]!;
      c.requests += x.n1;
      c.errors += x.x1;
      b.requests += x.n0;
      b.errors += x.x0;
    }
    if (start < 0) b.requests += Math.round(-start * RPS); // the minute's part before the step: stable only
    periods.push({ start: new Date(T0 + start * 1000).toISOString(), candidate: c, baseline: b });
  }
  // Both drivers send the stable version's hour before the step (the AWS one from CloudWatch's minutes).
  return {
    gate: gate.name,
    kind: 'judge',
    periods,
    ...(offset !== undefined ? { stepStart: new Date(T0).toISOString() } : {}),
    ...(run.history ? { history: run.history } : {}),
  };
}

/** Seconds into the bake at which a check (after every period) first sees the gate fail; undefined: never. */
function judged(gate: JudgeGate, run: Run, offset?: number): number | undefined {
  const a = judgeObservation(gate, observation(gate, run, offset), { stepSeconds: BAKE });
  return a.failedAtLook === undefined ? undefined : a.periodEnds[a.failedAtLook]! / 1000;
}

/** The same test without the widening for clustered errors and without minErrors (the judge before issue 25, at the same α). */
function exact(gate: JudgeGate, run: { seconds: Second[] }): number | undefined {
  const p = gate.periodSeconds;
  const counts: CountPeriod[] = [];
  for (let start = 0; start + p <= BAKE; start += p) {
    const w = run.seconds.slice(start, start + p);
    const sum = (f: (s: Second) => number) => w.reduce((a, s) => a + f(s), 0);
    if (start + p > gate.warmupSeconds)
      counts.push({ candidate: { requests: sum((s) => s.n1), events: sum((s) => s.x1) }, baseline: { requests: sum((s) => s.n0), events: sum((s) => s.x0) } });
  }
  const ends = counts.map((_, i) => BAKE - (counts.length - 1 - i) * p);
  const a = judgeCounts(counts, { alpha: gate.alpha * (gate.alphaShare ?? 1), tolerance: gate.tolerance, earlyShare: 0.25 }, undefined, {
    fractions: ends.map((e) => e / BAKE),
  });
  return a.failedAtLook === undefined ? undefined : ends[a.failedAtLook];
}

/** The new version's error rate over the last minute above `limit` (at least 50 requests), checked every minute. */
function threshold(run: { seconds: Second[] }, limit: number): number | undefined {
  for (let minute = 1; minute * 60 <= BAKE; minute++) {
    const w = run.seconds.slice((minute - 1) * 60, minute * 60);
    const n = w.reduce((a, s) => a + s.n1, 0);
    if (n >= 50 && w.reduce((a, s) => a + s.x1, 0) / n > limit) return minute * 60;
  }
  return undefined;
}

/** Mann-Whitney on one-minute buckets (error rates, or mean latencies), re-run every minute or once at the end, alpha 0.05. */
function mannWhitney(run: { seconds: Second[]; metrics?: VersionMetrics }, signal: 'errors' | 'latency', once: boolean): number | undefined {
  const minutes = BAKE / 60;
  const value = (m: number, side: 'new' | 'stable') => {
    if (signal === 'latency') {
      const t = run.metrics!.totals(side, T0 + m * 60_000, T0 + (m + 1) * 60_000);
      return t.count === 0 ? 0 : t.latencies.sum / t.count;
    }
    const w = run.seconds.slice(m * 60, (m + 1) * 60);
    const n = w.reduce((a, s) => a + (side === 'new' ? s.n1 : s.n0), 0);
    return n === 0 ? 0 : w.reduce((a, s) => a + (side === 'new' ? s.x1 : s.x0), 0) / n;
  };
  for (let k = once ? minutes : 2; k <= minutes; k++) {
    const seen = Array.from({ length: k }, (_, m) => m);
    if (
      mannWhitneyP(
        seen.map((m) => value(m, 'new')),
        seen.map((m) => value(m, 'stable')),
      ) < 0.05
    )
      return k * 60;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reporting.

const rate = (hits: number, n: number) => `${((100 * hits) / n).toFixed(1)}% ± ${((100 * Math.sqrt((hits / n) * (1 - hits / n))) / Math.sqrt(n)).toFixed(1)}`;
const median = (xs: number[]) => (xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]);
/** `methods` over `runs` releases, each a list of bakes; a release is rolled back when a method fails in any of its bakes. */
function report(name: string, goal: string, runs: number, draw: (i: number) => (() => number | undefined)[], labels: string[]): void {
  const times = labels.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    const methods = draw(i);
    methods.forEach((m, k) => {
      const t = m();
      if (t !== undefined) times[k]!.push(t);
    });
  }
  labels.forEach((label, k) => {
    const med = median(times[k]!);
    console.log(
      `${(k === 0 ? name : '').padEnd(52)}${label.padEnd(46)}${rate(times[k]!.length, runs).padStart(14)}  ${(med === undefined ? '-' : `${med} s`).padStart(7)}  ${k === 0 ? goal : ''}`,
    );
  });
}
const first = (...ts: (number | undefined)[]) => {
  const defined = ts.filter((t): t is number => t !== undefined);
  return defined.length === 0 ? undefined : Math.min(...defined);
};

console.log(`${RELEASES} seeded releases per case; ${RPS} requests/s, stable error rate ${BASE_ERROR * 100}%, 10-minute bakes, alpha 0.05 per release`);
const part = (g: JudgeGate) => (g.alpha * (g.alphaShare ?? 1)).toFixed(4);
console.log(
  `alpha per test: two judged bakes, errors ${part(TWO_BAKES.errors)} and latency ${part(TWO_BAKES.latency!)}; one bake ${part(ONE_BAKE.errors)} and ${part(ONE_BAKE.latency!)}; ecs canary (errors, its shifts watched too) ${part(ECS.errors)}`,
);
console.log(`${'case'.padEnd(52)}${'method'.padEnd(46)}${'rolled back'.padStart(14)}  ${'median'.padStart(7)}  goal`);

const COMPARATORS = ['error rate > 1% (1 min)', 'error rate > 2% (1 min)', 'Mann-Whitney errors, re-run every min', 'Mann-Whitney errors, once at the end'];
const comparators = (runs: { seconds: Second[] }[]) => [
  () => first(...runs.map((r) => threshold(r, 0.01))),
  () => first(...runs.map((r) => threshold(r, 0.02))),
  () => first(...runs.map((r) => mannWhitney(r, 'errors', false))),
  () => first(...runs.map((r) => mannWhitney(r, 'errors', true))),
];

// A/A, one release with two judged bakes (10%, 50%), errors and latency: false rollbacks per release.
if (runs('aa')) {
  const random = seeded(1);
  report(
    'A/A, 2 bakes x (errors + latency)',
    '<= 5% (+2 SE)',
    RELEASES,
    () => {
      const runs = [bake(random, { share: 0.1, latencyScale: 1 }), bake(random, { share: 0.5, latencyScale: 1 })];
      const judge = first(...runs.flatMap((r) => [judged(TWO_BAKES.errors, r), judged(TWO_BAKES.latency!, r)]));
      return [
        () => judge,
        ...comparators(runs),
        () => first(...runs.map((r) => mannWhitney(r, 'latency', false))),
        () => first(...runs.map((r) => mannWhitney(r, 'latency', true))),
      ];
    },
    ['judge (product defaults)', ...COMPARATORS, 'Mann-Whitney latency, re-run every min', 'Mann-Whitney latency, once at the end'],
  );
}

// A/A with per-version clustered errors, and with one always-failing client sending 5% of the
// requests. Locally (the product path) the proxy routes every request by weight, the built-in one by
// a weighted draw, HAProxy by `balance roundrobin` in HTTP mode: the client's failing requests land
// on both versions in proportion to their shares.
const A_A: [string, { clustered?: number; sticky?: 'split' }, number][] = [
  ['A/A, clustered errors (Beta, 1 min)', { clustered: Number(process.env['CLUSTER'] ?? 1000) }, 2],
  ['A/A, failing client (5%), local routing', { sticky: 'split' }, 4],
];
for (const [name, traffic, seed] of A_A) {
  if (!runs(traffic.clustered ? 'clustered' : 'sticky')) continue;
  const random = seeded(seed);
  report(
    `${name}, 2 bakes`,
    '<= 6%',
    RELEASES,
    () => {
      const t: Partial<Traffic> = { ...(traffic.clustered ? { clustered: traffic.clustered } : {}), ...(traffic.sticky ? { sticky: traffic.sticky } : {}) };
      const bakes = [bake(random, { share: 0.1, ...t }), bake(random, { share: 0.5, ...t })];
      const judge = first(...bakes.map((r) => judged(TWO_BAKES.errors, r)));
      return [() => judge, () => first(...bakes.map((r) => exact(TWO_BAKES.errors, r))), ...comparators(bakes)];
    },
    ['judge errors (product defaults)', 'same alpha, no widening, no minErrors', ...COMPARATORS],
  );
}

// On AWS only: the same client held on one version by the ALB's target-group stickiness (it lands on
// the new version with the first step's weight, 10%, and stays). CloudWatch gives counts per target
// group, not per client: nothing in them tells this client from a regression (a limit, docs/judge.md).
if (runs('sticky')) {
  const random = seeded(3);
  report(
    'A/A, failing client held by ALB stickiness (ecs)',
    'a limit of counts',
    RELEASES,
    () => {
      const run = bake(random, { share: 0.1, sticky: random() < 0.1 ? 'new' : 'stable' });
      const offset = Math.floor(random() * 60);
      return [() => judged(ECS.errors, run, offset), ...comparators([run])];
    },
    ['judge on ecs, CloudWatch minutes', ...COMPARATORS],
  );
}

// Power: 2x and 4x errors, one 10% canary bake of 10 minutes (the judge's α shared by two signals).
for (const ratio of runs('power') ? [2, 4] : []) {
  const random = seeded(10 + ratio);
  report(
    `error rate ${ratio}x, 10% canary`,
    ratio === 2 ? '>= 80%' : 'median < 90 s (10 s, 1 s), < 150 s (60 s)',
    RELEASES,
    () => {
      const run = bake(random, { share: 0.1, errorRatio: ratio });
      const offset = Math.floor(random() * 60);
      const aligned = bake(random, { share: 0.1, errorRatio: ratio });
      return [
        () => judged(ONE_BAKE.errors, run),
        () => judged(ONE_BAKE_1S.errors, run),
        () => judged(ECS.errors, aligned, offset),
        () => exact(ONE_BAKE.errors, run),
        () => judged(TWO_BAKES.errors, run),
        ...comparators([run]),
      ];
    },
    [
      'judge, 10 s periods (checks)',
      'judge, 1 s periods (checks)',
      'judge on ecs, CloudWatch minutes',
      'same alpha, no widening, no minErrors',
      'judge as in a release of 2 judged bakes',
      ...COMPARATORS,
    ],
  );
}

// Latency +20% on the local defaults (tolerance 20%... a slowdown of more than 20% is what it stops for).
if (runs('latency')) {
  const random = seeded(20);
  report(
    'latency +20%, 10% canary',
    '>= 90%',
    RELEASES,
    () => {
      const run = bake(random, { share: 0.1, latencyScale: 1.2 });
      return [() => judged(ONE_BAKE.latency!, run), () => mannWhitney(run, 'latency', false), () => mannWhitney(run, 'latency', true)];
    },
    ['judge (local defaults, 1% bins)', 'Mann-Whitney latency, re-run every min', 'Mann-Whitney latency, once at the end'],
  );
}

// One error on the new version, none on stable, at a 1% share.
if (runs('lone')) {
  const random = seeded(30);
  const run = bake(random, { share: 0.01, errorsAt: [60] });
  const minOne = { ...ONE_BAKE.errors, minErrors: 1 };
  console.log(
    `${'one error on new, none on stable, 1%'.padEnd(52)}judge (minErrors ${ONE_BAKE.errors.minErrors}): ${judged(ONE_BAKE.errors, run) === undefined ? 'no rollback' : 'rolled back'}; with minErrors 1: ${judged(minOne, run) === undefined ? 'no rollback' : `rolled back at ${judged(minOne, run)} s`}   goal: no rollback`,
  );
}

// minErrors, chosen by measurement: power against the lone-error case.
if (runs('minerrors')) {
  console.log('\nminErrors (one 10% canary bake, 10 s periods): 2x caught, 4x median, lone errors at 1% (1..4 errors on new, none on stable) rolled back');
  for (const minErrors of [1, 2, 3, 5]) {
    const gate = { ...ONE_BAKE.errors, minErrors };
    const random = seeded(40);
    let caught2 = 0;
    const t4: number[] = [];
    const n = Math.ceil(RELEASES / 2);
    for (let i = 0; i < n; i++) {
      if (judged(gate, bake(random, { share: 0.1, errorRatio: 2 })) !== undefined) caught2++;
      const t = judged(gate, bake(random, { share: 0.1, errorRatio: 4 }));
      if (t !== undefined) t4.push(t);
    }
    const lone = [1, 2, 3, 4].map((k) => judged(gate, bake(random, { share: 0.01, errorsAt: Array.from({ length: k }, (_, j) => 60 + 20 * j) })) !== undefined);
    console.log(
      `  minErrors ${minErrors}: 2x ${rate(caught2, n)}, 4x median ${median(t4)} s, lone errors rolled back: ${lone.map((r, k) => `${k + 1}: ${r ? 'yes' : 'no'}`).join(', ')}`,
    );
  }
}

// What a check costs: a 1-hour bake, 1 s periods, 200 requests/s, both signals (the control plane's work).
if (runs('cost')) {
  const gates = judgeGates({
    target: localTarget,
    strategy: { type: 'canary', steps: [{ percent: 10, bake: '60m' }], finalBake: '1m' },
    gates: { judge: { period: '1s' }, checkInterval: '1s' },
  });
  const random = seeded(50);
  const metrics = new VersionMetrics();
  const HOUR = 3600;
  const counts: Second[] = [];
  for (let s = 0; s < HOUR; s++) {
    const total = poisson(random, 200);
    const n1 = binomial(random, total, 0.1);
    const x1 = binomial(random, n1, BASE_ERROR);
    const x0 = binomial(random, total - n1, BASE_ERROR);
    counts.push({ n1, x1, n0: total - n1, x0 });
    for (let i = 0; i < n1; i++) metrics.record('new', i < x1 ? 500 : 200, latency(random, 1), T0 + s * 1000 + random() * 999);
    for (let i = 0; i < total - n1; i++) metrics.record('stable', i < x0 ? 500 : 200, latency(random, 1), T0 + s * 1000 + random() * 999);
  }
  // The stable version's hour before the step, as the drivers send it with every errors observation.
  const history = Array.from({ length: HISTORY_MINUTES }, () => ({ requests: 12_000, errors: poisson(random, 60) }));
  const run = { seconds: counts, metrics, history };
  const obsAt = (gate: JudgeGate, seconds: number) => {
    const o = observationFor(gate, run, seconds);
    return o;
  };
  const cache = new JudgeCache();
  // CPU time (this process's, user + system) beside the wall clock: on a shared machine the wall
  // clock measures the other processes too; the CPU time is what a check costs the control plane.
  const time = (f: () => void) => {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    f();
    const used = process.cpuUsage(cpu);
    return { cpu: (used.user + used.system) / 1000, wall: performance.now() - wall };
  };
  const check = (seconds: number) => {
    const e = obsAt(gates.errors, seconds);
    const l = obsAt(gates.latency!, seconds);
    return time(() => {
      judgeObservation(gates.errors, e, { stepSeconds: HOUR, judgeCache: cache });
      judgeObservation(gates.latency!, l, { stepSeconds: HOUR, judgeCache: cache });
    });
  };
  const CHECKS = 20;
  const cold = check(HOUR - CHECKS);
  const warm = Array.from({ length: CHECKS }, (_, k) => check(HOUR - CHECKS + 1 + k));
  const observe = time(() => obsAt(gates.latency!, HOUR));
  const ms = (xs: number[]) => `${median(xs)!.toFixed(1)} ms`;
  console.log(
    `\none check at the end of a 1-hour bake, 1 s periods, 200 requests/s, errors + latency (median of ${CHECKS} checks, one a second, each taking up the walks the one before left): CPU ${ms(warm.map((t) => t.cpu))}, wall clock ${ms(warm.map((t) => t.wall))} (goal <= 50 ms); the first check after a restart CPU ${cold.cpu.toFixed(0)} ms; building the latency observation (data plane) CPU ${observe.cpu.toFixed(0)} ms`,
  );
}

/** The latency or errors observation of the first `seconds` of a long bake (the cost case). */
function observationFor(
  gate: JudgeGate,
  run: { seconds: Second[]; metrics: VersionMetrics; history: { requests: number; errors: number }[] },
  seconds: number,
): Extract<Observation, { kind: 'judge' }> {
  const periods = judgePeriods(run.metrics, 'new', 'stable', gate.periodSeconds, T0, T0 + seconds * 1000);
  return { gate: gate.name, kind: 'judge', bounds: JUDGE_LATENCY_BINS.bounds, periods, ...(gate.signal === 'errors' ? { history: run.history } : {}) };
}
