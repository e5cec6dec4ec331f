import {
  DEFAULT_EARLY_SHARE,
  ERROR_ALTERNATIVES,
  judgeCounts,
  LATENCY_ALTERNATIVES,
  latencyCounts,
  type CountPeriod,
  type JudgeAssessment,
  type JudgeCache,
} from './judge.js';
import type { Plan } from './plan.js';

/**
 * Gate assessment: observations (alarm states, metric datapoints with sample counts) become a
 * verdict with evidence a person can read. A verdict is data, never an exception.
 */

export const Verdict = { pass: 'pass', fail: 'fail', inconclusive: 'inconclusive', error: 'error' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export type Comparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';

const SYMBOL: Record<Comparison, string> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
};

/** Per-version metrics every driver reports, named like the ALB target-group metrics. */
/** Every local service is gated on its new version's processes staying up. */
export const PROCESS_HEALTH_GATE = 'process-health';

export const TARGET_METRICS = ['RequestCount', 'HTTPCode_Target_5XX_Count', 'TargetResponseTime', 'ErrorRate'] as const;
export type TargetMetric = (typeof TARGET_METRICS)[number];

/**
 * Metrics of the whole load balancer, not of one version. HTTPCode_ELB_5XX_Count counts the 5xx the
 * load balancer generated itself (502 when a target crashed or reset the connection, 504 when it
 * hung): they have the LoadBalancer dimension only, no TargetGroup (ELB user guide, CloudWatch
 * metrics for your Application Load Balancer), so no per-version gate and not the judge sees them.
 */
export const LOAD_BALANCER_METRICS = ['HTTPCode_ELB_5XX_Count'] as const;
export type LoadBalancerMetric = (typeof LOAD_BALANCER_METRICS)[number];

export function isTargetMetric(metric: MetricGate['metric']): metric is TargetMetric {
  return typeof metric === 'string' && (TARGET_METRICS as readonly string[]).includes(metric);
}

export interface CustomMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions?: Readonly<Record<string, string>>;
}

export interface AlarmGate {
  readonly kind: 'alarm';
  readonly name: string;
}

export interface MetricGate {
  readonly kind: 'metric';
  readonly name: string;
  /** A target metric of the new version, a metric of the whole load balancer, or any CloudWatch metric. */
  readonly metric: TargetMetric | LoadBalancerMetric | CustomMetric;
  /** Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99. */
  readonly statistic: string;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  /** Fewer samples than this in the window gives `inconclusive` instead of a verdict. */
  readonly minSamples: number;
}

/**
 * The canary judge (see ./judge.ts): the new version against the stable one, side by side in the
 * same periods, with a sequential test whose false alarms stay below `alpha` however often it is checked.
 */
export interface JudgeGate {
  readonly kind: 'judge';
  readonly name: string;
  /** errors: the 5xx rate; latency: the share of requests slower than the stable version's median. */
  readonly signal: 'errors' | 'latency';
  /** The release's α: the largest chance that the judge rolls back a release whose new version is not worse. */
  readonly alpha: number;
  /**
   * The part of the release's α this gate's test gets at each judged step (`shareJudgeAlpha`): its
   * signal's weight, over the judged steps of the plan. The tests' false alarms add up to α at most.
   * Releases stored before it existed get it from their stored plan (`withStoredDefaults`).
   * @default its signal's weight over the judged steps of the stored plan, each shift counted as watched
   */
  readonly alphaShare?: number;
  /** Errors: no rollback on fewer errors on the new version than this, unless the stable version has errors too. @default DEFAULT_MIN_ERRORS (3) */
  readonly minErrors?: number;
  /** The smallest regression worth stopping for (0.2: 20% worse); a bake may end early below it. */
  readonly tolerance: number;
  readonly periodSeconds: number;
  /**
   * Periods at the start of each step the judge leaves out: a version that just received traffic
   * is cold (caches, JIT), which is not the regression it looks for. Fixed in advance, so the test stays valid.
   */
  readonly warmupSeconds: number;
  /** Latency: a slowdown below this many seconds is never worth stopping for (see judge.ts). */
  readonly latencyFloorSeconds: number;
  /** End a bake early once the judge passes and this much of it has run; undefined: never early. */
  readonly earlyPassAfterSeconds?: number;
  /** In a bake: the part of α spent over its first 2/15, the rest towards its end (see judge.ts). @default DEFAULT_EARLY_SHARE[signal] */
  readonly earlyShare?: number;
}

