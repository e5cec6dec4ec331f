/**
 * The canary judge: is the new version worse than the stable one, measured side by side in the
 * same periods? Sequential tests, looked at after every period, that keep the chance of a false
 * alarm below α however often they are checked.
 *
 * The model (Lindon & Malek, "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022;
 * Lindon, Sanden, Shirikian, "Rapid Regression Detection in Software Deployments through Sequential
 * Testing", KDD 2022): in each period the two versions' events (errors, or slow requests) are Poisson
 * counts with rates λ_new·n_new and λ_stable·n_stable, n being each side's requests. Conditioned on
 * the period's total k, the new version's share of the events is Binomial(k, ρ) with
 * ρ(r) = r·n_new / (r·n_new + n_stable) and r = λ_new / λ_stable, the ratio the judge estimates. So
 * only the two counts per period are needed, and traffic shares and load may change from period to
 * period. Latency's events (requests slower than a threshold, about half of them) are each request's
 * yes or no: given the total, Hypergeometric instead (Fisher's exact test; see LookOptions.events).
 *
 * Two tests of "r ≤ r0" on that model:
 *  - in a bake of planned length, an exact group-sequential test (`sequentialLooks`): α spent over
 *    the bake, each look's boundary from the exact law of the new version's events given the totals;
 *  - with no planned length, a mixture of likelihood ratios (`eValue`): the product, period by
 *    period, of the likelihood ratio of r0·m against r0, averaged over a fixed grid of m, is a
 *    nonnegative supermartingale under the null and, by Ville's inequality, crosses 1/α with
 *    probability at most α, however often it is looked at. It also gives "better" (passing early).
 * Pure: counts in, verdict and evidence out (a walk already made is remembered only to go faster).
 */

/** One side's counts in one period. */
export interface SideCounts {
  readonly requests: number;
  /** Events: 5xx answers (error rate), or requests slower than the period's threshold (latency). */
  readonly events: number;
}

export interface CountPeriod {
  readonly candidate: SideCounts;
  readonly baseline: SideCounts;
}

/** A latency distribution as a histogram: `counts[i]` requests took at most `bounds[i]` seconds (and more than `bounds[i-1]`). */
export interface LatencyBins {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  /**
   * Sparse: `counts[k]` fell in bin `at[k]` (ascending), the bins left out being empty. Fine bins
   * (1% wide, thousands of them) travel this way: a period holds at most as many as its requests.
   */
  readonly at?: readonly number[];
}

export interface JudgeSettings {
  /** The largest chance of a false alarm (rolling back a version that is not worse). */
  readonly alpha: number;
  /** The smallest regression worth stopping for, as a ratio above 1: 0.2 means 20% worse. Used to pass early. */
  readonly tolerance: number;
  /**
   * In a bake of planned length: the part of α spent over its first EARLY_UNTIL (gross regressions,
   * caught within a minute or two); the rest is spent towards its end (subtle ones). @default DEFAULT_EARLY_SHARE.errors
   */
  readonly earlyShare?: number;
}

export interface JudgeAssessment {
  /** fail: the new version is worse (r > 1) at level α; pass: r < 1 + tolerance at level α; else inconclusive. */
  readonly verdict: 'fail' | 'pass' | 'inconclusive';
  /** Estimated ratio new / stable of the event rates; undefined before both sides have events. */
  readonly ratio?: number;
  /** Anytime-valid bounds for the ratio, each one-sided at (1 − α); the upper end may be Infinity. */
  readonly interval: readonly [number, number];
  /** The mixture e-value against "not worse" (r ≤ 1), and 1/α: the test where no bake length is planned. */
  readonly eValue: number;
  readonly bound: number;
  /** In a bake of planned length: the exact group-sequential test at the latest look (see `sequentialLooks`). */
  readonly look?: Look;
  /** In a bake: the look (index in the periods) at which the judge first failed. */
  readonly failedAtLook?: number;
  readonly requests: { readonly candidate: number; readonly baseline: number };
  readonly events: { readonly candidate: number; readonly baseline: number };
}

/**
 * Alternatives the mixture averages over, as multiples of the null ratio (evidence for "worse"). The
 * mixture is the test where no bake length is planned (gates watched while a target shifts on its
 * own) and gives the interval's lower end. Of the grids tried on the benchmark's traffic, these four
 * did best (the comparison: docs/judge.md).
 */
export const ERROR_ALTERNATIVES: readonly number[] = [1.5, 2, 3, 5];

/**
 * How α is spent over a bake of planned length T (`spending`): for errors, 30% over its first
 * 2/15 (80 s of a 10-minute bake: gross regressions, caught within a minute or two), the rest rising
 * as (t/T)⁴ towards its end (errors are rare: subtle regressions need the whole bake's counts). Chosen
 * by simulating a grid of shapes (`python3 bench/support/judge-spending.py`; figures in docs/judge.md):
 * gross and subtle regressions both caught, where spending in proportion to time was slower on gross
 * ones and one look at the end caught them only at the end. Latency events are common (about half the
 * requests), so the first minutes already carry what a slowdown worth stopping for shows: three quarters early.
 * (Errors' early part was a quarter until the hour of history gave the exact boundary back on clean
 * counts; 30% then brought 4x under 90 s for a few tenths of a point at 2x: docs/judge.md.)
 */
export const DEFAULT_EARLY_SHARE = { errors: 0.3, latency: 0.75 } as const;
export const EARLY_UNTIL = 2 / 15;

/** The part of α a bake may have spent by the fraction `u` of its planned length (1 from its end on). */
export function spending(u: number, earlyShare: number = DEFAULT_EARLY_SHARE.errors): number {
  const t = Math.min(1, Math.max(0, u));
  return earlyShare * Math.min(1, t / EARLY_UNTIL) + (1 - earlyShare) * t ** 4;
}

/**
 * Latency events are common (about half the requests), so a worthwhile slowdown moves their share
 * by less: the latency signal averages over smaller alternatives (1.5x and up missed most +20% slowdowns).
 */
