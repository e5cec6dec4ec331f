import { describe, expect, it } from 'vitest';
import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { VirtualClock } from '../../../src/ports/clock.js';
import { FakeCloudWatch, PUBLISH_DELAY } from '../../support/fake-cloudwatch.js';

/** The fake keeps CloudWatch's rules (see its header for where each is written). */
const at = (hms: string) => Date.parse(`2026-03-02T${hms}Z`);
const tg = { loadBalancer: 'app/prod/999', targetGroup: 'targetgroup/api-green/222' };
const query = (
  Id: string,
  MetricName = 'RequestCount',
  Period = 60,
  dims = [
    { Name: 'LoadBalancer', Value: tg.loadBalancer },
    { Name: 'TargetGroup', Value: tg.targetGroup },
  ],
): MetricDataQuery => ({
  Id,
  MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName, Dimensions: dims }, Period, Stat: 'Sum' },
});
const setup = () => {
  const clock = new VirtualClock(at('12:30:00'));
  const fake = new FakeCloudWatch(clock, { seed: 5 });
  fake.serveEverySecond(tg, at('12:30:00'), at('12:34:00'), { requests: 2, targetErrors: 1, elbErrors: 1 });
  clock.advanceTo(at('12:40:00'));
  return { clock, fake };
};

describe('the CloudWatch fake', () => {
  it('rounds StartTime down to the whole minute, stamps datapoints on whole minutes and answers newest first by default', () => {
    const { fake } = setup();
    const out = fake.getMetricData({ MetricDataQueries: [query('r')], StartTime: new Date(at('12:31:34')), EndTime: new Date(at('12:33:50')) });
    expect(out.MetricDataResults?.[0]?.Timestamps).toEqual([new Date(at('12:32:00')), new Date(at('12:31:00'))]);
    expect(out.MetricDataResults?.[0]?.Values).toEqual([120, 120]);
    const up = fake.getMetricData({
      MetricDataQueries: [query('r')],
      StartTime: new Date(at('12:31:34')),
      EndTime: new Date(at('12:33:00')),
      ScanBy: 'TimestampAscending',
    });
    expect(up.MetricDataResults?.[0]?.Timestamps).toEqual([new Date(at('12:31:00')), new Date(at('12:32:00'))]);
  });

  it('publishes each minute 60-180 s after it ends, the same way for the same seed', () => {
    const { fake } = setup();
    for (let m = at('12:30:00'); m < at('12:40:00'); m += 60_000) {
      const delay = fake.publishedAt(tg.loadBalancer, m) - (m + 60_000);
      expect(delay).toBeGreaterThanOrEqual(PUBLISH_DELAY.minMs);
      expect(delay).toBeLessThanOrEqual(PUBLISH_DELAY.maxMs);
      expect(new FakeCloudWatch(new VirtualClock(), { seed: 5 }).publishedAt(tg.loadBalancer, m)).toBe(fake.publishedAt(tg.loadBalancer, m));
    }
    const early = new FakeCloudWatch(new VirtualClock(at('12:31:59')), { seed: 5 });
    early.serve(tg, at('12:30:10'), { requests: 5 });
    const read = () => early.getMetricData({ MetricDataQueries: [query('r')], StartTime: new Date(at('12:30:00')), EndTime: new Date(at('12:35:00')) });
    expect(read().MetricDataResults?.[0]?.Values).toEqual([]);
  });

  it('reports nothing for a minute without traffic or a metric without data, and the load balancer’s own 5xx only by LoadBalancer', () => {
    const { fake } = setup();
    const lbOnly = [{ Name: 'LoadBalancer', Value: tg.loadBalancer }];
    const out = fake.getMetricData({
      MetricDataQueries: [query('r'), query('elbByTg', 'HTTPCode_ELB_5XX_Count'), query('elb', 'HTTPCode_ELB_5XX_Count', 60, lbOnly)],
      StartTime: new Date(at('12:33:00')),
      EndTime: new Date(at('12:36:00')),
      ScanBy: 'TimestampAscending',
    });
    expect(out.MetricDataResults?.map((r) => [r.Id, r.Values])).toEqual([
      ['r', [120]],
      ['elbByTg', []],
      ['elb', [60]],
    ]);
  });

  it.each([
    ['a period that is not a multiple of 60', [query('r', 'RequestCount', 10)], 'InvalidParameterValueException'],
    ['an Id that starts with a capital', [query('Requests')], 'InvalidParameterValueException'],
    ['the same Id twice', [query('r'), query('r')], 'InvalidParameterValueException'],
    ['more than 500 queries', Array.from({ length: 501 }, (_, i) => query(`q${i}`)), 'InvalidParameterValueException'],
  ])('refuses %s as CloudWatch does', (_what, queries, name) => {
    const { fake } = setup();
    expect(() => fake.getMetricData({ MetricDataQueries: queries, StartTime: new Date(at('12:30:00')), EndTime: new Date(at('12:35:00')) })).toThrow(
      expect.objectContaining({ name }),
    );
  });
});
