import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../src/adapters/local/latency-histogram.js';
import { VersionMetrics } from '../../../src/adapters/local/version-metrics.js';
import { percentile } from '../../../src/core/percentile.js';

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
});
