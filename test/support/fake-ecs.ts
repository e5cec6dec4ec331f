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
  type ListServiceDeploymentsCommandInput,
  type RegisterTaskDefinitionCommandInput,
  type ServiceDeployment,
  type Tag,
  type TaskDefinition,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import type { VirtualClock } from '../../src/ports/clock.js';
import { seeded } from './traffic.js';

/**
 * A stateful ECS that plays service deployments forward on its own (virtual) clock and keeps ECS's
 * rules and clocks, starting from AWS's defaults, so a test fails where a real account would.
 *
 * - Blue/green, canary and linear deployments walk their lifecycle stages (PRE_SCALE_UP …
 *   POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP). SCALE_UP ends only when every green task has
 *   started (30-90 s, seeded) and passed the target group's health checks (interval 30 s x healthy
 *   threshold 5); CLEAN_UP waits for the deregistration delay (300 s). PAUSE hooks wait until continued
 *   or until their timeout (then their timeout action).
 * - Rolling updates are a task-by-task scheduler bounded by maximumPercent (rounded down) and
 *   minimumHealthyPercent (rounded up); stopped tasks drain for the deregistration delay; with
 *   deployment alarms ECS adds its own bake; the circuit breaker counts failed tasks.
 * - UpdateService merges deploymentConfiguration; a configuration-only update starts a deployment.
 * - It refuses what ECS refuses: PAUSE hooks at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT, hook
 *   timeouts outside 1..20160 minutes, canary percentages outside 0.1..100 and linear steps outside
 *   3..100 (both in multiples of 0.1), bakes over 1440 minutes, blue/green without an alternate target
 *   group, earlySuccessCriteria outside ROLLING, a new task definition on a CODE_DEPLOY service,
 *   continuing a hook that is not waiting (so a second continue of one hookId), stopping a deployment
 *   that is over, describing services in a cluster that does not exist (ClusterNotFoundException).
 * - The `hostile` profile adds, seeded and deterministic: reads one call behind writes, bursts of
 *   ThrottlingException, ListServiceDeployments in shuffled order.
 * - `beginTask(name)` / `endTask()` guard "no task waits on AWS": describing one service deployment, or
 *   the service, more than 3 times inside one task throws.
 *
 * Every rule has a switch in `rules` so a test can make the fake violate it (see {@link FakeEcsRules}).
 * docs/aws-behaviours.md lists each behaviour with its source.
 *
 * @example
 * const fake = new FakeEcs(clock, { desiredCount: 2, profile: 'hostile', seed: 7, rules: { mergesUpdates: false } });
 * installFakeEcs(fake);
 */

