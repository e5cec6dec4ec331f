import type { Actor } from './actor.js';
import { canTransition, isTerminal, Phase } from './phases.js';
import { Reasons } from './reasons.js';
import type { ApprovalRecord, EndPhase, NewRelease, Release, TargetWait } from './release.js';
import { AWS_DEFAULT_CLOCKS, TARGET_POLL_SECONDS, targetDeadlines, type TargetDeadlines } from './target-waits.js';
import type { Change } from './task-diff.js';
import { EventKind, evolve, type TimelineEvent } from './timeline.js';

/**
 * Every change to a release, as pure functions of the release and the time: created, started,
 * deployed, shifted, waiting on its target, approved, steered, rolled back, finished. Each moves the
 * phase through phases.ts and says what happened in the timeline; the idempotent ones say so.
 */

const iso = (now: number): string => new Date(now).toISOString();

export function createRelease(input: NewRelease, now: number): Release {
  const at = iso(now);
  const message = input.origin
    ? Reasons.createdFor(input.origin.kind, input.artifact.image, input.origin.of)
    : input.expedited
      ? Reasons.createdExpedited(input.artifact.image, input.expedited.reason)
      : Reasons.created(input.artifact.image);
  const timeline: TimelineEvent[] = [{ at, type: EventKind.created, message, actor: input.actor, ...(input.comment ? { comment: input.comment } : {}) }];
  if (input.queuedBehind) timeline.push({ at, type: EventKind.queued, message: Reasons.queued(input.queuedBehind) });
  return {
    id: input.id,
    service: input.service,
    artifact: input.artifact,
    plan: input.plan,
    settings: input.settings,
    phase: input.queuedBehind ? Phase.queued : Phase.preparing,
    stepIndex: 0,
    weight: 0,
    deployed: false,
    bake: { extendedSeconds: 0, errors: 0 },
    gateResults: [],
    approvals: [],
    requests: {},
    ...(input.origin ? { origin: input.origin } : {}),
    ...(input.previous && !input.queuedBehind ? { previous: input.previous } : {}),
    ...(input.expedited ? { expedited: input.expedited } : {}),
    createdAt: at,
    createdBy: input.actor,
    updatedAt: at,
    timeline,
  };
}

/** The queued release may start: the service's lock is now its own. */
export function start(release: Release, now: number, previous?: string): Release {
  if (release.phase === Phase.preparing) return release;
  return evolve(
    release,
    now,
    { phase: Phase.preparing, leaseRenewedAt: iso(now), ...(previous ? { previous } : {}) },
    { type: EventKind.started, message: Reasons.started },
  );
}

export function supersede(release: Release, byId: string, now: number): Release {
  return evolve(
    release,
    now,
    { phase: Phase.superseded, reason: Reasons.supersededBy(byId) },
    { type: EventKind.superseded, message: Reasons.supersededBy(byId) },
  );
}

/** The deadlines of a release's waits on its target: the service's, or AWS's defaults for its plan (releases stored before they existed). */
export function deadlinesOf(release: Release): TargetDeadlines {
  return release.settings.deadlines ?? targetDeadlines(AWS_DEFAULT_CLOCKS, release.plan);
}

/**
 * The target is on its way with `step` (ECS scaling the new version up, draining the old one) and
 * said `seen`: keep the state the driver returned at once (it must survive anything that times
 * out later), and wait. The deadline runs from the target's latest accepted request (new driver
 * state), so a throttled start does not eat the target's own time, and a target that never
 * accepts one still ends at the deadline. The timeline says what the target is doing each time
 * that changes, never more.
 */
