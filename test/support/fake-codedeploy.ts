import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  CreateDeploymentCommand,
  CreateDeploymentConfigCommand,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentTargetsCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
  type CreateDeploymentCommandInput,
  type CreateDeploymentConfigCommandInput,
} from '@aws-sdk/client-codedeploy';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import type { VirtualClock } from '../../src/ports/clock.js';

/** How long green's task set takes to start (CodeDeploy's Install event) on the fake's clock. */
export const INSTALL_SECONDS = 45;

/** A CodeDeploy that plays ECS blue/green deployments forward on the virtual clock. */
export class FakeCodeDeploy {
  configs = new Map<string, { type: 'canary' | 'linear'; percent: number; minutes: number }>([
    ['CodeDeployDefault.ECSAllAtOnce', { type: 'canary', percent: 100, minutes: 0 }],
  ]);
  deployments = new Map<
    string,
    { status: string; config: string; description: string; shiftStart?: number; green: number; createdAt: number; error?: { code: string; message: string } }
  >();
  log: string[] = [];
  /** The deployment group's blue/green settings, as GetDeploymentGroup returns them. */
  group = { readyAction: 'STOP_DEPLOYMENT', readyWaitMinutes: 180, terminationWaitMinutes: 180 };
  /** Images ECR no longer has (DescribeImages answers ImageNotFoundException). */
  missingImages = new Set<string>();
  /** When set, a stopped deployment keeps this much production traffic on green (a rollback that does not happen). */
  stuckGreen: number | undefined;
  private n = 0;
  constructor(private readonly clock: VirtualClock) {}

  private advance(id: string) {
    const d = this.deployments.get(id);
    if (!d) throw Object.assign(new Error('no such deployment'), { name: 'DeploymentDoesNotExistException' });
    // Green's task set starts on CodeDeploy's clock (its Install event), then waits in READY_WAIT.
    if (d.status === 'Created' && this.clock.now() - d.createdAt >= INSTALL_SECONDS * 1000) d.status = 'Ready';
    if (d.status === 'InProgress' && d.shiftStart !== undefined) {
      // CodeDeploy's own timer: nothing moves traffic faster than the config's interval.
      const { type, percent, minutes } = this.configs.get(d.config) ?? { type: 'canary', percent: 100, minutes: 0 };
      const intervals = minutes === 0 ? Number.POSITIVE_INFINITY : Math.floor((this.clock.now() - d.shiftStart) / (minutes * 60_000));
      d.green = type === 'canary' ? (intervals >= 1 ? 100 : percent) : Math.min(100, percent * (intervals + 1));
    }
    return d;
  }
  createConfig(input: CreateDeploymentConfigCommandInput) {
    const name = input.deploymentConfigName ?? '';
    if (this.configs.has(name)) throw Object.assign(new Error('exists'), { name: 'DeploymentConfigAlreadyExistsException' });
    const canary = input.trafficRoutingConfig?.timeBasedCanary;
    const linear = input.trafficRoutingConfig?.timeBasedLinear;
    const percent = canary?.canaryPercentage ?? linear?.linearPercentage ?? 100;
    const minutes = canary?.canaryInterval ?? linear?.linearInterval ?? 0;
    // The API model's percentages and intervals are integers: CodeDeploy refuses anything else.
    if (!Number.isInteger(percent) || !Number.isInteger(minutes)) {
      throw Object.assign(new Error(`invalid traffic routing configuration: ${percent}% every ${minutes} minutes`), {
        name: 'InvalidTrafficRoutingConfigurationException',
      });
    }
    this.configs.set(name, { type: linear ? 'linear' : 'canary', percent, minutes });
    this.log.push(`CreateDeploymentConfig ${name}`);
    return {};
  }
  create(input: CreateDeploymentCommandInput) {
    // One active deployment per deployment group.
    const active = [...this.deployments.entries()].find(([key]) => ['Created', 'Queued', 'Ready', 'InProgress', 'Baking'].includes(this.advance(key).status));
    if (active) throw Object.assign(new Error(`deployment ${active[0]} is already in progress`), { name: 'DeploymentLimitExceededException' });
    const id = `d-${++this.n}`;
    this.deployments.set(id, {
      status: 'Created',
      config: input.deploymentConfigName ?? '',
      description: input.description ?? '',
      green: 0,
      createdAt: this.clock.now(),
    });
    this.log.push(`CreateDeployment ${id}`);
    return { deploymentId: id };
  }
  /** ListDeployments: the group's deployments in the given statuses (all when none given), newest first. */
  list(statuses: readonly string[] | undefined) {
    for (const id of this.deployments.keys()) this.advance(id);
    const ids = [...this.deployments.entries()].filter(([, d]) => !statuses || statuses.length === 0 || statuses.includes(d.status)).map(([id]) => id);
    return { deployments: ids.reverse() };
  }
  get(id: string) {
    const d = this.advance(id);
    return {
      deploymentInfo: { deploymentId: id, status: d.status as never, description: d.description, ...(d.error ? { errorInformation: d.error as never } : {}) },
    };
  }
  targets(id: string) {
    const d = this.advance(id);
    return {
      deploymentTargets: [
        {
          ecsTarget: {
            targetId: 'prod:api',
            lifecycleEvents: [{ lifecycleEventName: 'Install', status: d.status === 'Created' ? ('InProgress' as const) : ('Succeeded' as const) }],
            taskSetsInfo: [
              { taskSetLabel: 'Blue' as const, trafficWeight: 100 - d.green, targetGroup: { name: 'api-blue' } },
              { taskSetLabel: 'Green' as const, trafficWeight: d.green, targetGroup: { name: 'api-green' } },
            ],
          },
        },
      ],
    };
  }
  continue(id: string, wait: string) {
    const d = this.advance(id);
    this.log.push(`ContinueDeployment ${wait}`);
    // Continuing is only for a deployment that waits: in its ready wait, or fully shifted in its termination wait.
    if (wait === 'READY_WAIT' && d.status === 'Ready') {
      d.status = 'InProgress';
      d.shiftStart = this.clock.now();
      this.advance(id);
    } else if (wait === 'TERMINATION_WAIT' && d.status === 'InProgress' && d.green === 100) {
      d.status = 'Succeeded';
    } else {
      throw Object.assign(new Error(`deployment ${id} is ${d.status} at ${d.green}%, not waiting for ${wait}`), {
        name: 'DeploymentIsNotInReadyStateException',
      });
    }
    return {};
  }
  stop(id: string) {
    const d = this.advance(id);
    this.log.push('StopDeployment');
    d.status = 'Stopped';
    d.green = this.stuckGreen ?? 0;
    d.error = { code: 'MANUAL_STOP', message: 'stopped by Switchyard' };
    return { status: 'Succeeded' as const };
  }
}

