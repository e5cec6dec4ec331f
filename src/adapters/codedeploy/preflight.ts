import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { CodeDeployTarget } from '../../config/schema.js';
import { messageOf } from '../../core/errors.js';
import type { Plan } from '../../core/plan.js';
import type { PreflightCheck } from '../../core/preflight.js';
import { deploymentGroupFits } from '../../resources/codedeploy.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';

export interface PreflightClients {
  readonly ecs: Lazy<ECSClient>;
  readonly codedeploy: Lazy<CodeDeployClient>;
  readonly cloudwatch: Lazy<CloudWatchClient>;
  readonly ecr: Lazy<ECRClient>;
}

export interface PreflightOptions extends PreflightClients {
  readonly target: CodeDeployTarget;
  readonly plan: Plan;
  /** The CloudWatch alarms the service's gates name. */
  readonly alarms: readonly string[];
}

/** `<account>.dkr.ecr.<region>.<suffix>/<repo>[:tag][@sha256:…]` -> where ECR keeps it, or undefined for other registries. */
export function ecrImage(image: string): { registryId: string; repositoryName: string; imageId: { imageDigest: string } | { imageTag: string } } | undefined {
  const match = /^(\d{12})\.dkr\.ecr\.[a-z0-9-]+\.[a-z0-9.]+\/([^:@]+)(?::([^@]+))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(image);
  if (!match) return undefined;
  const [, registryId = '', repositoryName = '', tag, digest] = match;
  if (digest) return { registryId, repositoryName, imageId: { imageDigest: digest } };
  return { registryId, repositoryName, imageId: { imageTag: tag ?? 'latest' } };
}

/** A check made by `read`; a read that fails (a permission, a missing resource) is a failed check, never a crash. */
async function checked(name: string, read: () => Promise<PreflightCheck | PreflightCheck[]>): Promise<PreflightCheck[]> {
  try {
    return [await read()].flat();
  } catch (error) {
    return [{ name, ok: false, detail: `could not be read: ${messageOf(error)}` }];
  }
}

/**
 * Read-only checks of a CodeDeploy target before anything moves: the deployment group's waits fit
 * the plan, its target groups are the configured ones, the gates' alarms exist and none is firing,
 * and the service's current task definition is ACTIVE with its image still in ECR (so a rollback
 * has something to return to).
 */
export async function codedeployPreflight(options: PreflightOptions): Promise<PreflightCheck[]> {
  const { target, plan, alarms } = options;
  const checks: PreflightCheck[] = [];
  const codedeploySdk = await import('@aws-sdk/client-codedeploy');
  const codedeploy = await resolveLazy(options.codedeploy);
  checks.push(
    ...(await checked('deployment group', async () => {
      const { deploymentGroupInfo: group } = await codedeploy.send(
        new codedeploySdk.GetDeploymentGroupCommand({ applicationName: target.application, deploymentGroupName: target.deploymentGroup }),
      );
      const blueGreen = group?.blueGreenDeploymentConfiguration;
      const found: PreflightCheck[] = deploymentGroupFits(plan, {
        ...(blueGreen?.deploymentReadyOption?.actionOnTimeout ? { readyAction: blueGreen.deploymentReadyOption.actionOnTimeout } : {}),
        ...(blueGreen?.deploymentReadyOption?.waitTimeInMinutes !== undefined ? { readyWaitMinutes: blueGreen.deploymentReadyOption.waitTimeInMinutes } : {}),
        ...(blueGreen?.terminateBlueInstancesOnDeploymentSuccess?.terminationWaitTimeInMinutes !== undefined
          ? { terminationWaitMinutes: blueGreen.terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes }
          : {}),
      });
      if (target.targetGroups) {
        const actual = (group?.loadBalancerInfo?.targetGroupPairInfoList?.[0]?.targetGroups ?? []).map((t) => t.name).sort();
        const configured = target.targetGroups.map((t) => t.targetGroup.split('/')[1]).sort();
        const same = JSON.stringify(actual) === JSON.stringify(configured);
        found.push({
          name: 'target groups',
          ok: same,
          detail: same
            ? `the deployment group shifts between ${actual.join(' and ')}`
            : `the config names ${configured.join(', ')} but the deployment group shifts between ${actual.join(', ') || 'none'}; fix target.targetGroups`,
        });
      }
      return found;
    })),
  );
  if (alarms.length > 0) {
    const cw = await import('@aws-sdk/client-cloudwatch');
    const cloudwatch = await resolveLazy(options.cloudwatch);
    checks.push(
      ...(await checked('gate alarms', async () => {
        const found = await cloudwatch.send(new cw.DescribeAlarmsCommand({ AlarmNames: [...alarms], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
        const states = new Map([...(found.MetricAlarms ?? []), ...(found.CompositeAlarms ?? [])].map((a) => [a.AlarmName, a.StateValue]));
        return alarms.map((name): PreflightCheck => {
          const state = states.get(name);
          if (state === undefined) return { name: `alarm ${name}`, ok: false, detail: 'does not exist; create it or remove it from gates.alarms' };
          if (state === 'ALARM') return { name: `alarm ${name}`, ok: false, detail: 'is already firing: a release would be rolled back at its first check' };
          return { name: `alarm ${name}`, ok: true, detail: `exists (${state})` };
        });
      })),
    );
  }
  const ecsSdk = await import('../aws/ecs-sdk.js');
  const ecs = await resolveLazy(options.ecs);
  checks.push(
    ...(await checked('current task definition', async () => {
      const { services } = await ecs.send(new ecsSdk.DescribeServicesCommand({ cluster: target.cluster, services: [target.service] }));
      const current = services?.[0]?.taskDefinition;
      if (!current) return { name: 'current task definition', ok: false, detail: `ECS service ${target.service} was not found in cluster ${target.cluster}` };
      const { taskDefinition } = await ecs.send(new ecsSdk.DescribeTaskDefinitionCommand({ taskDefinition: current }));
      const active = taskDefinition?.status === 'ACTIVE';
      const image = taskDefinition?.containerDefinitions?.find((c) => c.name === target.containerName)?.image;
      const found: PreflightCheck[] = [
        {
          name: 'current task definition',
          ok: active,
          detail: active ? `${current} is ACTIVE` : `${current} is ${taskDefinition?.status ?? 'unknown'}: a rollback could not return to it`,
        },
      ];
      if (!image) {
        found.push({ name: 'current image', ok: false, detail: `the task definition has no container named ${target.containerName}` });
        return found;
      }
      const inEcr = ecrImage(image);
      if (!inEcr) {
        found.push({ name: 'current image', ok: true, detail: `${image} is not in ECR; not checked` });
        return found;
      }
      const ecrSdk = await import('@aws-sdk/client-ecr');
      const ecr = await resolveLazy(options.ecr);
      let described: { imageDetails?: unknown[] };
      try {
        described = await ecr.send(
          new ecrSdk.DescribeImagesCommand({ registryId: inEcr.registryId, repositoryName: inEcr.repositoryName, imageIds: [inEcr.imageId] }),
        );
      } catch (error) {
        if (!(error instanceof Error && error.name === 'ImageNotFoundException')) throw error;
        described = { imageDetails: [] };
      }
      const exists = (described.imageDetails ?? []).length > 0;
      found.push({ name: 'current image', ok: exists, detail: exists ? `${image} is in ECR` : `${image} is no longer in ECR: a rollback could not start it` });
      return found;
    })),
  );
  return checks;
}
