import type { CountPeriod } from '../../src/core/judge.js';

/** A small seeded generator (mulberry32): the same seed gives the same traffic. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson draw (Knuth's method for small means, a normal approximation for large ones). */
export function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 60) {
    const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/** A Binomial(n, p) draw: Poisson for rare events in large n, else n Bernoulli trials. */
export function binomial(random: () => number, n: number, p: number): number {
  if (n * p < 10 && n > 200) return Math.min(n, poisson(random, n * p));
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
}

export interface TrafficCase {
  /** Requests per second on both versions together. */
  readonly rps: number;
  /** The new version's share of traffic, per period (may change). */
  readonly share: (period: number) => number;
  readonly baselineErrorRate: number;
  /** The new version's error rate as a multiple of the stable one's (1: no regression). */
  readonly errorRatio: number;
  readonly periodSeconds: number;
  readonly periods: number;
}

/** Seeded per-period request and error counts of both versions. */
export function simulateCounts(c: TrafficCase, random: () => number): CountPeriod[] {
  const out: CountPeriod[] = [];
  for (let i = 0; i < c.periods; i++) {
    const total = poisson(random, c.rps * c.periodSeconds);
    const n1 = binomial(random, total, c.share(i));
    const n0 = total - n1;
    out.push({
      candidate: { requests: n1, events: binomial(random, n1, Math.min(1, c.baselineErrorRate * c.errorRatio)) },
      baseline: { requests: n0, events: binomial(random, n0, c.baselineErrorRate) },
    });
  }
  return out;
}

/** A Gamma(shape) draw (Marsaglia & Tsang; boosted below shape 1). */
export function gamma(random: () => number, shape: number): number {
  if (shape < 1) return gamma(random, shape + 1) * Math.pow(random() || 1e-12, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
    const v = (1 + c * z) ** 3;
    if (v > 0 && Math.log(random() || 1e-12) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta draw with this mean and concentration (a + b): clustered error probabilities. */
export function beta(random: () => number, mean: number, concentration: number): number {
  const a = gamma(random, mean * concentration);
  return a / (a + gamma(random, (1 - mean) * concentration));
}