export const LATENCY_ALTERNATIVES: readonly number[] = [1.1, 1.2, 1.35, 1.5, 2, 3];
/** And as fractions of it (evidence for "better": passing early, the interval's upper end). */
const DOWN = [1 / 1.25, 1 / 1.5, 1 / 2, 1 / 3] as const;

/** Share of a period's events the new version is expected to have if the rate ratio is `r`. */
export function share(r: number, candidateRequests: number, baselineRequests: number): number {
  return (r * candidateRequests) / (r * candidateRequests + baselineRequests);
}

/**
 * The mixture e-value against H0 "ratio ≤ r0" (`direction` up) or "ratio ≥ r0" (down): the average
 * over the grid of alternatives of the product, over periods, of Binomial likelihood ratios.
 */
export function eValue(
  periods: readonly CountPeriod[],
  r0: number,
  direction: 'up' | 'down',
  alternatives: readonly number[] = ERROR_ALTERNATIVES,
  remembered?: { readonly cache: JudgeCache; readonly seen: readonly string[] },
  dispersion = 1,
): number {
  const multipliers = direction === 'up' ? alternatives : DOWN;
  // Over-dispersed counts: each likelihood ratio tempered by the dispersion (the quasi-likelihood's
  // power 1/φ), so a burst weighs as the evidence it is, not as φ times more.
  const tempered = (logs: readonly number[]) => meanOfExps(dispersion === 1 ? logs : logs.map((l) => l / dispersion));
  const add = (logs: number[], from: number) => {
    for (let index = from; index < periods.length; index++) {
      const p = periods[index]!;
      const n1 = p.candidate.requests;
      const n0 = p.baseline.requests;
      const x1 = p.candidate.events;
      const x0 = p.baseline.events;
      if (n1 <= 0 || n0 <= 0 || x1 + x0 === 0) continue;
      const rho0 = share(r0, n1, n0);
      multipliers.forEach((m, i) => {
        const q = share(r0 * m, n1, n0);
        logs[i]! += x1 * Math.log(q / rho0) + x0 * Math.log((1 - q) / (1 - rho0));
      });
    }
  };
  if (!remembered) {
    const logs = multipliers.map(() => 0);
    add(logs, 0);
    return tempered(logs);
  }
  // A check with one more period adds that period's terms to the sums the last check ended with.
  const key = `e|${direction}|${multipliers.join(',')}|${r0}|${remembered.seen[0] ?? ''}`;
  return tempered(remembered.cache.sums(key, remembered.seen, multipliers.length, add));
}

/** The mean of exp(l) over `logs`, kept finite (capped at the largest double) so it can be stored. */
function meanOfExps(logs: readonly number[]): number {
  const top = Math.max(...logs);
  const mean = Math.exp(top) * (logs.reduce((sum, l) => sum + Math.exp(l - top), 0) / logs.length);
  return Number.isFinite(mean) ? mean : Number.MAX_VALUE;
}

/**
 * The e-value after each period, in one pass (what a judge checked after every period would have
 * seen): for simulations of how often the test would ever have crossed its bound.
 */
export function eValueTrail(
  periods: readonly CountPeriod[],
  r0: number,
  direction: 'up' | 'down',
  alternatives: readonly number[] = ERROR_ALTERNATIVES,
): number[] {
  const multipliers = direction === 'up' ? alternatives : DOWN;
  const logs = multipliers.map(() => 0);
  return periods.map((p) => {
    const n1 = p.candidate.requests;
    const n0 = p.baseline.requests;
    if (n1 > 0 && n0 > 0 && p.candidate.events + p.baseline.events > 0) {
      const rho0 = share(r0, n1, n0);
      multipliers.forEach((m, i) => {
        const q = share(r0 * m, n1, n0);
        logs[i]! += p.candidate.events * Math.log(q / rho0) + p.baseline.events * Math.log((1 - q) / (1 - rho0));
      });
    }
    return meanOfExps(logs);
  });
}

/** The group-sequential test at one look (the end of one period). */
export interface Look {
  /** The new version's events so far (in periods with traffic and events on both sides' terms). */
  readonly events: number;
  /** The fewest events that fail at this look: the boundary, given every period's total so far. */
  readonly limit: number;
  /** The chance, under "not worse", of having failed at this or an earlier look; at most `allowed`. */
  readonly spent: number;
  /** α · spending(fraction of the bake): what may have been spent by this look. */
  readonly allowed: number;
  /**
   * With `robust`: the over-dispersion estimated at this look (1: the counts vary as the model says,
   * 2: twice as much) and the boundary widened by it, `expected` + √dispersion · (`limit` − `expected`).
   */
  readonly dispersion?: number;
  readonly robustLimit?: number;
  /**
   * The fewest events that fail at this look, all conditions taken: the boundary, widened where the
   * counts are over-dispersed, and at least `minEvents` while the stable version has no events.
   */
  readonly failsAt: number;
}

/** How the group-sequential test decides beyond its exact boundary (each only ever fails less). */
export interface LookOptions {
  /** Remembered walks, owned by the caller: a check that sees one more period takes up the last walk. */
  readonly cache?: JudgeCache;
  /**
   * Robust to clustered events: `blocks[i]` numbers the block (a minute, say) period i falls in; the
   * over-dispersion is estimated from the blocks' variation around the fitted ratio, and the boundary
   * widened by it (see `dispersionAt`).
   */
  readonly blocks?: readonly number[];
  /** No failure on fewer events on the new version than this, unless the stable version has events too. */
  readonly minEvents?: number;
  /** With `blocks`: the stable version's events per minute before the step, for the dispersion from the first look on. */
  readonly history?: readonly HistoryBlock[];
  /**
   * What an event is. `counts` (errors: rare): Poisson counts, so given a period's total k the new
   * version's events are Binomial(k, ρ). `requests` (latency: each request is slow or not, about half
   * of them are): given the period's total, the new version's events are Hypergeometric (Fisher's
   * exact conditional test, the two sides' requests fixed), whose variance is the Binomial's times
   * (N − k)/(N − 1), N the period's requests: about half when half the requests are events. The
   * Binomial's overstated it and cost latency most of its power at wide spread. @default 'counts'
   */
  readonly events?: 'counts' | 'requests';
}

