import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ServiceConfig, SwitchyardConfig } from '../../config/config.js';
import { messageOf } from '../../core/errors.js';
import type { PreflightCheck } from '../../core/preflight.js';
import { ECS_SERVICE, grantCovers, passRoleGrant, taskDefinitionFamily } from '../../resources/ecs-grants.js';
import { awsCall as call } from './errors.js';
import { resolveLazy, type Lazy } from './lazy.js';

/** Check names, as `switchyard verify` prints them. */
export const GRANT_CHECKS = { hookRoles: 'lifecycle hook roles passable', family: 'task definition family' } as const;

const ecsSdk = () => import('./ecs-sdk.js');

/**
 * What the stack's IAM grants assume about a service, checked against the live service (one
 * DescribeServices, read-only), so a release does not fail half-way on a permission:
 *
 * - Every role of the service's own Lambda lifecycle hooks (`deploymentConfiguration.lifecycleHooks[]
 *   .roleArn`) must be passable to ECS: Switchyard sends those hooks back with UpdateService (ECS
 *   merges, and an omitted member means "no change", but Switchyard adds its own PAUSE hook beside
 *   them), and passing a role needs iam:PassRole to `ecs.amazonaws.com` (aws-facts, December 2026).
 *   The stack grants that only for the roles the config lists (src/resources/ecs-grants.ts).
 * - The task definition family the config names (`target.family`, or the template's) must be the
 *   one the service runs: the stack scopes ecs:RegisterTaskDefinition to it.
 */
export async function serviceGrantChecks(svc: ServiceConfig, config: Pick<SwitchyardConfig, 'services'>, ecs: Lazy<ECSClient>): Promise<PreflightCheck[]> {
  const target = svc.target;
  if (target.driver === 'local') return [];
  const index = config.services.findIndex((s) => s.name === svc.name);
  const at = `services[${index}].target`;
  const { DescribeServicesCommand } = await ecsSdk();
  const client = await resolveLazy(ecs);
  const resource = `${target.cluster}/${target.service}`;
  let live;
  try {
    const { services } = await call('ecs:DescribeServices', resource, () =>
      client.send(new DescribeServicesCommand({ cluster: target.cluster, services: [target.service] })),
    );
    live = services?.[0];
  } catch (error) {
    // Like the drivers' checks: an unreadable service is a failed check with the reason, not a crash.
    return [{ name: GRANT_CHECKS.hookRoles, ok: false, detail: `${resource} could not be read: ${messageOf(error)}` }];
  }
  if (!live) return [];

  const grant = passRoleGrant(config);
  const hooks = (live.deploymentConfiguration?.lifecycleHooks ?? []).filter((h) => h.roleArn !== undefined && h.targetType !== 'PAUSE');
  const uncovered = hooks.filter((h) => !grantCovers(grant, h.roleArn ?? '', ECS_SERVICE));
  const hookRoles: PreflightCheck =
    uncovered.length === 0
      ? {
          name: GRANT_CHECKS.hookRoles,
          ok: true,
          detail: hooks.length === 0 ? 'the service has no Lambda lifecycle hooks' : `the stack may pass ${hooks.map((h) => h.roleArn).join(', ')} to ECS`,
        }
      : {
          name: GRANT_CHECKS.hookRoles,
          ok: false,
          detail: uncovered
            .map(
              (h) =>
                `lifecycle hook ${h.hookTargetArn ?? '(no target)'} of ${resource} uses role ${h.roleArn}, which Switchyard passes back to ECS with UpdateService, but the stack may not pass it (iam:PassRole to ecs.amazonaws.com): add "${h.roleArn}" to ${at}.passRoles (service ${svc.name}) and deploy the stack again`,
            )
            .join('; '),
        };

  const running = live.taskDefinition ? /:task-definition\/([^:]+):\d+$/.exec(live.taskDefinition)?.[1] : undefined;
  const configured = taskDefinitionFamily(target);
  const family: PreflightCheck =
    configured === undefined
      ? {
          name: GRANT_CHECKS.family,
          ok: true,
          detail: running
            ? `the config names no family, so the stack lets Switchyard register task definitions of any family; set ${at}.family to "${running}" to scope it`
            : 'the config names no family, so the stack lets Switchyard register task definitions of any family',
        }
      : running !== undefined && running !== configured
        ? {
            name: GRANT_CHECKS.family,
            ok: false,
            detail: `${resource} runs task definition family "${running}", but ${at}.family is "${configured}": releases register revisions of "${running}", which the stack does not allow; set ${at}.family to "${running}" and deploy the stack again`,
          }
        : { name: GRANT_CHECKS.family, ok: true, detail: `the stack lets Switchyard register revisions of family "${configured}"` };
  return [hookRoles, family];
}
