import type { CloudWatchClient, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { Deployment, ECSClient, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import type { AlarmFacts, EcsServiceFacts } from '../../config/init-ecs.js';
import { controllerRefusal, targetGroupSuffix } from '../../config/init-ecs.js';
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
  /** Why the revision's tags could not be read (ecs:ListTagsForResource denied); the revision itself was. */
  readonly tagsUnread?: string;
  /** The service's deployments (PRIMARY and ACTIVE), as DescribeServices returned them. */
  readonly deployments: readonly Deployment[];
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
  if (!found || found.status === 'INACTIVE') {
    const reason = described.failures?.[0]?.reason ?? (found ? found.status : 'MISSING');
    throw new NotFoundError(
      `ECS service ${service} was not found in cluster ${cluster}${region ? ` in ${region}` : ''} (ecs:DescribeServices answered ${reason}); check the names with \`aws ecs list-services --cluster ${cluster}\` and the region (--region, AWS_REGION)`,
    );
  }
  // The controller first: an EXTERNAL service may have no task definition of its own.
  const refusal = controllerRefusal(found.deploymentController?.type ?? 'ECS', where);
  if (refusal) throw refusal;
  if (found.status === 'DRAINING')
    throw new ValidationError(
      `ECS service ${where} is DRAINING: it is being deleted (DeleteService) and cannot be released; import a service whose status is ACTIVE`,
    );
  if (!found.taskDefinition) throw new NotFoundError(`ECS service ${where} names no task definition (ecs:DescribeServices); it cannot be imported`);
  const arn = found.taskDefinition;
  const describeRevision = (include: 'TAGS'[]) =>
    read('ecs:DescribeTaskDefinition', arn, region, () =>
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, ...(include.length ? { include } : {}) })),
    );
  let revision;
  let tagsUnread: string | undefined;
  try {
    revision = await describeRevision(['TAGS']);
  } catch (error) {
    // Asking for the tags is also authorized as ecs:ListTagsForResource: without it, the revision is still read.
    if (!(error instanceof PermissionError && /ListTagsForResource/.test(error.message))) throw error;
    tagsUnread = `its tags could not be read: ${error.message}`;
    revision = await describeRevision([]);
  }
  if (!revision.taskDefinition) throw new NotFoundError(`task definition ${arn} of ${where} could not be read (ecs:DescribeTaskDefinition returned none)`);
  return { service: found, taskDefinition: revision.taskDefinition, ...(revision.tags ? { tags: revision.tags } : {}), ...(tagsUnread ? { tagsUnread } : {}) };
}

/** Every dimension list of an alarm: its metric's, and each metric of a metric-math alarm. */
function dimensionsOf(alarm: MetricAlarm): Map<string, string>[] {
  const lists = [alarm.Dimensions ?? [], ...(alarm.Metrics ?? []).map((m) => m.MetricStat?.Metric?.Dimensions ?? [])];
  return lists.map((dims) => new Map(dims.map((d) => [d.Name ?? '', d.Value ?? ''])));
}

/** Application Auto Scaling's own alarms: a target-tracking or step scaling policy's, never a release's. */
export function isScalingAlarm(alarm: Pick<MetricAlarm, 'AlarmName' | 'AlarmActions'>): boolean {
  return (
    (alarm.AlarmName ?? '').startsWith('TargetTracking-') ||
    (alarm.AlarmActions ?? []).some((action) => /^arn:aws[a-z-]*:autoscaling:.*:scalingPolicy:/.test(action))
  );
}

/** Why an alarm names the service (a TargetGroup of it, or its ECS ClusterName and ServiceName), if it does. */
export function alarmFacts(alarm: MetricAlarm, cluster: string, service: string, targetGroups: readonly string[]): AlarmFacts | undefined {
  const state = alarm.StateValue ? { state: alarm.StateValue } : {};
  for (const dims of dimensionsOf(alarm)) {
    const group = dims.get('TargetGroup');
    if (group !== undefined && targetGroups.includes(group)) {
      const balancer = dims.get('LoadBalancer');
      return {
        name: alarm.AlarmName ?? '',
        why: `TargetGroup dimension ${group}`,
        targetGroup: group,
        ...(balancer ? { loadBalancer: balancer } : {}),
        ...state,
      };
    }
    if (dims.get('ServiceName') === service && dims.get('ClusterName') === cluster)
      return { name: alarm.AlarmName ?? '', why: 'ClusterName and ServiceName dimensions', ...state };
  }
  return undefined;
}

