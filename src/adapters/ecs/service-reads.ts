import type { DeploymentConfiguration, ECSClient, Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import type { EcsTarget } from '../../config/schema.js';
import { releaseHookTimeoutMinutes } from '../../config/runtime.js';
import { AlreadyFinalizedError, DeployError, TargetFailedError, TransientError } from '../../core/errors.js';
import type { Plan } from '../../core/plan.js';
import type { PreflightCheck } from '../../core/preflight.js';
import type { Release } from '../../core/release.js';
import type { Log } from '../../ports/log.js';
import { done, notYet, type Progress } from '../../ports/traffic-driver.js';
import { awsCall } from '../aws/errors.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';
import { pinnedImage } from '../../core/artifact.js';
import { nextRevision, registerRevision, runningRevision } from '../aws/task-definition.js';

/**
 * What the ecs driver reads of ECS and writes to it whatever the strategy: the service, its service
 * deployments, the release's revision, the user's own deployment configuration (kept when the release
 * starts, put back when it ends) and Switchyard's PAUSE hook. The strategies (./blue-green.ts,
 * ./rolling.ts) say what ECS runs the release with and how traffic moves.
 */

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
export const FAILED = new Set(['STOPPED', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED']);
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

/**
 * One strategy of ECS native deployments: what ECS runs the release with and how its traffic moves.
 * The driver (./ecs-driver.ts) runs a release's steps the same way for each; see ./blue-green.ts and
 * ./rolling.ts.
 */
export interface EcsStrategy {
  /**
   * What ECS runs the release with. UpdateService merges: a member left out keeps its value, so every
   * member Switchyard changes is sent, and restoring sends them back explicitly. `hookTimeoutMinutes`:
   * the release's own (config/runtime.ts, releaseHookTimeoutMinutes), else the driver's.
   */
  configuration(original: DeploymentConfiguration | undefined, plan: Plan, desiredCount: number, hookTimeoutMinutes?: number): DeploymentConfiguration;
  /** The new version's share of production while ECS is on its way (not yet SUCCESSFUL or rolled back). */
  weightInFlight(d: ServiceDeployment): number;
  /** The target group the new version's tasks register in, for its ALB metrics. */
  greenTargetGroup(service: Service): string | undefined;
  /** Deploy once the release's revision is registered (`registered`: the state that registration returned, on the call that made it). */
  deploy(release: Release, registered?: Record<string, string>): Promise<Progress>;
  /** The mutating half of deploy after registration, for dry runs. */
  startDeployment(release: Release, registered: Record<string, string>): Promise<Record<string, string>>;
  setWeight(release: Release, percent: number): Promise<Record<string, string> | void>;
  /** Checks of the service this strategy needs, besides those every strategy needs. */
  preflight(service: Service): PreflightCheck[];
  /** A rollback asked after ECS completed the release's deployment. */
  rollbackAfterSuccess(release: Release, arn: string): Promise<Progress>;
}

/** Why a service deployment is not going forward, for people. */
export function ecsReason(d: ServiceDeployment): string {
  const why = d.statusReason ?? d.rollback?.reason;
  return `ECS service deployment ${d.serviceDeploymentArn?.split('/').pop() ?? ''} is ${d.status}${why ? `: ${why}` : ''}${
    d.status === 'STOPPED' || d.status === 'STOP_REQUESTED' ? ' (stopped outside Switchyard, or by ECS)' : ''
  }`;
}

/** The paused Switchyard hook of a deployment, if it is waiting for us. */
export function pausedHook(d: ServiceDeployment): string | undefined {
  return d.lifecycleHookDetails?.find((h) => h.targetType === 'PAUSE' && h.status === 'AWAITING_ACTION')?.hookId;
}

export function shortArn(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

/** Where a deployment is, for people. */
export function stageOf(d: ServiceDeployment): string {
  return `ECS service deployment ${shortArn(d.serviceDeploymentArn ?? '')} is ${d.status ?? ''}${d.lifecycleStage ? ` (${d.lifecycleStage})` : ''}`;
}

/**
 * How far ECS got, as state: a change restarts the step's deadline (core: new driver state is a target
 * that took a step), so a big service scaling up task by task, or a stage ECS moves on from, is never
 * cut off, while a deployment stuck on one stage with no task coming up still meets its deadline.
 */
export function progressOf(d: ServiceDeployment): Record<string, string> {
  return { ecsProgress: `${d.lifecycleStage ?? d.status ?? ''}/${d.targetServiceRevision?.runningTaskCount ?? 0}` };
}

/** A step's answer with more state to keep. */
export function withState(progress: Progress, state: Readonly<Record<string, string>>): Progress {
  return { ...progress, state: { ...state, ...progress.state } };
}

/** The new version's share of production: all once ECS succeeded, none once it rolled back, else as the strategy reads it. */
export function shareOf(d: ServiceDeployment, strategy: Pick<EcsStrategy, 'weightInFlight'>): number {
  if (d.status === 'SUCCESSFUL') return 100;
  if (d.status === 'ROLLBACK_SUCCESSFUL') return 0;
  return strategy.weightInFlight(d);
}

/** A rollback asked after ECS completed the release's deployment and removed the previous tasks. */
export function alreadySucceeded(arn: string): AlreadyFinalizedError {
  return new AlreadyFinalizedError(`ECS service deployment ${arn} already succeeded and the previous revision is gone; release the previous image to go back`);
}

/** The service deployment a release started (stored once ECS named it). */
export function deploymentOf(release: Release): string | undefined {
  return release.driverState?.['serviceDeploymentArn'];
}

/** Reads and writes of one ECS service, shared by every strategy. */
export class EcsService {
  /**
   * @param configure what the release's strategy runs ECS with ({@link EcsStrategy.configuration}); the
   * members it sets are the ones sent back when the release ends.
   */
  constructor(
    readonly options: EcsDriverOptions,
    private readonly configure: () => EcsStrategy,
  ) {}

  client(): Promise<ECSClient> {
    return resolveLazy(this.options.ecs);
  }

  private async call<T>(action: string, resource: string, send: (ecs: ECSClient) => Promise<T>): Promise<T> {
    const ecs = await this.client();
    return awsCall(action, resource, () => send(ecs));
  }

  get where(): string {
    return `${this.options.target.cluster}/${this.options.target.service}`;
  }

  /** The service as ECS describes it now (undefined when it does not exist). */
  async describeService(): Promise<Service | undefined> {
    const { DescribeServicesCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const described = await this.call('ecs:DescribeServices', this.where, (ecs) => ecs.send(new DescribeServicesCommand({ cluster, services: [service] })));
    return described.services?.[0];
  }

  /**
   * The user's own configuration as it was when the release started, to send back. UpdateService
   * merges (an omitted member keeps its value), so every member Switchyard set for the release is
   * sent back explicitly: the user's value, or what ECS has when the member was never set
   * ({@link ECS_UNSET}). So no PAUSE hook, canary step, circuit breaker or alarm of Switchyard's stays.
   */
  restoredConfiguration(original: DeploymentConfiguration, plan: Plan = this.options.plan): DeploymentConfiguration {
    const ours = this.configure().configuration(original, plan, 1);
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

  async describe(arn: string): Promise<ServiceDeployment> {
    const { DescribeServiceDeploymentsCommand } = await ecsSdk();
    const out = await this.call('ecs:DescribeServiceDeployments', arn, (ecs) =>
      ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })),
    );
    const d = out.serviceDeployments?.[0];
    if (!d) throw new TransientError(`ECS did not describe service deployment ${arn}${out.failures?.[0]?.reason ? ` (${out.failures[0].reason})` : ''}`);
    return d;
  }

  /** The release's own service deployment as ECS describes it now, refusing one ECS is taking back or gave up. */
  async goingForward(arn: string): Promise<ServiceDeployment> {
    const d = await this.describe(arn);
    if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
    return d;
  }

  /**
   * A deployment changing the service outside this release, said for people; undefined when there is none.
   * One that only re-applies a configuration to the revision the service runs (every deployment of the
   * service on one task definition) changes no version: a release replaces it, as ECS does.
   */
  async outsideDeployment(service?: Service): Promise<string | undefined> {
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

  /**
   * The service deployment this release started, when its ARN was never stored (the call that
   * started it ended before answering): the service runs the release's revision (or, when even
   * that was not stored, a revision with the release's image) and ECS names a current deployment.
   */
  async findOurs(release: Release, service?: Service): Promise<string | undefined> {
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
  async register(release: Release): Promise<Record<string, string> | { readonly leftover: string }> {
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
  async start(release: Release, state: Readonly<Record<string, string>>): Promise<Progress> {
    const strategy = this.configure();
    const current = await this.describeService();
    if (!current) throw new DeployError(`ECS service ${this.options.target.service} was not found in cluster ${this.options.target.cluster}`);
    const ours = await this.findOurs(release, current);
    const green = strategy.greenTargetGroup(current);
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
          // The hooks' timeout from the release's own settings: the one its pause limit was computed with.
          deploymentConfiguration: strategy.configuration(original, release.plan, current.desiredCount ?? 1, releaseHookTimeoutMinutes(release)),
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
   * Answers our paused hook once: a read right after a continue may still show it awaiting (ECS reads
   * are eventually consistent), and ECS refuses a second continue of the same hook. The hook is known
   * by its id and the stage and weight it paused at; "not awaiting" for it means it was answered.
   */
  async answerHook(
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

  /** Asks ECS to roll the deployment back (StopServiceDeployment); says why when ECS refused (the deployment is no longer in progress). */
  async stop(arn: string): Promise<{ readonly refused?: string }> {
    const { StopServiceDeploymentCommand } = await ecsSdk();
    try {
      await this.call('ecs:StopServiceDeployment', arn, (ecs) =>
        ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' })),
      );
      return {};
    } catch (error) {
      // ECS refuses to stop a deployment that is no longer in progress (already rolling back, or over:
      // StopServiceDeployment's ConflictException): the read was stale; the next read says where it is.
      if (!(error instanceof Error && ['ConflictException', 'InvalidParameterException'].includes(error.name))) throw error;
      return { refused: error.message };
    }
  }

  /**
   * Puts the service's deployment configuration back as the user had it when the release started
   * (stored then, never re-derived), once. The UpdateService reference says updating the deployment
   * configuration makes ECS start new tasks with it: whether or not that happens does not matter here.
   */
  async restore(release: Release, arn: string, taskDefinition?: string): Promise<Progress> {
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

  async sendBack(original: string, plan: Plan, taskDefinition?: string): Promise<void> {
    const { UpdateServiceCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const deploymentConfiguration = this.restoredConfiguration(JSON.parse(original) as DeploymentConfiguration, plan);
    await this.call('ecs:UpdateService', this.where, (ecs) =>
      ecs.send(new UpdateServiceCommand({ cluster, service, deploymentConfiguration, ...(taskDefinition ? { taskDefinition } : {}) })),
    );
  }

  /** Deploys the revision that ran before the release (a deployment ECS completed or was stopped outside Switchyard), once; then reads. */
  async redeployPrevious(release: Release, force = false): Promise<Progress> {
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
}
