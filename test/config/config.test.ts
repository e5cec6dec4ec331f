import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';

const local = (overrides: Record<string, unknown> = {}) => ({
  name: 'demo',
  target: { driver: 'local', command: 'node server.js', port: 8080 },
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '30s' }] },
  ...overrides,
});

const codedeploy = (overrides: Record<string, unknown> = {}) => ({
  name: 'api',
  target: { driver: 'codedeploy', cluster: 'c', service: 's', application: 'a', deploymentGroup: 'g', containerName: 'app', containerPort: 80 },
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] },
  ...overrides,
});
const ECS_TARGET = { driver: 'ecs', cluster: 'c', service: 's', containerName: 'app' };
const ecs = (overrides: Record<string, unknown> = {}) => ({
  name: 'api',
  target: ECS_TARGET,
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] },
  ...overrides,
});
const errorRate = { name: 'errors', metric: 'ErrorRate', statistic: 'Average', comparison: 'GreaterThanThreshold', threshold: 5 };

function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('config was accepted');
}

describe('config: valid', () => {
  it('fills defaults and compiles the plan', () => {
    const config = resolveConfig({ services: [local()] });
    const [svc] = config.services;
    expect(svc?.plan.steps).toEqual([
      { type: 'setWeight', percent: 10 },
      { type: 'bake', seconds: 30 },
      { type: 'setWeight', percent: 100 },
      { type: 'bake', seconds: 300 },
      { type: 'finalize' },
    ]);
    expect(svc?.settings.gatePolicy).toEqual({ checkIntervalSeconds: 60, onInconclusive: 'fail', maxExtensionSeconds: 300, maxErrors: 3 });
    expect(svc?.onActiveRelease).toBe('queue');
    expect(svc?.target).toMatchObject({ replicas: 1, drainTimeout: 10, readiness: { path: '/ready', interval: 1, timeout: 30, successThreshold: 1 } });
  });

  it.each([
    'examples/local/switchyard.config.ts',
    'examples/local/judge.config.ts',
    'examples/local/rolling.config.ts',
    'examples/aws/switchyard.config.ts',
    'switchyard.config.ts',
  ])('%s loads', async (file) => {
    const config = await loadConfig(file);
    expect(config.services.length).toBeGreaterThan(0);
  });

  it('ecs: approvals and bakes may stand at any step (ECS pauses at every one); rolling compiles to batches', () => {
    const { services } = resolveConfig({
      services: [
        ecs({ strategy: { type: 'linear', stepPercent: 12.5, interval: '1m' }, approvals: { at: ['after-first-step'] }, gates: { onInconclusive: 'pause' } }),
        { ...ecs({ strategy: { type: 'rolling', batch: 25, finalBake: '2m' } }), name: 'rolling' },
        { ...local({ strategy: { type: 'rolling', batch: 50, batchBake: '10s' } }), name: 'local-rolling' },
      ],
    });
    expect(services[0]?.plan.steps.slice(0, 3)).toEqual([
      { type: 'setWeight', percent: 12.5 },
      { type: 'bake', seconds: 60 },
      { type: 'approval', timeoutSeconds: 3600, onTimeout: 'rollback', label: 'after-first-step' },
    ]);
    expect(services[1]?.plan.steps).toEqual([
      { type: 'setWeight', percent: 25 },
      { type: 'setWeight', percent: 50 },
      { type: 'setWeight', percent: 75 },
      { type: 'setWeight', percent: 100 },
      { type: 'bake', seconds: 120 },
      { type: 'finalize' },
    ]);
    // Rolling on ECS cannot hold: no bake extensions (ECS replaces tasks on its own).
    expect(services[1]?.settings.gatePolicy.maxExtensionSeconds).toBe(0);
    expect(services[2]?.plan.steps.slice(0, 2)).toEqual([
      { type: 'setWeight', percent: 50 },
      { type: 'bake', seconds: 10 },
    ]);
  });

  it('explicit approval steps take the service approval timeout', () => {
    const config = resolveConfig({
      services: [
        local({
          strategy: { type: 'steps', steps: [{ type: 'setWeight', percent: 20 }, { type: 'approval' }, { type: 'setWeight', percent: 100 }] },
          approvals: { timeout: '15m' },
        }),
      ],
    });
    expect(config.services[0]?.plan.steps[1]).toEqual({ type: 'approval', timeoutSeconds: 900, onTimeout: 'rollback', label: 'step-1' });
  });
});

