import type { Actor } from './actor.js';
import type { ApprovalRules } from './authority.js';
import type { Change } from './task-diff.js';
import type { GateResult, GateSpec } from './gates.js';
import { Phase, canTransition, isTerminal, transition } from './phases.js';
import type { Plan, TimeoutAction } from './plan.js';
import { Reasons } from './reasons.js';
import { AWS_DEFAULT_CLOCKS, TARGET_POLL_SECONDS, targetDeadlines, type TargetDeadlines, type TargetStep } from './target-waits.js';

export { SYSTEM, type Actor, type Proof } from './actor.js';

/** Every kind of timeline event; surfaces (Slack, the API, the CLI) read them from here. */
export const EventKind = {
  created: 'created',
  queued: 'queued',
  started: 'started',
  superseded: 'superseded',
  deploying: 'deploying',
  deployed: 'deployed',
  shifting: 'shifting',
  shifted: 'shifted',
  baking: 'baking',
  bakeExtended: 'bake_extended',
  bakeEndedEarly: 'bake_ended_early',
  approvalRequested: 'approval_requested',
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired',
  promoteRequested: 'promote_requested',
  rollbackRequested: 'rollback_requested',
  rollbackStarted: 'rollback_started',
  rolledBack: 'rolled_back',
  finalizing: 'finalizing',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  error: 'error',
  /** The target is on its way (ECS scaling up, draining): what it is doing now. */
  waiting: 'waiting',
} as const;

export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** Events that record a person's decision (shown beside the release in Slack). */
export const DECISION_EVENTS: ReadonlySet<EventKind> = new Set([
  EventKind.approved,
  EventKind.rejected,
  EventKind.promoteRequested,
  EventKind.rollbackRequested,
  EventKind.cancelled,
]);

export interface TimelineEvent {
  readonly at: string;
  readonly type: EventKind;
  readonly message: string;
  readonly actor?: Actor;
  readonly comment?: string;
  /** Percent of production traffic on the new version after this event, on the events that changed it (a chart draws these numbers). */
  readonly weight?: number;
}

export interface Artifact {
  /** The image as given, for example `repo:1.8.2` or `repo@sha256:...`. */
  readonly image: string;
  readonly digest?: string;
}

export type { ApprovalRules } from './authority.js';

export interface GatePolicy {
  /** How often gates are checked during a bake. */
  readonly checkIntervalSeconds: number;
  /** What to do when gates stay inconclusive past `maxExtensionSeconds`. */
  readonly onInconclusive: 'pause' | 'fail';
  readonly maxExtensionSeconds: number;
  /** Consecutive checks that may error before the inconclusive policy applies. */
  readonly maxErrors: number;
}

/** Everything a release needs from its service's config, frozen when the release is created. */
export interface ReleaseSettings {
  readonly gates: readonly GateSpec[];
  readonly gatePolicy: GatePolicy;
  readonly approvalRules: ApprovalRules;
  /** Timeout for the approval asked when gates stay inconclusive and the policy is `pause`. */
  readonly pauseTimeoutSeconds: number;
  /** The most the release waits for its target at each step (target-waits.ts). @default derived from AWS's default clocks and the plan */
  readonly deadlines?: TargetDeadlines;
}

/** Why a release waits for a person: an approval step of the plan, or gates that stayed inconclusive. */
export const PauseReason = { step: 'step', inconclusive: 'inconclusive' } as const;
export type PauseReason = (typeof PauseReason)[keyof typeof PauseReason];

export interface PendingApproval {
  readonly id: string;
  readonly stepIndex: number;
  readonly reason: PauseReason;
  readonly label: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly onTimeout: TimeoutAction;
}

export interface ApprovalRecord {
  readonly id: string;
  readonly stepIndex: number;
  readonly reason: PauseReason;
  readonly label: string;
  readonly decision: 'approved' | 'rejected' | 'expired';
  readonly at: string;
  readonly actor?: Actor;
  readonly comment?: string;
}

export interface Request {
  readonly actor: Actor;
  readonly at: string;
  readonly comment?: string;
}

