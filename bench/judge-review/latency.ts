import { seeded, gatesOf, localTarget, judgeObservation, binomial, poisson, pct, T0 } from './common.js';
import { VersionMetrics } from '../../src/adapters/local/version-metrics.js';
import { JUDGE_LATENCY_BINS, judgePeriods } from '../../src/adapters/local/local-target.js';
import type { JudgeGate, Observation } from '../../src/core/gates.js';
const N = Number(process.env.N ?? 200);
const RPS = 40,
  BAKE = 600;
const g = gatesOf({ target: localTarget, strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' }, gates: { judge: {} } }).latency!;
const gl = gatesOf({
  target: localTarget,
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' },
  gates: { judge: { signals: ['latency'], earlyPass: '2m' } },
}).latency!;
function run(random: () => number, median: number, sigma: number, scale: number): VersionMetrics {
  const m = new VersionMetrics();
  const lat = (s: number) => {
    const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
    return median * Math.exp(sigma * z) * s;
  };
  for (let s = 0; s < BAKE; s++) {
    const total = poisson(random, RPS);
    const n1 = binomial(random, total, 0.1);
    for (let i = 0; i < n1; i++) m.record('new', 200, lat(scale), T0 + s * 1000 + random() * 999);
    for (let i = 0; i < total - n1; i++) m.record('stable', 200, lat(1), T0 + s * 1000 + random() * 999);
  }
  return m;
}
function observation(gate: JudgeGate, m: VersionMetrics, upTo = BAKE): Extract<Observation, { kind: 'judge' }> {
  return {
    gate: gate.name,
    kind: 'judge',
    bounds: JUDGE_LATENCY_BINS.bounds,
    periods: judgePeriods(m, 'new', 'stable', gate.periodSeconds, T0, T0 + upTo * 1000),
  };
}
const cases: [number, number, number][] = (process.env.CASES ?? '50,0.5,1.2;50,1.0,1.2;20,0.5,1.2;20,0.5,1.3;50,0.5,1.1;50,0.5,1.0')
  .split(';')
  .map((c) => c.split(',').map(Number) as [number, number, number]);
for (const [median, sigma, scale] of cases) {
  const random = seeded(Math.round(median * 100 + sigma * 10 + scale * 1000));
  let failed = 0,
    early = 0;
  const n = N;
  for (let i = 0; i < n; i++) {
    const m = run(random, median, sigma, scale);
    const a = judgeObservation(g, observation(g, m), { stepSeconds: BAKE });
    if (a.failedAtLook !== undefined) failed++;
    // earlyPass (latency only, after 2 min): does some check between 2 and 10 min say "pass: within 10%"?
    for (let t = 120; t < BAKE; t += 30) {
      const b = judgeObservation(gl, observation(gl, m, t), { stepSeconds: BAKE });
      if (b.verdict === 'fail') break;
      if (b.verdict === 'pass') {
        early++;
        break;
      }
    }
  }
  console.log(
    `median ${median} ms, lognormal sigma ${sigma}, new x${scale}: rolled back ${pct(failed, n)}; latency-only earlyPass ended the bake as "within 10%" ${pct(early, n)}`,
  );
}
