import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../src/adapters/local/latency-histogram.js';
import { VersionMetrics } from '../../../src/adapters/local/version-metrics.js';
import { percentile } from '../../../src/core/percentile.js';
import { JUDGE_LATENCY_BINS } from '../../../src/adapters/local/local-target.js';
import { resolveConfig } from '../../../src/config/config.js';
import { judgeObservation, type JudgeGate } from '../../../src/core/gates.js';
import { binomial, poisson, seeded } from '../../support/traffic.js';

describe('latencies as a histogram', () => {
  it('property: every percentile is within 1% of the exact nearest-rank value; count, sum, min and max are exact', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.00001, max: 120, noNaN: true }), { minLength: 1, maxLength: 500 }),
        fc.integer({ min: 1, max: 100 }),
        (values, p) => {
          const h = new LatencyHistogram();
          for (const v of values) h.record(v);
          const exact =
            percentile(
              [...values].sort((a, b) => a - b),
              p,
            ) ?? 0;
          expect(Math.abs((h.percentile(p) ?? 0) - exact)).toBeLessThanOrEqual(exact * LatencyHistogram.PRECISION + 1e-12);
          expect(h.count).toBe(values.length);
          expect(h.max).toBe(Math.max(...values));
          expect(h.min).toBe(Math.min(...values));
        },
      ),
    );
  });

  it('counts every request under load: a slow tail after 2,000 fast requests in one second still shows in p99', () => {
    const metrics = new VersionMetrics();
    const at = Date.parse('2026-01-01T00:00:00.500Z');
    for (let i = 0; i < 5000; i++) metrics.record('v2', 200, 2, at);
    for (let i = 0; i < 100; i++) metrics.record('v2', 200, 3000, at);
    const [p99] = metrics.datapoints('v2', 'TargetResponseTime', 'p99', 60, 1, at + 1000);
    expect(p99?.value).toBeGreaterThan(2.9);
    expect(p99?.samples).toBe(5100);
  });

  it('the judge reads latency at the precision the proxy keeps: 1% buckets, each request in the bucket of its own value', () => {
    const metrics = new VersionMetrics();
    const at = Date.parse('2026-01-01T00:00:00Z');
    for (const ms of [50, 51, 60]) metrics.record('v2', 200, ms, at + 100);
    const bins = { first: JUDGE_LATENCY_BINS.first, size: JUDGE_LATENCY_BINS.bounds.length };
    const [period] = metrics.periods('v2', 10, at, at + 10_000, bins);
    // Three requests 2% and 20% apart land in three bins, each bound within 1% above its value.
    expect(period!.latency).toEqual([1, 1, 1]);
    period!.latencyAt.forEach((bin, k) => {
      const value = [0.05, 0.051, 0.06][k]!;
      expect(JUDGE_LATENCY_BINS.bounds[bin]!).toBeGreaterThanOrEqual(value * (1 - 1e-9));
      expect(JUDGE_LATENCY_BINS.bounds[bin]!).toBeLessThanOrEqual(value * (1 + LatencyHistogram.PRECISION));
    });
  });

  it('a version 20% slower is rolled back by the judge with the local defaults (a 10% canary, 40 requests/s, 10 minutes)', () => {
    const [service] = resolveConfig({
      services: [
        {
          name: 'demo',
          target: { driver: 'local', command: 'node server.js', port: 8080 },
          strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }] },
          gates: { judge: {} },
        },
      ],
    }).services;
    const gate = service!.settings.gates.find((g): g is JudgeGate => g.kind === 'judge' && g.signal === 'latency')!;
    const random = seeded(2504);
    const metrics = new VersionMetrics();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const lognormal = (scale: number) => 50 * scale * Math.exp(0.5 * Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random()));
    for (let s = 0; s < 600; s++) {
      const total = poisson(random, 40);
      const n1 = binomial(random, total, 0.1);
      for (let i = 0; i < total; i++) metrics.record(i < n1 ? 'v2' : 'v1', 200, lognormal(i < n1 ? 1.2 : 1), t0 + s * 1000 + 500);
    }
    const bins = { first: JUDGE_LATENCY_BINS.first, size: JUDGE_LATENCY_BINS.bounds.length };
    const side = (v: string) => metrics.periods(v, gate.periodSeconds, t0, t0 + 600_000, bins);
    const stable = side('v1');
    const a = judgeObservation(
      gate,
      {
        gate: gate.name,
        kind: 'judge',
        bounds: JUDGE_LATENCY_BINS.bounds,
        periods: side('v2').map((c, i) => ({
          start: new Date(c.start).toISOString(),
          candidate: { requests: c.requests, errors: c.errors, latency: c.latency, latencyAt: c.latencyAt },
          baseline: { requests: stable[i]!.requests, errors: stable[i]!.errors, latency: stable[i]!.latency, latencyAt: stable[i]!.latencyAt },
        })),
      },
      { stepSeconds: 600 },
    );
    expect(a.verdict).toBe('fail');
  });

  it('a period still open when read is read again later with every request; a closed one is summed once and stays the same', () => {
    const metrics = new VersionMetrics();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const bins = { first: JUDGE_LATENCY_BINS.first, size: JUDGE_LATENCY_BINS.bounds.length };
    metrics.record('v2', 200, 50, t0 + 500);
    expect(metrics.periods('v2', 1, t0, t0 + 1000, bins)[0]!.requests).toBe(1);
    metrics.record('v2', 500, 50, t0 + 900); // the same second, read before it ended
    expect(metrics.periods('v2', 1, t0, t0 + 1000, bins)[0]).toMatchObject({ requests: 2, errors: 1 });
    metrics.record('v2', 200, 50, t0 + 5000);
    const closed = metrics.periods('v2', 1, t0, t0 + 5000, bins);
    expect(metrics.periods('v2', 1, t0, t0 + 5000, bins)).toEqual(closed);
    expect(closed.map((p) => p.requests)).toEqual([2, 0, 0, 0, 0]);
  });
});