/** One period's counts as a string: what a remembered computation compares to know it saw the same period. */
const signature = (p: CountPeriod) => `${p.candidate.requests},${p.candidate.events},${p.baseline.requests},${p.baseline.events}`;

/** Mass below this is dropped from the computation, and counted as spent (so the test stays valid). */
const NEGLIGIBLE = 1e-14;

const logFactorials: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials.push(logFactorials[i - 1]! + Math.log(i));
  return logFactorials[n]!;
}

/**
 * The exact group-sequential test of "not worse" (Lan & DeMets' α spending, with exact conditional
 * probabilities in place of the normal approximation). Under "not worse" (r = 1 is the least
 * favourable case), given each period's total of events k, the new version's events are Binomial(k, ρ)
 * (ρ its share of the period's requests), independent across periods. At the end of each period (a
 * look) the boundary is the fewest events so far such that the chance, under "not worse", of reaching
 * the boundary at this or any earlier look is at most α · spending(fraction of the bake). The chance
 * is computed exactly, by carrying the distribution of the count over paths that have not crossed
 * (Armitage, McPherson & Rowe's recursion). Boundaries depend only on the totals and the look times,
 * never on how the events split, so the chance of ever failing a version that is not worse is at most
 * α; how often the judge is checked does not matter (the looks are the periods, fixed in advance),
 * nor do traffic shares and load moving between periods.
 *
 * The options only ever fail less than the exact boundary does (a look fails when the count reaches
 * its boundary and their conditions hold too), so the guarantee stands where the model holds; where
 * events come in clusters, the widened boundary keeps it approximately (see `dispersionAt`).
 *
 * `fractions[i]`: how much of the bake's planned length has passed at the end of period i; `r0` the
 * ratio tested against ("r ≤ r0"; 1 for "not worse", others for the interval's lower end).
 * Returns every look, and the first at which the judge fails.
 */
export function sequentialLooks(
  periods: readonly CountPeriod[],
  fractions: readonly number[],
  alpha: number,
  earlyShare: number = DEFAULT_EARLY_SHARE.errors,
  r0 = 1,
  options: LookOptions = {},
): { looks: Look[]; crossedAt?: number } {
  const { cache, blocks, minEvents = 0, history = [], events = 'counts' } = options;
  // A judge checked every second sees the same periods again plus the newest: the walk over the
  // periods it saw before is taken up where it ended (same result, only faster; see JudgeCache).
  const seen = periods.map((p, i) => `${signature(p)},${fractions[i] ?? 1},${blocks?.[i] ?? ''}`);
  const past = history.map((h) => `${h.requests}/${h.events}`).join(',');
  const key = `${alpha}|${earlyShare}|${r0}|${blocks ? 'robust' : 'exact'}|${events}|${minEvents}|${past}|${seen[0] ?? ''}`;
  const walk = cache?.resumed(key, seen) ?? newWalk();
  for (let index = walk.looks.length; index < periods.length; index++) {
    lookAt(walk, periods[index]!, alpha * spending(fractions[index] ?? 1, earlyShare), r0, {
      robust: blocks !== undefined,
      block: blocks?.[index],
      minEvents,
      history,
      events,
    });
  }
  cache?.remember(key, seen, walk);
  return { looks: [...walk.looks], ...(walk.crossedAt !== undefined ? { crossedAt: walk.crossedAt } : {}) };
}

/** One block's sums (the unit the over-dispersion is estimated from). */
interface Block {
  n1: number;
  n0: number;
  x1: number;
  k: number;
}

/** The walk through the looks: the count's distribution over paths not yet stopped, dist[i] = P(count = low + i). */
interface Walk {
  dist: Float64Array;
  low: number;
  events: number;
  baselineEvents: number;
  /** Σ k·ρ and the blocks so far (for the robust boundary). */
  expected: number;
  blocks: Map<number, Block>;
  spent: number;
  crossedAt?: number;
  looks: Look[];
}

const newWalk = (): Walk => ({ dist: new Float64Array([1]), low: 0, events: 0, baselineEvents: 0, expected: 0, blocks: new Map(), spent: 0, looks: [] });

function copyWalk(walk: Walk): Walk {
  return { ...walk, dist: walk.dist.slice(), blocks: new Map([...walk.blocks].map(([b, s]) => [b, { ...s }])), looks: [...walk.looks] };
}

/** The stable version's counts in one minute before the step: its own variation, measured before the new version takes traffic. */
export interface HistoryBlock {
  readonly requests: number;
  readonly events: number;
}

/**
 * The dispersion assumed while fewer than three minutes of the stable version are known (no history
 * before the step, and the step's first two minutes): one bad minute cannot be told from a
 * regression by its own counts, so the first looks ask for more.
 */
export const UNMEASURED_DISPERSION = 1.5;

/**
 * Minutes of the stable version's history left out of the estimate when their Pearson residual²
 * exceeds this many times the robust scale of the others' (a 5-sigma minute): one bad minute before
 * the step (a deploy of something else, a dependency's hiccup) is not the variation the step will see,
 * and would otherwise widen every look of the step (issue 25 review: a 20%-error minute in the
 * history left a 10x regression uncaught).
 */
export const HISTORY_OUTLIER = 25;

/**
 * Block lengths (in minutes) the over-dispersion is estimated at: errors that come in bursts lasting
 * several minutes make sums over the step vary by the design effect 1 + (m − 1)·ρ (Kish 1965) beyond
 * what independent minutes would, so the variation is measured over batches of 1, 2, 3 and 5 minutes
 * (batch means) and the largest inflation is taken (conservative).
 */
export const BATCH_MINUTES: readonly number[] = [1, 2, 3, 5];

/**
 * How many minutes of the stable version before a step its driver sends as history (the local data plane
 * keeps two hours of per-second counts; CloudWatch keeps the load balancer's 1-minute datapoints for 15
 * days). An hour leaves twelve batches of 5 minutes before the step: enough to tell bursts from chance
 * (DEMONSTRATED_BATCHES), where ten minutes left two.
 */
export const HISTORY_MINUTES = 60;

