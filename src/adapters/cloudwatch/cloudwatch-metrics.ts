import type { CloudWatchClient, MetricDataQuery, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { resolveLazy, type Lazy } from '../aws/lazy.js';
import { isTargetMetric, type Datapoint, type GateSpec, type JudgeGate, type JudgePeriod, type MetricGate, type Observation } from '../../core/gates.js';
import type { Release } from '../../core/release.js';
import { HISTORY_MINUTES } from '../../core/judge.js';
import type { CodeDeployTarget, EcsTarget } from '../../config/schema.js';
import type { MetricsSource } from '../../ports/metrics-source.js';
import { translateAwsError } from '../aws/errors.js';

export interface CloudWatchMetricsOptions {
  readonly client: Lazy<CloudWatchClient>;
  readonly target: CodeDeployTarget | EcsTarget;
  /** The green target group's name for a release (from the CodeDeploy deployment target). */
  readonly greenTargetGroup: (release: Release) => Promise<string | undefined>;
}

/** The load balancer's metrics are regular resolution: one datapoint a minute at most (MetricStat.Period). */
const ALB_MINUTE_SECONDS = 60;
const MINUTE_MS = 60_000;
/**
 * The latest a load balancer's minute becomes readable after it ends (it sends every 60 s; CloudWatch
 * shows it 60-180 s after the minute). Past this, a minute without datapoints had no traffic.
 */
export const ALB_PUBLISH_DELAY_MS = 180_000;

/** Imported on first use: a cold start does not load the CloudWatch SDK. */
const cloudwatchSdk = () => import('@aws-sdk/client-cloudwatch');

interface Planned {
  readonly gate: MetricGate;
  readonly valueId: string;
  readonly samplesId: string;
  /** A count that publishes nothing when zero: each period with samples and no value is a 0. */
  readonly zeroWhenMissing?: boolean;
}

/**
 * Gates on AWS: alarm states through DescribeAlarms (metric and composite), metric gates through
 * one GetMetricData call for all of a release's queries, with the same semantics as local gates.
 */
export class CloudWatchMetrics implements MetricsSource {
  constructor(private readonly options: CloudWatchMetricsOptions) {}

  async observe(release: Release, gates: readonly GateSpec[], now: number): Promise<Observation[]> {
    const alarms = gates.filter((g) => g.kind === 'alarm');
    const metrics = gates.filter((g): g is MetricGate => g.kind === 'metric');
    const judges = gates.filter((g): g is JudgeGate => g.kind === 'judge');
    const [alarmObs, metricObs, judgeObs] = await Promise.all([
      this.alarms(alarms.map((a) => a.name)),
      this.metrics(release, metrics, now),
      Promise.all(judges.map((j) => this.judge(release, j, now))),
    ]);
    return [...alarmObs, ...metricObs, ...judgeObs];
  }

  /**
   * The judge on AWS: the green (new) and the blue (stable) target group's RequestCount and
   * HTTPCode_Target_5XX_Count, period by period since the step began, in one GetMetricData call,
   * so both sides are measured in the same windows. Errors only: CloudWatch publishes latency as
   * per-period statistics, not the distributions the latency signal needs (refused at load).
   */
  async judge(release: Release, gate: JudgeGate, now: number): Promise<Observation> {
    const groups = this.options.target.targetGroups ?? [];
    const greenName = await this.options.greenTargetGroup(release);
    const green = groups.find((t) => greenName !== undefined && t.targetGroup.split('/')[1] === greenName);
    const blue = groups.find((t) => t !== green);
    if (!green || !blue) {
      return {
        gate: gate.name,
        kind: 'error',
        message: green
          ? 'the stable version has no target group among target.targetGroups'
          : 'the new version has no target group yet (or target.targetGroups is not configured)',
      };
    }
    const periodMs = gate.periodSeconds * 1000;
    const stepStart = Date.parse(release.stepStartedAt ?? release.updatedAt);
    // CloudWatch cuts time only on whole minutes: GetMetricData rounds a StartTime under 15 days old
    // down to the minute and stamps 60 s datapoints on whole minutes (SDK model,
    // GetMetricDataInput.StartTime), so a step that began at 12:32:34 cannot be asked for from
    // 12:32:34. Periods are therefore cut on period-aligned boundaries (floor(t / period)), and the
    // rule for the first one is: the period holding the step's start counts in this step. That keeps
    // the judge valid: (1) no other step can have judged it, as every check of the step before ran
    // before this period ended, and only ended periods are read; (2) the test compares the two
    // versions inside each period given that period's own request counts, which stay the right
    // weights whatever share of the period ran at the step before's traffic split; (3) the core is
    // told when the step began (stepStart), so this partial period is spent on as the part of the
    // bake it really is, and counts as warm-up when the step has one. Starting at the first whole
    // period instead would drop up to a period of the step's traffic that no step ever looks at.
    const first = Math.floor(stepStart / periodMs) * periodMs;
    // Only ended periods: one still running would be judged again once it has more requests.
    const end = Math.floor(now / periodMs) * periodMs;
    const base = { gate: gate.name, kind: 'judge' as const, stepStart: new Date(stepStart).toISOString() };
    if (end <= first) return { ...base, periods: [] };
    // Read in minutes whatever the judge's period, so that whether each minute is published can be
    // told apart (a longer CloudWatch period would sum a published minute with an unpublished one).
    const sum = (id: string, metric: string, tg: { targetGroup: string; loadBalancer: string }): MetricDataQuery => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ApplicationELB',
          MetricName: metric,
          Dimensions: [
            { Name: 'TargetGroup', Value: tg.targetGroup },
            { Name: 'LoadBalancer', Value: tg.loadBalancer },
          ],
        },
        Period: ALB_MINUTE_SECONDS,
        Stat: 'Sum',
      },
      ReturnData: true,
    });
    const queries = [
      sum('newRequests', 'RequestCount', green),
      sum('newErrors', 'HTTPCode_Target_5XX_Count', green),
      sum('stableRequests', 'RequestCount', blue),
      sum('stableErrors', 'HTTPCode_Target_5XX_Count', blue),
    ];
    // And an hour before the step (CloudWatch keeps 1-minute datapoints for 15 days): the stable target
    // group's own minute-to-minute variation, which tells the judge whether its errors come in bursts
    // (`dispersionAt` in core/judge.ts). The new target group's minutes before the step are not read.
    // The hour ends the latest publication delay before the step, so every minute of it is in (or was
    // quiet) by the first check: the history never changes under looks already judged.
    const historyEnd = first - Math.ceil(ALB_PUBLISH_DELAY_MS / MINUTE_MS) * MINUTE_MS;
    const historyStart = historyEnd - HISTORY_MINUTES * MINUTE_MS;
    let results: MetricDataResult[];
    try {
      results = await this.getMetricData(queries, new Date(historyStart), new Date(end));
    } catch (error) {
      return { gate: gate.name, kind: 'error', message: translateAwsError(error, 'cloudwatch:GetMetricData', release.service).message };
    }
    // Each datapoint by the minute it is stamped on (floor(timestamp / 60 s)), never by exact time.
    const minutes = new Map<string, Map<number, number>>();
    for (const r of results) {
      const m = minutes.get(r.Id ?? '') ?? new Map<number, number>();
      r.Timestamps?.forEach((ts, k) => {
        const minute = Math.floor(ts.getTime() / MINUTE_MS);
        m.set(minute, (m.get(minute) ?? 0) + (r.Values?.[k] ?? 0));
      });
      minutes.set(r.Id ?? '', m);
    }
    const value = (id: string, minute: number) => minutes.get(id)?.get(minute);
    // Whether a minute can still change. The load balancer "measures and sends its metrics in
    // 60-second intervals" and reports nothing for a minute without requests or for a metric without
    // data (ELB user guide, CloudWatch metrics for your Application Load Balancer); a minute arrives
    // 60-180 s after it ends, not always in order. So a minute with no datapoint is "not yet", never
    // zero, until the latest delay has passed (then it was quiet: zero requests, zero errors); a
    // minute with any datapoint of a load balancer has that load balancer's whole batch in.
    const balancers = [...new Set([green.loadBalancer, blue.loadBalancer])];
    const sent = (lb: string, minute: number) =>
      queries.some((q) => q.MetricStat?.Metric?.Dimensions?.some((d) => d.Value === lb) && value(q.Id!, minute) !== undefined);
    const settled = (minute: number) => (minute + 1) * MINUTE_MS + ALB_PUBLISH_DELAY_MS <= now || balancers.every((lb) => sent(lb, minute));
    const perPeriod = periodMs / MINUTE_MS;
    const periods: JudgePeriod[] = [];
    // Oldest first, stopping at the first period not wholly in: a period is judged once, with its
    // final counts, and every later check sees the same periods again plus newer ones.
    for (let t = first; t < end; t += periodMs) {
      const inPeriod = Array.from({ length: perPeriod }, (_, i) => t / MINUTE_MS + i);
      if (!inPeriod.every(settled)) break;
      const total = (id: string) => inPeriod.reduce((s, minute) => s + (value(id, minute) ?? 0), 0);
      periods.push({
        start: new Date(t).toISOString(),
        candidate: { requests: total('newRequests'), errors: total('newErrors') },
        baseline: { requests: total('stableRequests'), errors: total('stableErrors') },
      });
    }
    // The stable version's minutes of that hour it served requests in (each settled: see above).
    const history: { requests: number; errors: number }[] = [];
    for (let minute = historyStart / MINUTE_MS; minute < historyEnd / MINUTE_MS; minute++) {
      const requests = value('stableRequests', minute) ?? 0;
      if (requests > 0 && settled(minute)) history.push({ requests, errors: value('stableErrors', minute) ?? 0 });
    }
    return { ...base, periods, ...(history.length > 0 ? { history } : {}) };
  }

  private async alarms(names: string[]): Promise<Observation[]> {
    if (names.length === 0) return [];
    let out;
    try {
      const { DescribeAlarmsCommand } = await cloudwatchSdk();
      const client = await resolveLazy(this.options.client);
      // Composite alarms are only returned when asked for by type.
      out = await client.send(new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100 }));
    } catch (error) {
      const e = translateAwsError(error, 'cloudwatch:DescribeAlarms', names.join(', '));
      return names.map((gate) => ({ gate, kind: 'error', message: e.message }));
    }
    const found = [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])];
    return names.map((gate): Observation => {
      const alarm = found.find((a) => a.AlarmName === gate);
      if (!alarm?.StateValue) return { gate, kind: 'error', message: `alarm ${gate} does not exist in this account and region` };
      return { gate, kind: 'alarm', state: alarm.StateValue, ...(alarm.StateReason ? { reason: alarm.StateReason } : {}) };
    });
  }

  /** One GetMetricData request for `queries` over [start, end), every page of it, oldest first. */
  private async getMetricData(queries: MetricDataQuery[], start: Date, end: Date): Promise<MetricDataResult[]> {
    const { GetMetricDataCommand } = await cloudwatchSdk();
    const client = await resolveLazy(this.options.client);
    const results: MetricDataResult[] = [];
    let NextToken: string | undefined;
    do {
      const out = await client.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: start,
          EndTime: end,
          ScanBy: 'TimestampAscending',
          ...(NextToken ? { NextToken } : {}),
        }),
      );
      results.push(...(out.MetricDataResults ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
    return results;
  }

  /** Builds the GetMetricData queries for the metric gates (exported for tests). */
  async queries(release: Release, gates: readonly MetricGate[]): Promise<{ queries: MetricDataQuery[]; planned: Planned[]; problems: Observation[] }> {
    const queries: MetricDataQuery[] = [];
    const planned: Planned[] = [];
    const problems: Observation[] = [];
    const needsTargetGroup = gates.some((g) => isTargetMetric(g.metric));
    const greenName = needsTargetGroup ? await this.options.greenTargetGroup(release) : undefined;
    const tg = this.options.target.targetGroups?.find((t) => greenName !== undefined && t.targetGroup.split('/')[1] === greenName);
    gates.forEach((gate, i) => {
      const valueId = `g${i}v`;
      const samplesId = `g${i}n`;
      const period = gate.periodSeconds;
      if (typeof gate.metric !== 'string') {
        const metric = {
          Namespace: gate.metric.namespace,
          MetricName: gate.metric.metricName,
          Dimensions: Object.entries(gate.metric.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
        };
        queries.push({ Id: valueId, MetricStat: { Metric: metric, Period: period, Stat: gate.statistic }, ReturnData: true });
        queries.push({ Id: samplesId, MetricStat: { Metric: metric, Period: period, Stat: 'SampleCount' }, ReturnData: true });
        planned.push({ gate, valueId, samplesId });
        return;
      }
      if (gate.metric === 'HTTPCode_ELB_5XX_Count') {
        // The load balancer's own 5xx (crashes, resets, hangs of any version): LoadBalancer dimension
        // only (ELB user guide, CloudWatch metrics for your Application Load Balancer). Its requests are
        // the samples; a period with requests and no datapoint had no such error ("no data for a
        // metric, the metric is not reported", same page), so it counts as 0, not as no data.
        const loadBalancer = this.options.target.targetGroups?.[0]?.loadBalancer;
        if (!loadBalancer) {
          problems.push({ gate: gate.name, kind: 'error', message: 'HTTPCode_ELB_5XX_Count needs target.targetGroups (their load balancer) in the config' });
          return;
        }
        const lb = (name: string) => ({
          Metric: { Namespace: 'AWS/ApplicationELB', MetricName: name, Dimensions: [{ Name: 'LoadBalancer', Value: loadBalancer }] },
          Period: period,
          Stat: 'Sum',
        });
        queries.push({ Id: samplesId, MetricStat: lb('RequestCount'), ReturnData: true });
        queries.push({ Id: valueId, MetricStat: lb('HTTPCode_ELB_5XX_Count'), ReturnData: true });
        planned.push({ gate, valueId, samplesId, zeroWhenMissing: true });
        return;
      }
      if (!tg) {
        problems.push({
          gate: gate.name,
          kind: 'error',
          message: greenName
            ? `the green target group ${greenName} is not among target.targetGroups in the config`
            : 'the new version has no target group yet (or target.targetGroups is not configured)',
        });
        return;
      }
      const dims = [
        { Name: 'TargetGroup', Value: tg.targetGroup },
        { Name: 'LoadBalancer', Value: tg.loadBalancer },
      ];
      const alb = (name: string, stat: string) => ({
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: name, Dimensions: dims },
        Period: period,
        Stat: stat,
      });
      // Requests are the samples of every target metric; periods without traffic publish nothing.
      queries.push({ Id: samplesId, MetricStat: alb('RequestCount', 'Sum'), ReturnData: true });
      switch (gate.metric) {
        case 'RequestCount':
          queries.push({ Id: valueId, MetricStat: alb('RequestCount', 'Sum'), ReturnData: true });
          break;
        case 'HTTPCode_Target_5XX_Count':
          queries.push({ Id: valueId, MetricStat: alb('HTTPCode_Target_5XX_Count', 'Sum'), ReturnData: true });
          break;
        case 'TargetResponseTime':
          queries.push({ Id: valueId, MetricStat: alb('TargetResponseTime', gate.statistic), ReturnData: true });
          break;
        case 'ErrorRate':
          queries.push({ Id: `g${i}e`, MetricStat: alb('HTTPCode_Target_5XX_Count', 'Sum'), ReturnData: false });
          queries.push({ Id: valueId, Expression: `100*(FILL(g${i}e,0)/FILL(${samplesId},1))`, Label: `${gate.name} error rate`, ReturnData: true });
          break;
      }
      planned.push({ gate, valueId, samplesId });
    });
    return { queries, planned, problems };
  }

  private async metrics(release: Release, gates: readonly MetricGate[], now: number): Promise<Observation[]> {
    if (gates.length === 0) return [];
    const { queries, planned, problems } = await this.queries(release, gates);
    if (queries.length === 0) return problems;
    const longest = Math.max(...planned.map((p) => p.gate.periodSeconds * (p.gate.evaluationPeriods + 1)));
    let results: MetricDataResult[];
    try {
      results = await this.getMetricData(queries, new Date(now - longest * 1000), new Date(now));
    } catch (error) {
      const e = translateAwsError(error, 'cloudwatch:GetMetricData', release.service);
      return [...problems, ...planned.map((p): Observation => ({ gate: p.gate.name, kind: 'error', message: e.message }))];
    }
    const series = (id: string) => {
      const map = new Map<number, number>();
      for (const r of results.filter((x) => x.Id === id)) r.Timestamps?.forEach((t, k) => map.set(t.getTime(), r.Values?.[k] ?? NaN));
      return map;
    };
    return [
      ...problems,
      ...planned.map((p): Observation => {
        const values = series(p.valueId);
        const samples = series(p.samplesId);
        if (p.zeroWhenMissing) for (const t of samples.keys()) if (!values.has(t)) values.set(t, 0);
        const datapoints: Datapoint[] = [...values.entries()]
          .sort(([a], [b]) => a - b)
          .map(([t, value]) => ({ timestamp: new Date(t).toISOString(), value, samples: samples.get(t) ?? 0 }));
        return { gate: p.gate.name, kind: 'metric', datapoints };
      }),
    ];
  }
}
