import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { compilePlan, createRelease, type GateSpec } from '../../../src/core/index.js';
import { assessGate } from '../../../src/core/gates.js';
import { resolveConfig } from '../../../src/config/config.js';
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

describe('the judge on AWS: blue and green target groups side by side', () => {
  const judge: GateSpec = {
    kind: 'judge',
    name: 'judge-errors',
    signal: 'errors',
    alpha: 0.05,
    tolerance: 0.2,
    periodSeconds: 60,
    warmupSeconds: 0,
    latencyFloorSeconds: 0.005,
  };

  it('reads both target groups’ requests and 5xx in one GetMetricData call, period by period since the step began, and fails a 4x regression', async () => {
    const minutes = 8;
    const stamps = Array.from({ length: minutes }, (_, i) => new Date(T0 + i * 60_000));
    // The green target group: 40 requests a minute, 2 errors; the blue one: 360 and 4 (4.5x worse per request).
    const series = (id: string, value: number) => ({ Id: id, Timestamps: stamps, Values: stamps.map(() => value) });
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [series('newRequests', 40), series('newErrors', 2), series('stableRequests', 360), series('stableErrors', 4)],
    });
    const baking = { ...release, stepStartedAt: new Date(T0).toISOString() };
    const now = T0 + minutes * 60_000 + 30_000;
    const [obs] = await metrics().observe(baking, [judge], now);
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    expect(input.StartTime).toEqual(new Date(T0));
    expect(input.EndTime).toEqual(new Date(T0 + minutes * 60_000)); // whole periods only
    const dims = (input.MetricDataQueries ?? []).map((q) => [
      q.Id,
      q.MetricStat?.Metric?.MetricName,
      q.MetricStat?.Metric?.Dimensions?.[0]?.Value,
      q.MetricStat?.Stat,
    ]);
    expect(dims).toEqual([
      ['newRequests', 'RequestCount', target.targetGroups?.find((t) => t.targetGroup.includes('api-green'))?.targetGroup, 'Sum'],
      ['newErrors', 'HTTPCode_Target_5XX_Count', target.targetGroups?.find((t) => t.targetGroup.includes('api-green'))?.targetGroup, 'Sum'],
      ['stableRequests', 'RequestCount', target.targetGroups?.find((t) => !t.targetGroup.includes('api-green'))?.targetGroup, 'Sum'],
      ['stableErrors', 'HTTPCode_Target_5XX_Count', target.targetGroups?.find((t) => !t.targetGroup.includes('api-green'))?.targetGroup, 'Sum'],
    ]);
    expect(obs).toMatchObject({ gate: 'judge-errors', kind: 'judge' });
    const result = assessGate(judge, obs, now);
    expect(result.verdict).toBe('fail');
    expect(result.evidence).toMatchObject({ samples: 320, baselineSamples: 2880 });
  });

  it('leaves the latest minutes the load balancer has not published yet for a later check; a quiet minute in between counts as empty', async () => {
    // Published: minutes 0, 1 and 3 (2 had no traffic on either side); 4 and 5 not yet.
    const stamps = [0, 1, 3].map((m) => new Date(T0 + m * 60_000));
    const series = (id: string, value: number) => ({ Id: id, Timestamps: stamps, Values: stamps.map(() => value) });
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [series('newRequests', 40), series('newErrors', 1), series('stableRequests', 360), series('stableErrors', 4)],
    });
    const baking = { ...release, stepStartedAt: new Date(T0).toISOString() };
    const [obs] = await metrics().observe(baking, [judge], T0 + 6 * 60_000 + 5_000);
    expect(obs?.kind === 'judge' && obs.periods.map((p) => [p.start, p.candidate.requests, p.baseline.requests])).toEqual([
      [new Date(T0).toISOString(), 40, 360],
      [new Date(T0 + 60_000).toISOString(), 40, 360],
      [new Date(T0 + 120_000).toISOString(), 0, 0],
      [new Date(T0 + 180_000).toISOString(), 40, 360],
    ]);
  });

  it('the latency signal, a missing target group and an early pass are refused at load on codedeploy, with the reason', () => {
    const service = (judge: Record<string, unknown>, targetGroups = target.targetGroups) => ({
      name: 'api',
      target: { ...target, targetGroups },
      strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] },
      gates: { judge },
    });
    expect(() => resolveConfig({ services: [service({ signals: ['errors'], period: '1m' })] })).not.toThrow();
    expect(() => resolveConfig({ services: [service({ signals: ['errors', 'latency'], period: '1m' })] })).toThrow(/can judge errors only/);
    expect(() => resolveConfig({ services: [service({ signals: ['errors'], period: '10s' })] })).toThrow(/whole minutes/);
    expect(() => resolveConfig({ services: [service({ signals: ['errors'], period: '1m', earlyPass: '2m' })] })).toThrow(/cannot end early/);
    expect(() => resolveConfig({ services: [service({ signals: ['errors'], period: '1m' }, [])] })).toThrow(/list both/);
  });
});

describe('the judge on the ecs driver: the production and alternate target groups', () => {
  it('compares the alternate target group (the new version’s, as the ecs driver recorded it at deploy) with the production one; early pass allowed', async () => {
    const { EcsDriver } = await import('../../../src/adapters/ecs/ecs-driver.js');
    const [svc] = resolveConfig({
      services: [
        {
          name: 'api',
          target: {
            driver: 'ecs',
            cluster: 'prod',
            service: 'api',
            containerName: 'app',
            targetGroups: [
              { targetGroup: 'targetgroup/api-blue/0123456789abcdef', loadBalancer: 'app/prod/0123456789abcdef' },
              { targetGroup: 'targetgroup/api-green/fedcba9876543210', loadBalancer: 'app/prod/0123456789abcdef' },
            ],
          },
          strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] },
          // ECS waits at Switchyard's pause hook, so the judge may end a bake early there.
          gates: { judge: { signals: ['errors'], period: '1m', earlyPass: '2m' } },
        },
      ],
    }).services;
    if (!svc || svc.target.driver !== 'ecs') throw new Error('no ecs service');
    const driver = new EcsDriver({ service: 'api', target: svc.target, plan: svc.plan, hookTimeoutMinutes: 60, ecs: {} as never });
    const deployed = {
      ...release,
      stepStartedAt: new Date(T0).toISOString(),
      driverState: { greenTargetGroup: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-green/fedcba9876543210' },
    };
    const stamps = [new Date(T0)];
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: ['newRequests', 'newErrors', 'stableRequests', 'stableErrors'].map((Id) => ({ Id, Timestamps: stamps, Values: [1] })),
    });
    const judge = svc.settings.gates.find((g) => g.kind === 'judge')!;
    await new CloudWatchMetrics({ client: cw as never, target: svc.target, greenTargetGroup: async (r) => driver.greenTargetGroup(r) }).observe(
      deployed,
      [judge],
      T0 + 90_000,
    );
    const queries = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries ?? [];
    expect(queries.map((q) => [q.Id, q.MetricStat?.Metric?.Dimensions?.[0]?.Value])).toEqual([
      ['newRequests', 'targetgroup/api-green/fedcba9876543210'],
      ['newErrors', 'targetgroup/api-green/fedcba9876543210'],
      ['stableRequests', 'targetgroup/api-blue/0123456789abcdef'],
      ['stableErrors', 'targetgroup/api-blue/0123456789abcdef'],
    ]);
  });
});
