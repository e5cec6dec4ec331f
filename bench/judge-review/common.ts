import { resolveConfig } from '../../src/config/config.js';
import { judgeObservation, type JudgeGate, type JudgePeriod, type Observation } from '../../src/core/gates.js';
import { beta, binomial, poisson, seeded } from '../../test/support/traffic.js';
export { beta, binomial, poisson, seeded, judgeObservation };
export const T0 = Date.parse('2026-01-01T00:00:00Z');
export const localTarget = { driver: 'local', command: ['node', 'server.mjs'], port: 18080 };
export const ecsTarget = {
  driver: 'ecs',
  cluster: 'prod',
  service: 'svc',
  containerName: 'app',
  targetGroups: [
    { targetGroup: 'targetgroup/blue/0123456789abcdef', loadBalancer: 'app/prod/0123456789abcdef' },
    { targetGroup: 'targetgroup/green/fedcba9876543210', loadBalancer: 'app/prod/0123456789abcdef' },
  ],
};
export function gatesOf(service: Record<string, unknown>): { errors: JudgeGate; latency?: JudgeGate } {
  const config = resolveConfig({ environment: 'r', services: [{ name: 'svc', ...service }] });
  const gates = config.services[0]!.settings.gates.filter((g): g is JudgeGate => g.kind === 'judge');
  const latency = gates.find((g) => g.signal === 'latency');
  return { errors: gates.find((g) => g.signal === 'errors')!, ...(latency ? { latency } : {}) };
}
export interface Sec {
  n1: number;
  x1: number;
  n0: number;
  x0: number;
}
/** Per-second counts, with per-second error probabilities p1(s), p0(s). */
export function seconds(random: () => number, rps: number, share: number, len: number, p1: (s: number) => number, p0: (s: number) => number): Sec[] {
  const out: Sec[] = [];
  for (let s = 0; s < len; s++) {
    const total = poisson(random, rps);
    const n1 = binomial(random, total, share);
    out.push({ n1, x1: binomial(random, n1, Math.min(1, p1(s))), n0: total - n1, x0: binomial(random, total - n1, Math.min(1, p0(s))) });
  }
  return out;
}
/** A 10% canary's 10 minutes at 40 requests/s, the stable version failing 0.5% of requests and the new one `ratio` times as many. */
export function canarySeconds(random: () => number, ratio: number): Sec[] {
  return seconds(
    random,
    40,
    0.1,
    600,
    () => 0.005 * ratio,
    () => 0.005,
  );
}
/** The stable version's requests and errors per minute, from per-second counts: the history the local driver sends. */
export function minutesOf(secs: readonly Sec[]): { requests: number; errors: number }[] {
  return Array.from({ length: Math.floor(secs.length / 60) }, (_, m) => {
    const w = secs.slice(m * 60, m * 60 + 60);
    return { requests: w.reduce((a, s) => a + s.n0, 0), errors: w.reduce((a, s) => a + s.x0, 0) };
  });
}
/** Observation of an errors gate: periods aligned to the step (local) or CloudWatch minutes from -offset. */
export function obs(
  gate: JudgeGate,
  secs: Sec[],
  opts: { history?: { requests: number; errors: number }[]; offset?: number; rps?: number } = {},
): Extract<Observation, { kind: 'judge' }> {
  const p = gate.periodSeconds;
  const from = opts.offset !== undefined ? -opts.offset : 0;
  const periods: JudgePeriod[] = [];
  for (let start = from; start + p <= secs.length; start += p) {
    const c = { requests: 0, errors: 0 },
      b = { requests: 0, errors: 0 };
    for (let s = Math.max(0, start); s < start + p; s++) {
      const x = secs[s]!;
      c.requests += x.n1;
      c.errors += x.x1;
      b.requests += x.n0;
      b.errors += x.x0;
    }
    if (start < 0) b.requests += Math.round(-start * (opts.rps ?? 40));
    periods.push({ start: new Date(T0 + start * 1000).toISOString(), candidate: c, baseline: b });
  }
  return {
    gate: gate.name,
    kind: 'judge',
    periods,
    ...(opts.offset !== undefined ? { stepStart: new Date(T0).toISOString() } : {}),
    ...(opts.history ? { history: opts.history } : {}),
  };
}
/** Fails during a bake (group-sequential) or a watched shift (mixture, judged after every period)? */
export function failsBake(gate: JudgeGate, o: Extract<Observation, { kind: 'judge' }>, stepSeconds: number): number | undefined {
  const a = judgeObservation(gate, o, { stepSeconds });
  return a.failedAtLook === undefined ? undefined : a.periodEnds[a.failedAtLook]! / 1000;
}
export function failsShift(gate: JudgeGate, o: Extract<Observation, { kind: 'judge' }>): boolean {
  for (let k = 1; k <= o.periods.length; k++) if (judgeObservation(gate, { ...o, periods: o.periods.slice(0, k) }).verdict === 'fail') return true;
  return false;
}
export const pct = (h: number, n: number) => `${((100 * h) / n).toFixed(1)}% ± ${((100 * Math.sqrt((h / n) * (1 - h / n))) / Math.sqrt(n)).toFixed(1)}`;
