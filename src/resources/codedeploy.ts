import type { CreateDeploymentConfigCommandInput } from '@aws-sdk/client-codedeploy';
import { createHash } from 'node:crypto';
import { DeployError } from '../core/errors.js';
import { shiftShape, type Plan } from '../core/plan.js';
import type { PreflightCheck } from '../core/preflight.js';

/*
 * What Switchyard asks of CodeDeploy, by name and shape: the traffic configs a plan needs and the
 * AppSpec of a deployment. Pure functions shared by the driver (which creates them) and the CDK
 * stack (which grants exactly these names), so the two can never disagree.
 *
 * AppSpec for ECS: https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html
 * Custom deployment configs: https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations-create.html
 */

/** Deterministic names for the traffic configs Switchyard creates, so they are reused. */
export function deploymentConfigFor(plan: Plan): { name: string; create?: CreateDeploymentConfigCommandInput } {
  const shape = shiftShape(plan);
  const n = (x: number) => String(x).replace('.', '_');
  switch (shape.kind) {
    case 'all-at-once':
      return { name: 'CodeDeployDefault.ECSAllAtOnce' };
    case 'canary': {
      const minutes = Math.round(shape.intervalSeconds / 60);
      const name = `Switchyard.ECSCanary${n(shape.percent)}Percent${minutes}Minutes`;
      return {
        name,
        create: {
          deploymentConfigName: name,
          computePlatform: 'ECS',
          trafficRoutingConfig: { type: 'TimeBasedCanary', timeBasedCanary: { canaryPercentage: shape.percent, canaryInterval: minutes } },
        },
      };
    }
    case 'linear': {
      const minutes = Math.round(shape.intervalSeconds / 60);
      const name = `Switchyard.ECSLinear${n(shape.percent)}PercentEvery${minutes}Minutes`;
      return {
        name,
        create: {
          deploymentConfigName: name,
          computePlatform: 'ECS',
          trafficRoutingConfig: { type: 'TimeBasedLinear', timeBasedLinear: { linearPercentage: shape.percent, linearInterval: minutes } },
        },
      };
    }
    case 'custom':
      throw new DeployError(`CodeDeploy cannot run this plan: ${shape.reason}`);
  }
}

export interface AppSpecInput {
  readonly taskDefinitionArn: string;
  readonly containerName: string;
  readonly containerPort: number;
}

/** The AppSpec content of an ECS deployment (`revisionType: AppSpecContent`), with its SHA-256. */
export function appSpecFor({ taskDefinitionArn, containerName, containerPort }: AppSpecInput): { content: string; sha256: string } {
  const content = JSON.stringify({
    version: 0.0,
    Resources: [
      {
        TargetService: {
          Type: 'AWS::ECS::Service',
          Properties: { TaskDefinition: taskDefinitionArn, LoadBalancerInfo: { ContainerName: containerName, ContainerPort: containerPort } },
        },
      },
    ],
  });
  return { content, sha256: createHash('sha256').update(content).digest('hex') };
}

/** The settings of a CodeDeploy deployment group that a plan depends on (GetDeploymentGroup's blue/green configuration). */
export interface DeploymentGroupWaits {
  /** deploymentReadyOption: STOP_DEPLOYMENT holds green at 0% until continued; CONTINUE_DEPLOYMENT does not wait. */
  readonly readyAction?: string;
  readonly readyWaitMinutes?: number;
  /** terminateBlueInstancesOnDeploymentSuccess: how long blue is kept after all traffic moved to green. */
  readonly terminationWaitMinutes?: number;
}

/**
 * Whether a deployment group's waits fit a plan. The ready wait is the pre-traffic approval: it
 * must hold (STOP_DEPLOYMENT) longer than that approval may take. The termination wait keeps the
 * old version to roll back to: it must cover everything after 100% (final bake, pre-finalize
 * approval), or CodeDeploy removes the old version while Switchyard is still watching.
 */
export function deploymentGroupFits(plan: Plan, group: DeploymentGroupWaits): PreflightCheck[] {
  const firstTraffic = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent > 0);
  const full = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent === 100);
  const seconds = (from: number, to: number) =>
    plan.steps
      .slice(from, to)
      .reduce((sum, s) => sum + (s.type === 'approval' ? s.timeoutSeconds : s.type === 'bake' || s.type === 'analysis' ? s.seconds : 0), 0);
  const checks: PreflightCheck[] = [];
  const beforeTraffic = seconds(0, firstTraffic);
  if (beforeTraffic > 0) {
    const holds = group.readyAction === 'STOP_DEPLOYMENT' && (group.readyWaitMinutes ?? 0) * 60 > beforeTraffic;
    checks.push({
      name: 'deployment group ready wait',
      ok: holds,
      detail: holds
        ? `holds the new version at 0% for ${group.readyWaitMinutes} minutes, longer than the ${beforeTraffic}s the plan may wait before traffic`
        : `the plan waits up to ${beforeTraffic}s before traffic, but the ready wait is ${group.readyAction ?? 'not set'}${group.readyWaitMinutes ? ` for ${group.readyWaitMinutes} minutes` : ''}; set deploymentReadyOption { actionOnTimeout: STOP_DEPLOYMENT, waitTimeInMinutes: ${Math.ceil(beforeTraffic / 60) + 1} or more }`,
    });
  }
  const afterFull = full >= 0 ? seconds(full + 1, plan.steps.length) : 0;
  if (afterFull > 0) {
    const covers = (group.terminationWaitMinutes ?? 0) * 60 >= afterFull;
    checks.push({
      name: 'deployment group termination wait',
      ok: covers,
      detail: covers
        ? `keeps the old version ${group.terminationWaitMinutes} minutes after 100%, covering the ${afterFull}s the plan watches there`
        : `the plan watches ${afterFull}s after 100% (final bake and approvals), but the old version is kept only ${group.terminationWaitMinutes ?? 0} minutes; set terminationWaitTimeInMinutes to ${Math.ceil(afterFull / 60)} or more`,
    });
  }
  return checks;
}
