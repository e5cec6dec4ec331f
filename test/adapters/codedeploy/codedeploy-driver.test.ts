import {
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  CreateDeploymentCommand,
  CreateDeploymentConfigCommand,
  GetDeploymentCommand,
  ListDeploymentTargetsCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CodeDeployDriver } from '../../../src/adapters/codedeploy/codedeploy-driver.js';
import { compilePlan } from '../../../src/core/plan.js';
import { createRelease } from '../../../src/core/transitions.js';
import type { Release } from '../../../src/core/release.js';
import { settings, T0 } from '../../support/releases.js';
import { TargetFailedError, TransientError, PermissionError } from '../../../src/core/errors.js';

const ecs = mockClient(ECSClient);
const cd = mockClient(CodeDeployClient);
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const target = {
  driver: 'codedeploy',
  cluster: 'prod',
  service: 'checkout-api',
  application: 'checkout-app',
  deploymentGroup: 'checkout-dg',
  containerName: 'app',
  containerPort: 8080,
} as const;
const canaryPlan = compilePlan({ type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 300 });

function release(overrides: Partial<Release> = {}): Release {
  return {
    ...createRelease(
      {
        id: 'r-1',
        service: 'checkout-api',
        artifact: { image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:1.8.2@${DIGEST}`, digest: DIGEST },
        plan: canaryPlan,
        settings: settings(),
        actor: { id: 'ci', channel: 'ecr' },
      },
      T0,
    ),
    ...overrides,
  };
}

const driver = () =>
  new CodeDeployDriver({
    service: 'checkout-api',
    target,
    plan: canaryPlan,
    ecs: ecs as unknown as ECSClient,
    codedeploy: cd as unknown as CodeDeployClient,
  });

beforeEach(() => {
  ecs.reset();
  cd.reset();
});

describe('CodeDeploy driver: deploy', () => {
  beforeEach(() => {
    ecs.on(DescribeServicesCommand).resolves({ services: [{ taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:41' }] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:41',
        family: 'checkout',
        revision: 41,
        status: 'ACTIVE',
        requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }],
        compatibilities: ['EC2', 'FARGATE'],
        registeredAt: new Date(),
        registeredBy: 'arn:aws:iam::123456789012:role/deployer',
        cpu: '256',
        memory: '512',
        networkMode: 'awsvpc',
        executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
        containerDefinitions: [
          { name: 'app', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:1.8.1', portMappings: [{ containerPort: 8080 }] },
          { name: 'sidecar', image: 'public.ecr.aws/aws-observability/aws-otel-collector:latest' },
        ],
      },
      tags: [{ key: 'team', value: 'payments' }],
    });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:42' } });
    cd.on(ListDeploymentsCommand).resolves({ deployments: [] });
    cd.on(CreateDeploymentConfigCommand).resolves({});
    cd.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-ABC' });
    cd.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Ready' } });
  });

  it('registers the current task definition with the image pinned by digest, read-only fields stripped, tags kept', async () => {
    // Created and answered at once (the id is stored before anything can time out); ready on the next read.
    const first = await driver().deploy(release());
    expect(first).toMatchObject({ done: false, state: { deploymentId: 'd-ABC', taskDefinition: expect.stringContaining('task-definition/') as string } });
    expect(await driver().deploy({ ...release(), driverState: first.state ?? {} })).toEqual({ done: true });
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]?.args[0].input).toEqual({
      taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout:41',
      include: ['TAGS'],
    });
    const input = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(input).toEqual({
      family: 'checkout',
      cpu: '256',
      memory: '512',
      networkMode: 'awsvpc',
      executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
      containerDefinitions: [
        { name: 'app', image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api@${DIGEST}`, portMappings: [{ containerPort: 8080 }] },
        { name: 'sidecar', image: 'public.ecr.aws/aws-observability/aws-otel-collector:latest' },
      ],
      tags: [{ key: 'team', value: 'payments' }],
    });
  });

  it('creates the deployment with an ECS AppSpec, the matching canary config and auto-rollback', async () => {
    await driver().deploy(release());
    expect(cd.commandCalls(CreateDeploymentConfigCommand)[0]?.args[0].input).toEqual({
      deploymentConfigName: 'Switchyard.ECSCanary10Percent5Minutes',
      computePlatform: 'ECS',
      trafficRoutingConfig: { type: 'TimeBasedCanary', timeBasedCanary: { canaryPercentage: 10, canaryInterval: 5 } },
    });
    const input = cd.commandCalls(CreateDeploymentCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      applicationName: 'checkout-app',
      deploymentGroupName: 'checkout-dg',
      deploymentConfigName: 'Switchyard.ECSCanary10Percent5Minutes',
      description: `Switchyard release r-1 of 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:1.8.2@${DIGEST}`,
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'] },
      revision: { revisionType: 'AppSpecContent' },
    });
    const appSpec = JSON.parse(input?.revision?.appSpecContent?.content ?? '{}');
    expect(appSpec).toEqual({
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
    expect(input?.revision?.appSpecContent?.sha256).toMatch(/^[a-f0-9]{64}$/);
  });

  it('reuses an existing deployment config', async () => {
    cd.on(CreateDeploymentConfigCommand).rejects(Object.assign(new Error('exists'), { name: 'DeploymentConfigAlreadyExistsException' }));
    await driver().deploy(release());
    expect(cd.commandCalls(CreateDeploymentCommand)[0]?.args[0].input.deploymentConfigName).toBe('Switchyard.ECSCanary10Percent5Minutes');
  });

  it('a retried deploy finds the deployment it already created instead of creating a second', async () => {
    cd.on(ListDeploymentsCommand).resolves({ deployments: ['d-OLD'] });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-OLD' }).resolves({
      deploymentInfo: { deploymentId: 'd-OLD', status: 'Ready', description: `Switchyard release r-1 of ${release().artifact.image}` },
    });
    expect(await driver().deploy(release())).toMatchObject({ done: false, state: { deploymentId: 'd-OLD' } });
    expect(cd.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('throttling is retried by the workflow (TransientError); AccessDenied names the missing permission', async () => {
    ecs
      .on(RegisterTaskDefinitionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    await expect(driver().deploy(release())).rejects.toBeInstanceOf(TransientError);
    ecs.on(RegisterTaskDefinitionCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const error = await driver()
      .deploy(release())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionError);
    expect((error as Error).message).toContain('not allowed to call ecs:RegisterTaskDefinition on checkout');
  });
});

describe('CodeDeploy driver: traffic, rollback, finalize', () => {
  const deployed = () => release({ deployed: true, driverState: { deploymentId: 'd-ABC' } });
  const targets = (greenWeight: number, label = 'Green') => {
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['prod:checkout-api'] });
    cd.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [
        {
          ecsTarget: {
            targetId: 'prod:checkout-api',
            lifecycleEvents: [{ lifecycleEventName: 'Install', status: 'Succeeded' }],
            taskSetsInfo: [
              { identifer: 'ecs-svc/111', taskSetLabel: 'Blue', trafficWeight: 100 - greenWeight, status: 'PRIMARY', targetGroup: { name: 'checkout-blue' } },
              {
                identifer: 'ecs-svc/222',
                taskSetLabel: label as 'Green' /* the wire sends other casings too */,
                trafficWeight: greenWeight,
                status: 'ACTIVE',
                targetGroup: { name: 'checkout-green' },
              },
            ],
          },
        },
      ],
    });
  };

  it('leaves the ready wait to start the shift and reads the split from the green task set (mixed-case label)', async () => {
    cd.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Ready' } });
    targets(10, 'GREEN');
    await driver().setWeight(deployed(), 10);
    expect(cd.commandCalls(ContinueDeploymentCommand)[0]?.args[0].input).toEqual({ deploymentId: 'd-ABC', deploymentWaitType: 'READY_WAIT' });
    expect(await driver().verify(deployed())).toBe(10);
    expect(await driver().greenTargetGroup(deployed())).toBe('checkout-green');
  });

  it('a deployment stopped by someone else ends the release with a readable reason', async () => {
    cd.on(GetDeploymentCommand).resolves({
      deploymentInfo: { deploymentId: 'd-ABC', status: 'Stopped', errorInformation: { code: 'MANUAL_STOP', message: 'Stopped by user' } },
    });
    await expect(driver().setWeight(deployed(), 10)).rejects.toThrow(
      new TargetFailedError('CodeDeploy deployment d-ABC Stopped: the deployment was stopped outside Switchyard (console, CLI or API) (Stopped by user)'),
    );
  });

  it.each([
    ['ALARM_ACTIVE', 'CodeDeploy stopped the deployment because one of its alarms is active'],
    ['ECS_UPDATE_ERROR', 'ECS could not update the service'],
    ['HOOK_EXECUTION_FAILURE', 'a lifecycle hook of the deployment failed'],
    ['TIMEOUT', 'the deployment timed out in CodeDeploy'],
    ['THROTTLED', 'CodeDeploy was throttled'],
  ])('Failed with %s becomes a release outcome: %s', async (code, reason) => {
    cd.on(GetDeploymentCommand).resolves({
      deploymentInfo: { deploymentId: 'd-ABC', status: 'Failed', errorInformation: { code: code as 'TIMEOUT', message: 'details' } },
    });
    await expect(driver().finalize(deployed())).rejects.toThrow(reason);
  });

  it('rollback is StopDeployment with autoRollbackEnabled, asked once; done when CodeDeploy has stopped and green has no traffic', async () => {
    cd.on(GetDeploymentCommand)
      .resolvesOnce({ deploymentInfo: { deploymentId: 'd-ABC', status: 'InProgress' } })
      .resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Stopped' } });
    cd.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    targets(0);
    const asked = await driver().rollback(deployed());
    expect(asked).toMatchObject({ done: false, state: { stopRequested: 'd-ABC' } });
    expect(await driver().rollback({ ...deployed(), driverState: { ...deployed().driverState, ...asked.state } })).toEqual({ done: true });
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(1);
    expect(cd.commandCalls(StopDeploymentCommand)[0]?.args[0].input).toEqual({ deploymentId: 'd-ABC', autoRollbackEnabled: true });
  });

  it('rollback is not declared while the stopped deployment still sends production traffic to the new version', async () => {
    cd.on(GetDeploymentCommand)
      .resolvesOnce({ deploymentInfo: { deploymentId: 'd-ABC', status: 'InProgress' } })
      .resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Stopped' } });
    cd.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    targets(10);
    const asked = await driver().rollback(deployed());
    const after = await driver().rollback({ ...deployed(), driverState: { ...deployed().driverState, ...asked.state } });
    expect(after).toEqual({ done: false, seen: 'deployment d-ABC is Stopped but the new version still has 10% of production traffic' });
  });

  it('rollback with nothing deployed, or an already stopped deployment, calls nothing that changes state', async () => {
    cd.on(ListDeploymentsCommand).resolves({ deployments: [] });
    expect(await driver().rollback(release())).toEqual({ done: true });
    cd.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Stopped' } });
    targets(0);
    expect(await driver().rollback(deployed())).toEqual({ done: true });
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });

  it('rollback finds and stops a deployment whose creation was never stored (the call that created it ended first)', async () => {
    cd.on(ListDeploymentsCommand).resolves({ deployments: ['d-LOST'] });
    cd.on(GetDeploymentCommand, { deploymentId: 'd-LOST' }).resolves({
      deploymentInfo: { deploymentId: 'd-LOST', status: 'InProgress', description: `Switchyard release r-1 of ${release().artifact.image}` },
    });
    cd.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    expect(await driver().rollback(release())).toMatchObject({ done: false, state: { deploymentId: 'd-LOST', stopRequested: 'd-LOST' } });
    expect(cd.commandCalls(StopDeploymentCommand)[0]?.args[0].input).toEqual({ deploymentId: 'd-LOST', autoRollbackEnabled: true });
  });

  it('finalize asks again while CodeDeploy is not in its termination wait yet (an AfterAllowTraffic hook still runs), never giving up the continue', async () => {
    cd.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'InProgress' } });
    cd.on(ContinueDeploymentCommand)
      .rejectsOnce(Object.assign(new Error('not ready'), { name: 'DeploymentIsNotInReadyStateException' }))
      .resolves({});
    const early = await driver().finalize(deployed());
    expect(early).toMatchObject({ done: false });
    expect(early.state).toBeUndefined();
    const continued = await driver().finalize(deployed());
    expect(continued).toMatchObject({ done: false, state: { terminationContinued: 'd-ABC' } });
    expect(cd.commandCalls(ContinueDeploymentCommand)).toHaveLength(2);
  });

  it('finalize ends the termination wait once, then reads until CodeDeploy says Succeeded', async () => {
    cd.on(GetDeploymentCommand)
      .resolvesOnce({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Ready' } })
      .resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Succeeded' } });
    cd.on(ContinueDeploymentCommand).resolves({});
    const asked = await driver().finalize(deployed());
    expect(asked).toMatchObject({ done: false, state: { terminationContinued: 'd-ABC' } });
    expect(await driver().finalize({ ...deployed(), driverState: { ...deployed().driverState, ...asked.state } })).toEqual({ done: true });
    expect(cd.commandCalls(ContinueDeploymentCommand)).toHaveLength(1);
    expect(cd.commandCalls(ContinueDeploymentCommand)[0]?.args[0].input).toEqual({ deploymentId: 'd-ABC', deploymentWaitType: 'TERMINATION_WAIT' });
  });
});
