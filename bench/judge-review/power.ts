import { HISTORY_MINUTES } from '../../src/core/judge.js';
// Power of the errors judge at issue 25's set-up (a 10% canary baking 10 minutes, 40 requests/s, 0.5%
// errors, one judged bake, the drivers' hour of history; on ecs CloudWatch's minutes from a
// random second): share of bakes caught and the median time, 10 s and 1 s periods and ecs minutes.
//   N=200 RATIOS=4,2 HISTORY=60 npx tsx bench/judge-review/power.ts   (HISTORY: minutes of the stable version before the step)
import { seeded, gatesOf, localTarget, ecsTarget, seconds, obs, failsBake, pct, minutesOf, canarySeconds } from './common.js';
const N = Number(process.env.N ?? 200);
const RPS = 40,
  BASE = 0.005;
const plan = { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' };
const g10 = gatesOf({ target: localTarget, strategy: plan, gates: { judge: {} } }).errors;
const g1 = gatesOf({ target: localTarget, strategy: plan, gates: { judge: { period: '1s' }, checkInterval: '1s' } }).errors;
const gE = gatesOf({ target: ecsTarget, strategy: plan, gates: { judge: { signals: ['errors'], period: '1m' } } }).errors;
const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor((t.length - 1) / 2)] ?? '-';
for (const ratio of (process.env.RATIOS ?? '4,2').split(',').map(Number)) {
  const random = seeded(10 + ratio);
  const caught = { local10: [] as number[], local1: [] as number[], ecs: [] as number[] };
  for (let i = 0; i < N; i++) {
    const pre = seconds(
      random,
      RPS,
      0,
      60 * Number(process.env.HISTORY ?? HISTORY_MINUTES),
      () => BASE,
      () => BASE,
    );
    const history = minutesOf(pre);
    const secs = canarySeconds(random, ratio);
    const a = failsBake(g10, obs(g10, secs, { history }), 600);
    if (a !== undefined) caught.local10.push(a);
    const b = failsBake(g1, obs(g1, secs, { history }), 600);
    if (b !== undefined) caught.local1.push(b);
    const c = failsBake(gE, obs(gE, secs, { offset: Math.floor(random() * 60), history }), 600);
    if (c !== undefined) caught.ecs.push(c);
  }
  console.log(
    `${ratio}x: 10 s periods ${pct(caught.local10.length, N)}, median ${median(caught.local10)} s; 1 s ${pct(caught.local1.length, N)}, median ${median(caught.local1)} s; ecs minutes ${pct(caught.ecs.length, N)}, median ${median(caught.ecs)} s`,
  );
}