export function markWaitingOnTarget(
  release: Release,
  step: TargetWait['step'],
  seen: string,
  state: Readonly<Record<string, string>> | undefined,
  now: number,
  askAgainSeconds?: number,
): Release {
  // The target's clocks run from when it accepted the step's latest request (a deployment started, a
  // hook answered): state the driver had not returned before restarts the deadline; reads never do.
  const asked = state !== undefined && Object.entries(state).some(([key, value]) => release.driverState?.[key] !== value);
  const current = release.targetWait?.step === step && !asked ? release.targetWait : undefined;
  const since = current?.since ?? iso(now);
  const deadline = current?.deadline ?? iso(now + deadlinesOf(release)[step] * 1000);
  const targetWait: TargetWait = { step, since, deadline, checkedAt: iso(now), seen, ...(askAgainSeconds !== undefined ? { askAgainSeconds } : {}) };
  const events = current?.seen === seen ? [] : [{ type: EventKind.waiting, message: Reasons.waitingOnTarget(seen) }];
  return evolve(release, now, { targetWait, ...(state ? { driverState: { ...release.driverState, ...state } } : {}) }, ...events);
}

/**
 * Recover's own loop (RecoverWait -> Recover) never hands over to a new execution: it asks the target
 * at most this many times over a rollback's deadline, whatever its length, so it stays far inside Step
 * Functions' 25,000 history events per execution (about 14 an ask).
 */
export const RECOVER_ASKS = 400;

/** Seconds until Recover asks the target again: the poll interval, spread so a rollback deadline holds at most RECOVER_ASKS asks. */
export function recoverWaitSeconds(release: Release, now: number): number {
  const every = Math.max(TARGET_POLL_SECONDS, Math.ceil(deadlinesOf(release).rollback / RECOVER_ASKS));
  const due = Date.parse(release.targetWait?.checkedAt ?? iso(now)) + Math.max(release.targetWait?.askAgainSeconds ?? every, every) * 1000;
  return Math.max(1, Math.ceil((due - now) / 1000));
}

/** State the driver returned with a finished step: kept with what it returned before. */
export function withDriverState(release: Release, state: Readonly<Record<string, string>> | undefined): Release {
  return state ? { ...release, driverState: { ...release.driverState, ...state } } : release;
}

/** The new version is ready with 0% of production traffic. Idempotent: a retry changes nothing. */
export function markDeployed(release: Release, now: number, driverState?: Readonly<Record<string, string>>, changes?: readonly Change[]): Release {
  if (release.deployed) return release;
  return evolve(
    release,
    now,
    {
      deployed: true,
      targetWait: undefined,
      ...(driverState ? { driverState: { ...release.driverState, ...driverState } } : {}),
      ...(changes && changes.length > 0 ? { changes } : {}),
    },
    { type: EventKind.deployed, message: Reasons.deployed },
  );
}

/**
 * The driver applied `percent`; the plan moves to `nextStep`, which starts now. Idempotent: a
 * release already at that weight and past that step is returned unchanged.
 */
export function markShifted(release: Release, percent: number, nextStep: number, now: number): Release {
  if (release.weight === percent && release.stepIndex >= nextStep && release.shiftInProgress === undefined) return release;
  return evolve(
    release,
    now,
    { weight: percent, stepIndex: nextStep, stepStartedAt: iso(now), bake: { extendedSeconds: 0, errors: 0 }, shiftInProgress: undefined },
    { type: EventKind.shifted, message: Reasons.shifted(percent), weight: percent },
  );
}

/**
 * The target accepted a shift to `percent` but is still on its way and reads `live`: the release
 * records the weight the target really has (never the one asked for) and when it last asked.
 */
export function markShiftInProgress(release: Release, percent: number, nextStep: number, live: number, now: number): Release {
  const pending = release.shiftInProgress;
  const since = pending?.percent === percent ? pending.since : iso(now);
  const events = release.weight === live ? [] : [{ type: EventKind.shifted, message: Reasons.shifted(live), weight: live }];
  return evolve(release, now, { weight: live, shiftInProgress: { percent, nextStep, since, checkedAt: iso(now) } }, ...events);
}