/**
 * From this many batches of the stable version on, a batch length widens the boundary only where its
 * over-dispersion is demonstrated: Pearson's X² above its upper 0.25% quantile under independent
 * requests (Pearson's dispersion test, Cameron & Trivedi, Regression Analysis of Count Data, 2nd ed.,
 * §3.4; 1% over the four batch lengths, Bonferroni). With as many batches the test tells real bursts
 * from chance, and counts that are not over-dispersed keep the exact boundary and all of its power.
 * With fewer (a service started minutes ago, the first minutes without history), X² is too noisy to
 * rule bursts out, and the upper estimate widens wherever X² is above its lower quartile.
 */
export const DEMONSTRATED_BATCHES = 12;
/** The standard normal quantile of the test's level per batch length (0.25%, upper tail). */
const DISPERSION_TEST_Z = 2.807;
/**
 * The test keeps the exact boundary only if the largest c it would likely miss would inflate the step's
 * statistic by at most this much (a history at a tenth of the step's traffic rolled back 9% of healthy
 * releases with clustered errors without this condition: issue 25's second review).
 */
const MISSED_EFFECT = 1.25;
/** The level at which the step's own minutes are tested for bursts the history did not have (1%). */
const STEP_TEST_Z = 2.326;

/**
 * How much more the test's statistic varies than the model says, from the stable version's own
 * variation between minutes (a bad minute is one unit), before the step (`history`) and during it.
 * The stable version's events per batch of minutes are modelled as over-dispersed counts, variance
 * μ + c·μ² (the negative binomial's: a rate that itself varies, by a factor of relative variance c,
 * and stays for a while), and c is estimated by moments from Pearson's X² around its own rate
 * (E[X²] ≈ (B − 1) + c·Σμ; Breslow 1984, the quasi-likelihood estimate of McCullagh & Nelder,
 * Generalized Linear Models, 2nd ed., §9.2). Around its own rate, so a new version worse by a
 * constant ratio does not count as dispersion; c is per request, so it holds at any traffic split.
 * The new version's events are taken to cluster as much (same c): in a batch with μ₁ and μ₀ events
 * expected, the new version's events less their expected share, x₁ − ρ·k, vary (1 − ρ)·(1 + c·μ₁) +
 * ρ·(1 + c·μ₀) times as much as the Binomial model says. Estimated at every batch length of
 * BATCH_MINUTES with three batches or more (a batch spanning at most the step so far), the largest
 * taken: bursts that last minutes are measured at their own length. History minutes far outside the
 * others' variation (HISTORY_OUTLIER) are left out first. At least 1.
 */
export function dispersionAt(blocks: Iterable<Block>, r0 = 1, history: readonly HistoryBlock[] = [], events: 'counts' | 'requests' = 'counts'): number {
  const used = [...blocks].filter((b) => b.n1 > 0 && b.n0 > 0);
  const inStep = used.map((b) => ({ n: b.n0, x: b.k - b.x1 }));
  const past = history.filter((h) => h.requests > 0).map((h) => ({ n: h.requests, x: h.events }));
  if (past.length + inStep.length < 3 || used.length === 0) return used.length === 0 ? 1 : UNMEASURED_DISPERSION;
  const stable = [...withoutOutliers(past, inStep), ...inStep];
  if (stable.length < 3) return UNMEASURED_DISPERSION;
  const rate = stable.reduce((s, b) => s + b.x, 0) / stable.reduce((s, b) => s + b.n, 0);
  if (rate === 0) return 1;
  // The step's minutes so far: events expected per minute on each side, and the new version's share of them.
  const n1 = used.reduce((s, b) => s + b.n1, 0);
  const n0 = used.reduce((s, b) => s + b.n0, 0);
  const rho = share(r0, n1, n0);
  // The new version's minutes vary too, around its own rate (a constant ratio is not dispersion):
  // twice the minutes of the step to measure the variation from.
  const candidate = used.map((b) => ({ n: b.n1, x: b.x1 }));
  const candidateRate = candidate.reduce((s, b) => s + b.x, 0) / n1;
  // Around the model's own variance: a count's μ, a request's yes-or-no μ·(1 − rate) (LookOptions.events).
  const perRequest = (r: number) => (events === 'requests' ? Math.max(1e-9, 1 - r) : 1);
  const pearson = (bs: readonly { n: number; x: number }[], r: number) => bs.reduce((s, b) => s + (b.x - b.n * r) ** 2 / (b.n * r * perRequest(r)), 0);
  const rateOf = (bs: readonly { n: number; x: number }[]) =>
    bs.reduce((s, b) => s + b.x, 0) /
    Math.max(
      1,
      bs.reduce((s, b) => s + b.n, 0),
    );
  // How much more the step's statistic varies, for a relative variance c of the rate over bursts of `minutes`.
  const effect = (c: number, minutes: number) => {
    // A burst correlates the step's minutes over at most the step so far.
    const span = Math.min(minutes, used.length);
    return (1 - rho) * (1 + (c * r0 * rate * n1 * span) / used.length) + rho * (1 + (c * rate * n0 * span) / used.length);
  };
  // Pearson's X² of both versions' batches of `minutes`, each around its own rate, its degrees of freedom
  // and the events expected in the batches.
  const dispersionOf = (series: readonly { n: number; x: number }[], minutes: number) => {
    const stableBatches = batchesOf(series, minutes);
    const stableRate = rateOf(series);
    if (stableBatches.length < 3 || !(stableRate > 0)) return undefined;
    const candidateBatches = candidateRate > 0 ? batchesOf(candidate, minutes) : [];
    const withCandidate = candidateBatches.length >= 2;
    return {
      batches: stableBatches.length,
      x2: pearson(stableBatches, stableRate) + (withCandidate ? pearson(candidateBatches, candidateRate) : 0),
      df: stableBatches.length - 1 + (withCandidate ? candidateBatches.length - 1 : 0),
      expected: stableBatches.reduce((s, b) => s + b.n * stableRate, 0) + (withCandidate ? candidateBatches.reduce((s, b) => s + b.n * candidateRate, 0) : 0),
    };
  };
  // Whether the step's own minutes are over-dispersed (history says nothing of bursts that begin with the
  // step: a busy hour after a quiet one, a new version's fresh tasks): then they are measured on their own
  // too, so a calm hour before cannot average them away.
  const own = past.length > 0 ? dispersionOf(inStep, 1) : undefined;
  const stepBursts = own !== undefined && own.x2 > chiSquareQuantile(own.df, STEP_TEST_Z);
  let largest = 1;
  for (const minutes of BATCH_MINUTES) {
    for (const series of stepBursts ? [stable, inStep] : [stable]) {
      const m = dispersionOf(series, minutes);
      if (!m) continue;
      // Enough batches to test, and a test that would have seen a dispersion that matters at this step
      // (the largest c it would likely miss, as the step's inflation, at most MISSED_EFFECT): no
      // widening unless the over-dispersion is demonstrated. (A quiet hour before a busy step has few
      // events a batch, and its test sees little.)
      const quantile = chiSquareQuantile(m.df, DISPERSION_TEST_Z);
      const missed = Math.max(0, (quantile - m.df) / m.expected);
      if (series === stable && !stepBursts && m.batches >= DEMONSTRATED_BATCHES && m.x2 <= quantile && effect(missed, minutes) <= MISSED_EFFECT) continue;
      // An upper estimate (X² scaled to its lower quartile under the model): with some 20 minutes known,
      // bursts that last minutes leave few batches, and the point estimate fell short of the true
      // variation often enough to double the false alarms.
      const c = Math.max(0, ((m.x2 * m.df) / chiSquareQuantile(m.df, -0.6745) - m.df) / m.expected);

      largest = Math.max(largest, effect(c, minutes));
    }
  }
  return largest;
}

