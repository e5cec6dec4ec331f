import { ECS_MAX_HOLD_MINUTES } from '../core/capabilities.js';
import { longestHoldSeconds, type Plan } from '../core/plan.js';
import type { ReleaseSettings } from '../core/release.js';

// The config's rules the Lambdas apply at run time, apart from the schema: a Lambda receives its config
// already resolved (lib/constructs/switchyard-function.ts), so it never loads zod to read it.

/**
 * ECS PAUSE hooks time out after 1 to 20,160 minutes (DeploymentLifecycleHookTimeoutConfiguration,
 * timeoutInMinutes). Switchyard sets each hook's timeout above the longest the plan can hold ECS at
 * one step, plus this margin for the workflow's own delays, so a hook never expires first.
 */
export const ECS_HOOK_LIMITS = { maxMinutes: ECS_MAX_HOLD_MINUTES, marginMinutes: 15 } as const;

/** The PAUSE hooks' timeout for a plan: the longest hold between two traffic moves, plus the margin. */
export function ecsHookTimeoutMinutes(plan: Plan, settings: Pick<ReleaseSettings, 'gatePolicy' | 'pauseTimeoutSeconds' | 'maxPauseSeconds'>): number {
  const inconclusivePause = settings.gatePolicy.onInconclusive === 'pause' ? settings.pauseTimeoutSeconds : 0;
  // A person's pause (approvals.maxPause) is a hold the plan does not know of: the hooks must outlast it too.
  const hold = longestHoldSeconds(plan, settings.gatePolicy.maxExtensionSeconds, inconclusivePause) + (settings.maxPauseSeconds ?? 0);
  return Math.ceil(hold / 60) + ECS_HOOK_LIMITS.marginMinutes;
}

/**
 * The PAUSE hooks' timeout for one release: from its own plan and settings, frozen when it was created,
 * never from the service's config as it is now. A release queued before a config change keeps the
 * hooks its pause limit (`settings.hold`) was computed for, so a pause never outlasts its hook.
 */
export function releaseHookTimeoutMinutes(release: { readonly plan: Plan; readonly settings: ReleaseSettings }): number {
  const hold = release.settings.hold;
  const fromLimit = hold?.can === true && hold.limitSeconds !== undefined ? Math.ceil(hold.limitSeconds / 60) + ECS_HOOK_LIMITS.marginMinutes : 0;
  return Math.min(ECS_HOOK_LIMITS.maxMinutes, Math.max(ecsHookTimeoutMinutes(release.plan, release.settings), fromLimit));
}

/** Where a task definition template takes the release's image (pinned by digest). */
export const IMAGE_PLACEHOLDER = '{{image}}';
