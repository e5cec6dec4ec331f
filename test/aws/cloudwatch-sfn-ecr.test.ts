import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CloudWatchMetrics } from '../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { StepFunctionsWorkflow } from '../../src/adapters/stepfunctions/sfn-workflow.js';
import { handleEcrEvent, tagMatches } from '../../src/engine/ecr-trigger.js';
import { resolveConfig } from '../../src/config/config.js';
import type { CodeDeployTarget } from '../../src/config/schema.js';
import { compilePlan, createRelease, type GateSpec } from '../../src/core/index.js';
import type { ReleaseService } from '../../src/engine/releases.js';
import { settings, T0 } from '../support/releases.js';
import { silentLog } from '../../src/ports/log.js';
import { TransientError } from '../../src/core/errors.js';

const cw = mockClient(CloudWatchClient);
const sfn = mockClient(SFNClient);
beforeEach(() => {
  cw.reset();
  sfn.reset();
});

const target: CodeDeployTarget = {
  driver: 'codedeploy',
  cluster: 'prod',
  service: 'api',
  application: 'a',
  deploymentGroup: 'g',
  containerName: 'app',
  containerPort: 80,
  targetGroups: [
    { targetGroup: 'targetgroup/api-blue/111', loadBalancer: 'app/prod/999' },
    { targetGroup: 'targetgroup/api-green/222', loadBalancer: 'app/prod/999' },
  ],
};
const release = createRelease({ id: 'r-1', service: 'api', artifact: { image: 'api:2' }, plan: compilePlan({ type: 'blue-green', bakeSeconds: 60 }), settings: settings(), actor: { id: 'x', channel: 'api' } }, T0);
const errorRate: GateSpec = { kind: 'metric', name: 'error-rate', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 1, periodSeconds: 60, evaluationPeriods: 2, minSamples: 50 };
const p99: GateSpec = { kind: 'metric', name: 'latency', metric: 'TargetResponseTime', statistic: 'p99', comparison: 'GreaterThanThreshold', threshold: 0.5, periodSeconds: 60, evaluationPeriods: 1, minSamples: 1 };
const metrics = () => new CloudWatchMetrics({ client: cw as unknown as CloudWatchClient, target, greenTargetGroup: async () => 'api-green' });

describe('CloudWatch gates', () => {
  it('reads metric and composite alarms in one DescribeAlarms call', async () => {
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'ALARM', StateReason: 'Threshold Crossed: 1 datapoint [12.0] > 5' }],
      CompositeAlarms: [{ AlarmName: 'api-health', StateValue: 'OK' }],
    });
    const obs = await metrics().observe(release, [{ kind: 'alarm', name: 'api-5xx' }, { kind: 'alarm', name: 'api-health' }, { kind: 'alarm', name: 'missing' }], T0);
    expect(cw.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toEqual({ AlarmNames: ['api-5xx', 'api-health', 'missing'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100 });
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
      { Id: 'g0n', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: dims }, Period: 60, Stat: 'Sum' }, ReturnData: true },
      { Id: 'g0e', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dims }, Period: 60, Stat: 'Sum' }, ReturnData: false },
      { Id: 'g0v', Expression: '100*(FILL(g0e,0)/FILL(g0n,1))', Label: 'error-rate error rate', ReturnData: true },
      { Id: 'g1n', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: dims }, Period: 60, Stat: 'Sum' }, ReturnData: true },
      { Id: 'g1v', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'TargetResponseTime', Dimensions: dims }, Period: 60, Stat: 'p99' }, ReturnData: true },
    ]);
    expect(obs).toEqual([
      { gate: 'error-rate', kind: 'metric', datapoints: [{ timestamp: t1.toISOString(), value: 0.5, samples: 400 }, { timestamp: t2.toISOString(), value: 2.5, samples: 380 }] },
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

describe('Step Functions workflow', () => {
  const workflow = () => new StepFunctionsWorkflow(sfn as unknown as SFNClient, 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release');
  it('starts one execution per release with the release id as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x' });
    await workflow().start('r-1', 'checkout-abc123');
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({ stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release', name: 'checkout-abc123', input: '{"releaseId":"r-1"}' });
  });
  it('a duplicate start is not an error; throttling is transient', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
    await expect(workflow().start('r-1', 'n')).resolves.toBeUndefined();
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(workflow().start('r-1', 'n')).rejects.toBeInstanceOf(TransientError);
  });
  it('completes callbacks with SendTaskSuccess; a timed-out task is ignored', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await workflow().sendTaskSuccess('tok', { decision: 'approved' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({ taskToken: 'tok', output: '{"decision":"approved"}' });
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('timed out'), { name: 'TaskTimedOut' }));
    await expect(workflow().sendTaskSuccess('tok', {})).resolves.toBeUndefined();
  });
});

