import type { ECSClient, RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import { IMAGE_PLACEHOLDER } from '../../config/runtime.js';
import type { TaskDefinitionSource } from '../../config/schema.js';
import { DeployError, PermissionError, TransientError } from '../../core/errors.js';
import { diffTaskDefinitions, type Change } from '../../core/task-diff.js';
import { awsCall as call } from './errors.js';

/**
 * The task definition revisions of a release, shared by the ecs and codedeploy drivers: read the
 * running revision, build the release's (the image pinned, plus a template or overrides), register
 * it, and say what changed.
 */

/** The SDK module is imported on first use: the workflow function's cold start skips it. */
const ecsSdk = () => import('./ecs-sdk.js');

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not accept. */
const READ_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
] as const;

/** A revision as RegisterTaskDefinition takes it (what DescribeTaskDefinition returned, minus its read-only fields). */
export function registerable(definition: TaskDefinition, tags?: readonly Tag[]): RegisterTaskDefinitionCommandInput {
  const input = { ...definition } as Partial<TaskDefinition>;
  for (const field of READ_ONLY_FIELDS) delete input[field];
  return { ...(input as RegisterTaskDefinitionCommandInput), ...(tags && tags.length > 0 ? { tags: [...tags] } : {}) };
}

function replacePlaceholder(value: unknown, image: string): unknown {
  if (typeof value === 'string') return value.split(IMAGE_PLACEHOLDER).join(image);
  if (Array.isArray(value)) return value.map((v) => replacePlaceholder(v, image));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replacePlaceholder(v, image)]));
  return value;
}

function mergeByName<T extends { name?: string | undefined }>(
  current: readonly T[] | undefined,
  updates: Readonly<Record<string, string>>,
  make: (name: string, v: string) => T,
): T[] {
  const out = (current ?? []).filter((item) => item.name === undefined || !(item.name in updates));
  for (const [name, value] of Object.entries(updates)) out.push(make(name, value));
  return out.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}

/**
 * The release's revision: the running one with the container's image replaced (no `source`), the
 * template with its placeholder filled, or the running one with the overrides applied.
 */
export function nextRevision(
  running: TaskDefinition,
  tags: readonly Tag[] | undefined,
  containerName: string,
  image: string,
  source?: TaskDefinitionSource,
): RegisterTaskDefinitionCommandInput {
  if (source && 'template' in source) {
    const template = replacePlaceholder(source.template, image) as RegisterTaskDefinitionCommandInput;
    return { ...template, family: template.family ?? running.family, ...(template.tags ? {} : tags && tags.length > 0 ? { tags: [...tags] } : {}) };
  }
  const base = registerable(running, tags);
  const overrides = source?.overrides;
  if (!base.containerDefinitions?.some((c) => c.name === containerName)) {
    throw new DeployError(
      `task definition ${running.taskDefinitionArn ?? running.family} has no container named ${containerName}; set target.containerName to one of ${running.containerDefinitions?.map((c) => c.name).join(', ')}`,
    );
  }
  return {
    ...base,
    ...(overrides?.cpu ? { cpu: overrides.cpu } : {}),
    ...(overrides?.memory ? { memory: overrides.memory } : {}),
    containerDefinitions: base.containerDefinitions.map((c) =>
      c.name !== containerName
        ? c
        : {
            ...c,
            image,
            ...(overrides?.environment ? { environment: mergeByName(c.environment, overrides.environment, (name, value) => ({ name, value })) } : {}),
            ...(overrides?.secrets ? { secrets: mergeByName(c.secrets, overrides.secrets, (name, valueFrom) => ({ name, valueFrom })) } : {}),
          },
    ),
  };
}

/** The service's running task definition: its ARN, the revision and its tags. */
export async function runningRevision(ecs: ECSClient, cluster: string, service: string): Promise<{ arn: string; definition: TaskDefinition; tags?: Tag[] }> {
  const { DescribeServicesCommand, DescribeTaskDefinitionCommand } = await ecsSdk();
  const described = await call('ecs:DescribeServices', `${cluster}/${service}`, () => ecs.send(new DescribeServicesCommand({ cluster, services: [service] })));
  const arn = described.services?.[0]?.taskDefinition;
  if (!arn) throw new DeployError(`ECS service ${service} was not found in cluster ${cluster}`);
  const { taskDefinition, tags } = await call('ecs:DescribeTaskDefinition', arn, () =>
    ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
  );
  if (!taskDefinition) throw new DeployError(`task definition ${arn} could not be read`);
  return { arn, definition: taskDefinition, ...(tags ? { tags } : {}) };
}

/** Key order does not make two revisions differ. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/**
 * Registers the release's revision and returns its ARN. A retried call finds the revision it
 * registered before (the family's latest, identical to this one) instead of registering another.
 */
export async function registerRevision(ecs: ECSClient, input: RegisterTaskDefinitionCommandInput): Promise<string> {
  const { RegisterTaskDefinitionCommand, DescribeTaskDefinitionCommand } = await ecsSdk();
  if (input.family) {
    const family = input.family;
    // A family not registered yet has no latest revision; throttling and missing permissions still count.
    const latest = await call('ecs:DescribeTaskDefinition', family, () =>
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family, include: ['TAGS'] })),
    ).catch((error: unknown) => {
      if (error instanceof TransientError || error instanceof PermissionError) throw error;
      return undefined;
    });
    const { tags: _t, ...wanted } = input;
    if (latest?.taskDefinition?.taskDefinitionArn && canonical(registerable(latest.taskDefinition)) === canonical(wanted))
      return latest.taskDefinition.taskDefinitionArn;
  }
  const registered = await call('ecs:RegisterTaskDefinition', input.family ?? 'task definition', () => ecs.send(new RegisterTaskDefinitionCommand(input)));
  const arn = registered.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new DeployError('RegisterTaskDefinition returned no ARN');
  return arn;
}

/** What changed between two registered revisions, read back from ECS (not from what was sent). */
export async function revisionChanges(ecs: ECSClient, before: string, after: string): Promise<Change[]> {
  const { DescribeTaskDefinitionCommand } = await ecsSdk();
  const read = async (arn: string) =>
    (await call('ecs:DescribeTaskDefinition', arn, () => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })))).taskDefinition;
  const [b, a] = await Promise.all([read(before), read(after)]);
  if (!b || !a) return [];
  return diffTaskDefinitions(registerable(b), registerable(a));
}
