import { mayTake, type Verb } from './authority.js';
import { pauseRefusal, resumeRefusal } from './pause.js';
import type { Release } from './release.js';
import type { Actor } from './actor.js';

/** What a person may decide for a release; also the ids of the Slack buttons. */
export const HUMAN_DECISIONS = ['approve', 'reject', 'promote', 'rollback', 'pause', 'resume'] as const;
export type HumanDecision = (typeof HUMAN_DECISIONS)[number];

/** Phases in which promote (skip the remaining steps) applies. */
const PROMOTABLE: ReadonlySet<string> = new Set(['deploying', 'shifting', 'baking', 'awaiting_approval']);
/** Phases in which a release can still be rolled back (queued ones are cancelled). */
const ROLLBACKABLE: ReadonlySet<string> = new Set(['queued', 'preparing', 'deploying', 'shifting', 'baking', 'awaiting_approval', 'promoting']);

/** The release has passed its last gate and the driver is removing the old version. */
function finalizing(release: Release): boolean {
  return release.phase === 'promoting' && release.plan.steps[release.stepIndex]?.type === 'finalize';
}

/**
 * The decisions the release's state allows right now, whoever asks (the actor rules come on top,
 * in {@link checkDecision}). Surfaces use it to offer only buttons that can work. `now` decides
 * whether a pause still fits the target's hold limit (ECS); without it, pause is offered by state.
 */
export function offeredDecisions(release: Release, now?: number): HumanDecision[] {
  const out: HumanDecision[] = [];
  if (release.pendingApproval) out.push('approve', 'reject');
  if (PROMOTABLE.has(release.phase) && !release.requests.promote) out.push('promote');
  if (ROLLBACKABLE.has(release.phase) && !release.requests.rollback && !finalizing(release)) out.push('rollback');
  if (pauseRefusal(release, now ?? Date.parse(release.updatedAt)) === undefined) out.push('pause');
  if (resumeRefusal(release) === undefined) out.push('resume');
  return out;
}

/** What a person may start from a finished release: undo a succeeded one, retry one that did not ship. */
export const FOLLOW_UPS = ['undo', 'retry'] as const;
export type FollowUp = (typeof FOLLOW_UPS)[number];

export function offeredFollowUps(release: Release): FollowUp[] {
  if (release.phase === 'succeeded') return ['undo'];
  if (['rolled_back', 'failed', 'cancelled', 'superseded'].includes(release.phase)) return ['retry'];
  return [];
}

export type RuleCheck = { readonly ok: true } | { readonly ok: false; readonly code: 'forbidden' | 'conflict'; readonly message: string };

const ok: RuleCheck = { ok: true };

/**
 * Checks whether `actor` may take `decision` on `release` at `now`: first what the release's state
 * allows, then who may take it ({@link mayTake}, the same rule for every channel).
 */
export function checkDecision(release: Release, decision: HumanDecision, actor: Actor, now: number): RuleCheck {
  const phaseNote = `release ${release.id} is ${release.phase}`;
  const state = stateAllows(release, decision, now, phaseNote);
  if (!state.ok) return state;
  return allowed(release, decision, actor);
}

function stateAllows(release: Release, decision: HumanDecision, now: number, phaseNote: string): RuleCheck {
  switch (decision) {
    case 'approve':
    case 'reject': {
      const pending = release.pendingApproval;
      if (pending === undefined) {
        return { ok: false, code: 'conflict', message: `${phaseNote}; no approval is waiting, so there is nothing to ${decision}` };
      }
      if (now > Date.parse(pending.expiresAt)) {
        return { ok: false, code: 'conflict', message: `the approval for release ${release.id} expired at ${pending.expiresAt}` };
      }
      return ok;
    }
    case 'promote':
      if (!PROMOTABLE.has(release.phase)) {
        return {
          ok: false,
          code: 'conflict',
          message: `${phaseNote}; promote applies only while a release is deploying, shifting, baking or awaiting approval`,
        };
      }
      if (release.requests.promote) return { ok: false, code: 'conflict', message: `promote was already requested by ${release.requests.promote.actor.id}` };
      return ok;
    case 'rollback':
      if (!ROLLBACKABLE.has(release.phase)) {
        return { ok: false, code: 'conflict', message: `${phaseNote}; only an active release can be rolled back` };
      }
      if (release.requests.rollback) return { ok: false, code: 'conflict', message: `rollback was already requested by ${release.requests.rollback.actor.id}` };
      if (finalizing(release)) {
        // The old version is being removed: a rollback now could not be honoured, so it is refused, not accepted and ignored.
        return {
          ok: false,
          code: 'conflict',
          message: `release ${release.id} is finalizing: the old version is being drained and removed, so there is nothing left to roll back to; once it has succeeded, release the previous image to go back`,
        };
      }
      return ok;
    case 'pause': {
      const why = pauseRefusal(release, now);
      return why === undefined ? ok : { ok: false, code: 'conflict', message: why };
    }
    case 'resume': {
      const why = resumeRefusal(release);
      return why === undefined ? ok : { ok: false, code: 'conflict', message: why };
    }
  }
}

/** Who may take a decision on this release, under the rules frozen with it. */
function allowed(release: Release, decision: Verb, actor: Actor): RuleCheck {
  const check = mayTake(release.settings.approvalRules, decision, actor, release.createdBy);
  return check.ok ? ok : { ok: false, code: 'forbidden', message: `${check.message} (service ${release.service})` };
}
