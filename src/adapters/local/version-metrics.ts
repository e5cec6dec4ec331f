import type { Datapoint } from '../../core/gates.js';
import { LatencyHistogram } from './latency-histogram.js';

interface Bucket {
  count: number;
  /**
   * Requests the version failed, what the gates count as errors: its 5xx answers, and answers it began and
   * did not deliver (the proxy records them as 502, 504 or a client's 460 mid-body; see proxy.ts's Exchange).
   */
  target5xx: number;
  /** Every request's latency (seconds), not a sample: percentiles hold under any load. */
  latencies: LatencyHistogram;
}

const BUCKET_MS = 1000;
/** Two hours: the judge reads every period of a bake since its start, and a bake of an hour must not lose its first half. */
const KEEP_MS = 2 * 60 * 60 * 1000;

/**
 * Per-version request metrics in one-second buckets, named like the ALB's target-group metrics:
 * RequestCount, HTTPCode_Target_5XX_Count, TargetResponseTime (seconds), plus ErrorRate (percent).
 * What the proxy records differs where the ALB's would let a failing version pass: a request counts when
 * its body has ended, its latency runs to that end, and the 5xx count includes answers begun but not
 * delivered (see the Exchange in proxy.ts).
 */
export class VersionMetrics {
  private readonly buckets = new Map<string, Map<number, Bucket>>();
  /** The bucket each version recorded into last: at any load, the next record almost always goes there too. */
  private readonly current = new Map<string, { key: number; bucket: Bucket }>();
  /** Whole periods already summed for the judge (by version, length, start and bins), oldest first. */
  private readonly closed = new Map<string, { start: number; requests: number; errors: number; latency: number[]; latencyAt: number[] }>();
  /** The end of the newest second recorded: periods ending by then are complete. */
  private newest = 0;

  private remember(key: string, period: { start: number; requests: number; errors: number; latency: number[]; latencyAt: number[] }): void {
    this.closed.set(key, period);
    // Two hours of 1 s periods, for two versions and both signals' reads: older ones are read again if asked.
    if (this.closed.size > 4 * (KEEP_MS / BUCKET_MS)) this.closed.delete(this.closed.keys().next().value!);
  }

  /**
   * Counts one request of a version: its status, its latency and whether it failed (the gates' error count;
   * by default a 5xx status, the ALB's HTTPCode_Target_5XX_Count).
   */
  record(version: string, status: number, latencyMs: number, at: number, failed = status >= 500): void {
    const key = Math.floor(at / BUCKET_MS);
    // A period is complete once requests end two seconds after it (they count in the second they end).
    this.newest = Math.max(this.newest, key * BUCKET_MS);
    const current = this.current.get(version);
    let bucket: Bucket;
    if (current !== undefined && current.key === key) bucket = current.bucket;
    else {
      bucket = this.bucketAt(version, key);
      this.current.set(version, { key, bucket });
    }
    bucket.count++;
    if (failed) bucket.target5xx++;
    bucket.latencies.record(latencyMs / 1000);
  }

  /**
   * Adds counts without latencies: a data plane that counts requests and errors in one place (HAProxy's
   * per-server counters) and times them in another (its log lines, see {@link recordLatency}).
   */
  count(version: string, requests: number, failed: number, at: number): void {
    if (requests <= 0 && failed <= 0) return;
    const bucket = this.bucketAt(version, Math.floor(at / BUCKET_MS));
    bucket.count += Math.max(0, requests);
    bucket.target5xx += Math.max(0, failed);
  }

  /** Adds one request's latency without counting the request (see {@link count}). */
  recordLatency(version: string, latencyMs: number, at: number): void {
    this.bucketAt(version, Math.floor(at / BUCKET_MS)).latencies.record(latencyMs / 1000);
  }

  private bucketAt(version: string, key: number): Bucket {
    let byTime = this.buckets.get(version);
    if (!byTime) {
      byTime = new Map();
      this.buckets.set(version, byTime);
    }
    let bucket = byTime.get(key);
    if (!bucket) {
      bucket = { count: 0, target5xx: 0, latencies: new LatencyHistogram() };
      byTime.set(key, bucket);
      for (const old of byTime.keys()) if (old < key - KEEP_MS / BUCKET_MS) byTime.delete(old);
    }
    return bucket;
  }

