import type { CloudWatchClient, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { ECSClient, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import type { AlarmFacts, EcsServiceFacts } from '../../config/init-ecs.js';
import { targetGroupSuffix } from '../../config/init-ecs.js';
import { messageOf, NotFoundError, PermissionError, TransientError, ValidationError } from '../../core/errors.js';
import { translateAwsError } from '../aws/errors.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';

/**
 * Reads an ECS service as `switchyard init --from-ecs` and `switchyard diff` need it, and nothing
 * more: DescribeServices, DescribeTaskDefinition of the revision it runs and, for init, CloudWatch's
 * DescribeAlarms (alarms whose dimensions name its target groups or the service). Reads only. The
 * caller's own credentials are used, so errors say what to do as that caller (not as Switchyard's role).
 */

/** The SDK modules are imported on first use. */
const ecsSdk = () => import('../aws/ecs-sdk.js');
const cloudwatchSdk = () => import('@aws-sdk/client-cloudwatch');

/** At most this many pages of 100 alarms are read; an account with more is told to name its alarms itself. */
export const MAX_ALARM_PAGES = 20;

export interface ImportedService {
  readonly facts: EcsServiceFacts;
  /** The running revision as DescribeTaskDefinition returned it (diff compares against it). */
  readonly taskDefinition: TaskDefinition;
  readonly tags?: Tag[];
}

/**
 * An AWS error as the person running the command can act on it, naming the call (`ecs:DescribeServices`)
 * and the resource. Unknown errors are returned as they are, to be rethrown.
 */
export function importError(error: unknown, action: string, resource: string, region?: string): Error {
  const name = (error as { name?: string } | undefined)?.name ?? '';
  const message = messageOf(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message))
    return new ValidationError(
      `${action} could not be sent: no AWS credentials were found (${message}); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is attached`,
      { cause: error },
    );
  if (/Region is missing/i.test(message))
    return new ValidationError(`${action} could not be sent: no AWS region; pass --region or set AWS_REGION`, { cause: error });
  if (name === 'ClusterNotFoundException')
    return new NotFoundError(
      `ECS cluster ${resource.split('/')[0]} was not found${region ? ` in ${region}` : ''} (${action}); check the name and the region (--region, AWS_REGION)`,
      { cause: error },
    );
  const translated = translateAwsError(error, action, resource);
  if (translated instanceof TransientError)
    return new TransientError(`${action} on ${resource} was throttled or failed on AWS's side after the SDK's retries (${name}); run it again in a minute`, {
      cause: error,
    });
  if (translated instanceof PermissionError)
    return new PermissionError(
      `your AWS credentials may not call ${action} on ${resource} (${message}); use a role or profile that may (AWS_PROFILE), or ask for ${action} on it`,
      { cause: error },
    );
  return translated;
}

async function read<T>(action: string, resource: string, region: string | undefined, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw importError(error, action, resource, region);
  }
}

/** The service and the revision it runs: DescribeServices, then DescribeTaskDefinition (with its tags). */
async function describe(ecs: ECSClient, cluster: string, service: string, region?: string) {
  const { DescribeServicesCommand, DescribeTaskDefinitionCommand } = await ecsSdk();
  const where = `${cluster}/${service}`;
  const described = await read('ecs:DescribeServices', where, region, () => ecs.send(new DescribeServicesCommand({ cluster, services: [service] })));
  const found = described.services?.[0];
  if (!found || found.status === 'INACTIVE' || !found.taskDefinition) {
    const reason = described.failures?.[0]?.reason ?? (found ? found.status : 'MISSING');
    throw new NotFoundError(
      `ECS service ${service} was not found in cluster ${cluster}${region ? ` in ${region}` : ''} (ecs:DescribeServices answered ${reason}); check the names with \`aws ecs list-services --cluster ${cluster}\` and the region (--region, AWS_REGION)`,
    );
  }
  const arn = found.taskDefinition;
  const revision = await read('ecs:DescribeTaskDefinition', arn, region, () =>
    ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
  );
  if (!revision.taskDefinition) throw new NotFoundError(`task definition ${arn} of ${where} could not be read (ecs:DescribeTaskDefinition returned none)`);
  return { service: found, taskDefinition: revision.taskDefinition, ...(revision.tags ? { tags: revision.tags } : {}) };
}

/** Every dimension list of an alarm: its metric's, and each metric of a metric-math alarm. */
function dimensionsOf(alarm: MetricAlarm): Map<string, string>[] {
  const lists = [alarm.Dimensions ?? [], ...(alarm.Metrics ?? []).map((m) => m.MetricStat?.Metric?.Dimensions ?? [])];
  return lists.map((dims) => new Map(dims.map((d) => [d.Name ?? '', d.Value ?? ''])));
}

/** Why an alarm belongs to the service (a TargetGroup of it, or its ECS ClusterName and ServiceName), if it does. */
export function alarmFacts(alarm: MetricAlarm, cluster: string, service: string, targetGroups: readonly string[]): AlarmFacts | undefined {
  for (const dims of dimensionsOf(alarm)) {
    const group = dims.get('TargetGroup');
    if (group !== undefined && targetGroups.includes(group)) {
      const balancer = dims.get('LoadBalancer');
      return { name: alarm.AlarmName ?? '', why: `TargetGroup dimension ${group}`, targetGroup: group, ...(balancer ? { loadBalancer: balancer } : {}) };
    }
    if (dims.get('ServiceName') === service && dims.get('ClusterName') === cluster)
      return { name: alarm.AlarmName ?? '', why: 'ClusterName and ServiceName dimensions' };
  }
  return undefined;
}

