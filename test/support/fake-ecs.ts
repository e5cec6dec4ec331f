import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
  type RegisterTaskDefinitionCommandInput,
  type ServiceDeployment,
  type Tag,
  type TaskDefinition,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import type { VirtualClock } from '../../src/ports/clock.js';

/**
 * A stateful ECS that plays service deployments forward on its own (virtual) clock, from the ECS API
 * reference and developer guide: blue/green, canary and linear deployments walk their lifecycle stages
 * (PRE_SCALE_UP … POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP), PAUSE hooks wait until continued
 * or until their timeout (then their timeout action), canary and linear steps bake for their own
 * minutes, rolling updates replace tasks in batches bounded by maximumPercent, with the circuit breaker
 * and alarms rolling back. It refuses what ECS refuses: PAUSE hooks at TEST_TRAFFIC_SHIFT or
 * PRODUCTION_TRAFFIC_SHIFT, hook timeouts outside 1..20160 minutes, canary percentages outside
 * 0.1..100 and linear steps outside 3..100 (both in multiples of 0.1), bakes over 1440 minutes,
 * blue/green without an alternate target group, continuing a hook that is not waiting, stopping a
 * deployment that is over.
 */

const CLUSTER = 'prod';
const SERVICE = 'api';
const REGION_ACCOUNT = 'eu-west-1:123456789012';
export const STABLE_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:${'0'.repeat(64)}`;
export const PRODUCTION_TG = `arn:aws:elasticloadbalancing:${REGION_ACCOUNT}:targetgroup/api-blue/0123456789abcdef`;
export const ALTERNATE_TG = `arn:aws:elasticloadbalancing:${REGION_ACCOUNT}:targetgroup/api-green/fedcba9876543210`;

/** How long ECS takes for the parts that are not waits (seconds): tasks starting, traffic moving, clean-up. */
export const ECS_TIMINGS = { scaleUp: 30, testShift: 5, productionShift: 5, cleanUp: 10, rollback: 5, taskStart: 20, rollingBake: 120 };

function refused(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

interface Stage {
  readonly stage: string;
  readonly seconds: number;
  /** Production weight of the new revision once this stage is done. */
  readonly weight?: number;
  readonly testWeight?: number;
}

interface Hook {
  readonly hookId: string;
  status: 'AWAITING_ACTION' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  readonly expiresAt: number;
  readonly timeoutAction: 'CONTINUE' | 'ROLLBACK';
  readonly stage: string;
}

interface Deployment {
  readonly arn: string;
  status: NonNullable<ServiceDeployment['status']>;
  statusReason?: string;
  readonly strategy: string;
  readonly config: DeploymentConfiguration;
  readonly source: string;
  readonly target: string;
  readonly createdAt: number;
  /** Hook-driven strategies: the stages still to walk, and when the current one began. */
  stages: Stage[];
  stageIndex: number;
  stageStart: number;
  hooks: Hook[];
  weight: number;
  testWeight: number;
  /** Rolling: tasks of each revision. */
  running: { target: number; source: number };
  rollingStart?: number;
  replacedAt?: number;
  rollbackStart?: number;
  rollbackFrom?: number;
  rollbackReason?: string;
}

export class FakeEcs {
  readonly desiredCount = 4;
  taskDefinitions = new Map<string, { definition: TaskDefinition; tags?: Tag[] }>();
  deployments: Deployment[] = [];
  service: {
    taskDefinition: string;
    deploymentConfiguration: DeploymentConfiguration;
    currentServiceDeployment?: string;
    controller: string;
    advanced: boolean;
  };
  /** Images whose tasks never become healthy (the rolling circuit breaker trips). */
  brokenImages = new Set<string>();
  /** Alarm states ECS reads for deployments configured with alarms. */
  alarmStates = new Map<string, 'OK' | 'ALARM'>();
  /** Every mutating call, in order, with its input: tests assert the exact SDK inputs. */
  calls: { command: string; input: unknown }[] = [];
  private revisions = new Map<string, number>();
  private n = 0;

  constructor(
    private readonly clock: VirtualClock,
    options: { deploymentConfiguration?: DeploymentConfiguration; controller?: string; advanced?: boolean } = {},
  ) {
    const stable = this.register({
      family: 'api',
      taskRoleArn: 'arn:aws:iam::123456789012:role/api-task',
      executionRoleArn: 'arn:aws:iam::123456789012:role/api-execution',
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        { name: 'app', image: STABLE_IMAGE, environment: [{ name: 'MODE', value: 'classic' }], portMappings: [{ containerPort: 8080 }] },
        { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable' },
      ],
      tags: [{ key: 'team', value: 'payments' }],
    });
    this.calls = [];
    this.service = {
      taskDefinition: stable,
      deploymentConfiguration: options.deploymentConfiguration ?? {
        strategy: 'ROLLING',
        maximumPercent: 200,
        minimumHealthyPercent: 100,
        deploymentCircuitBreaker: { enable: false, rollback: false },
      },
      controller: options.controller ?? 'ECS',
      advanced: options.advanced ?? true,
    };
  }

  private now(): number {
    return this.clock.now();
  }

  register(input: RegisterTaskDefinitionCommandInput): string {
    this.calls.push({ command: 'RegisterTaskDefinition', input });
    if (!input.family || !/^[A-Za-z0-9_-]{1,255}$/.test(input.family))
      throw refused('ClientException', 'Family must be 1-255 letters, numbers, hyphens or underscores');
    if (!input.containerDefinitions || input.containerDefinitions.length === 0) throw refused('ClientException', 'Container definitions are required');
    for (const c of input.containerDefinitions) {
      if (!c.name || !c.image) throw refused('ClientException', 'Container.name and Container.image should not be null or empty');
      if (/[{}\s]/.test(c.image)) throw refused('ClientException', `Invalid image reference format: ${c.image}`);
    }
    const revision = (this.revisions.get(input.family) ?? 0) + 1;
    this.revisions.set(input.family, revision);
    const arn = `arn:aws:ecs:${REGION_ACCOUNT}:task-definition/${input.family}:${revision}`;
    const { tags, ...rest } = input;
    this.taskDefinitions.set(arn, {
      definition: {
        ...(rest as TaskDefinition),
        taskDefinitionArn: arn,
        revision,
        status: 'ACTIVE',
        registeredAt: new Date(this.now()),
        compatibilities: ['EC2', 'FARGATE'],
      },
      ...(tags ? { tags } : {}),
    });
    return arn;
  }

  /** DescribeTaskDefinition takes an ARN, family:revision, or a family (its latest ACTIVE revision). */
  resolveTaskDefinition(name: string): { definition: TaskDefinition; tags?: Tag[] } | undefined {
    const direct = this.taskDefinitions.get(name);
    if (direct) return direct;
    const [family, revision] = name.split(':');
    const rev = revision ?? String(this.revisions.get(family ?? '') ?? 0);
    return this.taskDefinitions.get(`arn:aws:ecs:${REGION_ACCOUNT}:task-definition/${family}:${rev}`);
  }

  image(arn: string, container = 'app'): string | undefined {
    return this.taskDefinitions.get(arn)?.definition.containerDefinitions?.find((c) => c.name === container)?.image;
  }

  private validate(config: DeploymentConfiguration): void {
    const strategy = config.strategy ?? 'ROLLING';
    for (const hook of config.lifecycleHooks ?? []) {
      if (hook.targetType === 'PAUSE' && hook.lifecycleStages?.some((s) => s === 'TEST_TRAFFIC_SHIFT' || s === 'PRODUCTION_TRAFFIC_SHIFT')) {
        throw refused('InvalidParameterException', 'PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages');
      }
      const minutes = hook.timeoutConfiguration?.timeoutInMinutes;
      if (minutes !== undefined && (!Number.isInteger(minutes) || minutes < 1 || minutes > 20160)) {
        throw refused('InvalidParameterException', `timeoutInMinutes must be an integer from 1 to 20160, got ${minutes}`);
      }
      if (hook.targetType !== 'PAUSE' && !hook.hookTargetArn) throw refused('InvalidParameterException', 'hookTargetArn is required for AWS_LAMBDA hooks');
    }
    const tenth = (n: number) => Math.abs(n * 10 - Math.round(n * 10)) < 1e-9;
    const canary = config.canaryConfiguration;
    if (
      strategy === 'CANARY' &&
      canary?.canaryPercent !== undefined &&
      (canary.canaryPercent < 0.1 || canary.canaryPercent > 100 || !tenth(canary.canaryPercent))
    ) {
      throw refused('InvalidParameterException', `canaryPercent must be a multiple of 0.1 from 0.1 to 100.0, got ${canary.canaryPercent}`);
    }
    const linear = config.linearConfiguration;
    if (strategy === 'LINEAR' && linear?.stepPercent !== undefined && (linear.stepPercent < 3 || linear.stepPercent > 100 || !tenth(linear.stepPercent))) {
      throw refused('InvalidParameterException', `stepPercent must be a multiple of 0.1 from 3.0 to 100.0, got ${linear.stepPercent}`);
    }
    for (const m of [config.bakeTimeInMinutes, canary?.canaryBakeTimeInMinutes, linear?.stepBakeTimeInMinutes]) {
      if (m !== undefined && (m < 0 || m > 1440 || !Number.isInteger(m)))
        throw refused('InvalidParameterException', `bake times are whole minutes from 0 to 1440, got ${m}`);
    }
    if (strategy !== 'ROLLING' && !this.service.advanced) {
      throw refused(
        'InvalidParameterException',
        `the ${strategy} strategy requires a load balancer advancedConfiguration with an alternate target group and listener rules`,
      );
    }
    if (strategy === 'BLUE_GREEN' && config.bakeTimeInMinutes === undefined)
      throw refused('InvalidParameterException', 'bakeTimeInMinutes is required for BLUE_GREEN');
  }

  private stagesFor(config: DeploymentConfiguration): Stage[] {
    const strategy = config.strategy ?? 'ROLLING';
    const weights: number[] = [];
    let stepBake = 0;
    if (strategy === 'CANARY') {
      weights.push(config.canaryConfiguration?.canaryPercent ?? 5, 100);
      stepBake = config.canaryConfiguration?.canaryBakeTimeInMinutes ?? 10;
    } else if (strategy === 'LINEAR') {
      const step = config.linearConfiguration?.stepPercent ?? 10;
      for (let w = step; w < 100 - 1e-9; w += step) weights.push(Math.round(w * 10) / 10);
      weights.push(100);
      stepBake = config.linearConfiguration?.stepBakeTimeInMinutes ?? 6;
    } else weights.push(100);
    const stages: Stage[] = [
      { stage: 'PRE_SCALE_UP', seconds: 0 },
      { stage: 'SCALE_UP', seconds: ECS_TIMINGS.scaleUp },
      { stage: 'POST_SCALE_UP', seconds: 0 },
      { stage: 'TEST_TRAFFIC_SHIFT', seconds: ECS_TIMINGS.testShift, testWeight: 100 },
      { stage: 'POST_TEST_TRAFFIC_SHIFT', seconds: 0 },
    ];
    weights.forEach((w, i) => {
      stages.push({ stage: 'PRE_PRODUCTION_TRAFFIC_SHIFT', seconds: 0 });
      // The step's own bake ("not applied after reaching 100 percent") is spent in the shift stage.
      stages.push({ stage: 'PRODUCTION_TRAFFIC_SHIFT', seconds: ECS_TIMINGS.productionShift + (i < weights.length - 1 ? stepBake * 60 : 0), weight: w });
    });
    stages.push(
      { stage: 'POST_PRODUCTION_TRAFFIC_SHIFT', seconds: 0 },
      { stage: 'BAKE_TIME', seconds: (config.bakeTimeInMinutes ?? 0) * 60 },
      { stage: 'CLEAN_UP', seconds: ECS_TIMINGS.cleanUp },
    );
    return stages;
  }

  update(input: UpdateServiceCommandInput) {
    this.calls.push({ command: 'UpdateService', input });
    if (input.cluster !== CLUSTER || input.service !== SERVICE)
      throw refused('ServiceNotFoundException', `Service not found: ${input.cluster}/${input.service}`);
    if (input.deploymentConfiguration) this.validate({ ...input.deploymentConfiguration });
    if (input.deploymentConfiguration) this.service.deploymentConfiguration = input.deploymentConfiguration;
    // A new revision starts a service deployment; the same one only with forceNewDeployment (UpdateService reference).
    if (input.taskDefinition && (input.taskDefinition !== this.service.taskDefinition || input.forceNewDeployment)) {
      if (!this.taskDefinitions.has(input.taskDefinition)) throw refused('ClientException', `Unable to describe task definition ${input.taskDefinition}`);
      this.startDeployment(input.taskDefinition);
    }
    return { service: this.describeService() };
  }

  private startDeployment(target: string): void {
    const now = this.now();
    for (const d of this.deployments) {
      this.advance(d);
      if (d.status === 'IN_PROGRESS' || d.status === 'PENDING') {
        d.status = 'STOPPED';
        d.statusReason = 'a newer service deployment started';
      }
    }
    const config = structuredClone(this.service.deploymentConfiguration);
    const d: Deployment = {
      arn: `arn:aws:ecs:${REGION_ACCOUNT}:service-deployment/${CLUSTER}/${SERVICE}/sd${++this.n}`,
      status: 'IN_PROGRESS',
      strategy: config.strategy ?? 'ROLLING',
      config,
      source: this.service.taskDefinition,
      target,
      createdAt: now,
      stages: config.strategy && config.strategy !== 'ROLLING' ? this.stagesFor(config) : [],
      stageIndex: 0,
      stageStart: now,
      hooks: [],
      weight: 0,
      testWeight: 0,
      running: { target: 0, source: this.desiredCount },
      rollingStart: now,
    };
    this.deployments.push(d);
    this.service.taskDefinition = target;
    this.service.currentServiceDeployment = d.arn;
    this.enterStage(d, now);
  }

  private pauseStages(d: Deployment): Map<string, { minutes: number; action: 'CONTINUE' | 'ROLLBACK' }> {
    const out = new Map<string, { minutes: number; action: 'CONTINUE' | 'ROLLBACK' }>();
    for (const h of d.config.lifecycleHooks ?? []) {
      if (h.targetType !== 'PAUSE') continue;
      for (const s of h.lifecycleStages ?? [])
        out.set(s, { minutes: h.timeoutConfiguration?.timeoutInMinutes ?? 1440, action: h.timeoutConfiguration?.action ?? 'ROLLBACK' });
    }
    return out;
  }

  /** Entering a stage with a PAUSE hook holds the deployment there until the hook is answered. */
  private enterStage(d: Deployment, at: number): void {
    d.stageStart = at;
    const stage = d.stages[d.stageIndex];
    if (!stage) return;
    const pause = this.pauseStages(d).get(stage.stage);
    if (pause) {
      d.hooks.push({
        hookId: `ecs-pause-${d.arn.split('/').pop()}-${d.stageIndex}`,
        status: 'AWAITING_ACTION',
        expiresAt: at + pause.minutes * 60_000,
        timeoutAction: pause.action,
        stage: stage.stage,
      });
    }
  }

  private waiting(d: Deployment): Hook | undefined {
    return d.hooks.find((h) => h.status === 'AWAITING_ACTION');
  }

  private startRollback(d: Deployment, at: number, reason: string, status: 'ROLLBACK_IN_PROGRESS' | 'ROLLBACK_REQUESTED' = 'ROLLBACK_IN_PROGRESS'): void {
    d.status = status;
    d.rollbackStart = at;
    d.rollbackFrom = d.weight;
    d.rollbackReason = reason;
    d.statusReason = reason;
    for (const h of d.hooks) if (h.status === 'AWAITING_ACTION') h.status = 'FAILED';
  }

  /** Plays a deployment forward to now. */
  advance(d: Deployment): void {
    const now = this.now();
    if (d.status === 'ROLLBACK_IN_PROGRESS' || d.status === 'ROLLBACK_REQUESTED') {
      const done = (d.rollbackStart ?? now) + ECS_TIMINGS.rollback * 1000;
      if (now >= done) {
        d.status = 'ROLLBACK_SUCCESSFUL';
        d.weight = 0;
        d.testWeight = 0;
        d.running = { target: 0, source: this.desiredCount };
        if (this.service.currentServiceDeployment === d.arn) this.service.taskDefinition = d.source;
      } else d.status = 'ROLLBACK_IN_PROGRESS';
      return;
    }
    if (d.status !== 'IN_PROGRESS') return;
    if (d.strategy === 'ROLLING') return this.advanceRolling(d, now);
    for (;;) {
      const stage = d.stages[d.stageIndex];
      if (!stage) {
        d.status = 'SUCCESSFUL';
        return;
      }
      const hook = this.waiting(d);
      if (hook) {
        if (now < hook.expiresAt) return;
        // The hook's own timeout decides: its timeout action, at the moment it expired.
        hook.status = 'TIMED_OUT';
        if (hook.timeoutAction === 'ROLLBACK') {
          this.startRollback(d, hook.expiresAt, `the ${hook.stage} pause hook timed out`);
          return this.advance(d);
        }
        this.enterNext(d, hook.expiresAt);
        continue;
      }
      const end = d.stageStart + stage.seconds * 1000;
      if (now < end) return;
      if (stage.weight !== undefined) d.weight = stage.weight;
      if (stage.testWeight !== undefined) d.testWeight = stage.testWeight;
      this.enterNext(d, end);
    }
  }

  private enterNext(d: Deployment, at: number): void {
    const stage = d.stages[d.stageIndex];
    if (stage?.weight !== undefined) d.weight = stage.weight;
    if (stage?.testWeight !== undefined) d.testWeight = stage.testWeight;
    d.stageIndex++;
    if (d.stageIndex >= d.stages.length) {
      d.status = 'SUCCESSFUL';
      d.weight = 100;
      return;
    }
    this.enterStage(d, at);
  }

  private advanceRolling(d: Deployment, now: number): void {
    const max = d.config.maximumPercent ?? 200;
    const surge = Math.max(1, Math.floor((this.desiredCount * (max - 100)) / 100));
    const broken = this.brokenImages.has(this.image(d.target) ?? '');
    const alarms = d.config.alarms;
    const alarmed = alarms?.enable ? alarms.alarmNames?.find((a) => this.alarmStates.get(a) === 'ALARM') : undefined;
    if (alarmed) {
      if (alarms?.rollback) return this.startRollback(d, now, `CloudWatch alarm ${alarmed} is in ALARM`);
      d.status = 'STOPPED';
      d.statusReason = `CloudWatch alarm ${alarmed} is in ALARM`;
      return;
    }
    const batches = Math.floor((now - (d.rollingStart ?? now)) / (ECS_TIMINGS.taskStart * 1000));
    if (broken) {
      // New tasks never get healthy: the circuit breaker trips after a few failed launches.
      if (batches >= 3 && d.config.deploymentCircuitBreaker?.enable) {
        if (d.config.deploymentCircuitBreaker.rollback) return this.startRollback(d, now, 'the deployment circuit breaker tripped: tasks failed to start');
        d.status = 'STOPPED';
        d.statusReason = 'the deployment circuit breaker tripped';
      }
      return;
    }
    const target = Math.min(this.desiredCount, batches * surge);
    d.running = { target, source: this.desiredCount - target };
    d.weight = (100 * target) / this.desiredCount;
    if (target < this.desiredCount) return;
    d.replacedAt ??= now;
    // With alarms, ECS keeps the deployment in progress for a bake time while it watches them.
    const bake = alarms?.enable ? ECS_TIMINGS.rollingBake * 1000 : 0;
    if (now >= d.replacedAt + bake) d.status = 'SUCCESSFUL';
  }

  private find(arn: string | undefined): Deployment {
    const d = this.deployments.find((x) => x.arn === arn);
    if (!d) throw refused('ServiceDeploymentNotFoundException', `service deployment ${arn} was not found`);
    this.advance(d);
    return d;
  }

  describeDeployment(arn: string): ServiceDeployment {
    const d = this.find(arn);
    const rolling = d.strategy === 'ROLLING';
    return {
      serviceDeploymentArn: d.arn,
      serviceArn: `arn:aws:ecs:${REGION_ACCOUNT}:service/${CLUSTER}/${SERVICE}`,
      clusterArn: `arn:aws:ecs:${REGION_ACCOUNT}:cluster/${CLUSTER}`,
      status: d.status,
      ...(d.statusReason ? { statusReason: d.statusReason } : {}),
      ...(d.stages[d.stageIndex] ? { lifecycleStage: d.stages[d.stageIndex]!.stage as never } : {}),
      targetServiceRevision: {
        arn: `${d.arn}/revision/target`,
        runningTaskCount: rolling ? d.running.target : d.weight > 0 || d.stageIndex > 1 ? this.desiredCount : 0,
        requestedProductionTrafficWeight: d.weight,
        requestedTestTrafficWeight: d.testWeight,
      },
      sourceServiceRevisions: [
        {
          arn: `${d.arn}/revision/source`,
          runningTaskCount: rolling ? d.running.source : d.status === 'SUCCESSFUL' ? 0 : this.desiredCount,
          requestedProductionTrafficWeight: 100 - d.weight,
        },
      ],
      lifecycleHookDetails: d.hooks.map((h) => ({
        hookId: h.hookId,
        targetType: 'PAUSE',
        status: h.status,
        expiresAt: new Date(h.expiresAt),
        timeoutAction: h.timeoutAction,
      })),
      deploymentConfiguration: d.config,
      ...(d.rollbackReason ? { rollback: { reason: d.rollbackReason, startedAt: new Date(d.rollbackStart ?? 0) } } : {}),
    };
  }

  continue(arn: string, hookId: string, action: string | undefined) {
    this.calls.push({ command: 'ContinueServiceDeployment', input: { serviceDeploymentArn: arn, hookId, action } });
    const d = this.find(arn);
    if (d.status !== 'IN_PROGRESS') throw refused('InvalidParameterException', `The service deployment must be IN_PROGRESS, it is ${d.status}`);
    const hook = d.hooks.find((h) => h.hookId === hookId);
    if (!hook || hook.status !== 'AWAITING_ACTION') throw refused('InvalidParameterException', `The pause hook ${hookId} must be in AWAITING_ACTION status`);
    hook.status = 'SUCCEEDED';
    if (action === 'ROLLBACK') this.startRollback(d, this.now(), 'rolled back at a pause hook (ContinueServiceDeployment ROLLBACK)', 'ROLLBACK_REQUESTED');
    else this.enterNext(d, this.now());
    return { serviceDeploymentArn: arn };
  }

  stop(arn: string, stopType: string | undefined) {
    this.calls.push({ command: 'StopServiceDeployment', input: { serviceDeploymentArn: arn, stopType } });
    const d = this.find(arn);
    if (d.status !== 'IN_PROGRESS' && d.status !== 'PENDING') throw refused('ConflictException', `The service deployment is ${d.status} and cannot be stopped`);
    if (stopType === 'ROLLBACK') this.startRollback(d, this.now(), 'stopped with rollback (StopServiceDeployment)', 'ROLLBACK_REQUESTED');
    else {
      d.status = 'STOPPED';
      d.statusReason = 'stopped (StopServiceDeployment ABORT)';
    }
    return { serviceDeploymentArn: arn };
  }

  /** Someone stops the deployment from the console: no rollback, traffic stays where it was. */
  stopOutside(arn: string): void {
    const d = this.find(arn);
    d.status = 'STOPPED';
    d.statusReason = 'stopped by a user in the console';
    for (const h of d.hooks) if (h.status === 'AWAITING_ACTION') h.status = 'FAILED';
  }

  latest(): Deployment | undefined {
    const d = this.deployments.at(-1);
    if (d) this.advance(d);
    return d;
  }

  describeService() {
    const d = this.latest();
    const over = !d || ['SUCCESSFUL', 'ROLLBACK_SUCCESSFUL', 'STOPPED'].includes(d.status);
    return {
      serviceName: SERVICE,
      taskDefinition: this.service.taskDefinition,
      deploymentConfiguration: structuredClone(this.service.deploymentConfiguration),
      deploymentController: { type: this.service.controller as 'ECS' },
      desiredCount: this.desiredCount,
      loadBalancers: [
        {
          targetGroupArn: PRODUCTION_TG,
          containerName: 'app',
          containerPort: 8080,
          ...(this.service.advanced
            ? {
                advancedConfiguration: {
                  alternateTargetGroupArn: ALTERNATE_TG,
                  productionListenerRule: 'arn:aws:elasticloadbalancing:rule/prod',
                  roleArn: 'arn:aws:iam::123456789012:role/ecs-lb',
                },
              }
            : {}),
        },
      ],
      ...(this.service.currentServiceDeployment ? { currentServiceDeployment: this.service.currentServiceDeployment } : {}),
      deployments: over
        ? [{ status: 'PRIMARY', taskDefinition: this.service.taskDefinition, rolloutState: 'COMPLETED' as const }]
        : [
            { status: 'PRIMARY', taskDefinition: d.target, rolloutState: 'IN_PROGRESS' as const },
            { status: 'ACTIVE', taskDefinition: d.source, rolloutState: 'COMPLETED' as const },
          ],
    };
  }

  list(statuses: readonly string[] | undefined) {
    for (const d of this.deployments) this.advance(d);
    return {
      serviceDeployments: [...this.deployments]
        .reverse()
        .filter((d) => !statuses || statuses.length === 0 || statuses.includes(d.status))
        .map((d) => ({ serviceDeploymentArn: d.arn, status: d.status, createdAt: new Date(d.createdAt) })),
    };
  }
}

export const ecsMock = mockClient(ECSClient);

/** The ecs driver's target for the fake's service. */
export const FAKE_ECS_TARGET = {
  driver: 'ecs',
  cluster: CLUSTER,
  service: SERVICE,
  containerName: 'app',
  targetGroups: [
    { targetGroup: 'targetgroup/api-blue/0123456789abcdef', loadBalancer: 'app/prod/0123456789abcdef' },
    { targetGroup: 'targetgroup/api-green/fedcba9876543210', loadBalancer: 'app/prod/0123456789abcdef' },
  ],
} as const;

/** Answers the ECS SDK mock from the fake. */
export function installFakeEcs(fake: FakeEcs): void {
  ecsMock.reset();
  ecsMock
    .on(DescribeServicesCommand)
    .callsFake((i: { cluster?: string; services?: string[] }) =>
      i.cluster === CLUSTER && i.services?.[0] === SERVICE ? { services: [fake.describeService()] } : { services: [], failures: [{ reason: 'MISSING' }] },
    );
  ecsMock.on(DescribeTaskDefinitionCommand).callsFake((i: { taskDefinition: string; include?: string[] }) => {
    const td = fake.resolveTaskDefinition(i.taskDefinition);
    if (!td) throw refused('ClientException', `Unable to describe task definition ${i.taskDefinition}`);
    return { taskDefinition: structuredClone(td.definition), ...(i.include?.includes('TAGS') && td.tags ? { tags: td.tags } : {}) };
  });
  ecsMock
    .on(RegisterTaskDefinitionCommand)
    .callsFake((i: RegisterTaskDefinitionCommandInput) => ({ taskDefinition: { taskDefinitionArn: fake.register(structuredClone(i)) } }));
  ecsMock.on(UpdateServiceCommand).callsFake((i: UpdateServiceCommandInput) => fake.update(structuredClone(i)));
  ecsMock.on(ListServiceDeploymentsCommand).callsFake((i: { status?: string[] }) => fake.list(i.status));
  ecsMock.on(DescribeServiceDeploymentsCommand).callsFake((i: { serviceDeploymentArns: string[] }) => ({
    serviceDeployments: i.serviceDeploymentArns.map((arn) => fake.describeDeployment(arn)),
  }));
  ecsMock
    .on(ContinueServiceDeploymentCommand)
    .callsFake((i: { serviceDeploymentArn: string; hookId: string; action?: string }) => fake.continue(i.serviceDeploymentArn, i.hookId, i.action));
  ecsMock.on(StopServiceDeploymentCommand).callsFake((i: { serviceDeploymentArn: string; stopType?: string }) => fake.stop(i.serviceDeploymentArn, i.stopType));
}
