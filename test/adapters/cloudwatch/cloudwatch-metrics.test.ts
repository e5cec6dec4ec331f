import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { compilePlan, createRelease, type GateSpec } from '../../../src/core/index.js';
import { settings, T0, codedeployTarget } from '../../support/releases.js';

const cw = mockClient(CloudWatchClient);
beforeEach(() => {
  cw.reset();
});

const target = codedeployTarget;
const release = createRelease(
  {
    id: 'r-1',
    service: 'api',
    artifact: { image: 'api:2' },
    plan: compilePlan({ type: 'blue-green', bakeSeconds: 60 }),
    settings: settings(),
    actor: { id: 'x', channel: 'api' },
  },
  T0,
);
const errorRate: GateSpec = {
  kind: 'metric',
  name: 'error-rate',
  metric: 'ErrorRate',
  statistic: 'Average',
  comparison: 'GreaterThanThreshold',
  threshold: 1,
  periodSeconds: 60,
  evaluationPeriods: 2,
  minSamples: 50,
};
const p99: GateSpec = {
  kind: 'metric',
  name: 'latency',
  metric: 'TargetResponseTime',
  statistic: 'p99',
  comparison: 'GreaterThanThreshold',
  threshold: 0.5,
  periodSeconds: 60,
  evaluationPeriods: 1,
  minSamples: 1,
};
const metrics = () => new CloudWatchMetrics({ client: cw as unknown as CloudWatchClient, target, greenTargetGroup: async () => 'api-green' });

describe('CloudWatch gates', () => {
  it('reads metric and composite alarms in one DescribeAlarms call', async () => {
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'ALARM', StateReason: 'Threshold Crossed: 1 datapoint [12.0] > 5' }],
      CompositeAlarms: [{ AlarmName: 'api-health', StateValue: 'OK' }],
    });
    const obs = await metrics().observe(
      release,
      [
        { kind: 'alarm', name: 'api-5xx' },
        { kind: 'alarm', name: 'api-health' },
        { kind: 'alarm', name: 'missing' },
      ],
      T0,
    );
    expect(cw.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toEqual({
      AlarmNames: ['api-5xx', 'api-health', 'missing'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      MaxRecords: 100,
    });
    expect(obs).toEqual([
      { gate: 'api-5xx', kind: 'alarm', state: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [12.0] > 5' },
      { gate: 'api-health', kind: 'alarm', state: 'OK' },
      { gate: 'missing', kind: 'error', message: 'alarm missing does not exist in this account and region' },
    ]);
  });

  it('puts every metric gate of a release in one GetMetricData call, on the green target group, with FILL', async () => {
    const t1 = new Date(T0 - 120_000);
    const t2 = new Date(T0 - 60_000);
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'g0n', Timestamps: [t1, t2], Values: [400, 380] },
        { Id: 'g0v', Timestamps: [t1, t2], Values: [0.5, 2.5] },
        { Id: 'g1n', Timestamps: [t2], Values: [380] },
        { Id: 'g1v', Timestamps: [t2], Values: [0.21] },
      ],
    });
    const obs = await metrics().observe(release, [errorRate, p99], T0);
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.StartTime).toEqual(new Date(T0 - 180_000));
    expect(input?.EndTime).toEqual(new Date(T0));
    const dims = [
      { Name: 'TargetGroup', Value: 'targetgroup/api-green/222' },
      { Name: 'LoadBalancer', Value: 'app/prod/999' },
    ];
    expect(input?.MetricDataQueries).toEqual([
      {
        Id: 'g0n',
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: dims }, Period: 60, Stat: 'Sum' },
        ReturnData: true,
      },
      {
        Id: 'g0e',
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dims }, Period: 60, Stat: 'Sum' },
        ReturnData: false,
      },
      { Id: 'g0v', Expression: '100*(FILL(g0e,0)/FILL(g0n,1))', Label: 'error-rate error rate', ReturnData: true },
      {
        Id: 'g1n',
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: dims }, Period: 60, Stat: 'Sum' },
        ReturnData: true,
      },
      {
        Id: 'g1v',
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'TargetResponseTime', Dimensions: dims }, Period: 60, Stat: 'p99' },
        ReturnData: true,
      },
    ]);
    expect(obs).toEqual([
      {
        gate: 'error-rate',
        kind: 'metric',
        datapoints: [
          { timestamp: t1.toISOString(), value: 0.5, samples: 400 },
          { timestamp: t2.toISOString(), value: 2.5, samples: 380 },
        ],
      },
      { gate: 'latency', kind: 'metric', datapoints: [{ timestamp: t2.toISOString(), value: 0.21, samples: 380 }] },
    ]);
  });

  it('a throttled query is a gate error (retried by the gate policy), not a crash', async () => {
    cw.on(GetMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const [obs] = await metrics().observe(release, [errorRate], T0);
    expect(obs).toMatchObject({ gate: 'error-rate', kind: 'error', message: expect.stringContaining('throttled') });
  });

  it('an unknown green target group is reported per gate', async () => {
    const m = new CloudWatchMetrics({ client: cw as unknown as CloudWatchClient, target, greenTargetGroup: async () => 'other-tg' });
    const [obs] = await m.observe(release, [errorRate], T0);
    expect(obs).toEqual({ gate: 'error-rate', kind: 'error', message: 'the green target group other-tg is not among target.targetGroups in the config' });
  });
});