/**
 * The history minutes within HISTORY_OUTLIER times the robust scale of the Pearson residuals²
 * (median over all minutes, history and step, against the median rate; median of χ²₁ is 0.455).
 */
function withoutOutliers(past: readonly { n: number; x: number }[], inStep: readonly { n: number; x: number }[]): { n: number; x: number }[] {
  const all = [...past, ...inStep];
  const middle = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const h = sorted.length >> 1;
    return sorted.length % 2 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
  };
  const pooled = all.reduce((s, b) => s + b.x, 0) / all.reduce((s, b) => s + b.n, 0);
  const rate = middle(all.map((b) => b.x / b.n)) || pooled;
  if (!(rate > 0)) return [...past];
  const z2 = (b: { n: number; x: number }) => (b.x - b.n * rate) ** 2 / (b.n * rate);
  const scale = Math.max(1, middle(all.map(z2)) / 0.455);
  return past.filter((b) => z2(b) <= HISTORY_OUTLIER * scale);
}

/** The quantile of χ² with `df` degrees of freedom at the standard normal's `z` (Wilson & Hilferty's approximation). */
function chiSquareQuantile(df: number, z: number): number {
  const c = 2 / (9 * df);
  return df * Math.max(0.05, 1 - c + z * Math.sqrt(c)) ** 3;
}

/** Whole batches of `minutes` consecutive minutes, counted back from the newest. */
function batchesOf(xs: readonly { n: number; x: number }[], minutes: number): { n: number; x: number }[] {
  const out: { n: number; x: number }[] = [];
  for (let end = xs.length; end - minutes >= 0; end -= minutes) {
    const part = xs.slice(end - minutes, end);
    out.push({ n: part.reduce((s, b) => s + b.n, 0), x: part.reduce((s, b) => s + b.x, 0) });
  }
  return out;
}

/** The periods' sums per block (every period with traffic on both sides), as the walk keeps them. */
function blockSums(periods: readonly CountPeriod[], blocks: readonly number[]): Map<number, Block> {
  const sums = new Map<number, Block>();
  periods.forEach((p, i) => {
    const block = blocks[i];
    if (block === undefined || p.candidate.requests <= 0 || p.baseline.requests <= 0) return;
    const b = sums.get(block) ?? { n1: 0, n0: 0, x1: 0, k: 0 };
    sums.set(block, {
      n1: b.n1 + p.candidate.requests,
      n0: b.n0 + p.baseline.requests,
      x1: b.x1 + p.candidate.events,
      k: b.k + p.candidate.events + p.baseline.events,
    });
  });
  return sums;
}

