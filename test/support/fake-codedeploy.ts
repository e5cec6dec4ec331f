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
import { seeded } from './traffic.js';

/**
 * How long green's task set takes to be ready (CodeDeploy's Install event) on the fake's clock, at AWS's
 * defaults: its tasks start (up to 90 s) and pass the target group's health checks (interval 30 s x
 * healthy threshold 5, ELB CreateTargetGroup reference).
 */
export const INSTALL_SECONDS = 90 + 30 * 5;

/** After the termination wait ends, the blue task set drains for the target group's deregistration delay (default 300 s) before Succeeded. */
export const TERMINATION_SECONDS = 300;

/** The most GetDeployment reads of one deployment a single task may make: more is polling (no task waits on AWS). */
export const MAX_READS_PER_TASK = 3;

export interface FakeCodeDeployOptions {
  /** `hostile` adds, seeded: a read after a write shows the state before it once, and bursts of ThrottlingException. @default 'aws' */
  readonly profile?: 'aws' | 'hostile';
  readonly seed?: number;
}

/**
 * A CodeDeploy that plays ECS blue/green deployments forward on the virtual clock, at AWS's default
 * clocks (green ready after its tasks start and pass health checks; blue drained for the deregistration
 * delay after the termination wait). The `hostile` profile lags reads behind writes and throttles in
 * bursts. `beginTask`/`endTask` fail a task that reads one deployment more than MAX_READS_PER_TASK times.
 */
export class FakeCodeDeploy {
  configs = new Map<string, { type: 'canary' | 'linear'; percent: number; minutes: number }>([
    ['CodeDeployDefault.ECSAllAtOnce', { type: 'canary', percent: 100, minutes: 0 }],
  ]);
  deployments = new Map<
    string,
    {
      status: string;
      config: string;
      description: string;
      shiftStart?: number;
      green: number;
      createdAt: number;
      terminatedAt?: number;
      error?: { code: string; message: string };
    }
  >();
  log: string[] = [];
  /** The deployment group's blue/green settings, as GetDeploymentGroup returns them. */
  group = { readyAction: 'STOP_DEPLOYMENT', readyWaitMinutes: 180, terminationWaitMinutes: 180 };
  /** Images ECR no longer has (DescribeImages answers ImageNotFoundException). */
  missingImages = new Set<string>();
  /** When set, a stopped deployment keeps this much production traffic on green (a rollback that does not happen). */
  stuckGreen: number | undefined;
  private n = 0;
  private readonly hostile: boolean;
  private readonly random: () => number;
  private burst = 0;
  /** Deployments whose next read shows the state before the last write (hostile). */
  private stale = new Map<string, ReturnType<FakeCodeDeploy['snapshot']>>();
  private task: { name: string; reads: Map<string, number> } | undefined;
  /** Calls answered with ThrottlingException (hostile). */
  throttled: string[] = [];
  /** Tasks that polled (each also threw inside the task). */
  pollingViolations: string[] = [];
  constructor(
    private readonly clock: VirtualClock,
    { profile = 'aws', seed = 1 }: FakeCodeDeployOptions = {},
  ) {
    this.hostile = profile === 'hostile';
    this.random = seeded(seed);
  }

  /** Every SDK call passes here: in `hostile`, a seeded burst of throttling (one to three calls). */
  sdkCall(command: string): void {
    if (!this.hostile) return;
    if (this.burst === 0 && this.random() < 0.1) this.burst = 1 + Math.floor(this.random() * 3);
    if (this.burst === 0) return;
    this.burst--;
    this.throttled.push(command);
    throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  }

  beginTask(name: string): void {
    this.task = { name, reads: new Map() };
  }
  endTask(): void {
    this.task = undefined;
  }
  private countRead(id: string): void {
    if (!this.task) return;
    const reads = (this.task.reads.get(id) ?? 0) + 1;
    this.task.reads.set(id, reads);
    if (reads > MAX_READS_PER_TASK) {
      const message = `task ${this.task.name} read deployment ${id} ${reads} times: a task that polls waits on AWS`;
      this.pollingViolations.push(message);
      throw new Error(message);
    }
  }

  private snapshot(id: string) {
    const d = this.deployments.get(id);
    return d ? { status: d.status, green: d.green } : undefined;
  }

  /** A write to a deployment: in `hostile`, the next read of it still shows the state before. */
  private wrote(id: string, before: ReturnType<FakeCodeDeploy['snapshot']>): void {
    if (this.hostile && before) this.stale.set(id, before);
  }