/**
 * What the target's read-back weight means for a shift to `percent`. A driver that runs its own
 * shift pattern (CodeDeploy, `landsExactly` false) may already be past the step, or still on its
 * way (then the release waits and asks again); a driver that sets weights exactly must show exactly
 * `percent`, or the shift did not take (undefined: the caller retries it). The release always
 * records the weight the target reports, never only the one it was asked for.
 */
export function recordShift(release: Release, percent: number, nextStep: number, live: number, landsExactly: boolean, now: number): Release | undefined {
  if (landsExactly ? live === percent : live >= percent) return markShifted(release, live, nextStep, now);
  return landsExactly ? undefined : markShiftInProgress(release, percent, nextStep, live, now);
}

/**
 * Traffic is back on the stable version: the release ends as decided when rollback started (a
 * release not yet rolling back starts now, with its recorded reason). Idempotent: a finished
 * release is returned unchanged.
 */
export function markRolledBack(release: Release, now: number): Release {
  if (isTerminal(release.phase)) return release;
  const rolling = release.phase === Phase.rollingBack ? release : beginRollback(release, release.reason ?? Reasons.rollbackUnspecified, now);
  const endAs = rolling.endAs ?? Phase.rolledBack;
  const message = endAs === Phase.cancelled ? Reasons.cancelled : endAs === Phase.failed ? Reasons.failed(rolling.reason ?? 'unknown') : Reasons.rolledBack;
  return evolve(
    rolling,
    now,
    { phase: endAs, weight: 0, pendingApproval: undefined, shiftInProgress: undefined, targetWait: undefined },
    { type: endAs, message, weight: 0 },
  );
}

/** The new version is the stable one and the old one is gone. Idempotent: a finished release is returned unchanged. */
export function markFinalized(release: Release, now: number): Release {
  if (isTerminal(release.phase)) return release;
  return evolve(
    release,
    now,
    { phase: Phase.succeeded, stepIndex: release.plan.steps.length, targetWait: undefined },
    { type: EventKind.succeeded, message: Reasons.succeeded },
  );
}

/**
 * Starts rolling back from any active phase. Before anything was deployed this ends as
 * cancelled (or failed, when asked), otherwise as rolled_back unless `endAs` says failed.
 */
export function beginRollback(release: Release, reason: string, now: number, endAs?: EndPhase, actor?: Actor): Release {
  if (release.phase === Phase.rollingBack || isTerminal(release.phase)) return release;
  const end = endAs ?? (release.deployed ? Phase.rolledBack : Phase.cancelled);
  return evolve(
    release,
    now,
    // A wait for a deploy or a finalize ends here: the rollback waits on its own.
    { phase: Phase.rollingBack, reason, endAs: end, pendingApproval: undefined, targetWait: undefined, paused: undefined },
    { type: EventKind.rollbackStarted, message: Reasons.rollingBack(reason), ...(actor ? { actor } : {}) },
  );
}

/** A failure nothing can undo (the stable version could not be restored): ends as failed. */
export function markFailed(release: Release, reason: string, now: number): Release {
  if (isTerminal(release.phase)) return release;
  return evolve(
    release,
    now,
    { phase: Phase.failed, reason, pendingApproval: undefined, targetWait: undefined, paused: undefined },
    { type: EventKind.failed, message: Reasons.failed(reason) },
  );
}

/**
 * Records the decision on the approval `approvalId`. Idempotent: when that approval is no longer
 * the pending one (already decided, or superseded by promote or rollback) nothing changes.
 */
export function recordApproval(
  release: Release,
  approvalId: string,
  decision: 'approved' | 'rejected' | 'expired',
  now: number,
  actor?: Actor,
  comment?: string,
): Release {
  const pending = release.pendingApproval;
  if (pending === undefined || pending.id !== approvalId) return release;
  const record: ApprovalRecord = {
    id: pending.id,
    stepIndex: pending.stepIndex,
    reason: pending.reason,
    label: pending.label,
    decision,
    at: iso(now),
    ...(actor ? { actor } : {}),
    ...(comment ? { comment } : {}),
  };
  const message =
    decision === 'approved'
      ? Reasons.approved(actor?.id ?? 'unknown')
      : decision === 'rejected'
        ? Reasons.rejected(actor?.id ?? 'unknown')
        : Reasons.approvalExpired(pending.onTimeout);
  return evolve(
    release,
    now,
    { pendingApproval: undefined, approvals: [...release.approvals, record] },
    { type: decision, message, ...(actor ? { actor } : {}), ...(comment ? { comment } : {}) },
  );
}