describe('config: errors name the path, what is wrong and what is valid', () => {
  it.each<[string, unknown, string]>([
    ['no services', { services: [] }, 'services: needs at least one service'],
    ['an unknown top-level key', { services: [local()], regoin: 'eu-west-1' }, '(root): unknown key "regoin": remove it or check the spelling'],
    ['an unknown service key', { services: [local({ stratgy: 1 })] }, 'services[0]: unknown key "stratgy": remove it or check the spelling'],
    ['a bad service name', { services: [local({ name: 'Checkout API!' })] }, 'services[0].name: must be a service name of letters, digits'],
    ['an unknown driver', { services: [local({ target: { driver: 'k8s' } })] }, 'services[0].target.driver: must have driver "local", "ecs" or "codedeploy"'],
    [
      'a bad port',
      { services: [local({ target: { driver: 'local', command: 'x', port: 70000 } })] },
      'services[0].target.port: must be a port from 1 to 65535',
    ],
    [
      'a missing command',
      { services: [local({ target: { driver: 'local', port: 8080 } })] },
      'services[0].target.command: is required and must be a command line or an array of arguments',
    ],
    [
      'an unknown strategy',
      { services: [local({ strategy: { type: 'rainbow' } })] },
      'services[0].strategy.type: must have type "blue-green", "canary", "linear", "rolling" or "steps"',
    ],
    [
      'a bad duration',
      { services: [local({ strategy: { type: 'blue-green', bake: '5 minutes' } })] },
      'services[0].strategy.bake: must be a duration such as "30s", "5m", "1h" or a number of seconds, got "5 minutes"',
    ],
    [
      'a duration over the limit',
      { services: [local({ strategy: { type: 'linear', stepPercent: 10, interval: '2d' } })] },
      'services[0].strategy.interval: must be between 1s and 86400s, got "2d" (172800s)',
    ],
    [
      'a canary step at 100%',
      { services: [local({ strategy: { type: 'canary', steps: [{ percent: 100, bake: '1m' }] } })] },
      'services[0].strategy.steps[0].percent: must be a percentage from 1 to 99',
    ],
    [
      'a step percent over 100',
      {
        services: [
          local({
            strategy: {
              type: 'steps',
              steps: [
                { type: 'setWeight', percent: 10 },
                { type: 'setWeight', percent: 150 },
              ],
            },
          }),
        ],
      },
      'services[0].strategy.steps[1].percent: must be a percentage from 0 to 100',
    ],
    [
      'a decreasing step',
      {
        services: [
          local({
            strategy: {
              type: 'steps',
              steps: [
                { type: 'setWeight', percent: 50 },
                { type: 'setWeight', percent: 10 },
                { type: 'setWeight', percent: 100 },
              ],
            },
          }),
        ],
      },
      'services[0].strategy.steps[1].percent: is 10, below the 50% set before',
    ],
    [
      'an unknown step type',
      { services: [local({ strategy: { type: 'steps', steps: [{ type: 'pause' }] } })] },
      'services[0].strategy.steps[0].type: must be a step with type "setWeight", "bake", "approval", "analysis" or "finalize"',
    ],
    [
      'an analysis naming an unknown gate',
      {
        services: [
          local({
            strategy: {
              type: 'steps',
              steps: [
                { type: 'setWeight', percent: 10 },
                { type: 'analysis', duration: '1m', gates: ['latency'] },
                { type: 'setWeight', percent: 100 },
              ],
            },
          }),
        ],
      },
      'services[0].strategy.steps[1].gates[0]: names gate "latency", which is not defined under gates',
    ],
    [
      'a bad comparison',
      { services: [local({ gates: { metrics: [{ name: 'e', metric: 'ErrorRate', statistic: 'Average', comparison: '>', threshold: 1 }] } })] },
      'services[0].gates.metrics[0].comparison: must be one of GreaterThanThreshold',
    ],
    [
      'a bad statistic',
      { services: [local({ gates: { metrics: [{ name: 'e', metric: 'ErrorRate', statistic: 'Median', comparison: 'LessThanThreshold', threshold: 1 }] } })] },
      'services[0].gates.metrics[0].statistic: must be Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99',
    ],
    [
      'alarms on the local driver',
      { services: [local({ gates: { alarms: ['x'] } })] },
      'services[0].gates.alarms: CloudWatch alarms need an AWS driver (ecs or codedeploy)',
    ],
    [
      'a bad approval point',
      { services: [local({ approvals: { at: ['whenever'] } })] },
      'services[0].approvals.at[0]: must be "before-traffic", "after-first-step" or "before-finalize"',
    ],
    [
      'a bad onActiveRelease',
      { services: [local({ onActiveRelease: 'replace' })] },
      'services[0].onActiveRelease: must be "queue" (wait for the active release) or "reject"',
    ],
    ['a bad repository', { services: [local({ trigger: { repository: 'Checkout API' } })] }, 'services[0].trigger.repository: must be an ECR repository name'],
    ['jwt without settings', { services: [local()], api: { auth: 'jwt' } }, 'api.jwt: is required when api.auth is "jwt"'],
    [
      'codedeploy with an approval between its own steps',
      {
        services: [
          {
            name: 'api',
            target: { driver: 'codedeploy', cluster: 'c', service: 's', application: 'a', deploymentGroup: 'g', containerName: 'app', containerPort: 80 },
            strategy: { type: 'linear', stepPercent: 10, interval: '1m' },
            approvals: { at: ['after-first-step'] },
          },
        ],
      },
      'services[0].plan[2]: the codedeploy driver can only wait for approval before-traffic or before-finalize, not while traffic is split',
    ],
    [
      'a plan that may last longer than a year (Step Functions’ limit on an execution)',
      {
        services: [
          local({
            strategy: {
              type: 'steps',
              steps: Array.from({ length: 60 }, () => ({ type: 'approval', timeout: '7d' })).concat([{ type: 'setWeight', percent: 100 }] as never[]),
            },
          }),
        ],
      },
      'services[0].strategy: this plan may take 420 days (every bake extended, every approval waiting until it expires), more than the one year a release may last',
    ],
    [
      'pausing for a person when CodeDeploy cannot hold traffic mid-shift',
      { services: [codedeploy({ gates: { metrics: [{ ...errorRate, period: '1m' }], onInconclusive: 'pause' } })] },
      'services[0].gates.onInconclusive: the codedeploy driver cannot hold traffic where it is: codedeploy moves on by itself (on its own timer, or replacing tasks on its own), so a person cannot be asked mid-shift; use "fail"',
    ],
    [
      'extending a bake CodeDeploy will not wait for',
      { services: [codedeploy({ gates: { metrics: [{ ...errorRate, period: '1m' }], maxExtension: '5m' } })] },
      'services[0].gates.maxExtension: the codedeploy driver cannot hold traffic where it is: codedeploy moves on by itself (on its own timer, or replacing tasks on its own), so a bake cannot be extended; use "0s"',
    ],
    [
      'an ECS canary finer than 0.1% (CanaryConfiguration takes multiples of 0.1)',
      { services: [ecs({ strategy: { type: 'canary', steps: [{ percent: 2.55, bake: '5m' }] } })] },
      'services[0].plan[0]: the ecs driver takes percentages in steps of 0.1, but the plan shifts to 2.55%; use 2.5 or 2.6',
    ],
    [
      "an ECS linear step below ECS's 3% (LinearConfiguration stepPercent 3..100)",
      { services: [ecs({ strategy: { type: 'linear', stepPercent: 2, interval: '1m' } })] },
      "services[0].strategy: the ecs driver takes a linear step of 3% to 99.9% (its own limits), but the plan's is 2%",
    ],
    [
      'two canary steps on ECS (one canary step, or equal linear steps)',
      {
        services: [
          ecs({
            strategy: {
              type: 'canary',
              steps: [
                { percent: 10, bake: '5m' },
                { percent: 50, bake: '5m' },
              ],
            },
          }),
        ],
      },
      'services[0].strategy: the ecs driver shifts traffic in one canary step or in equal linear steps',
    ],
    [
      'a bake between ECS rolling batches (ECS cannot pause a rolling update)',
      { services: [ecs({ strategy: { type: 'rolling', batch: 25, batchBake: '1m' } })] },
      'services[0].plan[1]: the ecs driver cannot hold a rolling update between batches',
    ],
    [
      'a rolling strategy on CodeDeploy',
      { services: [codedeploy({ strategy: { type: 'rolling', batch: 25 } })] },
      'services[0].strategy: the codedeploy driver has no rolling deployments',
    ],
    [
      'the judge on an ECS rolling update (one target group for both versions)',
      { services: [ecs({ strategy: { type: 'rolling' }, gates: { judge: { signals: ['errors'], period: '1m' } } })] },
      'services[0].gates.judge: a rolling update has no second target group',
    ],
    [
      'the judge setting of an earlier version (finalShare: one look at the bake’s end)',
      { services: [local({ gates: { judge: { finalShare: 0.6 } } })] },
      'services[0].gates.judge.finalShare: is no longer a setting: the judge now spends alpha over the whole bake; use earlyShare',
    ],
    [
      'a judge that would spend almost nothing before the bake’s end',
      { services: [local({ gates: { judge: { earlyShare: 0.01 } } })] },
      "services[0].gates.judge.earlyShare: must be at least 0.05: with less, the judge could not stop even a gross regression before the bake's end",
    ],
    [
      'a plan that would hold an ECS pause hook longer than its 14-day limit',
      {
        services: [
          ecs({
            strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] },
            approvals: { at: ['after-first-step'], timeout: '7d' },
            gates: { onInconclusive: 'pause' },
          }),
        ],
      },
      'services[0].strategy: ECS holds a deployment at one pause hook for at most 20160 minutes (14 days), but this plan may hold it',
    ],
    [
      'a task definition template file given to resolveConfig (only loadConfig reads files)',
      { services: [ecs({ target: { ...ECS_TARGET, taskDefinition: { template: 'taskdef.json' } } })] },
      'services[0].target.taskDefinition.template: is the path "taskdef.json", which only loadConfig reads',
    ],
    [
      'a fractional CodeDeploy canary percentage (CreateDeploymentConfig takes integers)',
      { services: [codedeploy({ strategy: { type: 'canary', steps: [{ percent: 2.5, bake: '5m' }] } })] },
      'services[0].plan[0]: the codedeploy driver takes whole percentages only (its traffic configs count in integer percent), but the plan shifts to 2.5%; use 2 or 3',
    ],
    [
      'a load balancer metric read at 30s on CloudWatch (regular resolution: multiples of 60s)',
      { services: [codedeploy({ gates: { metrics: [{ ...errorRate, period: '30s' }] } })] },
      'services[0].gates.metrics[0].period: CloudWatch reads load balancer metrics only in whole minutes, and 30s is not a multiple of 60s; use for example "1m"',
    ],
    [
      'a custom metric read at 45s on CloudWatch',
      { services: [codedeploy({ gates: { metrics: [{ ...errorRate, metric: { namespace: 'Shop', metricName: 'Failures' }, period: '45s' }] } })] },
      'services[0].gates.metrics[0].period: CloudWatch reads metrics at 1, 5, 10, 20 or 30 seconds (high-resolution metrics only) or at multiples of 60s, and 45s is neither',
    ],
  ])('%s', (_name, raw, message) => {
    expect(problems(raw).join('\n')).toContain(message);
  });

  it('the same values are fine where the target allows them: a high-resolution custom metric at 10s, 2.5% locally', () => {
    expect(() =>
      resolveConfig({
        services: [codedeploy({ gates: { metrics: [{ ...errorRate, metric: { namespace: 'Shop', metricName: 'Failures' }, period: '10s' }] } })],
      }),
    ).not.toThrow();
    expect(() => resolveConfig({ services: [local({ strategy: { type: 'canary', steps: [{ percent: 2.5, bake: '30s' }] } })] })).not.toThrow();
  });

  it('bakes are extended only where the driver can hold traffic', () => {
    const [cd] = resolveConfig({ services: [codedeploy()] }).services;
    const [lo] = resolveConfig({ services: [local()] }).services;
    expect(cd?.settings.gatePolicy.maxExtensionSeconds).toBe(0);
    expect(lo?.settings.gatePolicy.maxExtensionSeconds).toBe(300);
  });

  it('reports every problem at once, across services', () => {
    const found = problems({
      services: [
        local(),
        local({ name: 'demo', target: { driver: 'local', command: 'x', port: 8080 } }),
        local({
          name: 'third',
          strategy: {
            type: 'steps',
            steps: [
              { type: 'setWeight', percent: 10 },
              { type: 'setWeight', percent: 150 },
            ],
          },
          target: { driver: 'local', command: 'x', port: 9000, replicas: 0 },
        }),
      ],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('services[2].strategy.steps[1].percent'),
        expect.stringContaining('services[2].target.replicas: must be from 1 to 16'),
      ]),
    );
    const semantic = problems({ services: [local(), local({ target: { driver: 'local', command: 'x', port: 8080 } })] });
    expect(semantic).toEqual([
      'services[1].name: "demo" is already the name of services[0]; service names must be unique',
      'services[1].target.port: port 8080 is already used by services[0].target.port',
    ]);
  });

  it('a missing file says what to do', async () => {
    await expect(loadConfig('nope/switchyard.config.ts')).rejects.toThrow('the file does not exist; pass --config');
  });
});

