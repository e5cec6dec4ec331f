/**
 * Latencies as a log-bucketed histogram (in the spirit of HDR histograms): every sample is
 * counted, in buckets 1% wide, so percentiles are within 1% of the true value whatever the load,
 * in bounded memory. Count, sum, minimum and maximum are exact.
 */
export class LatencyHistogram {
  /** Relative width of a bucket: a percentile is reported within this of the true value. */
  static readonly PRECISION = 0.01;
  private static readonly LOG_BASE = Math.log1p(LatencyHistogram.PRECISION);
  /** Values at or below this (seconds) share the first bucket. */
  private static readonly SMALLEST = 1e-6;

  private readonly buckets = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  private static index(value: number): number {
    return value <= LatencyHistogram.SMALLEST ? 0 : Math.ceil(Math.log(value / LatencyHistogram.SMALLEST) / LatencyHistogram.LOG_BASE);
  }

  /** The upper bound of a bucket: what a percentile falling in it reports. */
  private static upper(index: number): number {
    return LatencyHistogram.SMALLEST * Math.exp(index * LatencyHistogram.LOG_BASE);
  }

  record(value: number): void {
    const i = LatencyHistogram.index(value);
    this.buckets.set(i, (this.buckets.get(i) ?? 0) + 1);
    this.count++;
    this.sum += value;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
  }

  /** Adds another histogram's samples to this one (periods made of one-second buckets). */
  merge(other: LatencyHistogram): void {
    for (const [i, n] of other.buckets) this.buckets.set(i, (this.buckets.get(i) ?? 0) + n);
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** The nearest-rank percentile `p` (0-100), within PRECISION; undefined without samples. */
  percentile(p: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    let seen = 0;
    for (const i of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(i) ?? 0;
      // Never report past the largest sample (or below the smallest): those are exact.
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, LatencyHistogram.upper(i)));
    }
    return this.max;
  }

  /**
   * The histogram's own buckets from `smallest` to `largest` seconds: their upper bounds, and the
   * number of the first. The canary judge reads latency in these bins, at the precision kept here.
   */
  static buckets(smallest: number, largest: number): { readonly first: number; readonly bounds: readonly number[] } {
    const first = LatencyHistogram.index(smallest);
    const last = LatencyHistogram.index(largest);
    return { first, bounds: Array.from({ length: last - first + 1 }, (_, k) => LatencyHistogram.upper(first + k)) };
  }

  /**
   * The samples per bucket, sparse and ascending, numbered from bucket `first` (see `buckets`): those
   * below it counted in bin 0, those past the `size`-th in the last.
   */
  sparse(first: number, size: number): { at: number[]; counts: number[] } {
    const byBin = new Map<number, number>();
    for (const [i, n] of this.buckets) {
      const k = Math.min(size - 1, Math.max(0, i - first));
      byBin.set(k, (byBin.get(k) ?? 0) + n);
    }
    const at = [...byBin.keys()].sort((a, b) => a - b);
    return { at, counts: at.map((k) => byBin.get(k)!) };
  }
}
