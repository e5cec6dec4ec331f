import { seeded, gatesOf, localTarget, seconds, obs, failsBake, pct, minutesOf, canarySeconds } from './common.js';
const N = Number(process.env.N ?? 300);
const RPS = 40,
  BASE = 0.005;
const g = gatesOf({ target: localTarget, strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' }, gates: { judge: {} } }).errors;
for (const blip of [0, 0.02, 0.05, 0.2])
  for (const ratio of [4, 10]) {
    const random = seeded(100 + ratio);
    let caught = 0;
    const t: number[] = [];
    for (let i = 0; i < N; i++) {
      const pre = seconds(
        random,
        RPS,
        0,
        600,
        () => BASE,
        (s) => (blip > 0 && s >= 300 && s < 360 ? blip : BASE),
      );
      const history = minutesOf(pre);
      const secs = canarySeconds(random, ratio);
      const f = failsBake(g, obs(g, secs, { history }), 600);
      if (f !== undefined) {
        caught++;
        t.push(f);
      }
    }
    t.sort((a, b) => a - b);
    console.log(
      `history blip minute at ${blip * 100}% errors (5 min before the step); new version ${ratio}x: caught ${pct(caught, N)}, median ${t[Math.floor((t.length - 1) / 2)] ?? '-'} s`,
    );
  }
