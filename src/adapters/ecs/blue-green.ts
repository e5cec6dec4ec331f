import type { DeploymentConfiguration, DeploymentLifecycleHook, Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import { DeployError } from '../../core/errors.js';
import { trafficStops, type Plan } from '../../core/plan.js';
import type { PreflightCheck } from '../../core/preflight.js';
import type { Release } from '../../core/release.js';
import { done, notYet, type Progress } from '../../ports/traffic-driver.js';
import {
  FAILED,
  PAUSE_STAGES,
  alreadySucceeded,
  deploymentOf,
  ecsReason,
  pausedHook,
  progressOf,
  shareOf,
  shortArn,
  stageOf,
  type EcsService,
  type EcsStrategy,
} from './service-reads.js';

/**
 * The pause hooks ECS stands at between `from`% and the step that reaches `to`%: one before every
 * production step (PRE_PRODUCTION_TRAFFIC_SHIFT), and, from 0%, the one after test traffic. The steps
 * are ECS's for the release's own plan: one canary step, equal linear steps, or all at once.
 */
export function hooksBefore(plan: Plan, from: number, to: number): number {
  const stops = trafficStops(plan);
  const first = stops[0];
  const steps =
    first === undefined ? [100] : stops.length === 1 ? [first, 100] : [...Array.from({ length: Math.ceil(100 / first) - 1 }, (_, i) => (i + 1) * first), 100];
  return (from === 0 ? 1 : 0) + steps.filter((w) => w > from && w <= to).length;
}

/**
 * Blue/green, canary and linear: ECS's own strategy with Switchyard's PAUSE hook at every step, so
 * Switchyard owns the bakes and may stop at any step. The new version comes up in the alternate target
 * group with the test traffic and none of production, held by the hook until the first shift.
 */
export class EcsBlueGreen implements EcsStrategy {
  constructor(private readonly ecs: EcsService) {}

  /** ECS's own BLUE_GREEN, CANARY or LINEAR for the plan's steps, no bakes of its own, Switchyard's PAUSE hook on every step. */
  configuration(
    original: DeploymentConfiguration | undefined,
    plan: Plan,
    _desiredCount?: number,
    hookTimeoutMinutes = this.ecs.options.hookTimeoutMinutes,
  ): DeploymentConfiguration {
    const { canaryConfiguration: _c, linearConfiguration: _l, earlySuccessCriteria: _e, ...rest } = original ?? {};
    const stops = trafficStops(plan);
    const ours: DeploymentLifecycleHook = {
      targetType: 'PAUSE',
      lifecycleStages: [...PAUSE_STAGES],
      // Above the longest the plan can hold at one step, so the timeout never decides; if it ever does, back to stable.
      timeoutConfiguration: { timeoutInMinutes: hookTimeoutMinutes, action: 'ROLLBACK' },
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

  /** ECS's requested production weight for the new revision. */
  weightInFlight(d: ServiceDeployment): number {
    return d.targetServiceRevision?.requestedProductionTrafficWeight ?? 0;
  }

  /** ECS registers the new version in the alternate target group and swaps the roles once it succeeds. */
  greenTargetGroup(service: Service): string | undefined {
    return service.loadBalancers?.[0]?.advancedConfiguration?.alternateTargetGroupArn;
  }

  /**
   * Start the service deployment (stored at once), then read where ECS is until our hook holds it after
   * test traffic. ECS takes minutes for that (tasks start, then the target group's health checks: 30 s x 5
   * by default): the workflow waits between reads.
   */
  async deploy(release: Release, registered?: Record<string, string>): Promise<Progress> {
    if (registered) return notYet(`revision ${shortArn(registered['taskDefinition'] ?? '')} registered`, registered, 1);
    const arn = deploymentOf(release);
    if (!arn) return this.ecs.start(release, release.driverState ?? {});
    const d = await this.ecs.describe(arn);
    if (FAILED.has(d.status ?? '')) throw new DeployError(ecsReason(d));
    // Ready: the new revision is up with the test traffic, held by our hook before any production traffic.
    if (pausedHook(d) && shareOf(d, this) === 0) return done();
    return notYet(stageOf(d), progressOf(d));
  }

  async startDeployment(release: Release, registered: Record<string, string>): Promise<Record<string, string>> {
    const asked = { ...registered, startAsked: registered['taskDefinition'] ?? '' };
    const started = await this.ecs.start({ ...release, driverState: asked }, asked);
    return { ...registered, ...started.state };
  }

  async setWeight(release: Release, percent: number): Promise<Record<string, string> | void> {
    const arn = deploymentOf(release);
    if (!arn) throw new Error(`release ${release.id} has no ECS service deployment`);
    const d = await this.ecs.goingForward(arn);
    // Arrived and held: ECS waits at our hook before its next step (or after the last one).
    if (shareOf(d, this) >= percent && (pausedHook(d) || d.status === 'SUCCESSFUL')) return;
    // Arrived, though the weight does not say so yet: the weight is a snapshot that may lag (SDK model,
    // ServiceRevisionSummary.requestedProductionTrafficWeight). ECS pauses before every production step
    // (and, the first time, after test traffic too), each pause a new hookId; once this shift let go as
    // many hooks as stand before its step, a new one awaiting means ECS made the step and holds there.
    // Answering it would skip the bake.
    const hook = pausedHook(d);
    const [forPercent, from, ...letGo] = (release.driverState?.['letGo'] ?? '').split('|');
    const mine = forPercent === String(percent) ? letGo : [];
    const start = forPercent === String(percent) ? Number(from) : release.weight;
    if (hook && mine.length >= hooksBefore(release.plan, start, percent) && !mine.includes(hook)) return;
    // ECS moves on from the hook by itself; the workflow reads the weight back and asks again until it is there.
    const answered = await this.ecs.answerHook(release, arn, d, 'CONTINUE');
    // A continue ECS refused counts as let go too (our own earlier call whose answer was lost).
    if (!answered || mine.includes(answered.hook)) return answered?.state;
    return { ...answered.state, letGo: [String(percent), String(start), ...mine, answered.hook].join('|') };
  }

  /** Blue/green, canary and linear need the load balancer's alternate target group and listener rules. */
  preflight(service: Service): PreflightCheck[] {
    const advanced = service.loadBalancers?.[0]?.advancedConfiguration;
    const ok = Boolean(advanced?.alternateTargetGroupArn && advanced.productionListenerRule && advanced.roleArn);
    return [
      {
        name: 'blue/green load balancer',
        ok,
        detail: ok
          ? `alternate target group ${advanced?.alternateTargetGroupArn?.split(':').pop() ?? ''}`
          : 'blue/green, canary and linear need the load balancer advancedConfiguration: alternateTargetGroupArn, productionListenerRule (and testListenerRule for test traffic) and roleArn',
      },
    ];
  }

  /** Too late to go back (the blue tasks are gone), but the service must not keep Switchyard's hooks: its configuration goes back first. */
  async rollbackAfterSuccess(release: Release, arn: string): Promise<Progress> {
    const original = release.driverState?.['originalConfiguration'];
    if (original !== undefined && release.driverState?.['restored'] !== arn) await this.ecs.sendBack(original, release.plan);
    throw alreadySucceeded(arn);
  }
}