/** When a webhook gate is called: once against the test route before any production traffic, or in every bake. */
export const WebhookWhen = { beforeTraffic: 'before-traffic', bake: 'bake' } as const;
export type WebhookWhen = (typeof WebhookWhen)[keyof typeof WebhookWhen];

/**
 * A check the user runs (a smoke or load test, a business check) behind a URL: Switchyard calls it
 * with the release's context, signed with a shared secret, and takes its verdict (docs/webhook-gates.md).
 * The secret itself is never part of the gate: only where to read it.
 */
export interface WebhookGate {
  readonly kind: 'webhook';
  readonly name: string;
  /** http or https. */
  readonly url: string;
  /** Where the shared secret is read: an environment variable (local mode) or a Secrets Manager secret (AWS). */
  readonly secret: { readonly env: string } | { readonly secretArn: string };
  /** An answer slower than this is an error, counted like a failed metric read. */
  readonly timeoutSeconds: number;
  readonly when: WebhookWhen;
}

export type GateSpec = AlarmGate | MetricGate | JudgeGate | WebhookGate;

/** A webhook that runs before traffic is checked in the plan's first step (an analysis at 0%), never in bakes. */
export function isBeforeTraffic(gate: GateSpec): boolean {
  return gate.kind === 'webhook' && gate.when === WebhookWhen.beforeTraffic;
}

/** One side's counts of one period, as the judge's observation carries them. */
export interface JudgeSide {
  readonly requests: number;
  readonly errors: number;
  /** Requests per latency bin (`bounds` of the observation). */
  readonly latency?: readonly number[];
  /** Sparse: `latency[k]` requests fell in bin `latencyAt[k]` (ascending); bins left out are empty. */
  readonly latencyAt?: readonly number[];
}

/** Both versions' counts in one period of the judge, stamped with the period's start (ISO 8601). */
export interface JudgePeriod {
  readonly start: string;
  readonly candidate: JudgeSide;
  readonly baseline: JudgeSide;
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface Datapoint {
  /** Start of the period, ISO 8601. */
  readonly timestamp: string;
  readonly value: number;
  /** How many samples (for target metrics: requests) the value is based on. */
  readonly samples: number;
}

export type Observation =
  | { readonly gate: string; readonly kind: 'alarm'; readonly state: AlarmState; readonly reason?: string }
  | { readonly gate: string; readonly kind: 'metric'; readonly datapoints: readonly Datapoint[] }
  | {
      readonly gate: string;
      readonly kind: 'judge';
      /** Upper bounds (seconds) of the latency bins. */
      readonly bounds?: readonly number[];
      /** Both versions, period by period, since the step began (oldest first). */
      readonly periods: readonly JudgePeriod[];
      /**
       * When the step began (ISO 8601), where periods are cut on the source's own boundaries rather
       * than at the step's start (CloudWatch: whole minutes): the first period may then begin before
       * the step. Without it, periods are taken to begin at the step's start, one after the other.
       */
      readonly stepStart?: string;
      /**
       * The stable version's requests and errors per minute before the step (oldest first, up to
       * ten): how much its errors vary from minute to minute, known from the step's first look on.
       */
      readonly history?: readonly { readonly requests: number; readonly errors: number }[];
    }
  | {
      readonly gate: string;
      readonly kind: 'webhook';
      /** The receiver's verdict, from a 2xx answer with a well-formed body. */
      readonly verdict: 'pass' | 'fail' | 'inconclusive';
      /** The receiver's own words, if it gave any (cut to a line). */
      readonly summary?: string;
      /** The HTTP status and how long the answer took. */
      readonly status: number;
      readonly durationMs: number;
    }
  | { readonly gate: string; readonly kind: 'error'; readonly message: string };

export interface Evidence {
  readonly value?: number;
  readonly threshold?: number;
  readonly comparison?: string;
  readonly windowSeconds?: number;
  readonly samples?: number;
  readonly alarmState?: AlarmState;
  /** The judge: estimated ratio new / stable, its anytime-valid interval, the test's value and bound. */
  readonly ratio?: number;
  /** Lower and upper end; the upper is null while unbounded (too few events to bound it). */
  readonly interval?: readonly [number, number | null];
  /** Without a planned bake length: the mixture e-value against its bound 1/α. */
  readonly eValue?: number;
  readonly bound?: number;
  /** In a bake: the new version's events so far against the fewest that fail at this look, and α spent so far of what is allowed by now. */
  readonly events?: number;
  readonly limit?: number;
  readonly alphaSpent?: number;
  readonly alphaAllowed?: number;
  readonly baselineSamples?: number;
  /** A webhook: the HTTP status of its answer and how long it took. */
  readonly httpStatus?: number;
  readonly durationMs?: number;
}

export interface GateResult {
  readonly gate: string;
  readonly verdict: Verdict;
  readonly evidence: Evidence;
  /** One line for people: what was measured against what. */
  readonly summary: string;
  readonly at: string;
}

export function breaches(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3).replace(/0+$/, '');
}

