import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type CompositeAlarm,
  type DescribeAlarmsCommandInput,
  type DescribeAlarmsCommandOutput,
  type MetricAlarm,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import type { VirtualClock } from '../../src/ports/clock.js';

/**
 * A CloudWatch that serves the load balancer's metrics the way GetMetricData does, on a virtual
 * clock, fed per target group by tests. The rules it keeps, and where each is written:
 *
 * - StartTime is rounded down: to the whole minute for a start less than 15 days ago, to 5 minutes
 *   up to 63 days, to the hour beyond (SDK model, `GetMetricDataInput.StartTime`). EndTime is
 *   exclusive (`GetMetricDataInput.EndTime`); it is rounded down to the whole minute too (project
 *   AWS facts, December 2026), so a minute in progress is never returned.
 * - Datapoints are stamped on the rounded start plus whole periods, so 60 s datapoints fall on whole
 *   minutes (`GetMetricDataInput.StartTime`).
 * - The load balancer's metrics are regular resolution: Period must be a multiple of 60
 *   (`MetricStat.Period`); anything else is refused with InvalidParameterValueException.
 * - At most 500 queries (`GetMetricDataInput.MetricDataQueries`); each Id unique in the call, starting
 *   with a lowercase letter, then letters, digits and underscores (`MetricDataQuery.Id`).
 * - Newest first unless ScanBy is TimestampAscending (`GetMetricDataInput.ScanBy`, default
 *   TimestampDescending).
 * - "If there are no requests flowing through the load balancer or no data for a metric, the metric
 *   is not reported" (ELB user guide, CloudWatch metrics for your Application Load Balancer): a
 *   minute without traffic, or without errors, has no datapoint.
 * - The load balancer "measures and sends its metrics in 60-second intervals" (same page): each
 *   load balancer's minute is sent as one batch, and becomes readable 60 to 180 s after the minute
 *   ends (a seeded, deterministic delay per load balancer and minute, so minutes can arrive out of order).
 * - HTTPCode_ELB_5XX_Count (errors the load balancer generated itself: a target that crashed, reset
 *   or timed out) has the LoadBalancer dimension only, never TargetGroup (same page).
 *
 * Metric math: only the form the adapter sends, `100*(FILL(a,0)/FILL(b,1))`; any other expression is
 * refused, so a test never passes on math the fake does not do.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
export const PUBLISH_DELAY = { minMs: 60_000, maxMs: 180_000 } as const;

export interface AlbTarget {
  /** ARN suffix, as CloudWatch's LoadBalancer dimension takes it: app/name/id. */
  readonly loadBalancer: string;
  /** ARN suffix, as CloudWatch's TargetGroup dimension takes it: targetgroup/name/id. */
  readonly targetGroup: string;
}

export interface Traffic {
  readonly requests: number;
  /** 5xx the targets answered (HTTPCode_Target_5XX_Count). */
  readonly targetErrors?: number;
  /** 5xx the load balancer generated (HTTPCode_ELB_5XX_Count): 502 on a crash or reset, 504 on a hang. */
  readonly elbErrors?: number;
}

