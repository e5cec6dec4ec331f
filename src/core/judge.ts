/**
 * The canary judge: is the new version worse than the stable one, measured side by side in the
 * same periods? A sequential, anytime-valid test (Lindon & Malek, "Anytime-Valid Inference for
 * Multinomial Count Data", NeurIPS 2022; Lindon, Sanden, Shirikian, "Rapid Regression Detection in
 * Software Deployments through Sequential Testing", KDD 2022), so it may be checked after every
 * period, or every second, and still keep the chance of a false alarm below α.
 *
 * The model: in each period the two versions' events (errors, or slow requests) are Poisson counts
 * with rates λ_new·n_new and λ_stable·n_stable, n being each side's requests. Conditioned on the
 * period's total k, the new version's share of the events is Binomial(k, ρ) with
 * ρ(r) = r·n_new / (r·n_new + n_stable) and r = λ_new / λ_stable, the ratio the judge estimates. So
 * only the two counts per period are needed, and traffic shares and load may change from period to
 * period. To test "r ≤ r0" the judge multiplies, period by period, the likelihood ratio of an
 * alternative r0·m (m > 1) against r0, and averages over a fixed grid of m: under the null each
 * factor has expectation at most 1 given the past, so the running product is a nonnegative
 * supermartingale and, by Ville's inequality, crosses 1/α with probability at most α, however often
 * it is looked at. Pure: counts in, verdict and evidence out.
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
}

export interface JudgeSettings {
  /** The largest chance of a false alarm (rolling back a version that is not worse). */
  readonly alpha: number;
  /** The smallest regression worth stopping for, as a ratio above 1: 0.2 means 20% worse. Used to pass early. */
  readonly tolerance: number;
  /**
   * The part of α kept for one look at the bake's planned end (a fixed-horizon test); the sequential
   * test, looked at as often as one likes, gets the rest. Each keeps its own share of false alarms,
   * so together they keep α however often the judge is checked. @default 0 (all sequential)
   */
  readonly finalShare?: number;
}

export interface JudgeAssessment {
  /** fail: the new version is worse (r > 1) at level α; pass: r < 1 + tolerance at level α; else inconclusive. */
  readonly verdict: 'fail' | 'pass' | 'inconclusive';
  /** Estimated ratio new / stable of the event rates; undefined before both sides have events. */
  readonly ratio?: number;
  /** Anytime-valid bounds for the ratio, each one-sided at (1 − α); the upper end may be Infinity. */
  readonly interval: readonly [number, number];
  /** The test's value against "not worse" (r ≤ 1), and the bound it must reach to fail (1 over the sequential share of α). */
  readonly eValue: number;
  readonly bound: number;
  /** At the bake's planned end: the one-sided p-value of the new version's events given each period's total, against its share of α. */
  readonly final?: { readonly pValue: number; readonly alpha: number };
  readonly requests: { readonly candidate: number; readonly baseline: number };
  readonly events: { readonly candidate: number; readonly baseline: number };
}

/**
 * Alternatives the mixture averages over, as multiples of the null ratio (evidence for "worse").
 * The sequential test is there for gross regressions, caught fast: two large alternatives stop a 4x
 * regression soonest for its share of α; subtle ones are the look at the bake's end's (below). With
 * the sequential test alone, [1.5, 2, 3, 5] did best (a seven-point grid from 1.1 to 10 caught 2x in
 * 57% of bakes, those four in 65%, a single alternative at exactly 2x, which no one knows in
 * advance, 74%); the split with a final look (simulated over α shares and grids) does better on both.
 */
export const ERROR_ALTERNATIVES: readonly number[] = [4, 8];

/**
 * How α is split by default: 40% for the sequential test (gross regressions, caught within a minute
 * or two), 60% for the look at the bake's end (subtle ones, which need the whole bake's counts). In
 * `npm run bench:judge` this moved a 2x regression from 64% of 10-minute bakes caught to about 80%,
 * and the median time to catch 4x from 77 s to about 86 s (see the README's figures).
 */
export const DEFAULT_FINAL_SHARE = 0.6;
/**
 * Latency events are common (about half the requests), so a worthwhile slowdown moves their share
 * by less: the latency signal averages over smaller alternatives (with only 1.5x and up it caught
 * +20% latency in 16% of bakes in `npm run bench:judge`).
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
export function eValue(periods: readonly CountPeriod[], r0: number, direction: 'up' | 'down', alternatives: readonly number[] = ERROR_ALTERNATIVES): number {
  const multipliers = direction === 'up' ? alternatives : DOWN;
  const logs = multipliers.map(() => 0);
  for (const p of periods) {
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
  return meanOfExps(logs);
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

/**
 * The look at the bake's end: under "not worse" (r = 1 is the least favourable case), given each
 * period's total of events k, the new version's events are Binomial(k, ρ) with ρ its share of the
 * period's requests, independent across periods; their sum is Poisson-binomial. Returns P(sum ≥ x)
 * exactly (convolution, up to 4,000 events), or Bernstein's bound beyond (larger, so still valid).
 */