function metricLabel(gate: MetricGate): string {
  const name = typeof gate.metric === 'string' ? gate.metric : `${gate.metric.namespace}/${gate.metric.metricName}`;
  return `${gate.statistic} of ${name}`;
}

/** Assesses one gate from its observation at time `now` (ISO string or epoch ms). */
export function assessGate(gate: GateSpec, observation: Observation | undefined, now: number, context: AssessContext = {}): GateResult {
  const at = new Date(now).toISOString();
  if (observation === undefined) {
    return { gate: gate.name, verdict: 'error', evidence: {}, summary: `${gate.name}: no observation was collected`, at };
  }
  if (observation.kind === 'error') {
    return { gate: gate.name, verdict: 'error', evidence: {}, summary: `${gate.name}: could not be read: ${observation.message}`, at };
  }
  if (gate.kind === 'alarm') {
    if (observation.kind !== 'alarm') {
      return { gate: gate.name, verdict: 'error', evidence: {}, summary: `${gate.name}: expected an alarm state, got ${observation.kind} data`, at };
    }
    const verdict: Verdict = observation.state === 'ALARM' ? 'fail' : observation.state === 'OK' ? 'pass' : 'inconclusive';
    const why = observation.reason ? ` (${observation.reason})` : '';
    return { gate: gate.name, verdict, evidence: { alarmState: observation.state }, summary: `alarm ${gate.name} is ${observation.state}${why}`, at };
  }
  if (gate.kind === 'webhook') {
    if (observation.kind !== 'webhook') return { gate: gate.name, verdict: 'error', evidence: {}, summary: `${gate.name}: expected a webhook's answer`, at };
    const said = observation.summary ? `: ${observation.summary}` : '';
    return {
      gate: gate.name,
      verdict: observation.verdict,
      evidence: { httpStatus: observation.status, durationMs: observation.durationMs },
      summary: `webhook ${gate.name} answered ${observation.verdict} (HTTP ${observation.status}, ${observation.durationMs} ms)${said}`,
      at,
    };
  }
  if (gate.kind === 'judge') {
    if (observation.kind !== 'judge') return { gate: gate.name, verdict: 'error', evidence: {}, summary: `${gate.name}: expected both versions' counts`, at };
    return assessJudge(gate, observation, at, context);
  }
  if (observation.kind !== 'metric') {
    return { gate: gate.name, verdict: 'error', evidence: {}, summary: `${gate.name}: expected metric datapoints, got ${observation.kind} data`, at };
  }
  const windowSeconds = gate.periodSeconds * gate.evaluationPeriods;
  // Datapoints are stamped with the start of their period (as CloudWatch does): a period that
  // began up to one period before the window still overlaps it. The latest N count.
  const from = now - (windowSeconds + gate.periodSeconds) * 1000;
  const points = observation.datapoints
    .filter((d) => {
      const t = Date.parse(d.timestamp);
      return t > from && t <= now && Number.isFinite(d.value);
    })
    .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))
    .slice(-gate.evaluationPeriods);
  const samples = points.reduce((sum, d) => sum + d.samples, 0);
  const base = { threshold: gate.threshold, comparison: SYMBOL[gate.comparison], windowSeconds, samples };
  const label = metricLabel(gate);
  const latest = points.at(-1);
  if (latest === undefined || samples < gate.minSamples) {
    return {
      gate: gate.name,
      verdict: 'inconclusive',
      evidence: latest ? { ...base, value: latest.value } : base,
      summary: `${gate.name}: ${samples} samples in the last ${windowSeconds}s, ${gate.minSamples} needed for a verdict on ${label}`,
      at,
    };
  }
  // Like a CloudWatch alarm with M = N: every period in the window must breach to fail.
  const failing = points.length >= gate.evaluationPeriods && points.every((d) => breaches(d.value, gate.comparison, gate.threshold));
  return {
    gate: gate.name,
    verdict: failing ? 'fail' : 'pass',
    evidence: { ...base, value: latest.value },
    summary: `${gate.name}: ${label} = ${fmt(latest.value)} (${failing ? 'breaches' : 'within'} ${SYMBOL[gate.comparison]} ${fmt(gate.threshold)}) over ${windowSeconds}s, ${samples} samples`,
    at,
  };
}