/** Per-step progress of a bake or analysis. */
export interface BakeState {
  readonly extendedSeconds: number;
  readonly errors: number;
}

export type EndPhase = typeof Phase.rolledBack | typeof Phase.failed | typeof Phase.cancelled;

/** A gate's reading at one check: its value (the judge: its ratio), its limit or interval, its verdict. */
export interface GatePoint {
  readonly at: string;
  readonly value: number;
  readonly threshold?: number;
  readonly lower?: number;
  readonly upper?: number | null;
  readonly verdict: GateResult['verdict'];
}

/** Readings kept per gate: an hour of one-minute checks, a few minutes of one-second ones. */
export const GATE_HISTORY_POINTS = 60;

/**
 * The release with these gate results, and each gate's reading appended to its history (a reading
 * with no number, such as an alarm in INSUFFICIENT_DATA, is not drawn).
 */
export function withGateResults(release: Release, results: readonly GateResult[]): Pick<Release, 'gateResults' | 'gateHistory'> {
  const history: Record<string, readonly GatePoint[]> = { ...release.gateHistory };
  for (const r of results) {
    const e = r.evidence;
    const value = e.ratio ?? e.value ?? (e.alarmState === 'ALARM' ? 1 : e.alarmState === 'OK' ? 0 : undefined);
    if (value === undefined || !Number.isFinite(value)) continue;
    const point: GatePoint = {
      at: r.at,
      value,
      ...(e.threshold !== undefined ? { threshold: e.threshold } : {}),
      ...(e.interval ? { lower: e.interval[0], upper: e.interval[1] } : {}),
      verdict: r.verdict,
    };
    history[r.gate] = [...(history[r.gate] ?? []), point].slice(-GATE_HISTORY_POINTS);
  }
  return { gateResults: results, gateHistory: history };
}

/** A line the new version logged about an error, as shown with an approval. */
export interface ErrorLine {
  readonly time: string;
  readonly message: string;
  /** Which replica or task wrote it. */
  readonly source?: string;
}

/** How many error lines an approval carries (a Slack section holds 3,000 characters). */
export const MAX_ERROR_LINES = 5;
/** A line is an error line when it contains this (case-insensitive: `"level":"error"`, `ERROR`, `Error:`). */
export const ERROR_LINE_MATCH = 'error';
/** The longest an error line is shown with an approval. */
const MAX_ERROR_LINE_LENGTH = 400;

/** The error lines an approval carries, from the lines the logs gave: cut to length, with where they came from. */
export function errorLinesFrom(lines: readonly { readonly time: string; readonly message: string; readonly source?: string }[]): ErrorLine[] {
  return lines
    .slice(-MAX_ERROR_LINES)
    .map((l) => ({ time: l.time, message: l.message.slice(0, MAX_ERROR_LINE_LENGTH), ...(l.source ? { source: l.source } : {}) }));
}