/** The account's metric alarms that name the service or its target groups (DescribeAlarms, page by page). */
async function serviceAlarms(
  cloudwatch: CloudWatchClient,
  cluster: string,
  service: string,
  groups: readonly string[],
  region?: string,
): Promise<AlarmFacts[]> {
  const { DescribeAlarmsCommand } = await cloudwatchSdk();
  const found: AlarmFacts[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_ALARM_PAGES; page++) {
    const out = await read('cloudwatch:DescribeAlarms', 'the alarms of the region', region, () =>
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmTypes: ['MetricAlarm'], MaxRecords: 100, ...(token ? { NextToken: token } : {}) })),
    );
    for (const alarm of out.MetricAlarms ?? []) {
      const facts = alarmFacts(alarm, cluster, service, groups);
      if (facts) found.push(facts);
    }
    token = out.NextToken;
    if (!token) return found;
  }
  throw new ValidationError(`more than ${MAX_ALARM_PAGES * 100} alarms in the region: init stopped reading them; name the service's alarms in gates.alarms`);
}

/**
 * Reads `cluster/service` and, when `cloudwatch` is given, the alarms that name it. A CloudWatch that
 * cannot be read is noted in the facts (`alarmsUnread`): the rest of the service is still imported.
 * @throws {NotFoundError} the service or cluster does not exist (in this region)
 * @throws {PermissionError} the caller may not call one of the reads
 * @throws {TransientError} AWS throttled or failed even after the SDK's retries
 */
export async function importEcsService({
  ecs,
  cloudwatch,
  cluster,
  service,
  region,
}: {
  ecs: Lazy<ECSClient>;
  cloudwatch?: Lazy<CloudWatchClient>;
  cluster: string;
  service: string;
  region?: string;
}): Promise<ImportedService> {
  const { service: svc, taskDefinition, tags } = await describe(await resolveLazy(ecs), cluster, service, region);
  const config = svc.deploymentConfiguration ?? {};
  const loadBalancers = (svc.loadBalancers ?? []).map((lb) => ({
    ...(lb.targetGroupArn ? { targetGroupArn: lb.targetGroupArn } : {}),
    ...(lb.advancedConfiguration?.alternateTargetGroupArn ? { alternateTargetGroupArn: lb.advancedConfiguration.alternateTargetGroupArn } : {}),
    ...(lb.containerName ? { containerName: lb.containerName } : {}),
    ...(lb.containerPort !== undefined ? { containerPort: lb.containerPort } : {}),
  }));
  const groups = loadBalancers
    .flatMap((lb) => [lb.targetGroupArn, lb.alternateTargetGroupArn])
    .filter((g): g is string => g !== undefined)
    .map(targetGroupSuffix);
  // The deployment's own alarms first: the user already trusts them to stop a deployment.
  const alarms: AlarmFacts[] = (config.alarms?.alarmNames ?? []).map((name) => ({ name, why: 'an alarm of the service deploymentConfiguration' }));
  let alarmsUnread: string | undefined;
  if (cloudwatch) {
    try {
      alarms.push(...(await serviceAlarms(await resolveLazy(cloudwatch), cluster, service, groups, region)));
    } catch (error) {
      if (!(error instanceof PermissionError || error instanceof TransientError || error instanceof ValidationError)) throw error;
      alarmsUnread = error.message;
    }
  }
  const facts: EcsServiceFacts = {
    cluster,
    service,
    ...(region ? { region } : {}),
    controller: svc.deploymentController?.type ?? 'ECS',
    taskDefinitionArn: taskDefinition.taskDefinitionArn ?? svc.taskDefinition ?? '',
    family: taskDefinition.family ?? '',
    roles: [taskDefinition.taskRoleArn, taskDefinition.executionRoleArn].filter((r): r is string => Boolean(r)),
    containers: (taskDefinition.containerDefinitions ?? []).map((c) => ({
      name: c.name ?? '',
      image: c.image ?? '',
      essential: c.essential ?? true,
      ports: (c.portMappings ?? []).flatMap((p) => (p.containerPort !== undefined ? [p.containerPort] : [])),
      ...(c.logConfiguration?.logDriver === 'awslogs' && c.logConfiguration.options?.['awslogs-group']
        ? { logGroup: c.logConfiguration.options['awslogs-group'] }
        : {}),
    })),
    ...(svc.desiredCount !== undefined ? { desiredCount: svc.desiredCount } : {}),
    deployment: {
      ...(config.strategy ? { strategy: config.strategy } : {}),
      ...(config.bakeTimeInMinutes !== undefined ? { bakeTimeInMinutes: config.bakeTimeInMinutes } : {}),
      ...(config.canaryConfiguration?.canaryPercent !== undefined ? { canaryPercent: config.canaryConfiguration.canaryPercent } : {}),
      ...(config.canaryConfiguration?.canaryBakeTimeInMinutes !== undefined
        ? { canaryBakeTimeInMinutes: config.canaryConfiguration.canaryBakeTimeInMinutes }
        : {}),
      ...(config.linearConfiguration?.stepPercent !== undefined ? { linearStepPercent: config.linearConfiguration.stepPercent } : {}),
      ...(config.linearConfiguration?.stepBakeTimeInMinutes !== undefined
        ? { linearStepBakeTimeInMinutes: config.linearConfiguration.stepBakeTimeInMinutes }
        : {}),
      ...(config.maximumPercent !== undefined ? { maximumPercent: config.maximumPercent } : {}),
      ...(config.minimumHealthyPercent !== undefined ? { minimumHealthyPercent: config.minimumHealthyPercent } : {}),
    },
    loadBalancers,
    alarms,
    ...(alarmsUnread ? { alarmsUnread } : {}),
  };
  return { facts, taskDefinition, ...(tags ? { tags } : {}) };
}