const ratioText = (r: number) => (r === Infinity ? '∞' : r < 10 ? r.toFixed(2) : r.toFixed(0));

/**
 * How many steps of a plan the judge tests: every bake or analysis watching a judge gate while the
 * stable version still takes traffic, and where a shift does not land exactly (`landsExactly` false: the
 * target shifts on its own) every shift it watches. A bake extended past its planned length spends nothing more, so it adds nothing.
 */
export function judgedSteps(plan: Pick<Plan, 'steps'>, gates: readonly GateSpec[], landsExactly: boolean): number {
  const judges = gates.filter((g) => g.kind === 'judge').map((g) => g.name);
  if (judges.length === 0) return 0;
  let weight = 0;
  let steps = 0;
  for (const step of plan.steps) {
    if (step.type === 'setWeight') {
      // While the target moves from `weight` to the step's percent on its own, both versions take traffic.
      if (!landsExactly && step.percent > 0 && weight < 100) steps++;
      weight = step.percent;
    } else if ((step.type === 'bake' || step.type === 'analysis') && weight < 100) {
      if (step.type === 'bake' || !step.gates || judges.some((j) => step.gates!.includes(j))) steps++;
    }
  }
  return steps;
}

/**
 * How a judged step's part of α is shared between the signals. Slow requests are common (about half
 * of them count), so a small part of α leaves the latency signal most of its power; errors are rare
 * and need most of it (`npm run bench:judge`, docs/judge.md).
 */
export const SIGNAL_WEIGHT = { errors: 0.9, latency: 0.1 } as const;

/**
 * The release's α shared among its judge's tests (Bonferroni): each judged step gets α / steps, shared
 * between the signals by SIGNAL_WEIGHT, so the chance that any test of the release rolls back a new
 * version that is not worse is at most α, whatever the number of bakes and signals.
 */
export function shareJudgeAlpha(gates: readonly GateSpec[], plan: Pick<Plan, 'steps'>, landsExactly: boolean): GateSpec[] {
  const steps = Math.max(1, judgedSteps(plan, gates, landsExactly));
  const signals = gates.filter((g): g is JudgeGate => g.kind === 'judge');
  const total = signals.reduce((sum, g) => sum + SIGNAL_WEIGHT[g.signal], 0);
  return gates.map((g) => (g.kind === 'judge' ? { ...g, alphaShare: SIGNAL_WEIGHT[g.signal] / total / steps } : g));
}

/** The configuration's default minErrors, and what a release stored before it existed is judged with. */
export const DEFAULT_MIN_ERRORS = 3;

/**
 * Judge gates of a release stored before alphaShare and minErrors existed, given the current safe
 * defaults: α shared over the judged steps of its stored plan (every shift counted as watched, the
 * smaller share: the driver that ran it may no longer be known), minErrors DEFAULT_MIN_ERRORS.
 * `all`: every gate of the release (the share depends on them all); `gates` those being assessed.
 */