export interface Release {
  readonly id: string;
  readonly service: string;
  readonly artifact: Artifact;
  readonly plan: Plan;
  readonly settings: ReleaseSettings;
  readonly phase: Phase;
  /** The step being worked on; `plan.steps.length` once every step is done. */
  readonly stepIndex: number;
  readonly stepStartedAt?: string;
  /** Percent of production traffic on the new version, as last read back from the target. */
  readonly weight: number;
  /**
   * A shift the target is still carrying out on its own timer (CodeDeploy moves to 100% only when
   * its canary interval ends, and no API skips it): the workflow waits and asks again, never blocks.
   */
  readonly shiftInProgress?: ShiftInProgress;
  /** A deploy, finalize or rollback the target is still carrying out on its own clock: the workflow waits and asks again. */
  readonly targetWait?: TargetWait;
  readonly deployed: boolean;
  /** What the driver needs to find its work again (for example the CodeDeploy deployment id). */
  readonly driverState?: Readonly<Record<string, string>>;
  /** What the release changes in the task definition besides the image, against the running revision. */
  readonly changes?: readonly Change[];
  /** The new version's most recent error lines, read when a person was asked to decide. */
  readonly recentErrors?: readonly ErrorLine[];
  /** Where all of the new version's logs are (local: the dashboard's logs view; AWS: a Logs Insights query). */
  readonly recentErrorsLink?: string;
  readonly bake: BakeState;
  readonly gateResults: readonly GateResult[];
  /** Each gate's recent readings, oldest first (at most GATE_HISTORY_POINTS each): what a chart draws. */
  readonly gateHistory?: Readonly<Record<string, readonly GatePoint[]>>;
  readonly pendingApproval?: PendingApproval;
  readonly approvals: readonly ApprovalRecord[];
  readonly requests: { readonly promote?: Request; readonly rollback?: Request };
  /** Set when rolling back: the phase the release ends in once traffic is restored. */
  readonly endAs?: EndPhase;
  readonly reason?: string;
  readonly createdAt: string;
  readonly createdBy: Actor;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** The release's current execution: 1 for the first, +1 each time it continues in a new one. */
  readonly generation?: number;
  /** Decisions made by the current execution, and when it started (its budget, see continueWhenDue). */
  readonly decisionsInGeneration?: number;
  readonly generationStartedAt?: string;
  /** When the service's lock was last taken or renewed for this release (its creation, if never since). */
  readonly leaseRenewedAt?: string;
  /** The image the service served when this release started: what `undo` returns to after it succeeds. */
  readonly previous?: string;
  readonly origin?: Origin;
  readonly expedited?: { readonly reason: string };
  /**
   * How a person's steer (rollback, promote) reaches a workflow that is waiting: the token of the
   * wait it is in, or word left for the next wait when none is registered yet. See {@link takeWake}.
   */
  readonly wake?: { readonly token: string } | { readonly pending: true };
  readonly timeline: readonly TimelineEvent[];
}

export interface ShiftInProgress {
  readonly percent: number;
  readonly nextStep: number;
  /** When the target first accepted this shift. */
  readonly since: string;
  /** When the target was last asked how far it got. */
  readonly checkedAt: string;
}

export interface TargetWait {
  readonly step: Exclude<TargetStep, 'shift'>;
  /** When the release started waiting for this step, and when it gives up. */
  readonly since: string;
  readonly deadline: string;
  /** When the target was last asked, what it said, and how soon to ask again. */
  readonly checkedAt: string;
  readonly seen: string;
  readonly askAgainSeconds?: number;
}

/** Why a release exists beyond "a new image": it undoes or retries another release. */
export interface Origin {
  readonly kind: 'undo' | 'retry';
  /** The release it undoes or retries. */
  readonly of: string;
}

export interface NewRelease {
  readonly id: string;
  readonly service: string;
  readonly artifact: Artifact;
  readonly plan: Plan;
  readonly settings: ReleaseSettings;
  readonly actor: Actor;
  readonly origin?: Origin;
  /** A hotfix: bakes cut to one gate check, approvals skipped; the reason is kept. */
  readonly expedited?: { readonly reason: string };
  /** A person's comment on why (undo, retry), for the timeline. */
  readonly comment?: string;
  /** What the service serves now (when the release starts at once; a queued one records it when it starts). */
  readonly previous?: string;
  /** Start queued (another release holds the service) instead of preparing. */
  readonly queuedBehind?: string;
}

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

