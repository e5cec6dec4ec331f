import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/config.js';
import { ecrRepository, ecsScaffold, type EcsServiceFacts } from '../../src/config/init-ecs.js';
import { stepLabel } from '../../src/contract/steps.js';

const facts = (deployment: EcsServiceFacts['deployment']): EcsServiceFacts => ({
  cluster: 'prod',
  service: 'checkout',
  controller: 'ECS',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:7',
  family: 'checkout',
  roles: [],
  containers: [{ name: 'app', image: 'nginx:1', essential: true, ports: [80], logGroup: '/ecs/checkout' }],
  deployment,
  loadBalancers: [
    {
      targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-blue/0123456789abcdef',
      alternateTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/checkout-green/fedcba9876543210',
      containerName: 'app',
      containerPort: 80,
    },
  ],
  alarms: [
    {
      name: 'checkout-5xx',
      why: 'TargetGroup dimension',
      targetGroup: 'targetgroup/checkout-blue/0123456789abcdef',
      loadBalancer: 'app/prod/0123456789abcdef',
    },
  ],
});

/** The plan the written config compiles to, as people read it. */
const planOf = (config: unknown) => resolveConfig(config).services[0]!.plan.steps.map(stepLabel);

describe('switchyard init --from-ecs: the strategy from ECS deploymentConfiguration', () => {
  it.each([
    ['BLUE_GREEN, bake 15m', { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 15 }, ['100%', 'bake 15m', 'finalize'], undefined],
    [
      'CANARY 5% for 10m',
      { strategy: 'CANARY', canaryPercent: 5, canaryBakeTimeInMinutes: 10, bakeTimeInMinutes: 2 },
      ['5%', 'bake 10m', '100%', 'bake 2m', 'finalize'],
      undefined,
    ],
    [
      "CANARY with no canaryConfiguration: ECS's defaults, 5% baked 10m",
      { strategy: 'CANARY', bakeTimeInMinutes: 5 },
      ['5%', 'bake 10m', '100%', 'bake 5m', 'finalize'],
      undefined,
    ],
    [
      'CANARY with an explicit 0-minute bake: kept, not taken for unset',
      { strategy: 'CANARY', canaryPercent: 20, canaryBakeTimeInMinutes: 0, bakeTimeInMinutes: 0 },
      ['20%', '100%', 'finalize'],
      undefined,
    ],
    [
      "LINEAR with no linearConfiguration: ECS's defaults, 10% every 6m",
      { strategy: 'LINEAR', bakeTimeInMinutes: 1 },
      [
        '10%',
        'bake 6m',
        '20%',
        'bake 6m',
        '30%',
        'bake 6m',
        '40%',
        'bake 6m',
        '50%',
        'bake 6m',
        '60%',
        'bake 6m',
        '70%',
        'bake 6m',
        '80%',
        'bake 6m',
        '90%',
        'bake 6m',
        '100%',
        'bake 1m',
        'finalize',
      ],
      undefined,
    ],
    [
      'LINEAR with steps 0 minutes apart: 1s written and marked',
      { strategy: 'LINEAR', linearStepPercent: 50, linearStepBakeTimeInMinutes: 0, bakeTimeInMinutes: 1 },
      ['50%', 'bake 1s', '100%', 'bake 1m', 'finalize'],
      "ECS waits 0 minutes between steps; Switchyard's interval is at least 1s",
    ],
    [
      'LINEAR 25% every 4m',
      { strategy: 'LINEAR', linearStepPercent: 25, linearStepBakeTimeInMinutes: 4, bakeTimeInMinutes: 1 },
      ['25%', 'bake 4m', '50%', 'bake 4m', '75%', 'bake 4m', '100%', 'bake 1m', 'finalize'],
      undefined,
    ],
    [
      'ROLLING 125/100: batches of 25%',
      { strategy: 'ROLLING', maximumPercent: 125, minimumHealthyPercent: 100 },
      ['25%', '50%', '75%', '100%', 'finalize'],
      undefined,
    ],
  ])('%s', (_case, deployment, plan, todo) => {
    const scaffold = ecsScaffold(facts(deployment));
    expect(planOf(scaffold.config).filter((s) => !s.startsWith('analysis'))).toEqual(plan);
    const strategyTodo = scaffold.todos.find((t) => t.path === 'services[0].strategy')?.text;
    if (todo) expect(strategyTodo).toContain(todo);
    else expect(strategyTodo).toBeUndefined();
  });

  it('ECR images give the trigger repository; other registries give none', () => {
    expect(ecrRepository('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/checkout:1.2')).toBe('team/checkout');
    expect(ecrRepository('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/checkout@sha256:00')).toBe('checkout');
    expect(ecrRepository('nginx:1')).toBeUndefined();
  });
});