export function withStoredDefaults(gates: readonly GateSpec[], all: readonly GateSpec[], plan: Pick<Plan, 'steps'>): GateSpec[] {
  if (!gates.some((g) => g.kind === 'judge' && (g.alphaShare === undefined || g.minErrors === undefined))) return [...gates];
  const shared = shareJudgeAlpha(all, plan, true);
  return gates.map((g) => {
    if (g.kind !== 'judge') return g;
    const share = (shared.find((s) => s.name === g.name) as JudgeGate | undefined)?.alphaShare ?? SIGNAL_WEIGHT[g.signal];
    return { ...g, alphaShare: g.alphaShare ?? share, minErrors: g.minErrors ?? DEFAULT_MIN_ERRORS };
  });
}

/** Periods are grouped into blocks of a minute (or one period, if longer) to estimate over-dispersion: a bad minute is one unit. */
const BLOCK_MS = 60_000;

/**
 * The judge's assessment of one observation, with the look at which it first failed: what a gate
 * check shows, and what a simulation of checks after every period needs (`npm run bench:judge`).
 */
export function judgeObservation(
  gate: JudgeGate,
  observed: Extract<Observation, { kind: 'judge' }>,
  { stepSeconds, judgeCache }: AssessContext = {},
): JudgeAssessment & { readonly periodEnds: readonly number[]; readonly tolerance: number } {
  const periodMs = gate.periodSeconds * 1000;
  const stepStart = observed.stepStart !== undefined ? Date.parse(observed.stepStart) : undefined;
  // Where each period ends, in ms after the step began: from its stamp where the source says when the
  // step began, else periods are whole and aligned to the step's start (period i ends at (i + 1)·period).
  const endsAfterStart = observed.periods.map((p, i) => (stepStart !== undefined ? Date.parse(p.start) + periodMs - stepStart : (i + 1) * periodMs));
  // Warm-up: periods that end within the step's first warmupSeconds are left out (with periods aligned
  // to the step's start, the first floor(warmup / period)); a warm-up shorter than a period leaves
  // nothing out (with CloudWatch's minutes, a 10 s warm-up used to cost the whole first minute). Fixed
  // in advance, never by the counts, so the test stays valid.
  const warm = endsAfterStart.map((e) => e <= gate.warmupSeconds * 1000 + 1e-6 && gate.warmupSeconds > 0);
  const kept = observed.periods.filter((_, i) => !warm[i]);
  let ends = endsAfterStart.filter((_, i) => !warm[i]);
  const effective: number[] = [];
  const counts: CountPeriod[] =
    gate.signal === 'errors'
      ? kept.map((p) => ({
          candidate: { requests: p.candidate.requests, events: p.candidate.errors },
          baseline: { requests: p.baseline.requests, events: p.baseline.errors },
        }))
      : latencyCounts(
          kept.map((p) => {
            const bounds = observed.bounds ?? [];
            const side = (s: JudgeSide) => ({ bounds, counts: s.latency ?? [], ...(s.latencyAt ? { at: s.latencyAt } : {}) });
            return { candidate: side(p.candidate), baseline: side(p.baseline) };
          }),
          { tolerance: gate.tolerance, floorSeconds: gate.latencyFloorSeconds },
          effective,
          judgeCache,
        );
  // latencyCounts judges no first period (its threshold comes from the periods before).
  ends = ends.slice(ends.length - counts.length);
  const a = judgeCounts(
    counts,
    // Without a share (a release stored before it existed, assessed outside decide): one judged step's.
    // Latency: the tolerance is in the events already (the new version's requests slower than the
    // stable median + δ), so "within tolerance" is a ratio below 1, not below 1 + tolerance (which
    // passed a +10% slowdown a fifth of the time at tolerance 0.1).
    {
      alpha: gate.alpha * (gate.alphaShare ?? SIGNAL_WEIGHT[gate.signal]),
      tolerance: gate.signal === 'errors' ? gate.tolerance : 0,
      earlyShare: gate.earlyShare ?? DEFAULT_EARLY_SHARE[gate.signal],
    },
    gate.signal === 'errors' ? ERROR_ALTERNATIVES : LATENCY_ALTERNATIVES,
    {
      ...(stepSeconds ? { fractions: ends.map((e) => e / 1000 / stepSeconds) } : {}),
      ...(judgeCache ? { cache: judgeCache } : {}),
      blocks: ends.map((e) => Math.floor((e - Math.min(e, periodMs)) / Math.max(BLOCK_MS, periodMs))),
      minEvents: gate.signal === 'errors' ? (gate.minErrors ?? DEFAULT_MIN_ERRORS) : 0,
      // Latency's events are requests slower than a threshold (about half of them): see LookOptions.events.
      events: gate.signal === 'errors' ? 'counts' : 'requests',
      ...(gate.signal === 'errors' && observed.history ? { history: observed.history.map((h) => ({ requests: h.requests, events: h.errors })) } : {}),
    },
  );
  // The tolerance a verdict may claim: the largest in effect over the periods (the floor included).
  const tolerance = gate.signal === 'errors' || effective.length === 0 ? gate.tolerance : Math.max(gate.tolerance, ...effective);
  return { ...a, periodEnds: ends, tolerance };
}