/** Adds one period to the walk and looks at its end, with `allowed` α spent by then at most. */
function lookAt(
  walk: Walk,
  p: CountPeriod,
  allowed: number,
  r0: number,
  {
    robust: widened,
    block,
    minEvents,
    history,
    events,
  }: { robust: boolean; block: number | undefined; minEvents: number; history: readonly HistoryBlock[]; events: 'counts' | 'requests' },
): void {
  const k = p.candidate.events + p.baseline.events;
  if (widened && block !== undefined && p.candidate.requests > 0 && p.baseline.requests > 0) {
    // Every period with traffic on both sides, events or not: leaving out the quiet ones would
    // make the quiet blocks' rates look higher, and hide the variation looked for.
    const b = walk.blocks.get(block) ?? { n1: 0, n0: 0, x1: 0, k: 0 };
    walk.blocks.set(block, { n1: b.n1 + p.candidate.requests, n0: b.n0 + p.baseline.requests, x1: b.x1 + p.candidate.events, k: b.k + k });
  }
  if (p.candidate.requests > 0 && p.baseline.requests > 0 && k > 0) {
    const n1 = p.candidate.requests;
    const n0 = p.baseline.requests;
    const rho = share(r0, n1, n0);
    // Requests as events, "not worse" (r0 = 1): Hypergeometric (see LookOptions.events). Other ratios
    // (the interval's lower end) keep the Binomial, whose wider law only widens the interval.
    const hypergeometric = events === 'requests' && r0 === 1;
    const n = n1 + n0;
    const variance = k * rho * (1 - rho) * (hypergeometric ? (n - k) / Math.max(1, n - 1) : 1);
    // The law within 8 standard deviations of its mean; the far tails are counted as spent.
    const spread = Math.ceil(8 * Math.sqrt(variance)) + 8;
    const from = Math.max(0, Math.floor(k * rho) - spread, hypergeometric ? k - n0 : 0);
    const to = Math.min(k, Math.ceil(k * rho) + spread, hypergeometric ? n1 : k);
    const pmf = new Float64Array(to - from + 1);
    const choose = (a: number, b: number) => logFactorial(a) - logFactorial(b) - logFactorial(a - b);
    const base = hypergeometric ? choose(n, k) : logFactorial(k);
    let kept = 0;
    for (let i = from; i <= to; i++) {
      pmf[i - from] = Math.exp(
        hypergeometric
          ? choose(n1, i) + choose(n0, k - i) - base
          : base - logFactorial(i) - logFactorial(k - i) + i * Math.log(rho) + (k - i) * Math.log1p(-rho),
      );
      kept += pmf[i - from]!;
    }
    const dist = walk.dist;
    walk.spent += Math.max(0, 1 - kept) * dist.reduce((a, b) => a + b, 0);
    const next = new Float64Array(dist.length + pmf.length - 1);
    for (let i = 0; i < dist.length; i++) {
      const d = dist[i]!;
      if (d === 0) continue;
      for (let j = 0; j < pmf.length; j++) next[i + j]! += d * pmf[j]!;
    }
    walk.low += from;
    walk.events += p.candidate.events;
    walk.baselineEvents += p.baseline.events;
    walk.expected += k * rho;
    // Drop the negligible bottom of the distribution, counted as spent.
    let cut = 0;
    let dropped = 0;
    while (cut < next.length - 1 && dropped + next[cut]! < NEGLIGIBLE) dropped += next[cut++]!;
    walk.dist = cut > 0 ? next.slice(cut) : next;
    walk.low += cut;
    walk.spent += dropped;
  }
  // The boundary: the lowest count whose tail (paths not yet stopped) still fits in what is allowed.
  const dist = walk.dist;
  let limit = walk.low + dist.length;
  let tail = 0;
  for (let i = dist.length - 1; i >= 0; i--) {
    if (walk.spent + tail + dist[i]! > allowed) break;
    tail += dist[i]!;
    limit = walk.low + i;
  }
  let robust: Pick<Look, 'dispersion' | 'robustLimit'> = {};
  let failsAt = limit;
  if (widened) {
    // Clustered events (a bad minute on one side, a retry storm) vary more than the model allows: the
    // boundary is widened around the expected count by the square root of the estimated dispersion.
    const dispersion = dispersionAt(walk.blocks.values(), r0, history, events);
    const robustLimit = Math.ceil(walk.expected + Math.sqrt(dispersion) * (limit - walk.expected) - 1e-9);
    robust = { dispersion, robustLimit };
    failsAt = Math.max(failsAt, robustLimit);
  }
  // Too little evidence: a lone error on a small share, with none on stable to compare it with.
  if (walk.baselineEvents === 0) failsAt = Math.max(failsAt, minEvents);
  const fails = walk.events >= failsAt;
  if (walk.crossedAt === undefined && fails) walk.crossedAt = walk.looks.length;
  if (limit - walk.low < dist.length) {
    walk.dist = limit > walk.low ? dist.slice(0, limit - walk.low) : new Float64Array([0]);
    walk.spent += tail;
  }
  walk.looks.push({ events: walk.events, limit, spent: walk.spent, allowed, ...robust, failsAt });
}

/**
 * Walks remembered between checks, by test (α, spending, r0, options, first period): a judge checked
 * every second sees the same periods again plus the newest, and its walk is taken up where it ended.
 * The caller owns it (one per engine, say), so the core keeps no hidden state; without one, every
 * check walks from the first period.
 */
export class JudgeCache {
  private readonly walks = new Map<string, { seen: readonly string[]; walk: Walk }>();
  private readonly logs = new Map<string, { seen: readonly string[]; logs: readonly number[] }>();
  private readonly latencies = new Map<string, LatencyState>();

  /** @param size walks kept at most (a few per judged gate of each running release). */
  constructor(private readonly size = 128) {}

  /** A copy of the walk remembered under `key`, if the periods it went through begin `seen`. */
  resumed(key: string, seen: readonly string[]): Walk | undefined {
    const kept = this.walks.get(key);
    if (!kept || kept.seen.length > seen.length || kept.seen.some((s, i) => s !== seen[i])) return undefined;
    return copyWalk(kept.walk);
  }

  remember(key: string, seen: readonly string[], walk: Walk): void {
    this.walks.delete(key);
    this.walks.set(key, { seen, walk: copyWalk(walk) });
    if (this.walks.size > this.size) this.walks.delete(this.walks.keys().next().value!);
  }

  /** A copy of the latency counts remembered under `key`, if the periods they went through begin `periods`. */
  latency(key: string, periods: readonly LatencyPeriod[]): LatencyState | undefined {
    const kept = this.latencies.get(key);
    if (!kept || kept.seen.length > periods.length) return undefined;
    // Every period's bins share one array of bounds, as a rule: compared once, not per period.
    const checked = new Map<readonly number[], readonly number[]>();
    const same = (x: readonly number[], y: readonly number[]) => {
      if (x === y || checked.get(x) === y) return true;
      if (!sameNumbers(x, y)) return false;
      checked.set(x, y);
      return true;
    };
    for (let i = kept.seen.length - 1; i >= 0; i--) if (!samePeriod(kept.seen[i]!, periods[i]!, same)) return undefined;
    return copyLatencyState(kept);
  }

  rememberLatency(key: string, state: LatencyState): void {
    this.latencies.delete(key);
    this.latencies.set(key, copyLatencyState(state));
    if (this.latencies.size > this.size) this.latencies.delete(this.latencies.keys().next().value!);
  }

  /**
   * Running sums (an e-value's logs) remembered under `key`: taken up where they ended if the periods
   * they went through begin `seen`, else started from zeros; `add` adds the periods from a given index on.
   */
  sums(key: string, seen: readonly string[], size: number, add: (logs: number[], from: number) => void): number[] {
    const kept = this.logs.get(key);
    const fits = kept !== undefined && kept.seen.length <= seen.length && kept.seen.every((s, i) => s === seen[i]);
    const logs = fits ? [...kept.logs] : Array.from({ length: size }, () => 0);
    add(logs, fits ? kept.seen.length : 0);
    this.logs.delete(key);
    this.logs.set(key, { seen, logs: [...logs] });
    // The bisections of the interval visit a handful of ratios per gate: room for them all.
    if (this.logs.size > this.size * 16) this.logs.delete(this.logs.keys().next().value!);
    return logs;
  }
}

