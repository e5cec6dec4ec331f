import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeployError } from '../../src/core/errors.js';
import { compilePlan, type StrategySpec } from '../../src/core/plan.js';
import { createRelease } from '../../src/core/transitions.js';
import { pinnedImage } from '../../src/core/artifact.js';
import { appSpecFor, deploymentConfigFor, deploymentGroupFits } from '../../src/resources/codedeploy.js';
import { settings, T0 } from '../support/releases.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const release = (image: string, digest?: string) =>
  createRelease(
    {
      id: 'r-1',
      service: 'checkout-api',
      artifact: digest ? { image, digest } : { image },
      plan: compilePlan({ type: 'blue-green', bakeSeconds: 60 }),
      settings: settings(),
      actor: { id: 'ci', channel: 'ecr' },
    },
    T0,
  );

describe('CodeDeploy names and shapes (shared by the driver and the stack)', () => {
  it.each([
    [{ type: 'blue-green', bakeSeconds: 60 }, 'CodeDeployDefault.ECSAllAtOnce'],
    [{ type: 'canary', steps: [{ percent: 15, bakeSeconds: 600 }], finalBakeSeconds: 0 }, 'Switchyard.ECSCanary15Percent10Minutes'],
    [{ type: 'linear', stepPercent: 20, intervalSeconds: 120, finalBakeSeconds: 0 }, 'Switchyard.ECSLinear20PercentEvery2Minutes'],
  ] as const)('%j -> %s', (strategy, name) => {
    expect(deploymentConfigFor(compilePlan(strategy)).name).toBe(name);
  });

  it('asks CodeDeploy for the config it names, in the CreateDeploymentConfig input shape (minutes, ECS platform)', () => {
    expect(deploymentConfigFor(compilePlan({ type: 'canary', steps: [{ percent: 15, bakeSeconds: 600 }], finalBakeSeconds: 0 })).create).toEqual({
      deploymentConfigName: 'Switchyard.ECSCanary15Percent10Minutes',
      computePlatform: 'ECS',
      trafficRoutingConfig: { type: 'TimeBasedCanary', timeBasedCanary: { canaryPercentage: 15, canaryInterval: 10 } },
    });
    expect(deploymentConfigFor(compilePlan({ type: 'linear', stepPercent: 20, intervalSeconds: 120, finalBakeSeconds: 0 })).create).toEqual({
      deploymentConfigName: 'Switchyard.ECSLinear20PercentEvery2Minutes',
      computePlatform: 'ECS',
      trafficRoutingConfig: { type: 'TimeBasedLinear', timeBasedLinear: { linearPercentage: 20, linearInterval: 2 } },
    });
    expect(deploymentConfigFor(compilePlan({ type: 'blue-green', bakeSeconds: 60 })).create).toBeUndefined();
  });

  it('refuses a plan CodeDeploy cannot run, with the reason', () => {
    const custom = compilePlan({
      type: 'canary',
      steps: [
        { percent: 10, bakeSeconds: 300 },
        { percent: 50, bakeSeconds: 300 },
      ],
      finalBakeSeconds: 0,
    } as StrategySpec);
    expect(() => deploymentConfigFor(custom)).toThrow(DeployError);
    expect(() => deploymentConfigFor(custom)).toThrow(/CodeDeploy cannot run this plan/);
  });

  it('pins by digest, dropping the tag', () => {
    expect(pinnedImage(release(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:1.8.2@${DIGEST}`, DIGEST))).toBe(
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api@${DIGEST}`,
    );
    expect(pinnedImage(release('localhost:5000/app:2'))).toBe('localhost:5000/app:2');
  });

  it('writes the ECS AppSpec with the task definition and load balancer container, and its SHA-256', () => {
    const spec = appSpecFor({ taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:42', containerName: 'app', containerPort: 8080 });
    expect(JSON.parse(spec.content)).toEqual({
      version: 0,
      Resources: [
        {
          TargetService: {
            Type: 'AWS::ECS::Service',
            Properties: {
              TaskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:42',
              LoadBalancerInfo: { ContainerName: 'app', ContainerPort: 8080 },
            },
          },
        },
      ],
    });
    expect(spec.sha256).toBe(createHash('sha256').update(spec.content).digest('hex'));
  });
});

describe('a deployment group fits a plan (pre-flight)', () => {
  const withApprovals = compilePlan(
    { type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 600 },
    { at: ['before-traffic', 'before-finalize'], timeoutSeconds: 3600, onTimeout: 'rollback' },
  );
  it('a ready wait that holds longer than the pre-traffic approval, and a termination wait covering the final bake and approval', () => {
    const checks = deploymentGroupFits(withApprovals, { readyAction: 'STOP_DEPLOYMENT', readyWaitMinutes: 120, terminationWaitMinutes: 70 });
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['deployment group ready wait', true],
      ['deployment group termination wait', true],
    ]);
  });
  it.each([
    [
      { readyAction: 'CONTINUE_DEPLOYMENT', readyWaitMinutes: 120, terminationWaitMinutes: 70 },
      'deployment group ready wait',
      'set deploymentReadyOption { actionOnTimeout: STOP_DEPLOYMENT, waitTimeInMinutes: 61 or more }',
    ],
    [
      { readyAction: 'STOP_DEPLOYMENT', readyWaitMinutes: 30, terminationWaitMinutes: 70 },
      'deployment group ready wait',
      'the plan waits up to 3600s before traffic',
    ],
    [
      { readyAction: 'STOP_DEPLOYMENT', readyWaitMinutes: 120, terminationWaitMinutes: 5 },
      'deployment group termination wait',
      'set terminationWaitTimeInMinutes to 70 or more',
    ],
  ])('%j fails %s, saying what to set', (group, name, message) => {
    const failed = deploymentGroupFits(withApprovals, group).find((c) => c.name === name);
    expect(failed?.ok).toBe(false);
    expect(failed?.detail).toContain(message);
  });
});
