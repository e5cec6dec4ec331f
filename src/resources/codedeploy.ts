import type { CreateDeploymentConfigCommandInput } from '@aws-sdk/client-codedeploy';
import { createHash } from 'node:crypto';
import { DeployError } from '../core/errors.js';
import { shiftShape, type Plan } from '../core/plan.js';
import type { Release } from '../core/release.js';

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

/** `repo:tag@sha256:…` -> `repo@sha256:…`: the task definition pins the exact image. */
export function pinnedImage(release: Release): string {
  const { image, digest } = release.artifact;
  if (!digest) return image;
  const repo = image.split('@')[0] ?? image;
  const lastSlash = repo.lastIndexOf('/');
  const colon = repo.indexOf(':', lastSlash + 1);
  return `${colon >= 0 ? repo.slice(0, colon) : repo}@${digest}`;
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