/** Log-spaced ratios the interval is read from. */
const GRID = Array.from({ length: 241 }, (_, i) => (i === 120 ? 1 : Math.exp(Math.log(1 / 64) + (i / 240) * Math.log(64 * 64))));

/** How a judgement is made beyond α and the alternatives (see `LookOptions`). */
export interface JudgeOptions extends LookOptions {
  /** In a bake of planned length: how much of it has passed at the end of each period. */
  readonly fractions?: readonly number[];
}

/** The largest grid ratio below 1: the interval's lower end while the judge has not failed. */
const BELOW_ONE = GRID[119]!;

/**
 * The judge's assessment of all periods so far. In a bake of planned length, pass `fractions` (how
 * much of it has passed at the end of each period): it fails when the group-sequential test
 * (`sequentialLooks`, with the options' conditions) fails at any look. Without (no planned length,
 * e.g. while a target shifts on its own), it fails when the mixture e-value reaches 1/α (Ville's
 * inequality), and the new version has at least `minEvents` events or the stable one has some too.
 */
export function judgeCounts(
  periods: readonly CountPeriod[],
  settings: JudgeSettings,
  alternatives: readonly number[] = ERROR_ALTERNATIVES,
  { fractions, ...options }: JudgeOptions = {},
): JudgeAssessment {
  const bound = 1 / settings.alpha;
  const sum = (pick: (p: CountPeriod) => number) => periods.reduce((s, p) => s + pick(p), 0);
  const requests = { candidate: sum((p) => p.candidate.requests), baseline: sum((p) => p.baseline.requests) };
  const events = { candidate: sum((p) => p.candidate.events), baseline: sum((p) => p.baseline.events) };
  const remembered = options.cache ? { cache: options.cache, seen: periods.map(signature) } : undefined;
  // Where no bake length is planned (a watched shift), the mixture is widened as the bake's boundary
  // is: by the dispersion of the blocks so far (at least UNMEASURED_DISPERSION before three minutes
  // of the stable version are known; on AWS no history comes with the step).
  const dispersion = options.blocks ? dispersionAt(blockSums(periods, options.blocks).values(), 1, options.history ?? [], options.events) : 1;
  const e = (r0: number, direction: 'up' | 'down') => eValue(periods, r0, direction, alternatives, remembered, dispersion);
  const worse = e(1, 'up');
  const enough = events.candidate >= (options.minEvents ?? 0) || events.baseline > 0;
  const planned = fractions ? sequentialLooks(periods, fractions, settings.alpha, settings.earlyShare, 1, options) : undefined;
  // The look shown: where the test failed (a check can take several new periods at once), else the latest.
  const look = planned?.crossedAt !== undefined ? planned.looks[planned.crossedAt] : planned?.looks.at(-1);
  const failed = planned ? planned.crossedAt !== undefined : worse >= bound && enough;
  // The lower end: the largest ratio r0 the same test rejects (in a bake, the group-sequential test of
  // "r ≤ r0", a repeated confidence bound, Jennison & Turnbull; else the e-value, a confidence
  // sequence), so it is at or above 1 exactly when the judge fails. In a bake it is searched only once
  // the judge has failed (each ratio tried is a walk over every period, which a check that only needs
  // the verdict should not pay for); before, it is the confidence sequence's end, at most just below 1.
  // The upper end: the smallest ratio the e-value for "r ≥ r0" rejects, below 1 + tolerance exactly
  // when the judge passes. Each one-sided at 1 − α. Read from the grid by bisection (rejecting r0
  // rejects every smaller ratio, and the "r ≥ r0" test every larger one), each end the nearest grid
  // ratio the test rejects, so the interval printed is never narrower than the true one.
  const mixtureRejects = (r0: number) => e(r0, 'up') >= bound;
  let lower: number;
  if (!fractions) {
    const count = enough ? partitionPoint(GRID, mixtureRejects) : 0;
    lower = count === 0 ? 0 : GRID[count - 1]!;
  } else if (failed) {
    const above = GRID.slice(120);
    const rejects = (r0: number) => sequentialLooks(periods, fractions, settings.alpha, settings.earlyShare, r0, options).crossedAt !== undefined;
    lower = above[Math.max(0, partitionPoint(above, rejects) - 1)]!;
  } else {
    const count = partitionPoint(GRID, mixtureRejects);
    lower = Math.min(BELOW_ONE, count === 0 ? 0 : GRID[count - 1]!);
  }
  const notRejected = partitionPoint(GRID, (r) => e(r, 'down') < bound);
  const upper = notRejected === 0 ? GRID[0]! : notRejected >= GRID.length ? Infinity : GRID[notRejected]!;
  const ratio =
    events.candidate > 0 && events.baseline > 0 && requests.candidate > 0 && requests.baseline > 0
      ? events.candidate / requests.candidate / (events.baseline / requests.baseline)
      : undefined;
  const verdict = failed ? 'fail' : e(1 + settings.tolerance, 'down') >= bound ? 'pass' : 'inconclusive';
  return {
    verdict,
    ...(ratio !== undefined ? { ratio } : {}),
    interval: [lower, upper],
    eValue: worse,
    bound,
    ...(look ? { look } : {}),
    ...(planned?.crossedAt !== undefined ? { failedAtLook: planned.crossedAt } : {}),
    requests,
    events,
  };
}

