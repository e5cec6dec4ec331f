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
export const TARGET_METRICS = ['RequestCount', 'HTTPCode_Target_5XX_Count', 'TargetResponseTime', 'ErrorRate'] as const;
export type TargetMetric = (typeof TARGET_METRICS)[number];

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
  /** A target metric of the new version, or any CloudWatch metric. */
  readonly metric: TargetMetric | CustomMetric;
  /** Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99. */
  readonly statistic: string;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  /** Fewer samples than this in the window gives `inconclusive` instead of a verdict. */
  readonly minSamples: number;
}

export type GateSpec = AlarmGate | MetricGate;

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
  | { readonly gate: string; readonly kind: 'error'; readonly message: string };

export interface Evidence {
  readonly value?: number;
  readonly threshold?: number;
  readonly comparison?: string;
  readonly windowSeconds?: number;
  readonly samples?: number;
  readonly alarmState?: AlarmState;
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
export function assessGate(gate: GateSpec, observation: Observation | undefined, now: number): GateResult {
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
  if (observation.kind !== 'metric') {
    return { gate: gate.name, verdict: 'error', evidence: {}, summary: `${gate.name}: expected metric datapoints, got an alarm state`, at };
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

/** Assesses every gate; missing observations count as errors. */
export function assessGates(gates: readonly GateSpec[], observations: readonly Observation[], now: number): GateResult[] {
  return gates.map((g) =>
    assessGate(
      g,
      observations.find((o) => o.gate === g.name),
      now,
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
