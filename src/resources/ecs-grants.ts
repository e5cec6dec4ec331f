import type { ServiceConfig, SwitchyardConfig } from '../config/config.js';

/**
 * Which roles the stack lets the workflow function pass (iam:PassRole), and to which service: one
 * home for the rule, read by the CDK stack (lib/constructs/release-workflow.ts) to grant it and by
 * `switchyard verify` to check the roles a service's live configuration passes.
 *
 * Roles go to ECS in two ways: a task definition's task and execution roles (passed to
 * `ecs-tasks.amazonaws.com` by RegisterTaskDefinition), and the roles of the service's Lambda
 * lifecycle hooks (`deploymentConfiguration.lifecycleHooks[].roleArn`), which Switchyard sends back
 * in UpdateService and which are passed to `ecs.amazonaws.com` (aws-facts, December 2026).
 */
export const ECS_TASKS = 'ecs-tasks.amazonaws.com';
export const ECS_SERVICE = 'ecs.amazonaws.com';

type AwsTarget = Exclude<ServiceConfig['target'], { driver: 'local' }>;

export interface PassRoleGrant {
  /** Roles the config names (every service's `passRoles` and template roles), passable to ECS tasks and ECS. */
  readonly roles: readonly string[];
  /**
   * Some AWS service names no role: any role may then be passed, to ECS tasks only (its task
   * definition's roles are not known before deploy). Lifecycle hook roles are never covered by it.
   */
  readonly anyRoleToTasks: boolean;
}

/** The IAM roles a target's releases pass to ECS: listed in the config, and named by its task-definition template. */
export function passRolesOf(target: AwsTarget): string[] {
  const template = target.taskDefinition && 'template' in target.taskDefinition ? target.taskDefinition.template : undefined;
  const named = typeof template === 'object' ? [template['taskRoleArn'], template['executionRoleArn']].filter((r): r is string => typeof r === 'string') : [];
  return [...(target.passRoles ?? []), ...named];
}

/** What the stack grants for iam:PassRole, from the config. */
export function passRoleGrant(config: Pick<SwitchyardConfig, 'services'>): PassRoleGrant {
  const aws = config.services.flatMap((s) => (s.target.driver === 'local' ? [] : [s.target]));
  return { roles: [...new Set(aws.flatMap(passRolesOf))], anyRoleToTasks: aws.some((t) => passRolesOf(t).length === 0) };
}

/** Whether the grant lets Switchyard pass `role` to `passedTo`. Roles compare as written (IAM compares ARNs exactly). */
export function grantCovers(grant: PassRoleGrant, role: string, passedTo: typeof ECS_TASKS | typeof ECS_SERVICE): boolean {
  return grant.roles.includes(role) || (grant.anyRoleToTasks && passedTo === ECS_TASKS);
}

/**
 * The task definition family a target's releases register revisions in, when the config knows it:
 * `target.family`, else the template's `family`. ecs:RegisterTaskDefinition takes a `task-definition`
 * resource (Service Authorization Reference), so the stack scopes it to `task-definition/<family>:*`.
 */
export function taskDefinitionFamily(target: AwsTarget): string | undefined {
  if (target.family) return target.family;
  const template = target.taskDefinition && 'template' in target.taskDefinition ? target.taskDefinition.template : undefined;
  const family = typeof template === 'object' ? template['family'] : undefined;
  return typeof family === 'string' ? family : undefined;
}

/**
 * The `task-definition` resource names (after `task-definition/`) releases of these services register
 * and tag: `<family>:*` per family, or `*` (any family) when a service's family is not in the config.
 */
export function taskDefinitionScopes(config: Pick<SwitchyardConfig, 'services'>): string[] {
  const families = config.services.flatMap((s) => (s.target.driver === 'local' ? [] : [taskDefinitionFamily(s.target)]));
  return families.some((f) => f === undefined) ? ['*'] : [...new Set(families)].map((f) => `${f}:*`);
}