describe('ECR trigger', () => {
  const fixture = JSON.parse(readFileSync('test/fixtures/ecr-push-event.json', 'utf8')) as { detail: Record<string, unknown> };
  const config = resolveConfig({
    services: [
      { name: 'web', target: { ...target, service: 'web' }, trigger: { repository: 'my-repository-name', tagPattern: 'lat*' }, strategy: { type: 'blue-green' } },
      { name: 'worker', target: { ...target, service: 'worker' }, trigger: { repository: 'my-repository-name' }, strategy: { type: 'blue-green' } },
      { name: 'other', target: { ...target, service: 'other' }, trigger: { repository: 'other-repo', tagPattern: 'v*' }, strategy: { type: 'blue-green' } },
    ],
  });
  const releases = () => {
    const startRelease = vi.fn(async (input: { service: string }) => ({ release: { id: `r-${input.service}` }, created: true }));
    return { startRelease, service: { startRelease } as unknown as ReleaseService };
  };

  it('the documented push starts one release per matching service, pinned by digest, deduplicated on the digest', async () => {
    const r = releases();
    const out = await handleEcrEvent(fixture, { services: config.services, releases: r.service, log: silentLog });
    expect(out).toEqual({ outcome: 'started', releases: [{ service: 'web', releaseId: 'r-web', created: true }, { service: 'worker', releaseId: 'r-worker', created: true }] });
    expect(r.startRelease.mock.calls[0]?.[0]).toEqual({
      service: 'web',
      image: '123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name:latest@sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
      actor: { id: 'ecr:my-repository-name', channel: 'ecr' },
      idempotencyKey: 'ecr:web:sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
    });
  });

  it('without image-tag only services with the * pattern start', async () => {
    const r = releases();
    const { 'image-tag': _tag, ...detail } = fixture.detail;
    const out = await handleEcrEvent({ ...fixture, detail }, { services: config.services, releases: r.service, log: silentLog });
    expect(out).toMatchObject({ outcome: 'started', releases: [{ service: 'worker' }] });
  });

  it.each([
    ['a FAILURE result', { ...fixture, detail: { ...fixture.detail, result: 'FAILURE' } }, 'ignored', 'PUSH FAILURE of my-repository-name is not a successful push'],
    ['an unknown repository', { ...fixture, detail: { ...fixture.detail, 'repository-name': 'unknown' } }, 'ignored', 'no service is triggered by unknown:latest'],
    ['a tag outside the pattern', { ...fixture, detail: { ...fixture.detail, 'repository-name': 'other-repo', 'image-tag': 'latest' } }, 'ignored', 'no service is triggered by other-repo:latest'],
    ['garbage', { hello: 'world' }, 'invalid', 'not an ECR image action event'],
    ['a bad digest', { ...fixture, detail: { ...fixture.detail, 'image-digest': 'sha256:xyz' } }, 'invalid', 'detail.image-digest'],
    ['null', null, 'invalid', 'not an ECR image action event'],
  ])('%s starts nothing and does not throw', async (_name, event, outcome, reason) => {
    const r = releases();
    const out = await handleEcrEvent(event, { services: config.services, releases: r.service, log: silentLog });
    expect(out.outcome).toBe(outcome);
    expect('reason' in out ? out.reason : '').toContain(reason);
    expect(r.startRelease).not.toHaveBeenCalled();
  });

  it.each([
    ['*', undefined, true],
    ['v*', 'v1.2.3', true],
    ['v*', 'latest', false],
    ['release-*-prod', 'release-42-prod', true],
    ['1.0.0', '1.0.0', true],
    ['1.0.0', '1x0x0', false],
  ] as const)('tag pattern %s vs %s -> %s', (pattern, tag, matches) => {
    expect(tagMatches(pattern, tag)).toBe(matches);
  });
});
