import { HISTORY_MINUTES } from '../../src/core/judge.js';
import { beta, seeded, gatesOf, localTarget, ecsTarget, seconds, obs, failsBake, failsShift, pct, minutesOf } from './common.js';
const N = Number(process.env.N ?? 300);
const RPS = 40,
  BASE = 0.005;
const persist = Number(process.env.PERSIST ?? 60); // seconds a per-version error probability lasts
const HISTORY = 60 * Number(process.env.HISTORY ?? HISTORY_MINUTES); // seconds of the stable version before the step (the drivers send HISTORY_MINUTES)
const kappa = Number(process.env.KAPPA ?? 1000);
const mode = process.env.MODE ?? 'local';
const plan = {
  type: 'canary',
  steps: [
    { percent: 10, bake: '10m' },
    { percent: 50, bake: '10m' },
  ],
  finalBake: '1m',
};
const G =
  mode === 'local'
    ? gatesOf({ target: localTarget, strategy: plan, gates: { judge: { signals: ['errors'] } } })
    : gatesOf({
        target: ecsTarget,
        strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '1m' },
        gates: { judge: { signals: ['errors'], period: '1m' } },
      });
const g = G.errors;
const random = seeded(Number(process.env.SEED ?? 7));
/** piecewise-constant clustered probability track for a stretch of `len` seconds */
const track = (len: number) => {
  const ps: number[] = [];
  let p = BASE;
  for (let s = 0; s < len; s++) {
    if (s % persist === 0) p = kappa > 0 ? beta(random, BASE, kappa) : BASE;
    ps.push(p);
  }
  return ps;
};
let rolled = 0,
  rolledBakes = 0,
  rolledShifts = 0;
for (let i = 0; i < N; i++) {
  let fail = false;
  let lastHistory: { requests: number; errors: number }[] = [];
  for (const share of mode === 'local' ? [0.1, 0.5] : [0.1]) {
    // the hour before the step: the stable version (all traffic before step 1, 90% before step 2), same clustering
    const pre = track(HISTORY);
    const preSecs = seconds(
      random,
      RPS,
      share === 0.1 ? 0 : 0.1,
      HISTORY,
      () => BASE,
      (s) => pre[s]!,
    );
    const history = minutesOf(preSecs);
    lastHistory = history;
    const t1 = track(720),
      t0 = track(720);
    if (mode !== 'local') {
      // the watched shift before the bake: 2 minutes, mixture test
      const sh = seconds(
        random,
        RPS,
        share,
        120,
        (s) => t1[s]!,
        (s) => t0[s]!,
      );
      if (failsShift(g, obs(g, sh, { offset: 0, history }))) {
        fail = true;
        rolledShifts++;
      }
    }
    const secs = seconds(
      random,
      RPS,
      share,
      600,
      (s) => t1[s + 120]!,
      (s) => t0[s + 120]!,
    );
    const o = mode === 'local' ? obs(g, secs, { history }) : obs(g, secs, { offset: Math.floor(random() * 60), history });
    if (failsBake(g, o, 600) !== undefined) {
      fail = true;
      rolledBakes++;
    }
  }
  if (mode !== 'local') {
    const t1 = track(120),
      t0 = track(120);
    const sh = seconds(
      random,
      RPS,
      0.5,
      120,
      (s) => t1[s]!,
      (s) => t0[s]!,
    );
    if (failsShift(g, obs(g, sh, { offset: 0, history: lastHistory }))) {
      fail = true;
      rolledShifts++;
    }
  }
  if (fail) rolled++;
}
console.log(
  `${mode} persist=${persist}s kappa=${kappa} alpha=${g.alpha} share=${g.alphaShare?.toFixed(4)}: releases rolled back ${pct(rolled, N)} (bakes ${rolledBakes}, shifts ${rolledShifts})`,
);
