import type { DeploymentConfiguration, Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import { trafficStops, type Plan } from '../../core/plan.js';
import type { PreflightCheck } from '../../core/preflight.js';
import type { Release } from '../../core/release.js';
import { done, type Progress } from '../../ports/traffic-driver.js';
import { alreadySucceeded, deploymentOf, type EcsService, type EcsStrategy } from './service-reads.js';

/**
 * Rolling: ECS replaces tasks in batches while the gates are watched, with ECS's circuit breaker and
 * the alarms kept on as a second net. Nothing starts before the first batch is asked for; then ECS
 * replaces the rest on its own, and the new version's share is its share of the running tasks.
 */
export class EcsRolling implements EcsStrategy {
  constructor(private readonly ecs: EcsService) {}

  /** ECS's ROLLING with a surge of one batch, the circuit breaker and the alarm gates on. */
  configuration(original: DeploymentConfiguration | undefined, plan: Plan, desiredCount: number): DeploymentConfiguration {
    const { canaryConfiguration: _c, linearConfiguration: _l, earlySuccessCriteria, ...rest } = original ?? {};
    const surge = trafficStops(plan)[0] ?? 100;
    const alarms = this.ecs.options.alarms ?? [];
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
      minimumHealthyPercent: 100 - this.ecs.options.target.maxUnavailable,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      ...(alarms.length > 0 ? { alarms: { alarmNames: [...alarms], enable: true, rollback: true } } : {}),
    };
  }

  /** The new revision's share of the running tasks. */
  weightInFlight(d: ServiceDeployment): number {
    const mine = d.targetServiceRevision?.runningTaskCount ?? 0;
    const total = mine + (d.sourceServiceRevisions ?? []).reduce((n, s) => n + (s.runningTaskCount ?? 0), 0);
    return total === 0 ? 0 : Math.round((1000 * mine) / total) / 10;
  }

  /** The service's only target group: new tasks join the production one. */
  greenTargetGroup(service: Service): string | undefined {
    return service.loadBalancers?.[0]?.targetGroupArn;
  }

  /**
   * A rolling update gives new tasks production traffic as soon as they are healthy: nothing starts
   * before the first batch is asked for (setWeight), so an approval before traffic holds everything.
   */
  async deploy(_release: Release, registered?: Record<string, string>): Promise<Progress> {
    return done(registered);
  }

  async startDeployment(_release: Release, registered: Record<string, string>): Promise<Record<string, string>> {
    return registered;
  }

  /**
   * The first batch starts ECS's rolling update and ECS replaces the rest on its own; the call returns
   * at once, so the workflow watches the gates while tasks are replaced and reads the share back every
   * little while.
   */
  async setWeight(release: Release): Promise<Record<string, string> | void> {
    const arn = deploymentOf(release);
    if (arn) {
      await this.ecs.goingForward(arn);
      return;
    }
    const state = release.driverState ?? {};
    const started = await this.ecs.start(release, state);
    return { ...state, ...started.state };
  }

  preflight(): PreflightCheck[] {
    return [];
  }

  /**
   * ECS finished the rolling update before the release did (its alarm bake): deploy the previous revision
   * again; once the service's configuration went back, too late.
   */
  async rollbackAfterSuccess(release: Release, arn: string): Promise<Progress> {
    if (release.driverState?.['restored'] !== arn) return this.ecs.redeployPrevious(release);
    throw alreadySucceeded(arn);
  }
}