/** What a person's request asks of the workflow, and how the timeline says it. */
const REQUESTS = {
  promote: { type: EventKind.promoteRequested, message: Reasons.promoteRequested },
  rollback: { type: EventKind.rollbackRequested, message: Reasons.rollbackRequested },
} as const;

/** Records a person's request, which the workflow acts on at its next decision (wake.ts wakes it for that). */
function request(release: Release, kind: keyof typeof REQUESTS, actor: Actor, now: number, comment?: string): Release {
  const { type, message } = REQUESTS[kind];
  return evolve(
    release,
    now,
    { requests: { ...release.requests, [kind]: { actor, at: iso(now), ...(comment ? { comment } : {}) } } },
    { type, message: message(actor.id), actor, ...(comment ? { comment } : {}) },
  );
}

export function requestPromote(release: Release, actor: Actor, now: number, comment?: string): Release {
  return request(release, 'promote', actor, now, comment);
}

export function requestRollback(release: Release, actor: Actor, now: number, comment?: string): Release {
  return request(release, 'rollback', actor, now, comment);
}

/** A queued release withdrawn before it started: nothing was deployed, nothing to undo. */
export function cancelQueued(release: Release, actor: Actor, now: number, comment?: string): Release {
  return evolve(
    release,
    now,
    { phase: Phase.cancelled, reason: Reasons.rollbackRequested(actor.id) },
    { type: EventKind.cancelled, message: Reasons.cancelled, actor, ...(comment ? { comment } : {}) },
  );
}

/** Records an unexpected error in the timeline without changing anything else. */
export function noteError(release: Release, reason: string, now: number): Release {
  return evolve(release, now, {}, { type: EventKind.error, message: reason });
}

/** What putting the stable version back after a failure came to. */
export type RestoreOutcome =
  | { readonly kind: 'restored' }
  /** The driver had already finished the release: the new version is the stable one. */
  | { readonly kind: 'finalized' }
  | { readonly kind: 'unrestored'; readonly why: string }
  /** The target is on its way back (the caller waits and asks again; the release keeps its lock meanwhile). */
  | { readonly kind: 'pending'; readonly seen: string; readonly state?: Readonly<Record<string, string>>; readonly askAgainSeconds?: number };

/**
 * Ends a release after an unexpected failure or an interruption, by what the driver managed:
 * restored -> rolled_back (or `undeployedEnd` when nothing was deployed), finalized -> succeeded,
 * unrestored -> failed. The reason always lands in the timeline; a finished release is left alone.
 */
export function endAfterFailure(
  release: Release,
  reason: string,
  outcome: Exclude<RestoreOutcome, { kind: 'pending' }>,
  now: number,
  undeployedEnd: EndPhase = Phase.failed,
): Release {
  if (isTerminal(release.phase)) return release;
  if (outcome.kind === 'finalized' && canTransition(release.phase, Phase.succeeded)) return markFinalized(noteError(release, reason, now), now);
  if (outcome.kind !== 'restored') {
    const why = outcome.kind === 'unrestored' ? outcome.why : 'the release was already finalized';
    return markFailed(release, `${reason}; ${Reasons.recoveryFailed(why)}`, now);
  }
  const rolling =
    release.phase === Phase.rollingBack
      ? noteError(release, reason, now)
      : beginRollback(release, reason, now, release.deployed ? Phase.rolledBack : undeployedEnd);
  return markRolledBack(rolling, now);
}