/** What DescribeAlarms gave: the alarms that name the service, the scaling alarms left out, and whether every page was read. */
interface FoundAlarms {
  readonly alarms: AlarmFacts[];
  readonly scaling: string[];
  readonly complete: boolean;
}

/** The account's metric alarms that name the service or its target groups (DescribeAlarms, page by page, at most {@link MAX_ALARM_PAGES}). */
async function serviceAlarms(cloudwatch: CloudWatchClient, cluster: string, service: string, groups: readonly string[], region?: string): Promise<FoundAlarms> {
  const { DescribeAlarmsCommand } = await cloudwatchSdk();
  const found: FoundAlarms = { alarms: [], scaling: [], complete: false };
  let token: string | undefined;
  for (let page = 0; page < MAX_ALARM_PAGES; page++) {
    const out = await read('cloudwatch:DescribeAlarms', 'the alarms of the region', region, () =>
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmTypes: ['MetricAlarm'], MaxRecords: 100, ...(token ? { NextToken: token } : {}) })),
    );
    for (const alarm of out.MetricAlarms ?? []) {
      const facts = alarmFacts(alarm, cluster, service, groups);
      // A scaling policy's alarm names the service but judges load, not health: AlarmLow is in ALARM whenever load is low.
      if (facts && isScalingAlarm(alarm)) found.scaling.push(facts.name);
      else if (facts) found.alarms.push(facts);
    }
    token = out.NextToken;
    if (!token) return { ...found, complete: true };
  }
  return found;
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
  const { service: svc, taskDefinition, tags, tagsUnread } = await describe(await resolveLazy(ecs), cluster, service, region);
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
  // The deployment's own alarms first, marked when the service has them switched off.
  const enabled = config.alarms?.enable !== false;
  const listed = config.alarms?.alarmNames ?? [];
  const alarms: AlarmFacts[] = listed
    .filter((name) => !isScalingAlarm({ AlarmName: name }))
    .map((name) => ({
      name,
      why: enabled
        ? 'an alarm of the service deploymentConfiguration'
        : 'listed in the service deploymentConfiguration, where it is switched off (enable: false)',
      ...(enabled ? {} : { disabled: true }),
    }));
  let alarmsUnread: string | undefined;
  let scalingAlarms = listed.filter((name) => isScalingAlarm({ AlarmName: name }));
  if (cloudwatch) {
    try {
      const found = await serviceAlarms(await resolveLazy(cloudwatch), cluster, service, groups, region);
      alarms.push(...found.alarms);
      scalingAlarms = [...new Set([...scalingAlarms, ...found.scaling])];
      if (!found.complete)
        alarmsUnread = `the region has more than ${MAX_ALARM_PAGES * 100} alarms and init read the first ${MAX_ALARM_PAGES * 100}: those found are kept, others of the service may be missing`;
    } catch (error) {
      if (!(error instanceof PermissionError || error instanceof TransientError || error instanceof ValidationError)) throw error;
      alarmsUnread = error.message;
    }
  }
  const arn = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{12}):/.exec(svc.serviceArn ?? '');
  const hookRoles = (config.lifecycleHooks ?? []).flatMap((h) => (h.roleArn ? [h.roleArn] : []));
  const facts: EcsServiceFacts = {
    cluster,
    service,
    ...((region ?? arn?.[1]) ? { region: region ?? arn?.[1] } : {}),
    ...(arn?.[2] ? { account: arn[2] } : {}),
    ...(svc.schedulingStrategy ? { scheduling: svc.schedulingStrategy } : {}),
    ...((svc.deployments ?? []).some((d) => d.serviceConnectConfiguration?.enabled) ? { serviceConnect: true } : {}),
    controller: svc.deploymentController?.type ?? 'ECS',
    taskDefinitionArn: taskDefinition.taskDefinitionArn ?? svc.taskDefinition ?? '',
    family: taskDefinition.family ?? '',
    roles: [...new Set([taskDefinition.taskRoleArn, taskDefinition.executionRoleArn, ...hookRoles].filter((r): r is string => Boolean(r)))],
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
    ...(scalingAlarms.length ? { scalingAlarms } : {}),
    ...(alarmsUnread ? { alarmsUnread } : {}),
  };
  return { facts, taskDefinition, deployments: svc.deployments ?? [], ...(tags ? { tags } : {}), ...(tagsUnread ? { tagsUnread } : {}) };
}
