import type { DeploymentConfiguration, ServiceDeployment } from '@aws-sdk/client-ecs';
import { capabilitiesFor, type DriverCapabilities } from '../../core/capabilities.js';
import { DeployError, TargetFailedError } from '../../core/errors.js';
import type { Plan } from '../../core/plan.js';
import type { Release } from '../../core/release.js';
import type { Change } from '../../core/task-diff.js';
import type { PreflightCheck } from '../../core/preflight.js';
import { done, notYet, type Progress, type TrafficDriver } from '../../ports/traffic-driver.js';
import { revisionChanges } from '../aws/task-definition.js';
import { EcsBlueGreen, hooksBefore } from './blue-green.js';
import { EcsRolling } from './rolling.js';
import {
  EcsService,
  FAILED,
  deploymentOf,
  ecsReason,
  pausedHook,
  progressOf,
  shareOf,
  stageOf,
  withState,
  type EcsDriverOptions,
  type EcsStrategy,
} from './service-reads.js';

export { PAUSE_STAGES, ecsReason, type EcsDriverOptions } from './service-reads.js';

/** How many reads, one workflow wait apart, a rollback makes for a deployment whose start was asked but not recorded. */
const LOOKS_FOR_A_START = 4;

/** Each plan strategy's ECS strategy, chosen from this map. */
const STRATEGIES: Record<Plan['strategy'], (service: EcsService) => EcsStrategy> = {
  'blue-green': (service) => new EcsBlueGreen(service),
  canary: (service) => new EcsBlueGreen(service),
  linear: (service) => new EcsBlueGreen(service),
  steps: (service) => new EcsBlueGreen(service),
  rolling: (service) => new EcsRolling(service),
};

/**
 * ECS native deployments on the default (ECS) deployment controller. Blue/green, canary and linear
 * run as ECS's own strategy with Switchyard's PAUSE hook at every step (./blue-green.ts); rolling lets
 * ECS replace tasks in batches while the gates are watched (./rolling.ts). This file runs a release's
 * steps the same way for both, none of them a wait; the service's own deployment configuration is put
 * back when the release ends (./service-reads.ts).
 */
export class EcsDriver implements TrafficDriver {
  readonly capabilities: DriverCapabilities;
  private readonly ecs: EcsService;
  private readonly strategy: EcsStrategy;

  constructor(options: EcsDriverOptions) {
    this.capabilities = capabilitiesFor('ecs', options.plan.strategy);
    this.ecs = new EcsService(options, () => this.strategy);
    this.strategy = STRATEGIES[options.plan.strategy](this.ecs);
  }

  /** What ECS runs the release with. The release's own plan decides the shape (an undo or an expedited release has its own). */
  deploymentConfiguration(original: DeploymentConfiguration | undefined, plan: Plan = this.ecs.options.plan, desiredCount = 1): DeploymentConfiguration {
    return this.strategy.configuration(original, plan, desiredCount);
  }

  /** The user's own configuration as it was when the release started, to send back. */
  restoredConfiguration(original: DeploymentConfiguration, plan: Plan = this.ecs.options.plan): DeploymentConfiguration {
    return this.ecs.restoredConfiguration(original, plan);
  }

  /** The new version's share of production: ECS's requested weight (blue/green), or its share of running tasks (rolling). */
  weightOf(d: ServiceDeployment): number {
    return shareOf(d, this.strategy);
  }

  /** The pause hooks ECS stands at between `from`% and the step that reaches `to`% (blue/green, canary, linear). */
  hooksBefore(plan: Plan, from: number, to: number): number {
    return hooksBefore(plan, from, to);
  }