  /** Totals of a version over [from, to). */
  totals(version: string, from: number, to: number): Bucket {
    const out: Bucket = { count: 0, target5xx: 0, latencies: new LatencyHistogram() };
    const byTime = this.buckets.get(version);
    // The seconds of the window, looked up one by one: a judge asks for every period of a long bake.
    for (let key = Math.ceil(from / BUCKET_MS); byTime && key * BUCKET_MS < to; key++) {
      const b = byTime.get(key);
      if (!b) continue;
      out.count += b.count;
      out.target5xx += b.target5xx;
      out.latencies.merge(b.latencies);
    }
    return out;
  }

  /** Requests and failures of a version over [from, to), without latencies (the judge's history of the stable version). */
  counts(version: string, from: number, to: number): { requests: number; errors: number } {
    const out = { requests: 0, errors: 0 };
    const byTime = this.buckets.get(version);
    for (let key = Math.ceil(from / BUCKET_MS); byTime && key * BUCKET_MS < to; key++) {
      const b = byTime.get(key);
      if (!b) continue;
      out.requests += b.count;
      out.errors += b.target5xx;
    }
    return out;
  }

  /**
   * Per-period counts of a version from `from` to `now` (periods aligned to `from`): requests,
   * 5xx answers and the latency histogram in the histogram's own 1% buckets from bucket `bins.first`
   * (`LatencyHistogram.buckets`), sparse. What the canary judge compares.
   */
  periods(
    version: string,
    periodSeconds: number,
    from: number,
    now: number,
    bins: { readonly first: number; readonly size: number },
  ): { start: number; requests: number; errors: number; latency: number[]; latencyAt: number[] }[] {
    const out: { start: number; requests: number; errors: number; latency: number[]; latencyAt: number[] }[] = [];
    const periodMs = periodSeconds * 1000;
    // Only whole periods: a period still filling would count its last seconds twice as it grows.
    for (let start = from; start + periodMs <= now; start += periodMs) {
      // A whole period never changes (a request counts in the second it ends): each is summed once,
      // not at every check of a long bake.
      const key = `${version}|${periodMs}|${start}|${bins.first}|${bins.size}`;
      let period = this.closed.get(key);
      if (!period) {
        const b = this.totals(version, start, start + periodMs);
        const { at, counts } = b.latencies.sparse(bins.first, bins.size);
        period = { start, requests: b.count, errors: b.target5xx, latency: counts, latencyAt: at };
        if (start + periodMs <= this.newest - BUCKET_MS) this.remember(key, period);
      }
      out.push(period);
    }
    return out;
  }

  /**
   * Datapoints like CloudWatch's GetMetricData: one per period, oldest first; periods without
   * requests publish no datapoint (as the ALB publishes none without traffic).
   */
  datapoints(version: string, metric: string, statistic: string, periodSeconds: number, periods: number, now: number): Datapoint[] {
    const out: Datapoint[] = [];
    const periodMs = periodSeconds * 1000;
    for (let k = periods; k >= 1; k--) {
      const from = now - k * periodMs;
      const t = this.totals(version, from, from + periodMs);
      if (t.count === 0) continue;
      const value = valueOf(metric, statistic, t);
      if (value === undefined) continue;
      out.push({ timestamp: new Date(from).toISOString(), value, samples: t.count });
    }
    return out;
  }
}

function valueOf(metric: string, statistic: string, t: Bucket): number | undefined {
  switch (metric) {
    case 'RequestCount':
      return t.count;
    case 'HTTPCode_Target_5XX_Count':
      return t.target5xx;
    case 'ErrorRate':
      return (100 * t.target5xx) / t.count;
    case 'TargetResponseTime':
      return latencyStatistic(t.latencies, statistic);
    default:
      return undefined;
  }
}

export function latencyStatistic(latencies: LatencyHistogram, statistic: string): number | undefined {
  if (latencies.count === 0) return undefined;
  const pct = /^p(\d{1,2}(?:\.\d+)?)$/.exec(statistic);
  if (pct) return latencies.percentile(Number(pct[1]));
  switch (statistic) {
    case 'Average':
      return latencies.sum / latencies.count;
    case 'Minimum':
      return latencies.min;
    case 'Maximum':
      return latencies.max;
    case 'Sum':
      return latencies.sum;
    case 'SampleCount':
      return latencies.count;
    default:
      return undefined;
  }
}
