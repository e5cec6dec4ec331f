import type { DeploymentConfiguration, DeploymentLifecycleHook, ECSClient, Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import { capabilitiesFor, type DriverCapabilities } from '../../core/capabilities.js';
import type { EcsTarget } from '../../config/schema.js';
import { AlreadyFinalizedError, DeployError, TargetFailedError, TransientError } from '../../core/errors.js';
import { trafficStops, type Plan } from '../../core/plan.js';
import type { Release } from '../../core/release.js';
import type { Change } from '../../core/task-diff.js';
import type { PreflightCheck } from '../../core/preflight.js';
import type { Log } from '../../ports/log.js';
import type { TrafficDriver } from '../../ports/traffic-driver.js';
import { awsCall } from '../aws/errors.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';
import { pinnedImage } from '../../resources/codedeploy.js';
import { nextRevision, registerRevision, revisionChanges, runningRevision } from '../aws/task-definition.js';

/** The SDK module is imported on first use: the workflow function's cold start skips it. */
const ecsSdk = () => import('@aws-sdk/client-ecs');

/**
 * The stages where Switchyard's PAUSE hook holds ECS: after test traffic (the new version ready,
 * 0% production), before every production traffic step, and after the last one (before clean-up).
 * ECS refuses PAUSE hooks at TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT (DeploymentLifecycleHook).
 */
export const PAUSE_STAGES = ['POST_TEST_TRAFFIC_SHIFT', 'PRE_PRODUCTION_TRAFFIC_SHIFT', 'POST_PRODUCTION_TRAFFIC_SHIFT'] as const;

/** Statuses in which ECS is taking (or took) the service back to the previous revision, or gave up. */
const FAILED = new Set(['STOPPED', 'STOP_REQUESTED', 'ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED']);
const ACTIVE = ['PENDING', 'IN_PROGRESS'] as const;

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
  /** Pause between reads of the service deployment; tests set it to 0. */
  readonly pollMs?: number;
  /** How long one call may wait for ECS before handing back to the workflow to retry. */
  readonly maxWaitMs?: number;
  /** How to wait between reads (tests let a virtual clock run instead). @default pollMs of real time */
  readonly sleep?: () => Promise<void>;
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
  private readonly pollMs: number;
  private readonly maxWaitMs: number;
  private readonly rolling: boolean;

  constructor(private readonly options: EcsDriverOptions) {
    this.capabilities = capabilitiesFor('ecs', options.plan.strategy);
    this.rolling = options.plan.strategy === 'rolling';
    this.pollMs = options.pollMs ?? 5000;
    // A task may run 120 s (the definition's taskTimeoutSeconds): wait at most half of it, then hand back.
    this.maxWaitMs = options.maxWaitMs ?? 60 * 1000;
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

  private sleep(): Promise<void> {
    return this.options.sleep ? this.options.sleep() : new Promise((r) => setTimeout(r, this.pollMs));
  }

  /**
   * What ECS runs the release with: its own strategy, Switchyard's PAUSE hooks, no bakes of its own.
   * The release's own plan decides the shape (an undo or an expedited release has its own).
   */
  deploymentConfiguration(original: DeploymentConfiguration | undefined, plan: Plan = this.options.plan): DeploymentConfiguration {
    if (this.rolling) {
      const surge = trafficStops(plan)[0] ?? 100;
      const alarms = this.options.alarms ?? [];
      return {
        ...original,
        strategy: 'ROLLING',
        // New tasks start before old ones stop: up to a batch above the desired count.
        maximumPercent: Math.min(200, 100 + Math.ceil(surge)),
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
    const { canaryConfiguration: _c, linearConfiguration: _l, ...rest } = original ?? {};
    return {
      ...rest,
      strategy: stops.length === 0 ? 'BLUE_GREEN' : stops.length === 1 ? 'CANARY' : 'LINEAR',
      bakeTimeInMinutes: 0,
      ...(stops.length === 1 ? { canaryConfiguration: { canaryPercent: stops[0], canaryBakeTimeInMinutes: 0 } } : {}),
      ...(stops.length > 1 ? { linearConfiguration: { stepPercent: stops[0], stepBakeTimeInMinutes: 0 } } : {}),
      lifecycleHooks: [...theirs, ours],
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

  /** A deployment this release already started (the call may have been retried after UpdateService). */
  private async existing(release: Release): Promise<Record<string, string> | undefined> {
    const { ListServiceDeploymentsCommand } = await ecsSdk();
    const { cluster, service, containerName } = this.options.target;
    const running = await runningRevision(await this.client(), cluster, service);
    const image = running.definition.containerDefinitions?.find((c) => c.name === containerName)?.image;
    if (image !== pinnedImage(release)) return undefined;
    const arn = await this.activeDeployment();
    if (!arn) return undefined;
    // The user's own configuration is what the deployment before ours ran with: put back at the end.
    const all = await this.call('ecs:ListServiceDeployments', this.where, (ecs) => ecs.send(new ListServiceDeploymentsCommand({ cluster, service })));
    const before = all.serviceDeployments?.find((d) => d.serviceDeploymentArn !== arn && !ACTIVE.includes(d.status as (typeof ACTIVE)[number]));
    const original = before?.serviceDeploymentArn ? (await this.describe(before.serviceDeploymentArn)).deploymentConfiguration : undefined;
    return { serviceDeploymentArn: arn, taskDefinition: running.arn, ...(original ? { originalConfiguration: JSON.stringify(original) } : {}) };
  }

  /** Registers the release's revision and starts the service deployment (UpdateService). */
  private async start(release: Release, state: Record<string, string>): Promise<Record<string, string>> {
    const { UpdateServiceCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const current = await this.describeService();
    if (!current) throw new DeployError(`ECS service ${service} was not found in cluster ${cluster}`);
    const running = await this.activeDeployment();
    if (running) {
      // Ours would have been found by `existing`: this one was started outside Switchyard.
      throw new DeployError(
        `service deployment ${running.split('/').pop() ?? running} of ${this.where} is in progress outside Switchyard; let it finish or stop it, then release again`,
      );
    }
    if (current.deploymentController?.type && current.deploymentController.type !== 'ECS') {
      throw new DeployError(
        `ECS service ${service} uses the ${current.deploymentController.type} deployment controller; the ecs driver needs ECS (use the codedeploy driver for CODE_DEPLOY)`,
      );
    }
    const updated = await this.call('ecs:UpdateService', this.where, (ecs) =>
      ecs.send(
        new UpdateServiceCommand({
          cluster,
          service,
          taskDefinition: state['taskDefinition'],
          deploymentConfiguration: this.deploymentConfiguration(current.deploymentConfiguration, release.plan),
          // The revision the service already runs (a release of the image it serves, nothing else
          // changed): UpdateService alone would start nothing, so ask for the deployment.
          ...(current.taskDefinition === state['taskDefinition'] ? { forceNewDeployment: true } : {}),
        }),
      ),
    );
    const arn = updated.service?.currentServiceDeployment ?? (await this.activeDeployment());
    if (!arn) throw new DeployError('UpdateService started no service deployment');
    // ECS registers the new version in the alternate target group and swaps the roles once it succeeds.
    const alternate = current.loadBalancers?.[0]?.advancedConfiguration?.alternateTargetGroupArn;
    const production = current.loadBalancers?.[0]?.targetGroupArn;
    const green = this.rolling ? production : alternate;
    this.options.log?.info('started service deployment', { releaseId: release.id, serviceDeploymentArn: arn, taskDefinition: state['taskDefinition'] });
    return {
      ...state,
      serviceDeploymentArn: arn,
      originalConfiguration: JSON.stringify(current.deploymentConfiguration ?? {}),
      ...(green ? { greenTargetGroup: green } : {}),
    };
  }

  private async register(release: Release): Promise<Record<string, string>> {
    const { cluster, service, containerName, taskDefinition: source } = this.options.target;
    const ecs = await this.client();
    const running = await runningRevision(ecs, cluster, service);
    const taskDefinition = await registerRevision(ecs, nextRevision(running.definition, running.tags, containerName, pinnedImage(release), source));
    return { taskDefinition, previousTaskDefinition: running.arn };
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
    return this.rolling ? registered : this.start(release, registered);
  }

  async deploy(release: Release): Promise<Record<string, string>> {
    if (this.rolling) {
      // A rolling update gives new tasks production traffic as soon as they are healthy: nothing starts
      // before the first batch is asked for (setWeight), so an approval before traffic holds everything.
      return release.driverState?.['taskDefinition'] ? { ...release.driverState } : this.register(release);
    }
    const state = this.arn(release)
      ? { ...release.driverState }
      : ((await this.existing(release)) ?? (await this.start(release, await this.register(release))));
    const arn = state['serviceDeploymentArn']!;
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const d = await this.describe(arn);
      if (FAILED.has(d.status ?? '')) throw new DeployError(ecsReason(d));
      // Ready: the new revision is up with the test traffic, held by our hook before any production traffic.
      if (pausedHook(d) && this.weightOf(d) === 0) return state;
      if (Date.now() > deadline) throw new TransientError(`still waiting for the new revision to be ready (${d.lifecycleStage ?? d.status})`);
      await this.sleep();
    }
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

  private async continueHook(arn: string, hookId: string, action: 'CONTINUE' | 'ROLLBACK'): Promise<void> {
    const { ContinueServiceDeploymentCommand } = await ecsSdk();
    await this.call('ecs:ContinueServiceDeployment', arn, (ecs) =>
      ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action })),
    );
  }

  async setWeight(release: Release, percent: number): Promise<Record<string, string> | void> {
    if (this.rolling) return this.roll(release);
    const arn = this.arn(release);
    if (!arn) throw new Error(`release ${release.id} has no ECS service deployment`);
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const d = await this.describe(arn);
      if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
      const hook = pausedHook(d);
      const weight = this.weightOf(d);
      // Arrived and held: ECS waits at our hook before its next step (or after the last one).
      if (weight >= percent && (hook || d.status === 'SUCCESSFUL')) return;
      if (hook) await this.continueHook(arn, hook, 'CONTINUE');
      // ECS is on its way: the workflow reads the weight back and asks again if it is not there yet.
      else if (Date.now() > deadline) return;
      else await this.sleep();
    }
  }

  /**
   * Rolling: the first batch starts ECS's rolling update and ECS replaces the rest on its own; the
   * call returns at once, so the workflow watches the gates while tasks are replaced and reads the
   * share back every little while. The deployment's ARN comes back as state for the release; a
   * retry after UpdateService finds it again.
   */
  private async roll(release: Release): Promise<Record<string, string> | void> {
    const arn = this.arn(release);
    if (arn) {
      const d = await this.describe(arn);
      if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
      return;
    }
    return { ...release.driverState, ...((await this.existing(release)) ?? (await this.start(release, { ...release.driverState }))) };
  }

  async verify(release: Release): Promise<number> {
    const arn = this.arn(release);
    if (!arn) return 0;
    const d = await this.describe(arn);
    if (FAILED.has(d.status ?? '') && d.status !== 'ROLLBACK_SUCCESSFUL') throw new TargetFailedError(ecsReason(d));
    return this.weightOf(d);
  }

  /** Puts the service's deployment configuration back as the user had it. */
  private async restoreConfiguration(release: Release): Promise<void> {
    const original = release.driverState?.['originalConfiguration'];
    if (original === undefined) return;
    const { UpdateServiceCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    // deploymentConfiguration alone does not start a service deployment (UpdateService API reference).
    await this.call('ecs:UpdateService', this.where, (ecs) =>
      ecs.send(new UpdateServiceCommand({ cluster, service, deploymentConfiguration: JSON.parse(original) as DeploymentConfiguration })),
    );
  }

  async rollback(release: Release): Promise<void> {
    const arn = this.arn(release);
    if (!arn) return; // nothing started: nothing to undo
    let d = await this.describe(arn);
    if (d.status === 'SUCCESSFUL') {
      if (!this.rolling || (await this.finalized(release))) {
        throw new AlreadyFinalizedError(
          `ECS service deployment ${arn} already succeeded and the previous revision is gone; release the previous image to go back`,
        );
      }
      // ECS finished the rolling update before the release did (its final bake): deploy the previous revision again.
      return this.redeployPrevious(release);
    }
    if (d.status === 'STOPPED') return this.redeployPrevious(release);
    if (!FAILED.has(d.status ?? '')) {
      const hook = pausedHook(d);
      if (hook) await this.continueHook(arn, hook, 'ROLLBACK');
      else {
        const { StopServiceDeploymentCommand } = await ecsSdk();
        await this.call('ecs:StopServiceDeployment', arn, (ecs) =>
          ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' })),
        );
      }
    }
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      d = await this.describe(arn);
      // Rolled back is ECS saying so, not a request accepted: only then is the traffic back.
      if (d.status === 'ROLLBACK_SUCCESSFUL') return this.restoreConfiguration(release);
      if (d.status === 'ROLLBACK_FAILED') throw new TransientError(`${ecsReason(d)}; trying again`);
      if (Date.now() > deadline) throw new TransientError(`ECS is still rolling back (${d.status}, ${this.weightOf(d)}% on the new version)`);
      await this.sleep();
    }
  }

  /** The release finished: the service runs with the user's own configuration again. */
  private async finalized(release: Release): Promise<boolean> {
    const current = JSON.stringify((await this.describeService())?.deploymentConfiguration ?? {});
    return current === release.driverState?.['originalConfiguration'];
  }

  /** Deploys the revision that ran before the release (a deployment ECS completed or was stopped outside Switchyard). */
  private async redeployPrevious(release: Release): Promise<void> {
    const previous = release.driverState?.['previousTaskDefinition'];
    if (!previous) throw new TargetFailedError('the previous task definition is not known; release the previous image to go back');
    const { UpdateServiceCommand } = await ecsSdk();
    const { cluster, service } = this.options.target;
    const current = await this.describeService();
    if (current?.taskDefinition !== previous) {
      await this.call('ecs:UpdateService', this.where, (ecs) =>
        ecs.send(
          new UpdateServiceCommand({
            cluster,
            service,
            taskDefinition: previous,
            deploymentConfiguration: JSON.parse(release.driverState?.['originalConfiguration'] ?? '{}') as DeploymentConfiguration,
          }),
        ),
      );
    }
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const now = await this.describeService();
      const done = now?.deployments?.length === 1 && now.deployments[0]?.taskDefinition === previous && now.deployments[0]?.rolloutState === 'COMPLETED';
      if (done) return;
      if (Date.now() > deadline) throw new TransientError(`ECS is still bringing back ${previous}`);
      await this.sleep();
    }
  }

  async finalize(release: Release): Promise<void> {
    const arn = this.arn(release);
    if (!arn) throw new Error(`release ${release.id} has no ECS service deployment`);
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const d = await this.describe(arn);
      if (d.status === 'SUCCESSFUL') return this.restoreConfiguration(release);
      if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
      // Past the last shift, held by our hook: let ECS bake 0 minutes and clean up the old revision.
      const hook = pausedHook(d);
      if (hook && this.weightOf(d) === 100) await this.continueHook(arn, hook, 'CONTINUE');
      else if (Date.now() > deadline) throw new TransientError(`still waiting for ECS to finish (${d.lifecycleStage ?? d.status})`);
      else await this.sleep();
    }
  }
}
