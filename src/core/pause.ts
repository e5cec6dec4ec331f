import type { Actor } from './actor.js';
import { bakeEnd } from './decide.js';
import { isTerminal, Phase } from './phases.js';
import { holdFromSeconds, type Step } from './plan.js';
import { Reasons } from './reasons.js';
import type { Release } from './release.js';
import { EventKind, evolve } from './timeline.js';

/**
 * Pause and resume: a person holds a release at its current bake, for as long as they need, and lets
 * it go on. Argo Rollouts keeps a pause beside the phase, not as one (`spec.paused`); so does
 * Switchyard: a paused release is still `baking`, with `paused` saying who holds it. While paused the
 * bake's clock stops (resume continues with the time it had left), no step starts, and the gates are
 * still watched: a failing gate rolls back, as in any bake (decide.ts).
 */

const iso = (now: number): string => new Date(now).toISOString();

/** The least room a pause must have: a pause that would end in a rollback within minutes is no pause. */
export const MIN_PAUSE_SECONDS = 300;

/** The events that moved traffic last: the target has been held at its current step since then. */
const TRAFFIC_MOVES: ReadonlySet<string> = new Set([EventKind.deployed, EventKind.shifted]);

/** The current bake or analysis step, when the release is baking and nothing else is under way. */
function heldStep(release: Release) {
  const step = release.plan.steps[release.stepIndex];
  return step?.type === 'bake' || step?.type === 'analysis' ? step : undefined;
}

/**
 * The longest the target may still be held at this traffic step once the release goes on (ms): the
 * current bake's time left and the extensions it may still take, then every later bake, analysis and
 * approval before the next traffic move, each at its limit (plan.ts, holdFromSeconds).
 */
function holdStillNeeded(release: Release, step: Extract<Step, { type: 'bake' | 'analysis' }>, now: number): number {
  const policy = release.settings.gatePolicy;
  const inconclusive = policy.onInconclusive === 'pause' ? release.settings.pauseTimeoutSeconds : 0;
  const bakeLeft = Math.max(0, bakeEnd(release, step, undefined, now) - now);
  const extensions = Math.max(0, policy.maxExtensionSeconds - release.bake.extendedSeconds) + inconclusive;
  const later = holdFromSeconds(release.plan, release.stepIndex + 1, policy.maxExtensionSeconds, inconclusive);
  return bakeLeft + (extensions + later) * 1000;
}

/**
 * When a pause must end at the latest, or undefined when the target holds indefinitely. A target with
 * a limit per traffic step (ECS rolls back a PAUSE hook that times out) holds from the last traffic
 * move; everything the release may still hold there after the pause (the bake's time left, its
 * extensions, later bakes and approvals before the next shift) must still fit, so it comes off the limit.
 */
export function holdUntil(release: Release, now: number): number | undefined {
  const hold = release.settings.hold;
  const step = heldStep(release);
  if (hold?.can !== true || hold.limitSeconds === undefined || step === undefined) return undefined;
  const moved = release.timeline.findLast((e) => TRAFFIC_MOVES.has(e.type))?.at ?? release.stepStartedAt ?? release.updatedAt;
  return Date.parse(moved) + hold.limitSeconds * 1000 - holdStillNeeded(release, step, now);
}

/**
 * Why `release` cannot be paused at `now`, or undefined when it can: only a bake or analysis of a
 * running release can hold, on a driver that keeps traffic where it is (core/capabilities.ts, `holds`).
 */
export function pauseRefusal(release: Release, now: number): string | undefined {
  const note = `release ${release.id} is ${release.phase}`;
  if (release.paused) return `release ${release.id} is already paused by ${release.paused.by.id}; resume it to continue`;
  if (isTerminal(release.phase) || release.phase === Phase.rollingBack) return `${note}: a finished or rolling-back release has nothing to hold`;
  if (release.requests.rollback || release.requests.promote) {
    return `${note}: ${release.requests.rollback ? 'rollback' : 'promote'} was already requested, so there is nothing to hold`;
  }
  if (release.pendingApproval)
    return `${note}: it already waits for a person (approve or reject it); an approval holds the release until it is decided or expires`;
  const hold = release.settings.hold;
  if (hold === undefined) return `release ${release.id} was created before pause existed; roll it back or let it finish`;
  if (!hold.can) return `release ${release.id} cannot be paused: ${hold.why}`;
  if (release.phase !== Phase.baking || heldStep(release) === undefined || release.shiftInProgress || release.targetWait) {
    return `${note}: pause holds a release during a bake or an analysis, when traffic stands still; it has nothing to hold while it is queued, deploying, shifting or finalizing (try again once it bakes)`;
  }
  const until = holdUntil(release, now);
  if (until !== undefined && until - now < MIN_PAUSE_SECONDS * 1000) {
    const room = until <= now ? 'none is left' : `only ${Math.floor((until - now) / 1000)}s are left`;
    return (
      `release ${release.id} cannot be paused: a pause must leave the target time for what this step still holds (${hold.limitWhy ?? 'its limit per step'}), ` +
      `and ${room} (at least ${MIN_PAUSE_SECONDS / 60} minutes are needed, or the pause would end in a rollback). ` +
      `Set approvals.maxPause (for example '4h') in the service's config to give later releases room; for this one, roll it back or let it continue`
    );
  }
  return undefined;
}

/** Why `release` cannot be resumed, or undefined when it can. */
export function resumeRefusal(release: Release): string | undefined {
  const requested = release.requests.rollback ? 'rollback' : release.requests.promote ? 'promote' : undefined;
  if (release.paused && requested !== undefined)
    return `release ${release.id}: ${requested} was already requested, so there is nothing to resume (the release ${requested === 'rollback' ? 'rolls back' : 'is promoted'} instead)`;
  if (release.paused) return undefined;
  return `release ${release.id} is ${release.phase} and not paused, so there is nothing to resume`;
}

/**
 * Holds the release at its current bake. Idempotent: a release already paused is returned unchanged.
 * The caller checks {@link pauseRefusal} first.
 */
export function pauseRelease(release: Release, actor: Actor, now: number, comment?: string): Release {
  if (release.paused) return release;
  const step = heldStep(release);
  const bakeLeft = step ? Math.max(0, Math.ceil((bakeEnd(release, step) - now) / 1000)) : 0;
  const until = holdUntil(release, now);
  const at = until === undefined ? undefined : iso(until);
  return evolve(
    release,
    now,
    { paused: { by: actor, at: iso(now), ...(comment ? { comment } : {}), ...(at ? { until: at } : {}) } },
    { type: EventKind.paused, message: Reasons.paused(actor.id, bakeLeft, at), actor, ...(comment ? { comment } : {}) },
  );
}

/**
 * Lets a paused release go on: the bake continues with the time it had left when it was paused (the
 * pause is added to the bake's length). Idempotent: a release not paused is returned unchanged.
 */
export function resumeRelease(release: Release, actor: Actor, now: number, comment?: string): Release {
  const paused = release.paused;
  if (!paused) return release;
  const seconds = Math.max(0, Math.round((now - Date.parse(paused.at)) / 1000));
  return evolve(
    release,
    now,
    { paused: undefined, bake: { ...release.bake, pausedSeconds: (release.bake.pausedSeconds ?? 0) + seconds } },
    { type: EventKind.resumed, message: Reasons.resumed(actor.id, seconds), actor, ...(comment ? { comment } : {}) },
  );
}