export function finalPValue(periods: readonly CountPeriod[]): number {
  const trials: { k: number; rho: number }[] = [];
  let observed = 0;
  for (const p of periods) {
    const k = p.candidate.events + p.baseline.events;
    if (p.candidate.requests <= 0 || p.baseline.requests <= 0 || k === 0) continue;
    trials.push({ k, rho: share(1, p.candidate.requests, p.baseline.requests) });
    observed += p.candidate.events;
  }
  const total = trials.reduce((s, t) => s + t.k, 0);
  if (observed === 0) return 1;
  if (total > 4000) {
    const mean = trials.reduce((s, t) => s + t.k * t.rho, 0);
    const variance = trials.reduce((s, t) => s + t.k * t.rho * (1 - t.rho), 0);
    const excess = observed - mean;
    return excess <= 0 ? 1 : Math.min(1, Math.exp(-(excess * excess) / (2 * (variance + excess / 3))));
  }
  const pmf = new Float64Array(total + 1);
  pmf[0] = 1;
  let size = 0;
  for (const { k, rho } of trials) {
    // Convolution with Binomial(k, rho), one Bernoulli at a time, in place from the top down.
    for (let i = 0; i < k; i++) {
      for (let j = size; j >= 0; j--) {
        pmf[j + 1]! += pmf[j]! * rho;
        pmf[j]! *= 1 - rho;
      }
      size++;
    }
  }
  let tail = 0;
  for (let j = observed; j <= size; j++) tail += pmf[j]!;
  return Math.min(1, tail);
}

/** Log-spaced ratios the interval is read from. */
const GRID = Array.from({ length: 241 }, (_, i) => Math.exp(Math.log(1 / 64) + (i / 240) * Math.log(64 * 64)));

/**
 * The sequential ratio test over all periods so far; with `finalLook` (the bake's planned end,
 * looked at once), also the fixed-horizon test with its share of α.
 */
export function judgeCounts(
  periods: readonly CountPeriod[],
  settings: JudgeSettings,
  alternatives: readonly number[] = ERROR_ALTERNATIVES,
  { finalLook = false }: { finalLook?: boolean } = {},
): JudgeAssessment {
  const finalShare = settings.finalShare ?? 0;
  const bound = 1 / (settings.alpha * (1 - finalShare));
  const passBound = 1 / settings.alpha;
  const sum = (pick: (p: CountPeriod) => number) => periods.reduce((s, p) => s + pick(p), 0);
  const requests = { candidate: sum((p) => p.candidate.requests), baseline: sum((p) => p.baseline.requests) };
  const events = { candidate: sum((p) => p.candidate.events), baseline: sum((p) => p.baseline.events) };
  const worse = eValue(periods, 1, 'up', alternatives);
  // Each end is a one-sided (1 − α) anytime-valid bound, the same tests the verdicts use: the lower
  // end is at or above 1 exactly when the judge fails, the upper end below 1 + tolerance when it
  // passes. Read from the grid outwards (each end is the nearest grid ratio the test rejects), so the
  // interval printed is never narrower than the true one.
  const lowerIndex = GRID.findIndex((r) => eValue(periods, r, 'up', alternatives) < bound);
  const lower = lowerIndex <= 0 ? 0 : GRID[lowerIndex - 1]!;
  const upperIndex = GRID.findLastIndex((r) => eValue(periods, r, 'down') < passBound);
  const upper = upperIndex < 0 ? GRID[0]! : upperIndex >= GRID.length - 1 ? Infinity : GRID[upperIndex + 1]!;
  const ratio =
    events.candidate > 0 && events.baseline > 0 && requests.candidate > 0 && requests.baseline > 0
      ? events.candidate / requests.candidate / (events.baseline / requests.baseline)
      : undefined;
  const final = finalLook && finalShare > 0 ? { pValue: finalPValue(periods), alpha: settings.alpha * finalShare } : undefined;
  const verdict =
    worse >= bound || (final !== undefined && final.pValue <= final.alpha)
      ? 'fail'
      : eValue(periods, 1 + settings.tolerance, 'down') >= passBound
        ? 'pass'
        : 'inconclusive';
  return { verdict, ...(ratio !== undefined ? { ratio } : {}), interval: [lower, upper], eValue: worse, bound, requests, events, ...(final ? { final } : {}) };
}

/** The latency below which `quantile` of the requests in `bins` fall (the upper bound of that bin). */
export function binQuantile(bins: LatencyBins, quantile: number): number | undefined {
  const total = bins.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (let i = 0; i < bins.counts.length; i++) {
    seen += bins.counts[i]!;
    if (seen >= quantile * total) return bins.bounds[i];
  }
  return bins.bounds.at(-1);
}

/** Requests in `bins` certainly slower than `threshold` (the whole bin above it), or possibly slower (any part above it). */
export function slowerThan(bins: LatencyBins, threshold: number, count: 'certainly' | 'possibly' = 'possibly'): number {
  let n = 0;
  for (let i = 0; i < bins.counts.length; i++) {
    const above = count === 'certainly' ? i > 0 && bins.bounds[i - 1]! >= threshold : bins.bounds[i]! > threshold;
    if (above) n += bins.counts[i]!;
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
export function latencyCounts(periods: readonly LatencyPeriod[], tolerance: LatencyTolerance): CountPeriod[] {
  const out: CountPeriod[] = [];
  let history: LatencyBins | undefined;
  for (const p of periods) {
    const median = history ? binQuantile(history, 0.5) : undefined;
    if (median !== undefined) {
      const slowdown = Math.max(tolerance.tolerance * median, tolerance.floorSeconds);
      const requests = (b: LatencyBins) => b.counts.reduce((a, c) => a + c, 0);
      out.push({
        candidate: { requests: requests(p.candidate), events: slowerThan(p.candidate, median + slowdown, 'certainly') },
        baseline: { requests: requests(p.baseline), events: slowerThan(p.baseline, median, 'possibly') },
      });
    }
    history = history ? { bounds: history.bounds, counts: history.counts.map((c, i) => c + (p.baseline.counts[i] ?? 0)) } : p.baseline;
  }
  return out;
}