function assessJudge(gate: JudgeGate, observed: Extract<Observation, { kind: 'judge' }>, at: string, context: AssessContext): GateResult {
  const a = judgeObservation(gate, observed, context);
  const what = gate.signal === 'errors' ? 'error rate' : 'share of requests slower than the stable median (+ tolerance)';
  const point = a.ratio !== undefined ? ratioText(a.ratio) : a.events.candidate > 0 ? '∞ (none on stable)' : 'n/a (no events yet)';
  const estimate = `${point} [${ratioText(a.interval[0])}, ${ratioText(a.interval[1])}]`;
  const finding = a.verdict === 'fail' ? 'worse' : a.verdict === 'pass' ? `within ${Math.round(a.tolerance * 100)}%` : 'no verdict yet';
  const events = gate.signal === 'errors' ? 'errors' : 'slow requests';
  // The count that fails now (what the verdict was taken against): the exact boundary, widened where the
  // counts are over-dispersed, and at least minErrors while the stable version has none.
  const test = a.look
    ? `${a.look.events} ${events} on new, ${a.look.failsAt} fail now`
    : `e ${a.eValue < 1000 ? a.eValue.toFixed(1) : a.eValue.toExponential(1)} vs ${Number(a.bound.toFixed(1))}`;
  return {
    gate: gate.name,
    verdict: a.verdict,
    evidence: {
      ...(a.ratio !== undefined ? { ratio: a.ratio } : {}),
      interval: [a.interval[0], Number.isFinite(a.interval[1]) ? a.interval[1] : null],
      ...(a.look
        ? { events: a.look.events, limit: a.look.failsAt, alphaSpent: a.look.spent, alphaAllowed: a.look.allowed }
        : { eValue: a.eValue, bound: a.bound }),
      samples: a.requests.candidate,
      baselineSamples: a.requests.baseline,
    },
    summary: `${gate.name}: ${what} new/stable ${estimate}, ${test}: ${finding}; ${a.requests.candidate} vs ${a.requests.baseline} requests`,
    at,
  };
}

/** What the assessment is for: in a bake or analysis, its planned length in seconds (the judge spends α over it). */
export interface AssessContext {
  readonly stepSeconds?: number;
  /** The judge's remembered walks, owned by the caller (see JudgeCache): checks go faster, verdicts are the same. */
  readonly judgeCache?: JudgeCache;
}

/** Assesses every gate; missing observations count as errors. */
export function assessGates(gates: readonly GateSpec[], observations: readonly Observation[], now: number, context: AssessContext = {}): GateResult[] {
  return gates.map((g) =>
    assessGate(
      g,
      observations.find((o) => o.gate === g.name),
      now,
      context,
    ),
  );
}

/** The overall verdict: fail beats error beats inconclusive beats pass. */
export function overallVerdict(results: readonly GateResult[]): Verdict {
  for (const v of ['fail', 'error', 'inconclusive'] as const) {
    if (results.some((r) => r.verdict === v)) return v;
  }
  return 'pass';
}