/** Appends to the timeline (never edits it) and moves the phase through {@link transition}. */
export function evolve(
  release: Release,
  now: number,
  changes: Partial<Omit<Release, 'timeline' | 'updatedAt'>>,
  ...events: Omit<TimelineEvent, 'at'>[]
): Release {
  // The timeline stays in time order: a writer whose clock (or whose read) is behind the last event
  // stamps its events at that event's time, never before it.
  const last = release.timeline.at(-1)?.at;
  const at = last !== undefined && Date.parse(last) > now ? last : iso(now);
  const phase = changes.phase === undefined ? release.phase : transition(release.phase, changes.phase);
  return {
    ...release,
    ...changes,
    phase,
    updatedAt: at,
    ...(isTerminal(phase) && !isTerminal(release.phase) ? { finishedAt: at } : {}),
    timeline: [...release.timeline, ...events.map((e) => ({ at, ...e }))],
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

/**
 * True when the service's lock should be renewed now: past half its lease since it was last taken.
 * The lease outlives any bake or approval between two decisions, so renewing on every decision
 * would only cost store calls.
 */
export function leaseRenewalDue(release: Release, now: number, leaseSeconds: number): boolean {
  if (isTerminal(release.phase) || release.phase === Phase.queued) return false;
  return now - Date.parse(release.leaseRenewedAt ?? release.createdAt) >= (leaseSeconds * 1000) / 2;
}

export function markLeaseRenewed(release: Release, now: number): Release {
  return evolve(release, now, { leaseRenewedAt: iso(now) });
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
 * Traffic is back on the stable version: the release ends as decided when rollback started (a
 * release not yet rolling back starts now, with its recorded reason). Idempotent: a finished
 * release is returned unchanged.
 */
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
 * shift pattern (CodeDeploy, `holdsAnyWeight` false) may already be past the step, or still on its
 * way (then the release waits and asks again); a driver that sets weights exactly must show exactly
 * `percent`, or the shift did not take (undefined: the caller retries it). The release always
 * records the weight the target reports, never only the one it was asked for.
 */
export function recordShift(release: Release, percent: number, nextStep: number, live: number, holdsAnyWeight: boolean, now: number): Release | undefined {
  if (holdsAnyWeight ? live === percent : live >= percent) return markShifted(release, live, nextStep, now);
  return holdsAnyWeight ? undefined : markShiftInProgress(release, percent, nextStep, live, now);
}

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
    { phase: Phase.rollingBack, reason, endAs: end, pendingApproval: undefined, targetWait: undefined },
    { type: EventKind.rollbackStarted, message: Reasons.rollingBack(reason), ...(actor ? { actor } : {}) },
  );
}

/** A failure nothing can undo (the stable version could not be restored): ends as failed. */
export function markFailed(release: Release, reason: string, now: number): Release {
  if (isTerminal(release.phase)) return release;
  return evolve(
    release,
    now,
    { phase: Phase.failed, reason, pendingApproval: undefined, targetWait: undefined },
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

export function requestPromote(release: Release, actor: Actor, now: number, comment?: string): Release {
  return evolve(
    release,
    now,
    { requests: { ...release.requests, promote: { actor, at: iso(now), ...(comment ? { comment } : {}) } } },
    { type: EventKind.promoteRequested, message: Reasons.promoteRequested(actor.id), actor, ...(comment ? { comment } : {}) },
  );
}

export function requestRollback(release: Release, actor: Actor, now: number, comment?: string): Release {
  return evolve(
    release,
    now,
    { requests: { ...release.requests, rollback: { actor, at: iso(now), ...(comment ? { comment } : {}) } } },
    { type: EventKind.rollbackRequested, message: Reasons.rollbackRequested(actor.id), actor, ...(comment ? { comment } : {}) },
  );
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

/**
 * A person steered the release (rollback, promote): take the token of the wait the workflow is in,
 * so the caller completes it and the workflow decides at once, whatever the check interval; and
 * always leave word for the next wait, which then ends as soon as it starts ({@link holdWith}). The
 * word covers both races: no wait registered yet, and a token whose wait ended (timed out) just
 * before the steer took it, which Step Functions refuses (TaskTimedOut) and so wakes nothing.
 * Both run as conditional writes of the release, so one of them always sees the other.
 */
export function takeWake(release: Release): { readonly release: Release; readonly token?: string } {
  const { wake, ...rest } = release;
  const next = { ...rest, wake: { pending: true as const } };
  return wake && 'token' in wake ? { release: next, token: wake.token } : { release: next };
}

/** The workflow starts waiting with `token`: register it, or end the wait at once if a steer is pending. */
export function holdWith(release: Release, token: string): { readonly release: Release; readonly wakeNow: boolean } {
  const { wake, ...rest } = release;
  if (isTerminal(release.phase) || (wake && 'pending' in wake)) return { release: rest, wakeNow: true };
  return { release: { ...rest, wake: { token } }, wakeNow: false };
}