function refused(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

/** mulberry32 on a hash of the key: the same seed and key always give the same delay. */
function seededUnit(seed: number, key: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 2654435761) >>> 0;
  let t = (h + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const dimsKey = (dims: readonly { Name?: string | undefined; Value?: string | undefined }[]) =>
  dims
    .map((d) => `${d.Name}=${d.Value}`)
    .sort()
    .join(',');

export class FakeCloudWatch {
  /** Sums per metric, dimensions and minute (epoch ms of the minute's start). */
  private readonly sums = new Map<string, Map<number, number>>();
  /** Every GetMetricData input, in order. */
  readonly calls: GetMetricDataCommandInput[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly options: { seed?: number } = {},
  ) {}

  /** When CloudWatch starts returning a load balancer's minute (epoch ms). */
  publishedAt(loadBalancer: string, minute: number): number {
    const start = Math.floor(minute / MINUTE) * MINUTE;
    const u = seededUnit(this.options.seed ?? 1, `${loadBalancer}@${start}`);
    // Whole seconds, as a once-a-minute sender would land them.
    return start + MINUTE + PUBLISH_DELAY.minMs + Math.floor((u * (PUBLISH_DELAY.maxMs - PUBLISH_DELAY.minMs)) / 1000) * 1000;
  }

  /** Traffic a target group served at `at` (epoch ms); it counts in the minute holding `at`. */
  serve(target: AlbTarget, at: number, traffic: Traffic): void {
    const minute = Math.floor(at / MINUTE) * MINUTE;
    const lb = [{ Name: 'LoadBalancer', Value: target.loadBalancer }];
    const tg = [...lb, { Name: 'TargetGroup', Value: target.targetGroup }];
    this.add('RequestCount', tg, minute, traffic.requests);
    this.add('RequestCount', lb, minute, traffic.requests);
    this.add('HTTPCode_Target_5XX_Count', tg, minute, traffic.targetErrors ?? 0);
    this.add('HTTPCode_Target_5XX_Count', lb, minute, traffic.targetErrors ?? 0);
    // The load balancer's own errors belong to no target group.
    this.add('HTTPCode_ELB_5XX_Count', lb, minute, traffic.elbErrors ?? 0);
  }

  /** The same traffic every second of [from, to): a step that begins mid-minute fills part of it. */
  serveEverySecond(target: AlbTarget, from: number, to: number, perSecond: Traffic): void {
    for (let t = from; t < to; t += 1000) this.serve(target, t, perSecond);
  }

  private add(metric: string, dims: readonly { Name: string; Value: string }[], minute: number, value: number): void {
    // No data for a metric: not reported (a zero is never stored).
    if (value <= 0) return;
    const key = `AWS/ApplicationELB|${metric}|${dimsKey(dims)}`;
    const series = this.sums.get(key) ?? new Map<number, number>();
    series.set(minute, (series.get(minute) ?? 0) + value);
    this.sums.set(key, series);
  }

  getMetricData(input: GetMetricDataCommandInput): GetMetricDataCommandOutput {
    this.calls.push(structuredClone(input));
    const now = this.clock.now();
    const queries = input.MetricDataQueries ?? [];
    if (queries.length === 0) throw refused('MissingRequiredParameterException', 'The parameter MetricDataQueries is required.');
    if (queries.length > 500) throw refused('InvalidParameterValueException', 'The collection MetricDataQueries must not have a size greater than 500.');
    const ids = new Set<string>();
    for (const q of queries) {
      if (!q.Id || !/^[a-z][A-Za-z0-9_]{0,254}$/.test(q.Id))
        throw refused('InvalidParameterValueException', `The value ${q.Id ?? ''} for parameter MetricDataQueries.member.Id is not valid.`);
      if (ids.has(q.Id)) throw refused('InvalidParameterValueException', `The value ${q.Id} for parameter MetricDataQueries.member.Id is duplicated.`);
      ids.add(q.Id);
      if (!q.MetricStat === !q.Expression)
        throw refused('InvalidParameterCombinationException', `Query ${q.Id} needs exactly one of MetricStat and Expression.`);
      const period = q.MetricStat?.Period ?? q.Period;
      if (period === undefined || period < 60 || period % 60 !== 0)
        throw refused(
          'InvalidParameterValueException',
          `The parameter MetricDataQueries.member.Period must be a multiple of 60 for regular-resolution metrics such as ${q.MetricStat?.Metric?.MetricName ?? 'this expression'}.`,
        );
    }
    if (!input.StartTime || !input.EndTime) throw refused('MissingRequiredParameterException', 'StartTime and EndTime are required.');
    const start = roundStart(input.StartTime.getTime(), now);
    const end = Math.floor(input.EndTime.getTime() / MINUTE) * MINUTE;
    if (end <= start) throw refused('InvalidParameterValueException', 'The parameter StartTime must be less than the parameter EndTime.');

    const series = new Map<string, Map<number, number>>();
    for (const q of queries.filter((x) => x.MetricStat)) series.set(q.Id!, this.stat(q, start, end, now));
    for (const q of queries.filter((x) => x.Expression)) series.set(q.Id!, evaluate(q, series));
    const ascending = input.ScanBy === 'TimestampAscending';
    const results: MetricDataResult[] = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => {
        const points = [...(series.get(q.Id!) ?? new Map<number, number>()).entries()].sort(([a], [b]) => (ascending ? a - b : b - a));
        return {
          Id: q.Id,
          Label: q.Label ?? q.MetricStat?.Metric?.MetricName ?? q.Id,
          Timestamps: points.map(([t]) => new Date(t)),
          Values: points.map(([, v]) => v),
          StatusCode: 'Complete',
        };
      });
    return { MetricDataResults: results, Messages: [], $metadata: { httpStatusCode: 200 } };
  }

  /** One MetricStat query: each period from the rounded start, summing the minutes published by now. */
  private stat(q: MetricDataQuery, start: number, end: number, now: number): Map<number, number> {
    const stat = q.MetricStat!;
    const metric = stat.Metric!;
    const out = new Map<number, number>();
    if (metric.Namespace !== 'AWS/ApplicationELB') return out;
    if (stat.Stat !== 'Sum') throw refused('InvalidParameterValueException', `The fake serves counts as Sum only, not ${stat.Stat}.`);
    const sums = this.sums.get(`AWS/ApplicationELB|${metric.MetricName}|${dimsKey(metric.Dimensions ?? [])}`);
    if (!sums) return out;
    const lb = metric.Dimensions?.find((d) => d.Name === 'LoadBalancer')?.Value ?? '';
    const periodMs = stat.Period! * 1000;
    for (let t = start; t < end; t += periodMs) {
      let sum: number | undefined;
      for (let m = t; m < t + periodMs && m < end; m += MINUTE) {
        const v = sums.get(m);
        if (v !== undefined && this.publishedAt(lb, m) <= now) sum = (sum ?? 0) + v;
      }
      if (sum !== undefined) out.set(t, sum);
    }
    return out;
  }
}

/** StartTime rounding by age (SDK model, `GetMetricDataInput.StartTime`). */
function roundStart(start: number, now: number): number {
  const age = now - start;
  const unit = age < 15 * DAY ? MINUTE : age < 63 * DAY ? 5 * MINUTE : 60 * MINUTE;
  return Math.floor(start / unit) * unit;
}

function evaluate(q: MetricDataQuery, series: Map<string, Map<number, number>>): Map<number, number> {
  const m = /^100\*\(FILL\((\w+),0\)\/FILL\((\w+),1\)\)$/.exec(q.Expression ?? '');
  if (!m) throw refused('InvalidParameterValueException', `The fake evaluates only 100*(FILL(a,0)/FILL(b,1)), not ${q.Expression}.`);
  const [a, b] = [series.get(m[1]!), series.get(m[2]!)];
  if (!a || !b) throw refused('InvalidParameterValueException', `Unknown Id in expression ${q.Expression}.`);
  const out = new Map<number, number>();
  for (const t of new Set([...a.keys(), ...b.keys()])) out.set(t, (100 * (a.get(t) ?? 0)) / (b.get(t) ?? 1));
  return out;
}

/**
 * A CloudWatch client whose GetMetricData is `fake` and whose DescribeAlarms is `alarms` (the instance is
 * mocked, not the class, so a test file may also mock CloudWatchClient for other calls).
 */
export function fakeCloudWatchClient(fake: FakeCloudWatch | undefined, alarms?: FakeAlarms): CloudWatchClient {
  const client = new CloudWatchClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(client);
  if (fake) mock.on(GetMetricDataCommand).callsFake((i: GetMetricDataCommandInput) => fake.getMetricData(i));
  if (alarms) mock.on(DescribeAlarmsCommand).callsFake((i: DescribeAlarmsCommandInput) => alarms.describeAlarms(i));
  return client;
}

/**
 * CloudWatch's alarm list as DescribeAlarms answers it, with its rules: composite alarms only when
 * AlarmTypes asks for them, metric alarms only when it is left out (SDK model, `DescribeAlarmsInput.AlarmTypes`);
 * MaxRecords from 1 to 100 with a NextToken per page, AlarmNames at most 100 (CloudWatch API reference,
 * DescribeAlarms; the default page of 50 is not documented, so code should always send MaxRecords).
 */
export class FakeAlarms {
  /** Every DescribeAlarms input, in order. */
  readonly calls: DescribeAlarmsCommandInput[] = [];

  constructor(
    readonly metricAlarms: MetricAlarm[] = [],
    readonly compositeAlarms: CompositeAlarm[] = [],
  ) {}

  describeAlarms(input: DescribeAlarmsCommandInput): DescribeAlarmsCommandOutput {
    this.calls.push(structuredClone(input));
    const max = input.MaxRecords ?? 50;
    if (!Number.isInteger(max) || max < 1 || max > 100) throw refused('InvalidParameterValueException', `MaxRecords must be from 1 to 100, got ${max}`);
    if ((input.AlarmNames?.length ?? 0) > 100)
      throw refused('InvalidParameterValueException', 'The collection AlarmNames must not have a size greater than 100.');
    const types = input.AlarmTypes ?? ['MetricAlarm'];
    const named = (name: string | undefined) => !input.AlarmNames || input.AlarmNames.includes(name ?? '');
    const all: ({ kind: 'metric'; alarm: MetricAlarm } | { kind: 'composite'; alarm: CompositeAlarm })[] = [
      ...(types.includes('MetricAlarm') ? this.metricAlarms.filter((a) => named(a.AlarmName)).map((alarm) => ({ kind: 'metric' as const, alarm })) : []),
      ...(types.includes('CompositeAlarm')
        ? this.compositeAlarms.filter((a) => named(a.AlarmName)).map((alarm) => ({ kind: 'composite' as const, alarm }))
        : []),
    ];
    const from = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64url').toString()) : 0;
    if (!Number.isInteger(from) || from < 0) throw refused('InvalidNextToken', 'The service cannot find the NextToken.');
    const page = all.slice(from, from + max);
    return {
      MetricAlarms: page.flatMap((p) => (p.kind === 'metric' ? [structuredClone(p.alarm)] : [])),
      CompositeAlarms: page.flatMap((p) => (p.kind === 'composite' ? [structuredClone(p.alarm)] : [])),
      ...(from + max < all.length ? { NextToken: Buffer.from(String(from + max)).toString('base64url') } : {}),
      $metadata: { httpStatusCode: 200 },
    };
  }
}