  /**
   * Read-only checks before anything moves: the service exists on the ECS deployment controller, plus
   * what its strategy needs (blue/green: the load balancer's alternate target group and listener
   * rules). A deployment already running outside Switchyard is refused when the release starts one.
   */
  async preflight(): Promise<PreflightCheck[]> {
    const { cluster, service } = this.ecs.options.target;
    const current = await this.ecs.describeService();
    const checks: PreflightCheck[] = [
      {
        name: 'ECS service',
        ok: current !== undefined,
        detail: current ? `${this.ecs.where} found` : `service ${service} was not found in cluster ${cluster}: check target.cluster and target.service`,
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
    return [...checks, ...this.strategy.preflight(current)];
  }

  /** The mutating half of deploy (registers the revision, starts the service deployment), for dry runs. */
  async startDeployment(release: Release): Promise<Record<string, string>> {
    const registered = await this.ecs.register(release);
    if ('leftover' in registered) throw new DeployError(registered.leftover);
    return this.strategy.startDeployment(release, registered);
  }

  /**
   * One step towards the new version being ready with 0% of production, never a wait: register the
   * revision (stored at once), then what the strategy does (blue/green starts the service deployment
   * and reads until our hook holds it after test traffic; rolling starts nothing before the first batch).
   */
  async deploy(release: Release): Promise<Progress> {
    if (release.driverState?.['taskDefinition']) return this.strategy.deploy(release);
    // The revision is built from, and the end of the release goes back to, what the service runs when no
    // other deployment is changing it: wait for one in progress first.
    const busy = await this.ecs.outsideDeployment();
    if (busy) return notYet(busy);
    const registered = await this.ecs.register(release);
    if ('leftover' in registered) return notYet(registered.leftover);
    return this.strategy.deploy(release, registered);
  }

  /** The new version's target group's name (the alternate one; rolling: the service's only one), for its ALB metrics. */
  greenTargetGroup(release: Release): string | undefined {
    const arn = release.driverState?.['greenTargetGroup'];
    return arn?.split(':').pop()?.split('/')[1];
  }

  async changes(release: Release): Promise<readonly Change[]> {
    const before = release.driverState?.['previousTaskDefinition'];
    const after = release.driverState?.['taskDefinition'];
    return before && after ? revisionChanges(await this.ecs.client(), before, after) : [];
  }

  setWeight(release: Release, percent: number): Promise<Record<string, string> | void> {
    return this.strategy.setWeight(release, percent);
  }

  async verify(release: Release): Promise<number> {
    const arn = deploymentOf(release);
    if (!arn) return 0;
    const d = await this.ecs.describe(arn);
    if (FAILED.has(d.status ?? '') && d.status !== 'ROLLBACK_SUCCESSFUL') throw new TargetFailedError(ecsReason(d));
    return this.weightOf(d);
  }

  /**
   * One step of a rollback, never a wait: ask ECS once to roll back (our hook answered with ROLLBACK,
   * or StopServiceDeployment), then read until ECS says ROLLBACK_SUCCESSFUL, then restore the
   * configuration. A deployment whose start was never stored is found by the release's revision.
   */
  async rollback(release: Release): Promise<Progress> {
    const arn = deploymentOf(release) ?? (await this.ecs.findOurs(release));
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
    const d = await this.ecs.describe(arn);
    if (d.status === 'SUCCESSFUL') return this.strategy.rollbackAfterSuccess(release, arn);
    if (d.status === 'STOPPED') return this.ecs.redeployPrevious(release);
    // Rolled back is ECS saying so, not a request accepted: only then is the traffic back.
    // The configuration goes back with the previous revision named: a configuration update may start a
    // deployment (UpdateService reference), and it must be of the stable version, whatever the service names.
    if (d.status === 'ROLLBACK_SUCCESSFUL') return withState(await this.ecs.restore(release, arn, release.driverState?.['previousTaskDefinition']), state);
    // ROLLBACK_FAILED is final (ServiceDeploymentStatus): ECS will not try again, so the previous revision is deployed again.
    if (d.status === 'ROLLBACK_FAILED') return this.ecs.redeployPrevious(release, true);
    if (FAILED.has(d.status ?? '')) return notYet(`ECS is rolling back (${d.status ?? ''}, ${this.weightOf(d)}% on the new version)`, state);
    // Asked before, yet ECS still goes forward (the request did not take, or this read is stale): ask
    // again, with StopServiceDeployment, which ECS accepts while the deployment is in progress.
    const answered = release.driverState?.['rollbackRequested'] === arn ? undefined : (await this.ecs.answerHook(release, arn, d, 'ROLLBACK'))?.state;
    if (!answered) {
      const { refused } = await this.ecs.stop(arn);
      if (refused !== undefined) return notYet(`ECS did not take the stop (${refused}); reading again`, { ...state, rollbackRequested: arn }, 5);
    }
    return notYet('rollback asked of ECS', { ...state, ...answered, rollbackRequested: arn }, 5);
  }

  /**
   * One step towards the end, never a wait: past the last shift our hook holds ECS; answer it once,
   * then read until ECS says SUCCESSFUL (its clean-up waits out the old target group's deregistration
   * delay, 300 s by default; a rolling update with alarms adds ECS's own bake), then restore the configuration.
   */
  async finalize(release: Release): Promise<Progress> {
    const arn = deploymentOf(release);
    if (!arn) throw new Error(`release ${release.id} has no ECS service deployment`);
    const d = await this.ecs.describe(arn);
    if (d.status === 'SUCCESSFUL') return this.ecs.restore(release, arn);
    if (FAILED.has(d.status ?? '')) throw new TargetFailedError(ecsReason(d));
    const answered = pausedHook(d) && this.weightOf(d) === 100 ? await this.ecs.answerHook(release, arn, d, 'CONTINUE') : undefined;
    return notYet(stageOf(d), { ...progressOf(d), ...answered?.state });
  }
}