const CLUSTER = 'prod';
const SERVICE = 'api';
const REGION_ACCOUNT = 'eu-west-1:123456789012';
export const STABLE_IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:${'0'.repeat(64)}`;
export const PRODUCTION_TG = `arn:aws:elasticloadbalancing:${REGION_ACCOUNT}:targetgroup/api-blue/0123456789abcdef`;
export const ALTERNATE_TG = `arn:aws:elasticloadbalancing:${REGION_ACCOUNT}:targetgroup/api-green/fedcba9876543210`;

/** ECS's and the load balancer's clocks, in seconds. Every default says where it comes from. */
export interface FakeEcsTimings {
  /**
   * A task's launch to RUNNING (image pull, ENI, container start): drawn per task, seeded, from min to max.
   * Not a documented number: Fargate launches are commonly 30-90 s; `switchyard probe` observes it.
   */
  readonly taskStartMin: number;
  readonly taskStartMax: number;
  /** ALB target group `HealthCheckIntervalSeconds`, default 30 (ELB API reference, CreateTargetGroup). */
  readonly healthCheckInterval: number;
  /** ALB target group `HealthyThresholdCount`, default 5 for HTTP/HTTPS (ELB API reference, CreateTargetGroup). */
  readonly healthyThreshold: number;
  /** ALB target group `UnhealthyThresholdCount`, default 2 for HTTP/HTTPS (ELB API reference, CreateTargetGroup). */
  readonly unhealthyThreshold: number;
  /**
   * Target group attribute `deregistration_delay.timeout_seconds`, default 300 (ELB API reference,
   * TargetGroupAttribute): blue/green CLEAN_UP and each old task of a rolling update drain this long.
   */
  readonly deregistrationDelay: number;
  /**
   * Rolling update with deployment alarms: the bake after the old tasks are gone, while ECS watches the
   * alarms and the deployment stays IN_PROGRESS. "Amazon ECS computes this time period based on the alarm
   * configuration associated with the deployment. You can't set this value." (ECS developer guide,
   * deployment-alarm-failure). No number is published: 300 s stands for five 60 s alarm periods;
   * `switchyard probe` settles it.
   */
  readonly alarmBake: number;
  /** Test and production listener rule changes: not documented, seconds in practice. */
  readonly testShift: number;
  readonly productionShift: number;
  /** A rollback's traffic move back to the source revision (its tasks still run). */
  readonly rollback: number;
}

/** AWS's defaults (see each member of {@link FakeEcsTimings}). */
export const ECS_TIMINGS: FakeEcsTimings = {
  taskStartMin: 30,
  taskStartMax: 90,
  healthCheckInterval: 30,
  healthyThreshold: 5,
  unhealthyThreshold: 2,
  deregistrationDelay: 300,
  alarmBake: 300,
  testShift: 5,
  productionShift: 5,
  rollback: 5,
};

/**
 * One switch per ECS behaviour, named after the behaviour: `true` is what ECS does (unless the member
 * says otherwise). Set one to the other value to make the fake violate the rule, e.g. to prove a test
 * (or `switchyard probe`) notices.
 */
export interface FakeEcsRules {
  /**
   * UpdateService merges `deploymentConfiguration`: an omitted member is "no change"
   * (`lifecycleHooks: []` clears the hooks). `false`: the whole configuration is replaced.
   */
  readonly mergesUpdates: boolean;
  /**
   * An UpdateService that changes only the deployment configuration starts a service deployment with the
   * same task definition ("When you update any of these parameters, Amazon ECS starts new tasks with the
   * new configuration", UpdateService API reference). `false`: only a new task definition (or
   * forceNewDeployment) starts one. Sending the configuration the service already has starts nothing.
   */
  readonly configUpdateStartsDeployment: boolean;
  /**
   * ECS reads are eventually consistent (ECS API reference: "The Amazon ECS API follows an eventual
   * consistency model"): the first DescribeServices / DescribeServiceDeployments after a write shows the
   * state before it (currentServiceDeployment missing, the new deployment MISSING, the hook still
   * AWAITING_ACTION). Default: `false` in `aws`, `true` in `hostile`.
   */
  readonly readsLag: boolean;
  /** Seeded bursts of ThrottlingException (HTTP 400) on any call. Default: `false` in `aws`, `true` in `hostile`. */
  readonly throttles: boolean;
  /**
   * ListServiceDeployments documents no order: `created` (oldest first, `aws`), `shuffled` (seeded, stable
   * across pages, `hostile`), or `newest-first` (what code that assumes an order expects).
   */
  readonly listOrder: 'created' | 'shuffled' | 'newest-first';
  /** ListServiceDeployments returns at most `maxResults` (default 20, 1..100) and a nextToken. `false`: everything at once. */
  readonly pagesLists: boolean;
  /**
   * maximumPercent is rounded down and minimumHealthyPercent up (SDK model, `DeploymentConfiguration`
   * doc comment). `false`: rounded the other way (more room than ECS gives).
   */
  readonly roundsTaskCounts: boolean;
  /** A task counts healthy only after the target group's health checks (interval x healthy threshold). `false`: when it starts. */
  readonly waitsForHealthChecks: boolean;
  /** CLEAN_UP and stopped rolling tasks wait for the deregistration delay. `false`: they go at once. */
  readonly drainsTargets: boolean;
  /** With deployment alarms, a rolling update stays IN_PROGRESS for ECS's own bake. `false`: it succeeds once replaced. */
  readonly bakesAfterAlarmedRolling: boolean;
  /** ContinueServiceDeployment of a hook that is not AWAITING_ACTION (a second continue) is refused. `false`: ignored. */
  readonly refusesRepeatContinue: boolean;
  /**
   * earlySuccessCriteria is refused outside ROLLING ("You can use early success criteria only with
   * rolling deployment strategy", SDK model `DeploymentEarlySuccessCriteria`). `false`: ignored there.
   */
  readonly refusesEarlySuccessOutsideRolling: boolean;
}

export type FakeEcsProfile = 'aws' | 'hostile';

const AWS_RULES: FakeEcsRules = {
  mergesUpdates: true,
  configUpdateStartsDeployment: true,
  readsLag: false,
  throttles: false,
  listOrder: 'created',
  pagesLists: true,
  roundsTaskCounts: true,
  waitsForHealthChecks: true,
  drainsTargets: true,
  bakesAfterAlarmedRolling: true,
  refusesRepeatContinue: true,
  refusesEarlySuccessOutsideRolling: true,
};

const PROFILES: Record<FakeEcsProfile, FakeEcsRules> = {
  aws: AWS_RULES,
  // On top of AWS's rules: reads lag writes, throttling bursts, lists in no order.
  hostile: { ...AWS_RULES, readsLag: true, throttles: true, listOrder: 'shuffled' },
};

export interface FakeEcsOptions {
  /** The service's configuration before any release. */
  readonly deploymentConfiguration?: DeploymentConfiguration;
  /** Deployment controller type. @default 'ECS' */
  readonly controller?: string;
  /** Whether the load balancer has an advancedConfiguration (alternate target group). @default true */
  readonly advanced?: boolean;
  /** Whether the service is behind a load balancer at all (`loadBalancers: []` when not). @default true */
  readonly loadBalanced?: boolean;
  /** @default 4 */
  readonly desiredCount?: number;
  /** @default 'aws' */
  readonly profile?: FakeEcsProfile;
  /** Seeds task start times, throttling bursts and shuffled order. @default 1 */
  readonly seed?: number;
  readonly timings?: Partial<FakeEcsTimings>;
  /** Overrides the profile's rules one by one. */
  readonly rules?: Partial<FakeEcsRules>;
  /** `hostile`: the chance that a call starts a throttling burst. @default 0.15 */
  readonly throttleRate?: number;
}

/** How many times one task may describe the same service deployment (or the service) before it is polling. */
export const MAX_DESCRIBES_PER_TASK = 3;

function refused(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

/** JSON with sorted keys: two configurations that differ only in key order are the same configuration. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
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

/** A rolling update's tasks, simulated event by event up to `t`. */
interface RollingTasks {
  t: number;
  /** Old tasks registered and healthy. */
  old: number;
  /** When each deregistering old task stops. */
  draining: number[];
  /** New tasks launched (at most desiredCount), with when each starts, is healthy, or fails its health checks. */
  fresh: { startedAt: number; healthyAt: number; failsAt: number }[];
  failures: number;
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
  /** Stable seeded key for the shuffled list order. */
  readonly listKey: number;
  /** Hook-driven strategies: the stages still to walk, and when the current one began. */
  stages: Stage[];
  stageIndex: number;
  stageStart: number;
  /** Blue/green: seconds after SCALE_UP began at which each green task started. */
  greenStarts: number[];
  hooks: Hook[];
  weight: number;
  testWeight: number;
  /** Rolling: tasks of each revision. */
  running: { target: number; source: number };
  rolling?: RollingTasks;
  rollingStart?: number;
  replacedAt?: number;
  rollbackStart?: number;
  rollbackFrom?: number;
  rollbackReason?: string;
}

type ServiceView = ReturnType<FakeEcs['describeService']>;

export class FakeEcs {
  readonly desiredCount: number;
  readonly profile: FakeEcsProfile;
  readonly seed: number;
  readonly timings: FakeEcsTimings;
  readonly rules: FakeEcsRules;
  taskDefinitions = new Map<string, { definition: TaskDefinition; tags?: Tag[] }>();
  deployments: Deployment[] = [];
  service: {
    taskDefinition: string;
    deploymentConfiguration: DeploymentConfiguration;
    currentServiceDeployment?: string;
    controller: string;
    advanced: boolean;
    loadBalanced: boolean;
  };
  /** Images whose tasks never become healthy (the rolling circuit breaker trips). */
  brokenImages = new Set<string>();
  /** Alarm states ECS reads for deployments configured with alarms. */
  alarmStates = new Map<string, 'OK' | 'ALARM'>();
  /** Every mutating call, in order, with its input: tests assert the exact SDK inputs. */
  calls: { command: string; input: unknown }[] = [];
  /** SDK calls answered with ThrottlingException (hostile profile). */
  throttled: { command: string }[] = [];
  /** Every time a task described the same thing more than {@link MAX_DESCRIBES_PER_TASK} times (also thrown). */
  pollingViolations: string[] = [];
  private revisions = new Map<string, number>();
  private n = 0;
  private readonly random: () => number;
  private readonly throttleRate: number;
  private burst = 0;
  /** readsLag: what the next read of the service / of a deployment shows instead of the truth. */
  private staleService: ServiceView | undefined;
  private staleDeployments = new Map<string, ServiceDeployment | 'MISSING'>();
  private task: { name: string; reads: Map<string, number> } | undefined;

  constructor(
    private readonly clock: VirtualClock,
    options: FakeEcsOptions = {},
  ) {
    this.desiredCount = options.desiredCount ?? 4;
    this.profile = options.profile ?? 'aws';
    this.seed = options.seed ?? 1;
    this.timings = { ...ECS_TIMINGS, ...options.timings };
    this.rules = { ...PROFILES[this.profile], ...options.rules };
    this.random = seeded(this.seed);
    this.throttleRate = options.throttleRate ?? 0.15;
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
      loadBalanced: options.loadBalanced ?? true,
    };
  }

  private now(): number {
    return this.clock.now();
  }

  /** A seeded task start time, in seconds. */
  private taskStart(): number {
    const { taskStartMin: min, taskStartMax: max } = this.timings;
    return min + Math.round(this.random() * (max - min));
  }

  /** Seconds from a task starting to it counting healthy: health check interval x healthy threshold. */
  private healthWait(): number {
    return this.rules.waitsForHealthChecks ? this.timings.healthCheckInterval * this.timings.healthyThreshold : 0;
  }

  private drainWait(): number {
    return this.rules.drainsTargets ? this.timings.deregistrationDelay : 0;
  }

  // ---- The task guard: no task waits on AWS ----

  /** The engine calls this when a workflow task starts; describing one thing more than 3 times inside it throws. */
  beginTask(name: string): void {
    this.task = { name, reads: new Map() };
  }

  endTask(): void {
    this.task = undefined;
  }

  private countRead(what: string): void {
    if (!this.task) return;
    const count = (this.task.reads.get(what) ?? 0) + 1;
    this.task.reads.set(what, count);
    if (count > MAX_DESCRIBES_PER_TASK) {
      const message =
        `task "${this.task.name}" described ${what} ${count} times: that is polling, and no task may wait on AWS ` +
        `(return "not yet" and let the workflow's Wait state ask again)`;
      this.pollingViolations.push(message);
      throw new Error(message);
    }
  }

  /** An SDK call arrives: in `hostile` it may be throttled (see {@link FakeEcsRules.throttles}). */
  sdkCall(command: string): void {
    this.gate(command);
  }

  /** Hostile: a seeded burst of ThrottlingException on any call. */
  private gate(command: string): void {
    if (!this.rules.throttles) return;
    if (this.burst === 0 && this.random() < this.throttleRate) this.burst = 1 + Math.floor(this.random() * 3);
    if (this.burst === 0) return;
    this.burst--;
    this.throttled.push({ command });
    throw refused('ThrottlingException', 'Rate exceeded');
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

  /**
   * The task counts ECS works with: maximumPercent of desiredCount rounded DOWN, minimumHealthyPercent
   * rounded UP (SDK model, `DeploymentConfiguration.maximumPercent` / `.minimumHealthyPercent` doc comments).
   */
  taskBounds(config: DeploymentConfiguration = this.service.deploymentConfiguration): { maxTasks: number; minHealthy: number } {
    const max = (this.desiredCount * (config.maximumPercent ?? 200)) / 100;
    const min = (this.desiredCount * (config.minimumHealthyPercent ?? 100)) / 100;
    return this.rules.roundsTaskCounts
      ? { maxTasks: Math.floor(max + 1e-9), minHealthy: Math.ceil(min - 1e-9) }
      : { maxTasks: Math.ceil(max - 1e-9), minHealthy: Math.floor(min + 1e-9) };
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
    // "You can use early success criteria only with rolling deployment strategy" (SDK model, DeploymentEarlySuccessCriteria).
    if (strategy !== 'ROLLING' && config.earlySuccessCriteria?.enable && this.rules.refusesEarlySuccessOutsideRolling) {
      throw refused('InvalidParameterException', `earlySuccessCriteria can only be used with the ROLLING deployment strategy, not ${strategy}`);
    }
    const early = config.earlySuccessCriteria;
    if (early?.enable && strategy === 'ROLLING') {
      if (early.healthyPercent === undefined || !early.sourceServiceRevisionCleanup)
        throw refused('InvalidParameterException', 'earlySuccessCriteria needs healthyPercent and sourceServiceRevisionCleanup when enabled');
      if (!Number.isInteger(early.healthyPercent) || early.healthyPercent < 0 || early.healthyPercent > 100)
        throw refused('InvalidParameterException', `earlySuccessCriteria.healthyPercent must be an integer from 0 to 100, got ${early.healthyPercent}`);
      if (early.healthyPercent < (config.minimumHealthyPercent ?? 100))
        throw refused('InvalidParameterException', 'earlySuccessCriteria.healthyPercent must be greater than or equal to minimumHealthyPercent');
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

  private stagesFor(config: DeploymentConfiguration, greenStarts: readonly number[]): Stage[] {
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
    // SCALE_UP "scales up to 100%" (ServiceDeployment.lifecycleStage): it ends when the last green task
    // has started and passed the target group's health checks.
    const scaleUp = Math.max(0, ...greenStarts) + this.healthWait();
    const stages: Stage[] = [
      { stage: 'PRE_SCALE_UP', seconds: 0 },
      { stage: 'SCALE_UP', seconds: scaleUp },
      { stage: 'POST_SCALE_UP', seconds: 0 },
      { stage: 'TEST_TRAFFIC_SHIFT', seconds: this.timings.testShift, testWeight: 100 },
      { stage: 'POST_TEST_TRAFFIC_SHIFT', seconds: 0 },
    ];
    weights.forEach((w, i) => {
      stages.push({ stage: 'PRE_PRODUCTION_TRAFFIC_SHIFT', seconds: 0 });
      // The step's own bake ("not applied after reaching 100 percent") is spent in the shift stage.
      stages.push({ stage: 'PRODUCTION_TRAFFIC_SHIFT', seconds: this.timings.productionShift + (i < weights.length - 1 ? stepBake * 60 : 0), weight: w });
    });
    stages.push(
      { stage: 'POST_PRODUCTION_TRAFFIC_SHIFT', seconds: 0 },
      { stage: 'BAKE_TIME', seconds: (config.bakeTimeInMinutes ?? 0) * 60 },
      // CLEAN_UP deregisters the blue tasks: the target group drains them for the deregistration delay.
      { stage: 'CLEAN_UP', seconds: this.drainWait() },
    );
    return stages;
  }

  /**
   * UpdateService. deploymentConfiguration is MERGED (rules.mergesUpdates): a member left out keeps its
   * value, `lifecycleHooks: []` clears the hooks (field reports: hashicorp/terraform-provider-aws PR 47096).
   */
  update(input: UpdateServiceCommandInput) {
    this.calls.push({ command: 'UpdateService', input });
    if (input.cluster !== CLUSTER || input.service !== SERVICE)
      throw refused('ServiceNotFoundException', `Service not found: ${input.cluster}/${input.service}`);
    const newRevision = input.taskDefinition !== undefined && input.taskDefinition !== this.service.taskDefinition;
    if (newRevision && this.service.controller === 'CODE_DEPLOY') {
      throw refused(
        'InvalidParameterException',
        'Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.',
      );
    }
    if (input.taskDefinition && !this.taskDefinitions.has(input.taskDefinition))
      throw refused('ClientException', `Unable to describe task definition ${input.taskDefinition}`);
    const given = input.deploymentConfiguration;
    let configChanged = false;
    if (given) {
      const merged: DeploymentConfiguration = this.rules.mergesUpdates ? { ...this.service.deploymentConfiguration } : {};
      for (const [key, value] of Object.entries(given)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
      this.validate(merged);
      configChanged = canonical(merged) !== canonical(this.service.deploymentConfiguration);
      this.service.deploymentConfiguration = merged;
    }
    // A new revision starts a service deployment; the same one with forceNewDeployment; a changed deployment
    // configuration too ("Amazon ECS starts new tasks with the new configuration", UpdateService reference).
    const starts = newRevision || input.forceNewDeployment === true || (configChanged && this.rules.configUpdateStartsDeployment);
    if (starts) this.startDeployment(input.taskDefinition ?? this.service.taskDefinition);
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
    const strategy = config.strategy ?? 'ROLLING';
    const greenStarts = strategy === 'ROLLING' ? [] : Array.from({ length: this.desiredCount }, () => this.taskStart());
    const d: Deployment = {
      arn: `arn:aws:ecs:${REGION_ACCOUNT}:service-deployment/${CLUSTER}/${SERVICE}/sd${++this.n}`,
      status: 'IN_PROGRESS',
      strategy,
      config,
      source: this.service.taskDefinition,
      target,
      createdAt: now,
      listKey: this.random(),
      stages: strategy === 'ROLLING' ? [] : this.stagesFor(config, greenStarts),
      stageIndex: 0,
      stageStart: now,
      greenStarts,
      hooks: [],
      weight: 0,
      testWeight: 0,
      running: { target: 0, source: this.desiredCount },
      ...(strategy === 'ROLLING' ? { rolling: { t: now, old: this.desiredCount, draining: [], fresh: [], failures: 0 } } : {}),
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
      const done = (d.rollbackStart ?? now) + this.timings.rollback * 1000;
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

  /**
   * The deployment circuit breaker's failed-task threshold: half the desired count, at least 3 and at
   * most 200 (ECS developer guide, "How the Amazon ECS deployment circuit breaker detects failures").
   */
  private breakerThreshold(): number {
    return Math.min(200, Math.max(3, Math.ceil(this.desiredCount / 2)));
  }

  /**
   * The rolling scheduler, event by event: it launches new tasks while RUNNING+PENDING (draining tasks
   * included) stays within maxTasks, and stops (deregisters) an old task only while the healthy ones
   * stay at or above minHealthy. With 2 tasks, 125% and 100% (maxTasks 2, minHealthy 2) it can do
   * neither: the deployment stays IN_PROGRESS for ever and no task fails, so the circuit breaker never trips.
   */
  private simulateRolling(d: Deployment, now: number): 'tripped' | undefined {
    const r = d.rolling;
    if (!r) return undefined;
    const n = this.desiredCount;
    const { maxTasks, minHealthy } = this.taskBounds(d.config);
    const broken = this.brokenImages.has(this.image(d.target) ?? '');
    const breaker = d.config.deploymentCircuitBreaker;
    for (;;) {
      // Events at r.t: drained tasks stop, tasks that failed their health checks are stopped.
      r.draining = r.draining.filter((stopAt) => stopAt > r.t);
      const failed = r.fresh.filter((f) => f.failsAt <= r.t);
      if (failed.length > 0) {
        r.failures += failed.length;
        r.fresh = r.fresh.filter((f) => f.failsAt > r.t);
        if (breaker?.enable && r.failures >= this.breakerThreshold()) return 'tripped';
      }
      // Decisions at r.t.
      for (;;) {
        const healthy = r.old + r.fresh.filter((f) => f.healthyAt <= r.t).length;
        const active = r.old + r.draining.length + r.fresh.length;
        if (r.fresh.length < n && active < maxTasks) {
          const startedAt = r.t + this.taskStart() * 1000;
          r.fresh.push(
            broken
              ? { startedAt, healthyAt: Infinity, failsAt: startedAt + this.timings.healthCheckInterval * this.timings.unhealthyThreshold * 1000 }
              : { startedAt, healthyAt: startedAt + this.healthWait() * 1000, failsAt: Infinity },
          );
          continue;
        }
        const surplus = r.old + r.fresh.length > n;
        const blocked = r.fresh.length < n && active >= maxTasks;
        if (r.old > 0 && (surplus || blocked) && healthy - 1 >= minHealthy) {
          r.old--;
          r.draining.push(r.t + this.drainWait() * 1000);
          continue;
        }
        break;
      }
      const healthyNew = r.fresh.filter((f) => f.healthyAt <= r.t).length;
      d.running = { target: r.fresh.filter((f) => f.startedAt <= r.t).length, source: r.old + r.draining.length };
      d.weight = (100 * healthyNew) / n;
      const early = d.config.earlySuccessCriteria;
      const oldGone = r.old === 0 && r.draining.length === 0;
      const replaced = early?.enable
        ? healthyNew >= Math.ceil((n * (early.healthyPercent ?? 100)) / 100) && (early.sourceServiceRevisionCleanup === 'DEFERRED' || oldGone)
        : healthyNew === n && oldGone;
      if (replaced && d.replacedAt === undefined) d.replacedAt = r.t;
      const next = Math.min(...r.draining, ...r.fresh.flatMap((f) => [f.startedAt, f.healthyAt, f.failsAt].filter((x) => x > r.t)));
      if (!(next <= now)) {
        r.t = Math.max(r.t, now);
        return undefined;
      }
      r.t = next;
    }
  }

  private advanceRolling(d: Deployment, now: number): void {
    const alarms = d.config.alarms;
    const alarmed = alarms?.enable ? alarms.alarmNames?.find((a) => this.alarmStates.get(a) === 'ALARM') : undefined;
    if (alarmed) {
      if (alarms?.rollback) return this.startRollback(d, now, `CloudWatch alarm ${alarmed} is in ALARM`);
      d.status = 'STOPPED';
      d.statusReason = `CloudWatch alarm ${alarmed} is in ALARM`;
      return;
    }
    if (this.simulateRolling(d, now) === 'tripped') {
      const breaker = d.config.deploymentCircuitBreaker;
      if (breaker?.rollback) return this.startRollback(d, now, 'the deployment circuit breaker tripped: tasks failed to start');
      d.status = 'STOPPED';
      d.statusReason = 'the deployment circuit breaker tripped';
      return;
    }
    if (d.replacedAt === undefined) return;
    // With alarms, ECS keeps the deployment IN_PROGRESS for a bake it computes from the alarms (deployment-alarm-failure).
    const bake = alarms?.enable && this.rules.bakesAfterAlarmedRolling ? this.timings.alarmBake * 1000 : 0;
    if (now >= d.replacedAt + bake) d.status = 'SUCCESSFUL';
  }

  private find(arn: string | undefined): Deployment {
    const d = this.deployments.find((x) => x.arn === arn);
    if (!d) throw refused('ServiceDeploymentNotFoundException', `service deployment ${arn} was not found`);
    this.advance(d);
    return d;
  }

  /** The truth about a deployment, now (no lag, no throttling, not counted by the task guard). */
  describeDeployment(arn: string): ServiceDeployment {
    const d = this.find(arn);
    const rolling = d.strategy === 'ROLLING';
    const stage = d.stages[d.stageIndex];
    const now = this.now();
    const greenRunning =
      stage?.stage === 'PRE_SCALE_UP'
        ? 0
        : stage?.stage === 'SCALE_UP'
          ? d.greenStarts.filter((s) => d.stageStart + s * 1000 <= now).length
          : this.desiredCount;
    const targetRunning = rolling ? d.running.target : d.status === 'ROLLBACK_SUCCESSFUL' ? 0 : greenRunning;
    return {
      serviceDeploymentArn: d.arn,
      serviceArn: `arn:aws:ecs:${REGION_ACCOUNT}:service/${CLUSTER}/${SERVICE}`,
      clusterArn: `arn:aws:ecs:${REGION_ACCOUNT}:cluster/${CLUSTER}`,
      createdAt: new Date(d.createdAt),
      status: d.status,
      ...(d.statusReason ? { statusReason: d.statusReason } : {}),
      ...(stage ? { lifecycleStage: stage.stage as never } : {}),
      targetServiceRevision: {
        arn: `${d.arn}/revision/target`,
        requestedTaskCount: this.desiredCount,
        runningTaskCount: targetRunning,
        pendingTaskCount: rolling ? (d.rolling?.fresh.length ?? 0) - targetRunning : this.desiredCount - targetRunning,
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
      deploymentConfiguration: structuredClone(d.config),
      ...(d.rollbackReason ? { rollback: { reason: d.rollbackReason, startedAt: new Date(d.rollbackStart ?? 0) } } : {}),
    };
  }

  continue(arn: string, hookId: string, action: string | undefined) {
    this.calls.push({ command: 'ContinueServiceDeployment', input: { serviceDeploymentArn: arn, hookId, action } });
    const d = this.find(arn);
    const hook = d.hooks.find((h) => h.hookId === hookId);
    if (!this.rules.refusesRepeatContinue && hook && hook.status !== 'AWAITING_ACTION') return { serviceDeploymentArn: arn };
    if (d.status !== 'IN_PROGRESS') throw refused('InvalidParameterException', `The service deployment must be IN_PROGRESS, it is ${d.status}`);
    // A second continue of the same hookId finds it SUCCEEDED: refused (ECS API reference, ContinueServiceDeployment).
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

  /** The truth about the service, now (no lag, no throttling, not counted by the task guard). */
  describeService() {
    const d = this.latest();
    const over = !d || ['SUCCESSFUL', 'ROLLBACK_SUCCESSFUL', 'STOPPED'].includes(d.status);
    return {
      serviceName: SERVICE,
      taskDefinition: this.service.taskDefinition,
      deploymentConfiguration: structuredClone(this.service.deploymentConfiguration),
      deploymentController: { type: this.service.controller as 'ECS' },
      desiredCount: this.desiredCount,
      loadBalancers: !this.service.loadBalanced
        ? []
        : [
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

  /**
   * ListServiceDeployments: no documented order (rules.listOrder), at most maxResults (1..100, default 20)
   * per page with a nextToken (SDK model, `ListServiceDeploymentsRequest.maxResults`).
   */
  list(input: Pick<ListServiceDeploymentsCommandInput, 'status' | 'maxResults' | 'nextToken'> = {}) {
    for (const d of this.deployments) this.advance(d);
    const { status, maxResults, nextToken } = input;
    if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100))
      throw refused('InvalidParameterException', `maxResults must be from 1 to 100, got ${maxResults}`);
    const order = this.rules.listOrder;
    const all = [...this.deployments].filter((d) => !status || status.length === 0 || status.includes(d.status));
    if (order === 'newest-first') all.reverse();
    if (order === 'shuffled') all.sort((a, b) => a.listKey - b.listKey);
    const from = nextToken ? Number(Buffer.from(nextToken, 'base64url').toString()) : 0;
    if (!Number.isInteger(from) || from < 0) throw refused('InvalidParameterException', 'The nextToken is not valid');
    const size = this.rules.pagesLists ? (maxResults ?? 20) : all.length;
    const page = all.slice(from, from + size);
    const more = from + size < all.length;
    return {
      serviceDeployments: page.map((d) => ({ serviceDeploymentArn: d.arn, status: d.status, createdAt: new Date(d.createdAt) })),
      ...(more ? { nextToken: Buffer.from(String(from + size)).toString('base64url') } : {}),
    };
  }

  // ---- The SDK's view: what installFakeEcs answers (throttling, read lag, the task guard) ----

  /** DescribeServices as the SDK sees it. */
  sdkDescribeServices(input: { cluster?: string; services?: string[] }) {
    this.gate('DescribeServices');
    // A cluster that does not exist is an error, not a failure entry (ECS API reference, DescribeServices errors).
    if (input.cluster !== undefined && input.cluster !== CLUSTER) throw refused('ClusterNotFoundException', 'Cluster not found.');
    if (input.cluster !== CLUSTER || input.services?.[0] !== SERVICE) return { services: [], failures: [{ arn: input.services?.[0], reason: 'MISSING' }] };
    this.countRead(`the service ${SERVICE}`);
    const stale = this.staleService;
    this.staleService = undefined;
    return { services: [stale ?? this.describeService()], failures: [] };
  }

  /** DescribeServiceDeployments as the SDK sees it. */
  sdkDescribeServiceDeployments(input: { serviceDeploymentArns?: string[] }) {
    this.gate('DescribeServiceDeployments');
    const serviceDeployments: ServiceDeployment[] = [];
    const failures: { arn: string; reason: string; detail?: string }[] = [];
    for (const arn of input.serviceDeploymentArns ?? []) {
      this.countRead(`the service deployment ${arn}`);
      const stale = this.staleDeployments.get(arn);
      this.staleDeployments.delete(arn);
      if (stale === 'MISSING' || !this.deployments.some((d) => d.arn === arn)) failures.push({ arn, reason: 'MISSING' });
      else serviceDeployments.push(stale ?? this.describeDeployment(arn));
    }
    return { serviceDeployments, failures };
  }

  sdkListServiceDeployments(input: ListServiceDeploymentsCommandInput) {
    this.gate('ListServiceDeployments');
    return this.list(input);
  }

  sdkUpdateService(input: UpdateServiceCommandInput) {
    this.gate('UpdateService');
    const before = this.rules.readsLag ? this.describeService() : undefined;
    const known = new Set(this.deployments.map((d) => d.arn));
    const out = this.update(input);
    if (before) {
      // The next read shows the service before the write, and the new deployment not yet.
      delete (before as { currentServiceDeployment?: string }).currentServiceDeployment;
      this.staleService = before;
      for (const d of this.deployments) if (!known.has(d.arn)) this.staleDeployments.set(d.arn, 'MISSING');
    }
    return out;
  }

  sdkContinueServiceDeployment(input: { serviceDeploymentArn: string; hookId: string; action?: string }) {
    this.gate('ContinueServiceDeployment');
    const before =
      this.rules.readsLag && this.deployments.some((d) => d.arn === input.serviceDeploymentArn)
        ? this.describeDeployment(input.serviceDeploymentArn)
        : undefined;
    const out = this.continue(input.serviceDeploymentArn, input.hookId, input.action);
    if (before) this.staleDeployments.set(input.serviceDeploymentArn, before);
    return out;
  }

  sdkStopServiceDeployment(input: { serviceDeploymentArn: string; stopType?: string }) {
    this.gate('StopServiceDeployment');
    const before =
      this.rules.readsLag && this.deployments.some((d) => d.arn === input.serviceDeploymentArn)
        ? this.describeDeployment(input.serviceDeploymentArn)
        : undefined;
    const out = this.stop(input.serviceDeploymentArn, input.stopType);
    if (before) this.staleDeployments.set(input.serviceDeploymentArn, before);
    return out;
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

/**
 * Answers the ECS SDK mock from the fake (through its SDK view: throttling, read lag, the task guard).
 * Every answer is a promise and every refusal a rejection, as with the real client.
 */
export function installFakeEcs(fake: FakeEcs): void {
  ecsMock.reset();
  ecsMock.on(DescribeServicesCommand).callsFake(async (i: { cluster?: string; services?: string[] }) => fake.sdkDescribeServices(i));
  ecsMock.on(DescribeTaskDefinitionCommand).callsFake(async (i: { taskDefinition: string; include?: string[] }) => {
    fake.sdkCall('DescribeTaskDefinition');
    const td = fake.resolveTaskDefinition(i.taskDefinition);
    if (!td) throw refused('ClientException', `Unable to describe task definition ${i.taskDefinition}`);
    return { taskDefinition: structuredClone(td.definition), ...(i.include?.includes('TAGS') && td.tags ? { tags: td.tags } : {}) };
  });
  ecsMock.on(RegisterTaskDefinitionCommand).callsFake(async (i: RegisterTaskDefinitionCommandInput) => {
    fake.sdkCall('RegisterTaskDefinition');
    return { taskDefinition: { taskDefinitionArn: fake.register(structuredClone(i)) } };
  });
  ecsMock.on(UpdateServiceCommand).callsFake(async (i: UpdateServiceCommandInput) => fake.sdkUpdateService(structuredClone(i)));
  ecsMock.on(ListServiceDeploymentsCommand).callsFake(async (i: ListServiceDeploymentsCommandInput) => fake.sdkListServiceDeployments(i));
  ecsMock.on(DescribeServiceDeploymentsCommand).callsFake(async (i: { serviceDeploymentArns: string[] }) => fake.sdkDescribeServiceDeployments(i));
  ecsMock
    .on(ContinueServiceDeploymentCommand)
    .callsFake(async (i: { serviceDeploymentArn: string; hookId: string; action?: string }) => fake.sdkContinueServiceDeployment(i));
  ecsMock.on(StopServiceDeploymentCommand).callsFake(async (i: { serviceDeploymentArn: string; stopType?: string }) => fake.sdkStopServiceDeployment(i));
}

/**
 * A configuration as ECS applies it: no hooks and an empty list of hooks say the same (Switchyard sends
 * `[]` to clear its own), and canary or linear settings count only under their own strategy ("Only valid
 * when the deployment strategy is CANARY", SDK model; UpdateService keeps them otherwise, and has no way to
 * remove them: an empty one means ECS's defaults).
 */
export function asEcsApplies(config: DeploymentConfiguration): DeploymentConfiguration {
  const { lifecycleHooks, canaryConfiguration, linearConfiguration, ...rest } = config;
  return {
    ...rest,
    ...(lifecycleHooks && lifecycleHooks.length > 0 ? { lifecycleHooks } : {}),
    ...(config.strategy === 'CANARY' && canaryConfiguration ? { canaryConfiguration } : {}),
    ...(config.strategy === 'LINEAR' && linearConfiguration ? { linearConfiguration } : {}),
  };
}
