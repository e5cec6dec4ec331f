import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { compilePlan } from '../../../src/core/plan.js';
import { createRelease } from '../../../src/core/transitions.js';
import { assessGate, type JudgeGate, type JudgePeriod, type GateSpec } from '../../../src/core/gates.js';
import { VirtualClock } from '../../../src/ports/clock.js';
import { FakeCloudWatch, fakeCloudWatchClient } from '../../support/fake-cloudwatch.js';
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
    // From the stable version's hour of history (which ends 3 minutes before the step), to the last whole period.
    expect(input.StartTime).toEqual(new Date(T0 - 63 * 60_000));
    expect(input.EndTime).toEqual(new Date(T0 + minutes * 60_000));
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

describe('the judge on AWS against a CloudWatch fake (whole minutes, published 60-180 s late; virtual time)', () => {
  const blueTg = { loadBalancer: 'app/prod/999', targetGroup: 'targetgroup/api-blue/111' };
  const greenTg = { loadBalancer: 'app/prod/999', targetGroup: 'targetgroup/api-green/222' };
  const at = (hms: string) => Date.parse(`2026-03-02T${hms}Z`);
  const judgeGate = (warmupSeconds: number): JudgeGate => ({
    kind: 'judge',
    name: 'judge-errors',
    signal: 'errors',
    alpha: 0.05,
    tolerance: 0.2,
    periodSeconds: 60,
    warmupSeconds,
    latencyFloorSeconds: 0.005,
  });
  const setup = (seed = 1) => {
    const clock = new VirtualClock(at('12:20:00'));
    const fake = new FakeCloudWatch(clock, { seed });
    const source = new CloudWatchMetrics({ client: fakeCloudWatchClient(fake), target, greenTargetGroup: async () => 'api-green' });
    /** Steady traffic over [from, to): the new version 10 requests a second, the stable one 90, with their errors per second. */
    const traffic = (from: number, to: number, newErrors: number, stableErrors: number) => {
      fake.serveEverySecond(greenTg, from, to, { requests: 10, targetErrors: newErrors });
      fake.serveEverySecond(blueTg, from, to, { requests: 90, targetErrors: stableErrors });
    };
    const observe = async (stepStartedAt: number, now: number, gate = judgeGate(0)) => {
      clock.advanceTo(now);
      const [obs] = await source.observe({ ...release, stepStartedAt: new Date(stepStartedAt).toISOString() }, [gate], now);
      if (obs?.kind !== 'judge') throw new Error(`expected the judge's counts, got ${JSON.stringify(obs)}`);
      return obs;
    };
    return { clock, fake, traffic, observe };
  };

  it('fails a version answering 30% of requests with 5xx in a bake that starts at 12:32:34 (not on a whole minute)', async () => {
    const { traffic, observe } = setup();
    const step = at('12:32:34');
    // 3 of the new version's 10 requests a second fail; 1 in 90 of the stable one's.
    traffic(at('12:30:00'), at('12:45:00'), 3, 1);
    const gate = judgeGate(10);
    let failedAt: number | undefined;
    for (let now = step + 60_000; now <= step + 600_000 && failedAt === undefined; now += 60_000) {
      const obs = await observe(step, now, gate);
      if (assessGate(gate, obs, now, { stepSeconds: 600 }).verdict === 'fail') failedAt = now;
    }
    // Caught within the bake: the minutes published by then were judged, not 0 periods (inconclusive, passed).
    expect(failedAt).toBeDefined();
    expect(failedAt! - step).toBeLessThanOrEqual(300_000);
  });

  it('asks from the minute holding the step start, and that minute counts in this step with all its requests', async () => {
    const { fake, traffic, observe } = setup();
    const step = at('12:32:34');
    traffic(at('12:30:00'), at('12:40:00'), 0, 0);
    const obs = await observe(step, at('12:40:00'));
    const input = fake.calls.at(-1)!;
    // The hour before it too: the stable version's history (next test).
    expect(input.StartTime).toEqual(new Date(at('11:29:00')));
    expect(input.EndTime).toEqual(new Date(at('12:40:00')));
    expect(input.MetricDataQueries?.every((q) => q.MetricStat?.Period === 60)).toBe(true);
    expect(obs.stepStart).toBe(new Date(step).toISOString());
    // 12:32 to 12:36 are published 180 s after they end at the latest; 12:37 may or may not be.
    expect(obs.periods.slice(0, 5).map((p) => [p.start, p.candidate.requests, p.baseline.requests])).toEqual(
      ['12:32', '12:33', '12:34', '12:35', '12:36'].map((m) => [new Date(at(`${m}:00`)).toISOString(), 600, 5400]),
    );
  });

  it('sends the stable target group’s hour before the step as history: the same from the first check on, never the new target group’s', async () => {
    const { fake, traffic, observe } = setup();
    const step = at('12:32:34');
    // The stable version alone before the step, 100 requests a second, its errors in a 3-minute burst at 11:50.
    fake.serveEverySecond(blueTg, at('11:20:00'), at('12:32:00'), { requests: 100, targetErrors: 0 });
    fake.serveEverySecond(blueTg, at('11:50:00'), at('11:53:00'), { requests: 0, targetErrors: 5 });
    // Something on the new target group before the step (the version before, a test): never history.
    fake.serveEverySecond(greenTg, at('12:00:00'), at('12:10:00'), { requests: 7, targetErrors: 7 });
    traffic(at('12:32:00'), at('12:40:00'), 0, 0);
    // The hour ends 180 s (the latest publication delay) before the step's first minute: 11:29 to 12:29,
    // every minute of it published by the first check, so no check sees another history.
    const expected = Array.from({ length: 60 }, (_, m) => ({ requests: 6000, errors: m >= 21 && m < 24 ? 300 : 0 }));
    for (const now of ['12:33:00', '12:34:10', '12:40:00']) expect((await observe(step, at(now))).history).toEqual(expected);
    // The judge measures those bursts: more errors on the new version fail than without the history.
    const later = await observe(step, at('12:40:00'));
    const gate = judgeGate(0);
    const step4 = { ...later, periods: later.periods.map((p) => ({ ...p, candidate: { ...p.candidate, errors: 1 }, baseline: { ...p.baseline, errors: 9 } })) };
    const limit = (obs: typeof later) => assessGate(gate, obs, at('12:40:00'), { stepSeconds: 600 }).evidence.limit!;
    const { history: _, ...withoutHistory } = step4;
    expect(limit(step4)).toBeGreaterThan(limit(withoutHistory));
  });

  it('the minute holding the step start is left out only by a warm-up it ends within (a 10 s warm-up costs it nothing), and judged as the part of the bake it covers', () => {
    const period = (start: string, requests: number, errors: number) => ({
      start: new Date(at(start)).toISOString(),
      candidate: { requests, errors },
      baseline: { requests: 9 * requests, errors: 0 },
    });
    // The first minute alone holds 8 errors of the new version's; the stable one none.
    const obs = {
      gate: 'judge-errors',
      kind: 'judge' as const,
      stepStart: new Date(at('12:32:34')).toISOString(),
      periods: [period('12:32:00', 600, 8), period('12:33:00', 600, 0)],
    };
    const now = at('12:34:00');
    // It ends 26 s into the step: a 30 s warm-up leaves it out, the default 10 s does not (issue 25).
    expect(assessGate(judgeGate(30), obs, now, { stepSeconds: 600 }).evidence.events).toBe(0);
    expect(assessGate(judgeGate(10), obs, now, { stepSeconds: 600 }).evidence.events).toBe(8);
    expect(assessGate(judgeGate(0), obs, now, { stepSeconds: 600 }).evidence.events).toBe(8);
    // Spent on as 26 s of a 600 s bake, not as a whole minute of it.
    const whole = { ...obs, stepStart: new Date(at('12:32:00')).toISOString() };
    expect(assessGate(judgeGate(0), obs, now, { stepSeconds: 600 }).evidence.alphaAllowed).toBeLessThan(
      assessGate(judgeGate(0), whole, now, { stepSeconds: 600 }).evidence.alphaAllowed!,
    );
  });

  it('never judges a minute before it is published, nor one minute twice across checks; a quiet minute counts as empty', async () => {
    // A seed under which a later minute is published before an earlier one (the load balancer's
    // minutes are not promised in order).
    const { fake, traffic, observe } = setup(3);
    const step = at('12:30:00');
    traffic(at('12:30:00'), at('12:35:00'), 1, 9);
    // 12:35 is quiet on both target groups: no datapoint at all.
    traffic(at('12:36:00'), at('12:45:00'), 1, 9);
    const minute = (m: number) => at('12:30:00') + m * 60_000;
    const overtaken = Array.from({ length: 14 }, (_, m) => m).filter(
      (m) => fake.publishedAt(greenTg.loadBalancer, minute(m)) > fake.publishedAt(greenTg.loadBalancer, minute(m + 1)),
    );
    expect(overtaken.length).toBeGreaterThan(0);
    let seen: JudgePeriod[] = [];
    for (let now = step + 10_000; now <= at('12:48:00'); now += 10_000) {
      const obs = await observe(step, now);
      // What was judged before is judged again unchanged; only newer minutes are added.
      expect(obs.periods.slice(0, seen.length)).toEqual(seen);
      seen = [...obs.periods];
      for (const p of obs.periods) {
        const quiet = Date.parse(p.start) === minute(5);
        expect([p.start, p.candidate.requests, p.candidate.errors, p.baseline.requests]).toEqual([p.start, ...(quiet ? [0, 0, 0] : [600, 60, 5400])]);
        // Judged only once CloudWatch answers for it.
        expect(fake.publishedAt(greenTg.loadBalancer, Date.parse(p.start))).toBeLessThanOrEqual(now);
      }
    }
    // By the end every minute of the step up to 12:45 is in, the quiet one as empty.
    expect(seen.map((p) => p.start)).toEqual(Array.from({ length: 15 }, (_, m) => new Date(minute(m)).toISOString()));
  });

  it('a gate on the load balancer’s own 5xx reads the 502s of a crash (no target group sees them) by LoadBalancer, and a minute with requests and none as 0', async () => {
    const { clock, fake, traffic } = setup();
    const source = new CloudWatchMetrics({ client: fakeCloudWatchClient(fake), target, greenTargetGroup: async () => 'api-green' });
    const gate: GateSpec = {
      kind: 'metric',
      name: 'lb-5xx',
      metric: 'HTTPCode_ELB_5XX_Count',
      statistic: 'Sum',
      comparison: 'GreaterThanThreshold',
      threshold: 5,
      periodSeconds: 60,
      evaluationPeriods: 5,
      minSamples: 1,
    };
    traffic(at('12:30:00'), at('12:40:00'), 0, 0);
    // 12:34: the new version's tasks crash; the load balancer answers 502 for 20 s of its traffic.
    fake.serveEverySecond(greenTg, at('12:34:10'), at('12:34:30'), { requests: 10, elbErrors: 10 });
    const check = async (now: number) => {
      clock.advanceTo(now);
      const [obs] = await source.observe(release, [gate], now);
      return { obs, result: assessGate(gate, obs, now) };
    };
    // By 12:40 the minutes up to 12:36 are published: the crash minute holds the 502s, every other
    // minute with requests and no load balancer error is a 0 (not missing, which reads as no data).
    const { obs } = await check(at('12:40:00'));
    expect(obs?.kind === 'metric' && obs.datapoints.slice(0, 3)).toEqual([
      { timestamp: new Date(at('12:34:00')).toISOString(), value: 200, samples: 6200 },
      { timestamp: new Date(at('12:35:00')).toISOString(), value: 0, samples: 6000 },
      { timestamp: new Date(at('12:36:00')).toISOString(), value: 0, samples: 6000 },
    ]);
    const input = fake.calls.at(-1)!;
    expect(input.MetricDataQueries?.map((q) => [q.MetricStat?.Metric?.MetricName, q.MetricStat?.Metric?.Dimensions])).toEqual([
      ['RequestCount', [{ Name: 'LoadBalancer', Value: 'app/prod/999' }]],
      ['HTTPCode_ELB_5XX_Count', [{ Name: 'LoadBalancer', Value: 'app/prod/999' }]],
    ]);
  });

  it('never judges one minute in two steps: the step before never sees the minute the next one starts in', async () => {
    const { traffic, observe } = setup();
    traffic(at('12:30:00'), at('12:45:00'), 1, 9);
    const first = at('12:30:00');
    const second = at('12:32:34');
    const before = new Set<string>();
    for (let now = first + 10_000; now <= second; now += 10_000) for (const p of (await observe(first, now)).periods) before.add(p.start);
    const after = new Set<string>();
    for (let now = second; now <= at('12:42:00'); now += 10_000) for (const p of (await observe(second, now)).periods) after.add(p.start);
    expect([...after][0]).toBe(new Date(at('12:32:00')).toISOString());
    expect([...before].filter((s) => after.has(s))).toEqual([]);
  });
});