/** The ECS service and CodeDeploy group the fake answers for: one service behind its deployment group. */
export const FAKE_TARGET = {
  driver: 'codedeploy',
  cluster: 'prod',
  service: 'api',
  application: 'api',
  deploymentGroup: 'api-dg',
  containerName: 'app',
  containerPort: 80,
} as const;

/** The digest of the image the service runs before a release (its current task definition's). */
export const STABLE_DIGEST = `sha256:${'0'.repeat(64)}`;

/** The SDK mocks (one per client class and test file): tests pass `mocks.ecs` etc. as the drivers' clients. */
export const mocks = { ecs: mockClient(ECSClient), cd: mockClient(CodeDeployClient), cw: mockClient(CloudWatchClient), ecr: mockClient(ECRClient) };

/** Answers the SDK mocks from the fake: ECS's task definitions, CodeDeploy's deployments, the alarm's state. */
export function installFakeAws(fake: FakeCodeDeploy, alarmState: () => 'OK' | 'ALARM' = () => 'OK'): void {
  const { ecs, cd, cw, ecr } = mocks;
  ecs.reset();
  cd.reset();
  cw.reset();
  ecr.reset();
  cd.on(GetDeploymentGroupCommand).callsFake(() => ({
    deploymentGroupInfo: {
      blueGreenDeploymentConfiguration: {
        deploymentReadyOption: { actionOnTimeout: fake.group.readyAction as never, waitTimeInMinutes: fake.group.readyWaitMinutes },
        terminateBlueInstancesOnDeploymentSuccess: { action: 'TERMINATE', terminationWaitTimeInMinutes: fake.group.terminationWaitMinutes },
      },
    },
  }));
  ecr.on(DescribeImagesCommand).callsFake((input: { repositoryName: string; imageIds: { imageDigest?: string; imageTag?: string }[] }) => {
    const id = input.imageIds[0]?.imageDigest ?? input.imageIds[0]?.imageTag ?? '';
    if (fake.missingImages.has(id)) throw Object.assign(new Error(`image ${id} not found`), { name: 'ImageNotFoundException' });
    return { imageDetails: [{ repositoryName: input.repositoryName }] };
  });
  ecs.on(DescribeServicesCommand).resolves({ services: [{ taskDefinition: 'arn:aws:ecs:eu-west-1:1:task-definition/api:1' }] });
  ecs.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      family: 'api',
      status: 'ACTIVE',
      containerDefinitions: [{ name: 'app', image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@${STABLE_DIGEST}` }],
    },
  });
  ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: 'arn:aws:ecs:eu-west-1:1:task-definition/api:2' } });
  cd.on(ListDeploymentsCommand).callsFake((i) => fake.list(i.includeOnlyStatuses));
  cd.on(CreateDeploymentConfigCommand).callsFake((i) => fake.createConfig(i));
  cd.on(CreateDeploymentCommand).callsFake((i) => fake.create(i));
  cd.on(GetDeploymentCommand).callsFake((i) => fake.get(i.deploymentId));
  cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['prod:api'] });
  cd.on(BatchGetDeploymentTargetsCommand).callsFake((i) => fake.targets(i.deploymentId));
  cd.on(ContinueDeploymentCommand).callsFake((i) => fake.continue(i.deploymentId, i.deploymentWaitType));
  cd.on(StopDeploymentCommand).callsFake((i) => fake.stop(i.deploymentId));
  cw.on(DescribeAlarmsCommand).callsFake(() => ({
    MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: alarmState(), StateReason: alarmState() === 'ALARM' ? 'Threshold Crossed: 3 datapoints > 5' : 'ok' }],
  }));
}