  private advance(id: string) {
    const d = this.deployments.get(id);
    if (!d) throw Object.assign(new Error('no such deployment'), { name: 'DeploymentDoesNotExistException' });
    // Green's task set starts on CodeDeploy's clock (its Install event), then waits in READY_WAIT.
    if (d.status === 'Created' && this.clock.now() - d.createdAt >= INSTALL_SECONDS * 1000) d.status = 'Ready';
    if (d.status === 'Terminating' && d.terminatedAt !== undefined && this.clock.now() - d.terminatedAt >= TERMINATION_SECONDS * 1000) d.status = 'Succeeded';
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
    const active = [...this.deployments.entries()].find(([key]) =>
      ['Created', 'Queued', 'Ready', 'InProgress', 'Baking', 'Terminating'].includes(this.advance(key).status),
    );
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
    const shown = (status: string) => (status === 'Terminating' ? 'InProgress' : status);
    const ids = [...this.deployments.entries()].filter(([, d]) => !statuses || statuses.length === 0 || statuses.includes(shown(d.status))).map(([id]) => id);
    return { deployments: ids.reverse() };
  }
  get(id: string) {
    this.countRead(id);
    const d = this.advance(id);
    const stale = this.stale.get(id);
    this.stale.delete(id);
    // The blue task set draining after the termination wait: CodeDeploy still says InProgress.
    const status = stale?.status ?? (d.status === 'Terminating' ? 'InProgress' : d.status);
    return {
      deploymentInfo: { deploymentId: id, status: status as never, description: d.description, ...(d.error ? { errorInformation: d.error as never } : {}) },
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
    this.wrote(id, this.snapshot(id));
    this.log.push(`ContinueDeployment ${wait}`);
    // Continuing is only for a deployment that waits: in its ready wait, or fully shifted in its termination wait.
    if (wait === 'READY_WAIT' && d.status === 'Ready') {
      d.status = 'InProgress';
      d.shiftStart = this.clock.now();
      this.advance(id);
    } else if (wait === 'TERMINATION_WAIT' && d.status === 'InProgress' && d.green === 100) {
      // The blue task set goes now: it drains for the deregistration delay, then the deployment succeeds.
      d.status = 'Terminating';
      d.terminatedAt = this.clock.now();
    } else {
      throw Object.assign(new Error(`deployment ${id} is ${d.status} at ${d.green}%, not waiting for ${wait}`), {
        name: 'DeploymentIsNotInReadyStateException',
      });
    }
    return {};
  }
  stop(id: string) {
    const d = this.advance(id);
    this.wrote(id, this.snapshot(id));
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
  const sdk =
    <I, O>(command: string, answer: (input: I) => O) =>
    (input: I): O => {
      fake.sdkCall(command);
      return answer(input);
    };
  cd.on(ListDeploymentsCommand).callsFake(sdk('ListDeployments', (i: { includeOnlyStatuses?: string[] }) => fake.list(i.includeOnlyStatuses)));
  cd.on(CreateDeploymentConfigCommand).callsFake(sdk('CreateDeploymentConfig', (i: CreateDeploymentConfigCommandInput) => fake.createConfig(i)));
  cd.on(CreateDeploymentCommand).callsFake(sdk('CreateDeployment', (i: CreateDeploymentCommandInput) => fake.create(i)));
  cd.on(GetDeploymentCommand).callsFake(sdk('GetDeployment', (i: { deploymentId: string }) => fake.get(i.deploymentId)));
  cd.on(ListDeploymentTargetsCommand).callsFake(sdk('ListDeploymentTargets', () => ({ targetIds: ['prod:api'] })));
  cd.on(BatchGetDeploymentTargetsCommand).callsFake(sdk('BatchGetDeploymentTargets', (i: { deploymentId: string }) => fake.targets(i.deploymentId)));
  cd.on(ContinueDeploymentCommand).callsFake(
    sdk('ContinueDeployment', (i: { deploymentId: string; deploymentWaitType: string }) => fake.continue(i.deploymentId, i.deploymentWaitType)),
  );
  cd.on(StopDeploymentCommand).callsFake(sdk('StopDeployment', (i: { deploymentId: string }) => fake.stop(i.deploymentId)));
  cw.on(DescribeAlarmsCommand).callsFake(() => ({
    MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: alarmState(), StateReason: alarmState() === 'ALARM' ? 'Threshold Crossed: 3 datapoints > 5' : 'ok' }],
  }));
}
