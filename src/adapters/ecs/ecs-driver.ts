import type { DeploymentConfiguration, DeploymentLifecycleHook, ECSClient, Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import { capabilitiesFor, type DriverCapabilities } from '../../core/capabilities.js';
import type { EcsTarget } from '../../config/schema.js';
import { AlreadyFinalizedError, DeployError, TargetFailedError, TransientError } from '../../core/errors.js';
import { trafficStops, type Plan } from '../../core/plan.js';
import type { Release } from '../../core/release.js';
import type { Change } from '../../core/task-diff.js';
import type { PreflightCheck } from '../../core/preflight.js';
import type { Log } from '../../ports/log.js';
import { done, notYet, type Progress, type TrafficDriver } from '../../ports/traffic-driver.js';
import { awsCall } from '../aws/errors.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';
import { pinnedImage } from '../../resources/codedeploy.js';
import { nextRevision, registerRevision, revisionChanges, runningRevision } from '../aws/task-definition.js';

/** The SDK module is imported on first use: the workflow function's cold start skips it. */
const ecsSdk = () => import('../aws/ecs-sdk.js');

/**
 * The stages where Switchyard's PAUSE hook holds ECS: after test traffic (the new version ready,
 * 0% production), before every production traffic step, and after the last one (before clean-up).
 * ECS refuses PAUSE hooks at TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT (DeploymentLifecycleHook).
 */
export const PAUSE_STAGES = ['POST_TEST_TRAFFIC_SHIFT', 'PRE_PRODUCTION_TRAFFIC_SHIFT', 'POST_PRODUCTION_TRAFFIC_SHIFT'] as const;

/**
 * What a service has for a deployment configuration member nobody set, sent to clear what Switchyard
 * set there (ECS API reference, DeploymentConfiguration: maximumPercent 200 and minimumHealthyPercent
 * 100 for REPLICA services, strategy ROLLING, the circuit breaker and alarms off, no bake, no hooks).
 * Canary and linear settings have no "unset" (an empty one means ECS's defaults): see restoredConfiguration.
 */
const ECS_UNSET: Required<Omit<DeploymentConfiguration, 'earlySuccessCriteria' | 'canaryConfiguration' | 'linearConfiguration'>> = {
  strategy: 'ROLLING',
  maximumPercent: 200,
  minimumHealthyPercent: 100,
  deploymentCircuitBreaker: { enable: false, rollback: false },
  alarms: { alarmNames: [], enable: false, rollback: false },
  bakeTimeInMinutes: 0,
  lifecycleHooks: [],
};

/** How many reads, one workflow wait apart, a rollback makes for a deployment whose start was asked but not recorded. */
const LOOKS_FOR_A_START = 4;

/** JSON with object keys sorted, to compare what ECS shows with what was sent. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/**
 * A paused hook as Switchyard answers it once: its id, which ECS makes unique each time a pause hook is
 * reached ("unique identifier for this hook execution", ECS developer guide, pause lifecycle hooks).
 */
function hookKey(d: ServiceDeployment): string {
  return pausedHook(d) ?? '';
}

/** Switchyard's own PAUSE hook (on exactly its stages), as left on a service by an earlier release. */
function carriesOurHook(config: DeploymentConfiguration | undefined): boolean {
  const ours = [...PAUSE_STAGES].sort().join();
  return (config?.lifecycleHooks ?? []).some((h) => h.targetType === 'PAUSE' && [...(h.lifecycleStages ?? [])].sort().join() === ours);
}

/** Statuses in which ECS is taking (or took) the service back to the previous revision, or gave up. */
const FAILED = new Set(['STOPPED', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED']);
/** A deployment still changing the service (going forward, or being stopped or rolled back): the next release waits for it. */
const ACTIVE = ['PENDING', 'IN_PROGRESS', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS'] as const;

export interface EcsDriverOptions {
  readonly service: string;
  readonly target: EcsTarget;
  readonly plan: Plan;
  /** Minutes each PAUSE hook waits before ECS acts on its own: above the longest hold of the plan (config.ts, ecsHookTimeoutMinutes). */
  readonly hookTimeoutMinutes: number;
  /** The service's alarm gates: a rolling update hands them to ECS as its second safety net. */
  readonly alarms?: readonly string[];
  readonly ecs: Lazy<ECSClient>;
  readonly log?: Log;
}

/** Why a service deployment is not going forward, for people. */
export function ecsReason(d: ServiceDeployment): string {
  const why = d.statusReason ?? d.rollback?.reason;
  return `ECS service deployment ${d.serviceDeploymentArn?.split('/').pop() ?? ''} is ${d.status}${why ? `: ${why}` : ''}${
    d.status === 'STOPPED' || d.status === 'STOP_REQUESTED' ? ' (stopped outside Switchyard, or by ECS)' : ''
  }`;
}

/** The paused Switchyard hook of a deployment, if it is waiting for us. */
function pausedHook(d: ServiceDeployment): string | undefined {
  return d.lifecycleHookDetails?.find((h) => h.targetType === 'PAUSE' && h.status === 'AWAITING_ACTION')?.hookId;
}

/**
 * ECS native deployments on the default (ECS) deployment controller. Blue/green, canary and linear
 * run as ECS's own strategy with Switchyard's PAUSE hook at every step, so Switchyard owns the bakes
 * and may stop at any step; rolling lets ECS replace tasks in batches while the gates are watched,
 * with ECS's circuit breaker and the alarms kept on. The service's own deployment configuration is
 * put back when the release ends.
 */
export class EcsDriver implements TrafficDriver {
  readonly capabilities: DriverCapabilities;
  private readonly rolling: boolean;

  constructor(private readonly options: EcsDriverOptions) {
    this.capabilities = capabilitiesFor('ecs', options.plan.strategy);
    this.rolling = options.plan.strategy === 'rolling';
  }

  private client(): Promise<ECSClient> {
    return resolveLazy(this.options.ecs);
  }

  private async call<T>(action: string, resource: string, send: (ecs: ECSClient) => Promise<T>): Promise<T> {
    const ecs = await this.client();
    return awsCall(action, resource, () => send(ecs));
  }

  private get where(): string {
    return `${this.options.target.cluster}/${this.options.target.service}`;
  }

  /** The service as ECS describes it now (undefined when it does not exist). */
  private async describeService(): Promise<Service | undefined> {
    const { DescribeServicesCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const described = await this.call('ecs:DescribeServices', this.where, (ecs) => ecs.send(new DescribeServicesCommand({ cluster, services: [service] })));
    return described.services?.[0];
  }

  /**
   * What ECS runs the release with: its own strategy, Switchyard's PAUSE hooks, no bakes of its own.
   * The release's own plan decides the shape (an undo or an expedited release has its own).
   * UpdateService merges: a member left out keeps its value, so every member Switchyard changes is
   * sent, and restoring sends them back explicitly ({@link restoredConfiguration}).
   */
  deploymentConfiguration(original: DeploymentConfiguration | undefined, plan: Plan = this.options.plan, desiredCount = 1): DeploymentConfiguration {
    const { canaryConfiguration: _c, linearConfiguration: _l, earlySuccessCriteria, ...rest } = original ?? {};
    if (this.rolling) {
      const surge = trafficStops(plan)[0] ?? 100;
      const alarms = this.options.alarms ?? [];
      // ECS rounds maximumPercent down and minimumHealthyPercent up (DeploymentConfiguration, SDK
      // model): with 2 tasks and 125% it could start no task and, at 100%, stop none. At least one
      // task above the desired count, always.
      const oneMore = Math.ceil((100 * (desiredCount + 1)) / Math.max(1, desiredCount));
      return {
        ...rest,
        // earlySuccessCriteria is for the rolling strategy only (DeploymentEarlySuccessCriteria): the user's stays.
        ...(earlySuccessCriteria ? { earlySuccessCriteria } : {}),
        strategy: 'ROLLING',
        // New tasks start before old ones stop: up to a batch above the desired count.
        maximumPercent: Math.min(200, Math.max(100 + Math.ceil(surge), oneMore)),
        minimumHealthyPercent: 100 - this.options.target.maxUnavailable,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        ...(alarms.length > 0 ? { alarms: { alarmNames: [...alarms], enable: true, rollback: true } } : {}),
      };
    }
    const stops = trafficStops(plan);
    const ours: DeploymentLifecycleHook = {
      targetType: 'PAUSE',
      lifecycleStages: [...PAUSE_STAGES],
      // Above the longest the plan can hold at one step, so the timeout never decides; if it ever does, back to stable.
      timeoutConfiguration: { timeoutInMinutes: this.options.hookTimeoutMinutes, action: 'ROLLBACK' },
    };
    // The user's own Lambda hooks stay; another PAUSE hook would hold ECS where Switchyard does not look.
    const theirs = (original?.lifecycleHooks ?? []).filter((h) => h.targetType !== 'PAUSE');
    return {
      ...rest,
      strategy: stops.length === 0 ? 'BLUE_GREEN' : stops.length === 1 ? 'CANARY' : 'LINEAR',
      bakeTimeInMinutes: 0,
      ...(stops.length === 1 ? { canaryConfiguration: { canaryPercent: stops[0], canaryBakeTimeInMinutes: 0 } } : {}),
      ...(stops.length > 1 ? { linearConfiguration: { stepPercent: stops[0], stepBakeTimeInMinutes: 0 } } : {}),
      lifecycleHooks: [...theirs, ours],
    };
  }

  /**
   * The user's own configuration as it was when the release started, to send back. UpdateService
   * merges (an omitted member keeps its value), so every member Switchyard set for the release is
   * sent back explicitly: the user's value, or what ECS has when the member was never set
   * ({@link ECS_UNSET}). So no PAUSE hook, canary step, circuit breaker or alarm of Switchyard's stays.
   */
  restoredConfiguration(original: DeploymentConfiguration, plan: Plan = this.options.plan): DeploymentConfiguration {
    const ours = this.deploymentConfiguration(original, plan);
    // earlySuccessCriteria is never Switchyard's (only the user's own is kept): nothing to clear there.
    const cleared = Object.fromEntries(Object.keys(ours).flatMap((key) => (key in ECS_UNSET ? [[key, ECS_UNSET[key as keyof typeof ECS_UNSET]]] : [])));
    const restored: DeploymentConfiguration = { ...cleared, lifecycleHooks: [], ...original };
    // Canary and linear settings are "only valid" under their own strategy (SDK model), and an empty one
    // means ECS's defaults, not none: they go back only with their strategy; otherwise ECS ignores them.
    const { canaryConfiguration, linearConfiguration, ...rest } = restored;
    return {
      ...rest,
      ...(restored.strategy === 'CANARY' && canaryConfiguration ? { canaryConfiguration } : {}),
      ...(restored.strategy === 'LINEAR' && linearConfiguration ? { linearConfiguration } : {}),
    };
  }

  private async describe(arn: string): Promise<ServiceDeployment> {
    const { DescribeServiceDeploymentsCommand } = await ecsSdk();
    const out = await this.call('ecs:DescribeServiceDeployments', arn, (ecs) =>
      ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })),
    );
    const d = out.serviceDeployments?.[0];
    if (!d) throw new TransientError(`ECS did not describe service deployment ${arn}${out.failures?.[0]?.reason ? ` (${out.failures[0].reason})` : ''}`);
    return d;
  }

  /**
   * A deployment changing the service outside this release, said for people; undefined when there is none.
   * One that only re-applies a configuration to the revision the service runs (every deployment of the
   * service on one task definition) changes no version: a release replaces it, as ECS does.
   */
  private async outsideDeployment(service?: Service): Promise<string | undefined> {
    const current = service ?? (await this.describeService());
    const running = await this.activeDeployment();
    const sameRevision = (current?.deployments ?? []).every((d) => d.taskDefinition === current?.taskDefinition);
    return running && !sameRevision
      ? `service deployment ${shortArn(running)} of ${this.where} is in progress outside this release; waiting for it to end`
      : undefined;
  }

  /** The service deployment in progress on the service (pending or running), if any. */
  private async activeDeployment(): Promise<string | undefined> {
    const { ListServiceDeploymentsCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const listed = await this.call('ecs:ListServiceDeployments', this.where, (ecs) =>
      ecs.send(new ListServiceDeploymentsCommand({ cluster, service, status: [...ACTIVE] })),
    );
    return listed.serviceDeployments?.[0]?.serviceDeploymentArn;
  }

  private arn(release: Release): string | undefined {
    return release.driverState?.['serviceDeploymentArn'];
  }

  /** The new version's share of production: ECS's requested weight (blue/green), or its share of running tasks (rolling). */
  weightOf(d: ServiceDeployment): number {
    if (d.status === 'SUCCESSFUL') return 100;
    if (d.status === 'ROLLBACK_SUCCESSFUL') return 0;
    const target = d.targetServiceRevision;
    if (this.rolling) {
      const mine = target?.runningTaskCount ?? 0;
      const total = mine + (d.sourceServiceRevisions ?? []).reduce((n, s) => n + (s.runningTaskCount ?? 0), 0);
      return total === 0 ? 0 : Math.round((1000 * mine) / total) / 10;
    }
    return target?.requestedProductionTrafficWeight ?? 0;
  }

  /**
   * The service deployment this release started, when its ARN was never stored (the call that
   * started it ended before answering): the service runs the release's revision (or, when even
   * that was not stored, a revision with the release's image) and ECS names a current deployment.
   */
  private async findOurs(release: Release, service?: Service): Promise<string | undefined> {
    const current = service ?? (await this.describeService());
    if (!current?.taskDefinition || !current.currentServiceDeployment) return undefined;
    const ours = release.driverState?.['taskDefinition'];
    if (ours !== undefined ? current.taskDefinition !== ours : (await this.imageOf(current.taskDefinition)) !== pinnedImage(release)) return undefined;
    return current.currentServiceDeployment;
  }

  private async imageOf(taskDefinition: string): Promise<string | undefined> {
    const { DescribeTaskDefinitionCommand } = await ecsSdk();
    const out = await this.call('ecs:DescribeTaskDefinition', taskDefinition, (ecs) => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition })));
    return out.taskDefinition?.containerDefinitions?.find((c) => c.name === this.options.target.containerName)?.image;
  }

  /**
   * Registers the release's revision and keeps, with it, what the end of the release needs and must
   * not re-derive later: the revision that ran before and the service's own deployment configuration.
   */
  private async register(release: Release): Promise<Record<string, string> | { readonly leftover: string }> {
    const { cluster, service, containerName, taskDefinition: source } = this.options.target;
    const current = await this.describeService();
    if (!current) throw new DeployError(`ECS service ${service} was not found in cluster ${cluster}`);
    // The configuration read now is what this release puts back at its end: never Switchyard's own
    // from an earlier release (a read that lags that release's restore, or a restore that failed).
    if (carriesOurHook(current.deploymentConfiguration)) {
      return {
        leftover: `the service still shows Switchyard's pause hook from an earlier release (a read that lags its restore, or a restore that failed); if it stays, remove the PAUSE hook on ${PAUSE_STAGES.join(', ')} from the service's deployment configuration`,
      };
    }
    if (current.deploymentController?.type && current.deploymentController.type !== 'ECS') {
      throw new DeployError(
        `ECS service ${service} uses the ${current.deploymentController.type} deployment controller; the ecs driver needs ECS (use the codedeploy driver for CODE_DEPLOY)`,
      );
    }
    const ecs = await this.client();
    const running = await runningRevision(ecs, cluster, service);
    const taskDefinition = await registerRevision(ecs, nextRevision(running.definition, running.tags, containerName, pinnedImage(release), source));
    return {
      taskDefinition,
      previousTaskDefinition: running.arn,
      originalConfiguration: JSON.stringify(current.deploymentConfiguration ?? {}),
    };
  }

  /**
   * Starts the service deployment (UpdateService), once: a deployment that is already ours is taken
   * up again; one started outside Switchyard is refused, after a second look (reads lag writes: the
   * first look may not show the service's revision as ours yet).
   */
  private async start(release: Release, state: Readonly<Record<string, string>>): Promise<Progress> {
    const current = await this.describeService();
    if (!current) throw new DeployError(`ECS service ${this.options.target.service} was not found in cluster ${this.options.target.cluster}`);
    const ours = await this.findOurs(release, current);
    const alternate = current.loadBalancers?.[0]?.advancedConfiguration?.alternateTargetGroupArn;
    const production = current.loadBalancers?.[0]?.targetGroupArn;
    // ECS registers the new version in the alternate target group and swaps the roles once it succeeds.
    const green = this.rolling ? production : alternate;
    const started = (arn: string): Record<string, string> => ({ ...state, serviceDeploymentArn: arn, ...(green ? { greenTargetGroup: green } : {}) });
    if (ours) return notYet(`ECS service deployment ${shortArn(ours)} started`, started(ours), 1);
    // Another deployment in progress that changes the revision (started outside Switchyard): the
    // release waits for it, up to its deploy deadline, then says which one held it.
    // A deployment that only re-applies a configuration to the revision the service runs (every deployment
    // of the service on one task definition) changes no version: the new one replaces it, as ECS does.
    const busy = await this.outsideDeployment(current);
    if (busy) return notYet(busy);
    // Marked (and stored) before UpdateService is sent: a rollback then knows a deployment may exist
    // even when its ARN was never stored, and looks for it instead of concluding nothing started.
    // With the marker, what the end of the release goes back to is read again from this same read, the one
    // that found no other deployment under way (one may have come and gone since the revision was registered).
    if (state['startAsked'] !== state['taskDefinition']) {
      return notYet(
        'starting the service deployment',
        {
          startAsked: state['taskDefinition'] ?? '',
          ...(current.taskDefinition && current.taskDefinition !== state['taskDefinition'] ? { previousTaskDefinition: current.taskDefinition } : {}),
          ...(carriesOurHook(current.deploymentConfiguration) ? {} : { originalConfiguration: JSON.stringify(current.deploymentConfiguration ?? {}) }),
        },
        1,
      );
    }
    const { UpdateServiceCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const original = JSON.parse(state['originalConfiguration'] ?? '{}') as DeploymentConfiguration;
    const updated = await this.call('ecs:UpdateService', this.where, (ecs) =>
      ecs.send(
        new UpdateServiceCommand({
          cluster,
          service,
          taskDefinition: state['taskDefinition'],
          deploymentConfiguration: this.deploymentConfiguration(original, release.plan, current.desiredCount ?? 1),
          // The revision the service already runs (a release of the image it serves, nothing else
          // changed): UpdateService alone would start nothing, so ask for the deployment.
          ...(current.taskDefinition === state['taskDefinition'] ? { forceNewDeployment: true } : {}),
        }),
      ),
    );
    this.options.log?.info('started service deployment', { releaseId: release.id, taskDefinition: state['taskDefinition'] });
    // The write's own answer names the deployment; a later read may not show it yet.
    const arn = updated.service?.currentServiceDeployment;
    return arn
      ? notYet(`ECS service deployment ${shortArn(arn)} started`, started(arn), 5)
      : notYet('UpdateService sent; ECS has not named the deployment yet', state, 5);
  }

  /**
   * Read-only checks before anything moves: the service exists on the ECS deployment controller,
   * blue/green, canary and linear have their load balancer's alternate target group and listener
   * rules. (A deployment already running outside Switchyard is refused when the release starts one.)
   */
  async preflight(): Promise<PreflightCheck[]> {
    const { cluster, service } = this.options.target;
    const current = await this.describeService();
    const checks: PreflightCheck[] = [
      {
        name: 'ECS service',
        ok: current !== undefined,
        detail: current ? `${this.where} found` : `service ${service} was not found in cluster ${cluster}: check target.cluster and target.service`,
      },
    ];
    if (!current) return checks;
    const controller = current.deploymentController?.type ?? 'ECS';
    checks.push({
      name: 'deployment controller',
      ok: controller === 'ECS',
      detail:
        controller === 'ECS'
          ? 'ECS (native deployments)'
          : `the service uses the ${controller} controller; the ecs driver needs ECS (use driver "codedeploy" for CODE_DEPLOY, or move the service: see the README's migration note)`,
    });
    if (!this.rolling) {
      const advanced = current.loadBalancers?.[0]?.advancedConfiguration;
      const ok = Boolean(advanced?.alternateTargetGroupArn && advanced.productionListenerRule && advanced.roleArn);
      checks.push({
        name: 'blue/green load balancer',
        ok,
        detail: ok
          ? `alternate target group ${advanced?.alternateTargetGroupArn?.split(':').pop() ?? ''}`
          : 'blue/green, canary and linear need the load balancer advancedConfiguration: alternateTargetGroupArn, productionListenerRule (and testListenerRule for test traffic) and roleArn',
      });
    }
    return checks;
  }

  /** The mutating half of deploy (registers the revision, starts the service deployment), for dry runs. */
  async startDeployment(release: Release): Promise<Record<string, string>> {
    const registered = await this.register(release);
    if ('leftover' in registered) throw new DeployError(registered.leftover);
    if (this.rolling) return registered;
    const asked = { ...registered, startAsked: registered['taskDefinition'] ?? '' };
    const started = await this.start({ ...release, driverState: asked }, asked);
    return { ...registered, ...started.state };
  }

  /**
   * One step towards the new version being ready with 0% of production, never a wait: register the
   * revision (stored at once), start the service deployment (stored at once), then read where ECS is
   * until our hook holds it after test traffic. ECS takes minutes for that (tasks start, then the
   * target group's health checks: 30 s x 5 by default): the workflow waits between reads.
   */
  async deploy(release: Release): Promise<Progress> {
    const state = release.driverState ?? {};
    if (!state['taskDefinition']) {
      // The revision is built from, and the end of the release goes back to, what the service runs when no
      // other deployment is changing it: wait for one in progress first.
      const busy = await this.outsideDeployment();
      if (busy) return notYet(busy);
      const registered = await this.register(release);
      if ('leftover' in registered) return notYet(registered.leftover);
      // A rolling update gives new tasks production traffic as soon as they are healthy: nothing starts
      // before the first batch is asked for (setWeight), so an approval before traffic holds everything.
      return this.rolling ? done(registered) : notYet(`revision ${shortArn(registered['taskDefinition'] ?? '')} registered`, registered, 1);
    }
    if (this.rolling) return done();
    const arn = this.arn(release);
    if (!arn) return this.start(release, state);
    const d = await this.describe(arn);
    if (FAILED.has(d.status ?? '')) throw new DeployError(ecsReason(d));
    // Ready: the new revision is up with the test traffic, held by our hook before any production traffic.
    if (pausedHook(d) && this.weightOf(d) === 0) return done();
    return notYet(stageOf(d), progressOf(d));
  }

  /** The new version's target group's name (the alternate one; rolling: the service's only one), for its ALB metrics. */
  greenTargetGroup(release: Release): string | undefined {
    const arn = release.driverState?.['greenTargetGroup'];
    return arn?.split(':').pop()?.split('/')[1];
  }

  async changes(release: Release): Promise<readonly Change[]> {
    const before = release.driverState?.['previousTaskDefinition'];
    const after = release.driverState?.['taskDefinition'];
    return before && after ? revisionChanges(await this.client(), before, after) : [];
  }

  /**
   * Answers our paused hook once: a read right after a continue may still show it awaiting (ECS reads
   * are eventually consistent), and ECS refuses a second continue of the same hook. The hook is known
   * by its id and the stage and weight it paused at; "not awaiting" for it means it was answered.
   */
  private async answerHook(
    release: Release,
    arn: string,
    d: ServiceDeployment,
    action: 'CONTINUE' | 'ROLLBACK',
  ): Promise<{ readonly hook: string; readonly state: Record<string, string> } | undefined> {
    const hookId = pausedHook(d);
    if (!hookId) return undefined;
    const key = hookKey(d);
    // A ROLLBACK is never skipped on our own record: the hook we see may be one we continued (a stale read).
    if (action === 'CONTINUE' && release.driverState?.['answeredHook'] === key) return { hook: key, state: {} };
    const { ContinueServiceDeploymentCommand } = await ecsSdk();
    try {
      await this.call('ecs:ContinueServiceDeployment', arn, (ecs) =>
        ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action })),
      );
    } catch (error) {
      // Refused (the hook was answered already, by our own call whose answer was lost, or the read was
      // stale): nothing is recorded, so the next ask reads again and answers a hook still awaiting. A
      // ROLLBACK that did not happen makes the caller stop the deployment instead.
      const refused = error instanceof Error && ['InvalidParameterException', 'ClientException'].includes(error.name);
      // An answer lost on the way back (throttled, a 5xx, a timeout): the continue may have taken. It counts
      // as let go (so a new hook after it is not answered blindly) and is sent again if the hook still awaits.
      const unknown = error instanceof TransientError;
      if (!refused && !(unknown && action === 'CONTINUE')) throw error;
      return action === 'ROLLBACK' ? undefined : { hook: key, state: {} };
    }
    return { hook: key, state: { answeredHook: key } };
  }

  async setWeight(release: Release, percent: number): Promise<Record<string, string> | void> {
    if (this.rolling) return this.roll(release);
    const arn = this.arn(release);
    if (!arn) throw new Error(`release ${release.id} has no ECS service deployment`);
    const d = await this.describe(arn);
    if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
    // Arrived and held: ECS waits at our hook before its next step (or after the last one).
    if (this.weightOf(d) >= percent && (pausedHook(d) || d.status === 'SUCCESSFUL')) return;
    // Arrived, though the weight does not say so yet: the weight is a snapshot that may lag (SDK model,
    // ServiceRevisionSummary.requestedProductionTrafficWeight). ECS pauses before every production step
    // (and, the first time, after test traffic too), each pause a new hookId; once this shift let go as
    // many hooks as stand before its step, a new one awaiting means ECS made the step and holds there.
    // Answering it would skip the bake.
    const hook = pausedHook(d);
    const [forPercent, from, ...letGo] = (release.driverState?.['letGo'] ?? '').split('|');
    const mine = forPercent === String(percent) ? letGo : [];
    const start = forPercent === String(percent) ? Number(from) : release.weight;
    if (hook && mine.length >= this.hooksBefore(release.plan, start, percent) && !mine.includes(hook)) return;
    // ECS moves on from the hook by itself; the workflow reads the weight back and asks again until it is there.
    const answered = await this.answerHook(release, arn, d, 'CONTINUE');
    // A continue ECS refused counts as let go too (our own earlier call whose answer was lost).
    if (!answered || mine.includes(answered.hook)) return answered?.state;
    return { ...answered.state, letGo: [String(percent), String(start), ...mine, answered.hook].join('|') };
  }

  /**
   * The pause hooks ECS stands at between `from`% and the step that reaches `to`%: one before every
   * production step (PRE_PRODUCTION_TRAFFIC_SHIFT), and, from 0%, the one after test traffic. The steps
   * are ECS's for the release's own plan: one canary step, equal linear steps, or all at once.
   */
  hooksBefore(plan: Plan, from: number, to: number): number {
    const stops = trafficStops(plan);
    const first = stops[0];
    const steps =
      first === undefined ? [100] : stops.length === 1 ? [first, 100] : [...Array.from({ length: Math.ceil(100 / first) - 1 }, (_, i) => (i + 1) * first), 100];
    return (from === 0 ? 1 : 0) + steps.filter((w) => w > from && w <= to).length;
  }

  /**
   * Rolling: the first batch starts ECS's rolling update and ECS replaces the rest on its own; the
   * call returns at once, so the workflow watches the gates while tasks are replaced and reads the
   * share back every little while.
   */
  private async roll(release: Release): Promise<Record<string, string> | void> {
    const arn = this.arn(release);
    if (arn) {
      const d = await this.describe(arn);
      if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
      return;
    }
    const state = release.driverState ?? {};
    const started = await this.start(release, state);
    return { ...state, ...started.state };
  }

  async verify(release: Release): Promise<number> {
    const arn = this.arn(release);
    if (!arn) return 0;
    const d = await this.describe(arn);
    if (FAILED.has(d.status ?? '') && d.status !== 'ROLLBACK_SUCCESSFUL') throw new TargetFailedError(ecsReason(d));
    return this.weightOf(d);
  }

  /**
   * Puts the service's deployment configuration back as the user had it when the release started
   * (stored then, never re-derived), once. The UpdateService reference says updating the deployment
   * configuration makes ECS start new tasks with it: whether or not that happens does not matter here.
   */
  private async restore(release: Release, arn: string, taskDefinition?: string): Promise<Progress> {
    const original = release.driverState?.['originalConfiguration'];
    if (original === undefined) return done();
    const current = await this.describeService();
    if (release.driverState?.['restored'] !== arn) {
      // The stable revision is named only when the service names another: an update must never point the
      // service at a revision that may since be INACTIVE, nor start a deployment of the new version.
      await this.sendBack(original, release.plan, taskDefinition !== undefined && current?.taskDefinition !== taskDefinition ? taskDefinition : undefined);
      return notYet('the service’s own deployment configuration sent back', { restored: arn }, 1);
    }
    // Done once a read shows it (reads lag writes): the next release must never take this release's
    // configuration for the user's. Whether ECS starts a deployment with it changes no traffic.
    const restored = this.restoredConfiguration(JSON.parse(original) as DeploymentConfiguration, release.plan);
    const shown = current?.deploymentConfiguration as Record<string, unknown> | undefined;
    const same = Object.entries(restored).every(
      ([key, value]) => canonical(shown?.[key]) === canonical(value) || (key === 'lifecycleHooks' && canonical(value) === '[]' && shown?.[key] === undefined),
    );
    return same ? done() : notYet('waiting for ECS to show the service’s own configuration again');
  }

  private async sendBack(original: string, plan: Plan, taskDefinition?: string): Promise<void> {
    const { UpdateServiceCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const deploymentConfiguration = this.restoredConfiguration(JSON.parse(original) as DeploymentConfiguration, plan);
    await this.call('ecs:UpdateService', this.where, (ecs) =>
      ecs.send(new UpdateServiceCommand({ cluster, service, deploymentConfiguration, ...(taskDefinition ? { taskDefinition } : {}) })),
    );
  }

  /**
   * One step of a rollback, never a wait: ask ECS once to roll back (our hook answered with ROLLBACK,
   * or StopServiceDeployment), then read until ECS says ROLLBACK_SUCCESSFUL, then restore the
   * configuration. A deployment whose start was never stored is found by the release's revision.
   */
  async rollback(release: Release): Promise<Progress> {
    const arn = this.arn(release) ?? (await this.findOurs(release));
    if (!arn) {
      // Nothing started, unless a start was asked: then look again a few times (reads lag writes)
      // before concluding that UpdateService never took.
      const asked = release.driverState?.['startAsked'];
      const looks = Number(release.driverState?.['looksForStart'] ?? '0');
      if (asked === undefined || looks >= LOOKS_FOR_A_START) return done();
      return notYet(`looking for the service deployment this release may have started (${looks + 1} of ${LOOKS_FOR_A_START})`, {
        looksForStart: String(looks + 1),
      });
    }
    const state = { serviceDeploymentArn: arn };
    const d = await this.describe(arn);
    if (d.status === 'SUCCESSFUL') {
      if (!this.rolling || release.driverState?.['restored'] === arn) {
        // Too late to go back, but the service must not keep Switchyard's hooks: its configuration goes back first.
        const original = release.driverState?.['originalConfiguration'];
        if (original !== undefined && release.driverState?.['restored'] !== arn) await this.sendBack(original, release.plan);
        throw new AlreadyFinalizedError(
          `ECS service deployment ${arn} already succeeded and the previous revision is gone; release the previous image to go back`,
        );
      }
      // ECS finished the rolling update before the release did (its alarm bake): deploy the previous revision again.
      return this.redeployPrevious(release);
    }
    if (d.status === 'STOPPED') return this.redeployPrevious(release);
    // Rolled back is ECS saying so, not a request accepted: only then is the traffic back.
    // The configuration goes back with the previous revision named: a configuration update may start a
    // deployment (UpdateService reference), and it must be of the stable version, whatever the service names.
    if (d.status === 'ROLLBACK_SUCCESSFUL') return withState(await this.restore(release, arn, release.driverState?.['previousTaskDefinition']), state);
    // ROLLBACK_FAILED is final (ServiceDeploymentStatus): ECS will not try again, so the previous revision is deployed again.
    if (d.status === 'ROLLBACK_FAILED') return this.redeployPrevious(release, true);
    if (FAILED.has(d.status ?? '')) return notYet(`ECS is rolling back (${d.status ?? ''}, ${this.weightOf(d)}% on the new version)`, state);
    // Asked before, yet ECS still goes forward (the request did not take, or this read is stale): ask
    // again, with StopServiceDeployment, which ECS accepts while the deployment is in progress.
    const answered = release.driverState?.['rollbackRequested'] === arn ? undefined : (await this.answerHook(release, arn, d, 'ROLLBACK'))?.state;
    if (!answered) {
      const { StopServiceDeploymentCommand } = await ecsSdk();
      try {
        await this.call('ecs:StopServiceDeployment', arn, (ecs) =>
          ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' })),
        );
      } catch (error) {
        // ECS refuses to stop a deployment that is no longer in progress (already rolling back, or over:
        // StopServiceDeployment's ConflictException): the read was stale; the next read says where it is.
        if (!(error instanceof Error && ['ConflictException', 'InvalidParameterException'].includes(error.name))) throw error;
        return notYet(`ECS did not take the stop (${error.message}); reading again`, { ...state, rollbackRequested: arn }, 5);
      }
    }
    return notYet('rollback asked of ECS', { ...state, ...answered, rollbackRequested: arn }, 5);
  }

  /** Deploys the revision that ran before the release (a deployment ECS completed or was stopped outside Switchyard), once; then reads. */
  private async redeployPrevious(release: Release, force = false): Promise<Progress> {
    const previous = release.driverState?.['previousTaskDefinition'];
    if (!previous) throw new TargetFailedError('the previous task definition is not known; release the previous image to go back');
    const current = await this.describeService();
    // After ROLLBACK_FAILED the service may already name the previous revision without running it: deploy it anyway.
    if (release.driverState?.['redeployed'] !== previous && (force || current?.taskDefinition !== previous)) {
      const { UpdateServiceCommand } = await ecsSdk();
      const { cluster, service } = this.options.target;
      const original = JSON.parse(release.driverState?.['originalConfiguration'] ?? '{}') as DeploymentConfiguration;
      await this.call('ecs:UpdateService', this.where, (ecs) =>
        ecs.send(
          new UpdateServiceCommand({
            cluster,
            service,
            taskDefinition: previous,
            deploymentConfiguration: this.restoredConfiguration(original, release.plan),
            ...(force ? { forceNewDeployment: true } : {}),
          }),
        ),
      );
      return notYet(`bringing back ${shortArn(previous)}`, { redeployed: previous }, 5);
    }
    const back =
      current?.deployments?.length === 1 && current.deployments[0]?.taskDefinition === previous && current.deployments[0]?.rolloutState === 'COMPLETED';
    return back ? done() : notYet(`ECS is bringing back ${shortArn(previous)}`);
  }

  /**
   * One step towards the end, never a wait: past the last shift our hook holds ECS; answer it once,
   * then read until ECS says SUCCESSFUL (its clean-up waits out the old target group's deregistration
   * delay, 300 s by default; a rolling update with alarms adds ECS's own bake), then restore the configuration.
   */
  async finalize(release: Release): Promise<Progress> {
    const arn = this.arn(release);
    if (!arn) throw new Error(`release ${release.id} has no ECS service deployment`);
    const d = await this.describe(arn);
    if (d.status === 'SUCCESSFUL') return this.restore(release, arn);
    if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
    const answered = pausedHook(d) && this.weightOf(d) === 100 ? await this.answerHook(release, arn, d, 'CONTINUE') : undefined;
    return notYet(stageOf(d), { ...progressOf(d), ...answered?.state });
  }
}

function shortArn(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

/** Where a deployment is, for people. */
function stageOf(d: ServiceDeployment): string {
  return `ECS service deployment ${shortArn(d.serviceDeploymentArn ?? '')} is ${d.status ?? ''}${d.lifecycleStage ? ` (${d.lifecycleStage})` : ''}`;
}

/**
 * How far ECS got, as state: a change restarts the step's deadline (core: new driver state is a target
 * that took a step), so a big service scaling up task by task, or a stage ECS moves on from, is never
 * cut off, while a deployment stuck on one stage with no task coming up still meets its deadline.
 */
function progressOf(d: ServiceDeployment): Record<string, string> {
  return { ecsProgress: `${d.lifecycleStage ?? d.status ?? ''}/${d.targetServiceRevision?.runningTaskCount ?? 0}` };
}

/** A step's answer with more state to keep. */
function withState(progress: Progress, state: Readonly<Record<string, string>>): Progress {
  return { ...progress, state: { ...state, ...progress.state } };
}