describe('config: a gate on the load balancer’s own 5xx (HTTPCode_ELB_5XX_Count, LoadBalancer dimension only)', () => {
  const targetGroups = [
    { targetGroup: 'targetgroup/api-blue/0123456789abcdef', loadBalancer: 'app/prod/0123456789abcdef' },
    { targetGroup: 'targetgroup/api-green/fedcba9876543210', loadBalancer: 'app/prod/0123456789abcdef' },
  ];
  const elb5xx = { name: 'lb-5xx', metric: 'HTTPCode_ELB_5XX_Count', statistic: 'Sum', comparison: 'GreaterThanThreshold', threshold: 5 };
  const custom = (dimensions: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    ...elb5xx,
    metric: { namespace: 'AWS/ApplicationELB', metricName: 'HTTPCode_ELB_5XX_Count', dimensions },
    ...extra,
  });

  it('is accepted on the ecs and codedeploy drivers, read on the load balancer of target.targetGroups', () => {
    for (const service of [ecs({ target: { ...ECS_TARGET, targetGroups }, gates: { metrics: [elb5xx] } })]) {
      const [svc] = resolveConfig({ services: [service] }).services;
      expect(svc?.settings.gates).toContainEqual(
        expect.objectContaining({ kind: 'metric', name: 'lb-5xx', metric: 'HTTPCode_ELB_5XX_Count', statistic: 'Sum' }),
      );
    }
    const cd = codedeploy({ gates: { metrics: [elb5xx] } });
    expect(() => resolveConfig({ services: [{ ...cd, target: { ...cd.target, targetGroups } }] })).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    [
      'on the local driver',
      { services: [local({ gates: { metrics: [elb5xx] } })] },
      'services[0].gates.metrics[0].metric: the local driver measures only RequestCount, HTTPCode_Target_5XX_Count, TargetResponseTime, ErrorRate; load balancer and custom CloudWatch metrics need an AWS driver',
    ],
    [
      'without target groups to find the load balancer',
      { services: [ecs({ gates: { metrics: [elb5xx] } })] },
      'services[0].gates.metrics[0]: HTTPCode_ELB_5XX_Count is read on the load balancer of target.targetGroups: list them',
    ],
    [
      'with a statistic other than Sum',
      { services: [ecs({ target: { ...ECS_TARGET, targetGroups }, gates: { metrics: [{ ...elb5xx, statistic: 'Average' }] } })] },
      'services[0].gates.metrics[0]: HTTPCode_ELB_5XX_Count is a count: use statistic "Sum" (errors per period), not "Average"',
    ],
    [
      'as a custom metric by TargetGroup (it has none: no data, a gate that never fails)',
      {
        services: [ecs({ gates: { metrics: [custom({ LoadBalancer: 'app/prod/0123456789abcdef', TargetGroup: 'targetgroup/api-green/fedcba9876543210' })] } })],
      },
      'services[0].gates.metrics[0]: HTTPCode_ELB_5XX_Count has no TargetGroup dimension',
    ],
    [
      'with a whole ARN where CloudWatch takes its suffix',
      {
        services: [
          ecs({ gates: { metrics: [custom({ LoadBalancer: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/prod/0123456789abcdef' })] } }),
        ],
      },
      'services[0].gates.metrics[0]: dimensions.LoadBalancer must be the ARN suffix CloudWatch uses, such as "app/prod/0123456789abcdef"',
    ],
    [
      'at a period CloudWatch does not have for load balancer metrics',
      { services: [ecs({ gates: { metrics: [custom({ LoadBalancer: 'app/prod/0123456789abcdef' }, { period: '10s' })] } })] },
      'services[0].gates.metrics[0].period: CloudWatch reads load balancer metrics only in whole minutes',
    ],
  ])('is refused %s, with the reason', (_what, raw, message) => {
    expect(problems(raw)).toEqual([expect.stringContaining(message)]);
  });
});

describe('config: a duration Switchyard or the driver would round is refused, saying what to write', () => {
  const steps = (...s: unknown[]) => ({ type: 'steps', steps: s });
  it.each<[string, unknown, string]>([
    [
      'a sub-second canary bake (it would be no bake at all)',
      { services: [local({ strategy: { type: 'canary', steps: [{ percent: 10, bake: '0.4s' }] } })] },
      'services[0].strategy.steps[0].bake: is "0.4s", less than a second: Switchyard counts durations in whole seconds and would make it 0s (no wait at all); write "1s", or "0s" for none',
    ],
    [
      'a sub-second blue-green bake given as a number',
      { services: [local({ strategy: { type: 'blue-green', bake: 0.4 } })] },
      'services[0].strategy.bake: is 0.4, less than a second',
    ],
    [
      'a sub-second final bake',
      { services: [local({ strategy: { type: 'canary', steps: [{ percent: 10, bake: '30s' }], finalBake: '0.2s' } })] },
      'services[0].strategy.finalBake: is "0.2s", less than a second',
    ],
    [
      'a sub-second bake step (bake steps are at least 1s: no "0s" offered)',
      { services: [local({ strategy: steps({ type: 'setWeight', percent: 10 }, { type: 'bake', duration: '0.4s' }, { type: 'setWeight', percent: 100 }) })] },
      'services[0].strategy.steps[1].duration: is "0.4s", less than a second: Switchyard counts durations in whole seconds and would make it 0s (no wait at all); write "1s"\n',
    ],
    [
      'an analysis of 1.5s (it would be 2s)',
      {
        services: [local({ strategy: steps({ type: 'setWeight', percent: 10 }, { type: 'analysis', duration: '1.5s' }, { type: 'setWeight', percent: 100 }) })],
      },
      'services[0].strategy.steps[1].duration: is "1.5s" (1.5s), not a whole number of seconds: Switchyard counts durations in whole seconds and would make it 2s; write "1s" or "2s"',
    ],
    [
      'an approval step timeout in fractions of a second',
      {
        services: [local({ strategy: steps({ type: 'approval', timeout: '90.5s' }, { type: 'setWeight', percent: 100 }) })],
      },
      'services[0].strategy.steps[0].timeout: is "90.5s" (90.5s), not a whole number of seconds',
    ],
    [
      'an approval timeout of 0.6s (it would be 1s)',
      { services: [local({ approvals: { at: ['before-traffic'], timeout: '0.6s' } })] },
      'services[0].approvals.timeout: is "0.6s", less than a second: Switchyard counts durations in whole seconds and would make it 1s; write "1s"',
    ],
    [
      'a linear interval of 0.01m (0.6s)',
      { services: [local({ strategy: { type: 'linear', stepPercent: 50, interval: '0.01m' } })] },
      'services[0].strategy.interval: is "0.01m", less than a second',
    ],
    [
      'a gate check interval of 2.5s',
      { services: [local({ gates: { checkInterval: '2.5s' } })] },
      'services[0].gates.checkInterval: is "2.5s" (2.5s), not a whole number of seconds: Switchyard counts durations in whole seconds and would make it 3s; write "2s" or "3s"',
    ],
    [
      'a judge period of 0.5s',
      { services: [local({ gates: { judge: { period: '0.5s' } } })] },
      'services[0].gates.judge.period: is "0.5s", less than a second',
    ],
    [
      'a local readiness probe every 0.25s',
      { services: [local({ target: { driver: 'local', command: 'node server.js', port: 8080, readiness: { interval: '0.25s' } } })] },
      'services[0].target.readiness.interval: is "0.25s", less than a second',
    ],
    [
      'a health check interval of 5.5s, where at least 5s is allowed',
      { services: [codedeploy({ target: { ...codedeploy().target, clocks: { healthCheckInterval: '5.5s' } } })] },
      'services[0].target.clocks.healthCheckInterval: is "5.5s" (5.5s), not a whole number of seconds: Switchyard counts durations in whole seconds and would make it 6s; write "5s" or "6s"',
    ],
    [
      'a CodeDeploy canary bake of 90s (CodeDeploy counts in minutes)',
      { services: [codedeploy({ strategy: { type: 'canary', steps: [{ percent: 10, bake: '90s' }] } })] },
      'services[0].strategy.steps[0].bake: the codedeploy driver waits in whole multiples of 60s between traffic steps, but the plan waits 90s, which it would make 120s; write "1m" or "2m"',
    ],
    [
      'a CodeDeploy linear interval of 20s (it would be no wait at all)',
      { services: [codedeploy({ strategy: { type: 'linear', stepPercent: 50, interval: '20s' } })] },
      'services[0].strategy.interval: the codedeploy driver waits in whole multiples of 60s between traffic steps, but the plan waits 20s, which it would make 0s (no wait at all); write "1m"',
    ],
    [
      'a CodeDeploy canary with no bake between its step and 100%',
      { services: [codedeploy({ strategy: { type: 'canary', steps: [{ percent: 10, bake: '0s' }] } })] },
      'services[0].strategy.steps[0].bake: the codedeploy driver needs a bake of at least 60s after each traffic step, but the plan waits 0s; write "1m" or more',
    ],
    [
      'a CodeDeploy steps plan waiting 45s between its traffic steps',
      {
        services: [codedeploy({ strategy: steps({ type: 'setWeight', percent: 10 }, { type: 'bake', duration: '45s' }, { type: 'setWeight', percent: 100 }) })],
      },
      'services[0].strategy.steps[1].duration: the codedeploy driver waits in whole multiples of 60s between traffic steps, but the plan waits 45s, which it would make 60s; write "1m"',
    ],
  ])('%s', (_name, raw, message) => {
    expect(`${problems(raw).join('\n')}\n`).toContain(message);
  });

  it('whole seconds however written are fine, and "0s" still means no bake where none is allowed', () => {
    const [svc] = resolveConfig({
      services: [
        local({
          strategy: {
            type: 'canary',
            steps: [
              { percent: 10, bake: '0.1m' },
              { percent: 50, bake: '0s' },
            ],
            finalBake: '1.5m',
          },
          approvals: { timeout: '0.5h' },
          gates: { checkInterval: '0.25m' },
        }),
      ],
    }).services;
    expect(svc?.plan.steps.filter((s) => s.type === 'bake').map((s) => (s.type === 'bake' ? s.seconds : 0))).toEqual([6, 90]);
    expect(svc?.settings.pauseTimeoutSeconds).toBe(1800);
    expect(svc?.settings.gatePolicy.checkIntervalSeconds).toBe(15);
    const [cd] = resolveConfig({ services: [codedeploy({ strategy: { type: 'linear', stepPercent: 50, interval: '1.5h' } })] }).services;
    expect(cd?.plan.steps.find((s) => s.type === 'bake')).toEqual({ type: 'bake', seconds: 5400 });
  });
});

describe('config: approvers name people, and the authority table keeps its floor', () => {
  const people = [{ name: 'alice', slack: 'U012ABCDEF' }, { name: 'bob' }];
  const guarded = (approvals: Record<string, unknown>) => ({ services: [local({ approvals: { at: ['before-finalize'], ...approvals } })], people });

  it('refuses an approver that is not a configured person, saying how to make them one', () => {
    expect(problems(guarded({ approvers: ['U034GHIJKL', 'arn:aws:iam::123456789012:user/carol', 'dave@example.com', 'alcie'] }))).toEqual([
      `services[0].approvals.approvers[0]: "U034GHIJKL" is not a configured person; it looks like a Slack user id: add { name: '<their name>', slack: 'U034GHIJKL' } to people and name them here`,
      `services[0].approvals.approvers[1]: "arn:aws:iam::123456789012:user/carol" is not a configured person; it looks like an IAM principal: add { name: '<their name>', iam: ['arn:aws:iam::123456789012:user/carol'] } to people and name them here`,
      `services[0].approvals.approvers[2]: "dave@example.com" is not a configured person; it looks like an email: add { name: '<their name>', jwt: ['dave@example.com'] } to people (it counts only when the token says it is verified) and name them here`,
      'services[0].approvals.approvers[3]: "alcie" is not a configured person; approvers name people from people (alice, bob)',
    ]);
    expect(() => resolveConfig(guarded({ approvers: ['alice', 'bob'] }))).not.toThrow();
  });

  it('refuses a person named as Switchyard’s own actors or the shared token', () => {
    for (const name of ['api', 'switchyard', 'system', 'ecr']) {
      expect(problems({ services: [local()], people: [{ name }] })).toEqual([
        `people[0].name: "${name}" is reserved (Switchyard's own actors and the shared token are named api, switchyard, system, ecr, anyone, people, approvers); choose another name`,
      ]);
    }
  });

  it('lets a service change who may start, roll back or reject, never lower who may approve, expedite, promote, undo or retry', () => {
    const ok = resolveConfig(guarded({ approvers: ['alice'], authority: { start: 'people', rollback: 'people', reject: 'anyone' } }));
    expect(ok.services[0]?.settings.approvalRules).toEqual({
      approvers: ['alice'],
      fourEyes: false,
      authority: { start: 'people', rollback: 'people', reject: 'anyone' },
    });
    expect(problems(guarded({ approvers: ['alice'], authority: { undo: 'anyone', approve: 'people', promote: 'anyone' } }))).toEqual([
      `services[0].approvals.authority.undo: "anyone" is not allowed: undo ships a version without the plan's approvals, so it stays "approvers" (remove the line, or list the people in approvals.approvers)`,
      'services[0].approvals.authority.approve: "people" is not allowed: approve is what approvers are for, so it stays "approvers" (remove the line, or list the people in approvals.approvers)',
      `services[0].approvals.authority.promote: "anyone" is not allowed: promote ships a version without the plan's approvals, so it stays "approvers" (remove the line, or list the people in approvals.approvers)`,
    ]);
    // Pause is never easier than rollback (a pause can end in one): refused with what to do.
    expect(problems(guarded({ approvers: ['alice'], authority: { rollback: 'approvers', pause: 'anyone' } }))).toEqual([
      'services[0].approvals.authority.pause: "anyone" is not allowed while rollback is "approvers": a pause can end in a rollback (ECS\'s hold limit) or hold the service indefinitely, so pause is never easier than rollback; remove the line (pause follows rollback) or set it to "approvers" or stricter',
    ]);
    expect(resolveConfig(guarded({ approvers: ['alice'], authority: { rollback: 'people', pause: 'approvers' } })).services).toHaveLength(1);
    expect(problems(guarded({ authority: { deploy: 'anyone', start: 'everyone' } }))).toEqual([
      'services[0].approvals.authority.start: must be "anyone" (any authenticated caller), "people" (a proven person) or "approvers"',
      'services[0].approvals.authority: unknown key "deploy": remove it or check the spelling',
    ]);
  });
});

describe('config: a local service attached to a site’s own HAProxy', () => {
  const attached = (dataPlane: Record<string, unknown>, target: Record<string, unknown> = {}) =>
    local({ target: { driver: 'local', command: 'node server.js', port: 8080, dataPlane, ...target } });
  const attach = { adminSocket: '/run/haproxy/admin.sock', backend: 'shop' };

  it('takes the admin socket, the backends and the log ring', () => {
    const config = resolveConfig({
      services: [
        attached(
          { type: 'haproxy', attach: { ...attach, testBackend: 'shop-test', logRing: 'switchyard', serverStateFile: '/var/lib/haproxy/shop.state' } },
          { testPort: 8081 },
        ),
      ],
    });
    const target = config.services[0]!.target;
    expect(target.driver === 'local' && target.dataPlane).toEqual({
      type: 'haproxy',
      binary: 'haproxy',
      attach: {
        adminSocket: '/run/haproxy/admin.sock',
        backend: 'shop',
        testBackend: 'shop-test',
        logRing: 'switchyard',
        serverStateFile: '/var/lib/haproxy/shop.state',
      },
    });
  });

  it.each([
    [{ type: 'haproxy', attach: { ...attach, adminSocket: 'admin.sock' } }, {}, 'target.dataPlane.attach.adminSocket: must be an absolute path'],
    [{ type: 'haproxy', attach: { ...attach, serverStateFile: 'shop.state' } }, {}, 'target.dataPlane.attach.serverStateFile: must be an absolute path'],
    [
      { type: 'haproxy', attach: { ...attach, backend: 'shop backend' } },
      {},
      'target.dataPlane.attach.backend: must be the name of a backend in your haproxy.cfg',
    ],
    [{ type: 'haproxy', attach: { adminSocket: '/run/haproxy/admin.sock' } }, {}, 'target.dataPlane.attach.backend'],
    [
      { type: 'haproxy', threads: 2, attach },
      {},
      'target.dataPlane.threads: applies to an HAProxy Switchyard starts; with attach, your HAProxy runs as you configured it',
    ],
    [{ type: 'haproxy', attach }, { testPort: 8081 }, 'target.dataPlane.attach.testBackend: is needed with testPort'],
    [{ type: 'haproxy', attach: { ...attach, testBackend: 'shop-test' } }, {}, 'target.testPort: is needed with dataPlane.attach.testBackend'],
  ])('refuses %j %j: %s', (dataPlane, target, message) => {
    expect(problems({ services: [attached(dataPlane, target)] }).join('\n')).toContain(message);
  });

  it('refuses latency gates and the judge’s latency without a log ring (show stat’s averages hold idle keep-alive time), takes them with one', () => {
    const gates = {
      metrics: [{ name: 'slow', metric: 'TargetResponseTime', statistic: 'p99', comparison: 'GreaterThanThreshold', threshold: 0.5 }],
      judge: {},
    };
    const service = (logRing?: string) => ({ ...attached({ type: 'haproxy', attach: { ...attach, ...(logRing ? { logRing } : {}) } }), gates });
    expect(problems({ services: [service()] })).toEqual([
      'services[0].gates.metrics[0].metric: an attached HAProxy gives per-request latency only through its log ring: add dataPlane.attach.logRing (and the ring and log-format lines of docs/haproxy.md to your haproxy.cfg), or remove this gate',
      'services[0].gates.judge.signals: an attached HAProxy gives per-request latency only through its log ring: add dataPlane.attach.logRing (and the ring and log-format lines of docs/haproxy.md to your haproxy.cfg), or judge errors only: signals: ["errors"]',
    ]);
    expect(() => resolveConfig({ services: [service('switchyard')] })).not.toThrow();
    expect(() => resolveConfig({ services: [{ ...service(), gates: { judge: { signals: ['errors'] } } }] })).not.toThrow();
  });
});