/** How many leading items of `sorted` satisfy `holds` (which holds for a prefix of them), by bisection. */
function partitionPoint<T>(sorted: readonly T[], holds: (item: T) => boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (holds(sorted[mid]!)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The latency below which `quantile` of the requests in `bins` fall (the upper bound of that bin). */
export function binQuantile(bins: LatencyBins, quantile: number): number | undefined {
  const total = bins.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (let k = 0; k < bins.counts.length; k++) {
    seen += bins.counts[k]!;
    if (seen >= quantile * total) return bins.bounds[bins.at?.[k] ?? k];
  }
  return bins.bounds.at(-1);
}

/**
 * Bounds computed as m · (1 + tolerance) land on a bin's edge up to rounding (the bins are geometric):
 * an edge within this relative distance of a threshold is taken as the threshold itself, not as the
 * bin below it (which pushed the threshold a whole bin up: "20%" acted as 44% with 20% bins).
 */
const EDGE = 1e-9;

/** Requests in `bins` certainly slower than `threshold` (the whole bin above it), or possibly slower (any part above it). */
export function slowerThan(bins: LatencyBins, threshold: number, count: 'certainly' | 'possibly' = 'possibly'): number {
  let n = 0;
  for (let k = 0; k < bins.counts.length; k++) {
    const i = bins.at?.[k] ?? k;
    const above = count === 'certainly' ? i > 0 && bins.bounds[i - 1]! >= threshold * (1 - EDGE) : bins.bounds[i]! > threshold * (1 + EDGE);
    if (above) n += bins.counts[k]!;
  }
  return n;
}

/** One period of latency histograms, both sides. */
export interface LatencyPeriod {
  readonly candidate: LatencyBins;
  readonly baseline: LatencyBins;
}

export interface LatencyTolerance {
  /** A slowdown smaller than this share of the stable median is not worth stopping for (0.2: 20%). */
  readonly tolerance: number;
  /** Nor one smaller than this many seconds (a fresh process's sub-millisecond warm-up is not a regression). */
  readonly floorSeconds: number;
}

/**
 * Latency as counts. For each period, m is the stable version's median over the periods before it
 * (fixed before the period is seen) and δ = max(tolerance · m, floor) the slowdown worth stopping
 * for. The stable version's events are its requests slower than m; the new version's, its requests
 * slower than m + δ. If the new version is no slower than the stable one plus δ (stochastically),
 * it is no more likely to exceed m + δ than the stable one is to exceed m: "not worse" is "ratio ≤ 1"
 * again. Bins are counted so that this holds with coarse bins too: the new version's events only
 * where a whole bin lies above m + δ, the stable version's wherever a bin reaches above m.
 */
export function latencyCounts(periods: readonly LatencyPeriod[], tolerance: LatencyTolerance, effective?: number[], cache?: JudgeCache): CountPeriod[] {
  // A judge checked every second sees the same periods again plus the newest: the counts of the
  // periods it saw before are taken up where they ended (same result, only faster; see JudgeCache).
  const key = `latency|${tolerance.tolerance}|${tolerance.floorSeconds}|${periods.length > 0 ? latencySignature(periods[0]!) : ''}`;
  const state = cache?.latency(key, periods) ?? newLatencyState();
  for (let index = state.seen.length; index < periods.length; index++) addLatencyPeriod(state, periods[index]!, tolerance);
  cache?.rememberLatency(key, state);
  effective?.push(...state.effective);
  return [...state.out];
}

/** One period's totals as a string: part of a remembered computation's key (the periods themselves are compared in full). */
const latencySignature = (p: LatencyPeriod) => `${p.candidate.counts.length},${p.baseline.counts.length},${p.baseline.at?.[0] ?? 0}`;

/** Where `latencyCounts` is after some periods: the stable version's requests per bin so far and its median bin. */
interface LatencyState {
  seen: LatencyPeriod[];
  out: CountPeriod[];
  effective: number[];
  /** The stable version's requests per bin over the periods so far (dense: one count per bin). */
  history?: number[];
  total: number;
  /** Its median bin so far, moved as counts are added rather than searched for again (fine bins: thousands of them). */
  at: number;
  /** Its requests in the bins below `at`. */
  below: number;
}

const newLatencyState = (): LatencyState => ({ seen: [], out: [], effective: [], total: 0, at: 0, below: 0 });

function copyLatencyState(state: LatencyState): LatencyState {
  return { ...state, seen: [...state.seen], out: [...state.out], effective: [...state.effective], ...(state.history ? { history: [...state.history] } : {}) };
}

/** Equal arrays: the same one, or equal item by item (an observation may come over a socket). */
function sameNumbers(x: readonly number[] | undefined, y: readonly number[] | undefined): boolean {
  return x === y || (x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]));
}

/** The same period: the same counts in the same bins (bounds compared once per pair of arrays, in `same`). */
function samePeriod(a: LatencyPeriod, b: LatencyPeriod, same: (x: readonly number[], y: readonly number[]) => boolean): boolean {
  const bins = (x: LatencyBins, y: LatencyBins) => sameNumbers(x.counts, y.counts) && sameNumbers(x.at, y.at) && same(x.bounds, y.bounds);
  return a === b || (bins(a.candidate, b.candidate) && bins(a.baseline, b.baseline));
}

/** Adds one period to `state` (see `latencyCounts`). */
function addLatencyPeriod(state: LatencyState, p: LatencyPeriod, tolerance: LatencyTolerance): void {
  const { history, total } = state;
  if (history && total > 0) {
    // The first bin where the count so far reaches half the requests: binQuantile(history, 0.5).
    while (state.at < history.length - 1 && state.below + history[state.at]! < 0.5 * total) state.below += history[state.at++]!;
    while (state.at > 0 && state.below >= 0.5 * total) state.below -= history[--state.at]!;
    const median = p.baseline.bounds[state.at]!;
    const slowdown = Math.max(tolerance.tolerance * median, tolerance.floorSeconds);
    // The tolerance in effect (the floor may raise it): what a verdict may claim, period by period.
    state.effective.push(median > 0 ? slowdown / median : Infinity);
    const requests = (b: LatencyBins) => b.counts.reduce((a, c) => a + c, 0);
    state.out.push({
      candidate: { requests: requests(p.candidate), events: slowerThan(p.candidate, median + slowdown, 'certainly') },
      baseline: { requests: requests(p.baseline), events: slowerThan(p.baseline, median, 'possibly') },
    });
  }
  const dense = (state.history ??= p.baseline.bounds.map(() => 0));
  for (let k = 0; k < p.baseline.counts.length; k++) {
    const bin = p.baseline.at?.[k] ?? k;
    const c = p.baseline.counts[k]!;
    dense[bin]! += c;
    state.total += c;
    if (bin < state.at) state.below += c;
  }
  state.seen.push(p);
}
