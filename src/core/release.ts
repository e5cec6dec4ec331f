import type { Actor } from './actor.js';
import type { Artifact } from './artifact.js';
import type { ApprovalRules } from './authority.js';
import type { ErrorLine, GateHistory } from './evidence.js';
import type { GateResult, GateSpec } from './gates.js';
import type { Phase } from './phases.js';
import type { Plan, TimeoutAction } from './plan.js';
import type { TargetDeadlines, TargetStep } from './target-waits.js';
import type { Change } from './task-diff.js';
import type { TimelineEvent } from './timeline.js';

/**
 * The release model: what a release is, as stored and as every part reads it. What changes it
 * lives beside it: transitions.ts (the pure steps), timeline.ts (the record of them), evidence.ts
 * (gate readings, error lines), lease.ts (the service's lock) and wake.ts (steering a waiting workflow).
 */

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
  /** How long a person may pause at one step beyond the plan's hold, where the driver limits holds (ECS). @default 0 */
  readonly maxPauseSeconds?: number;
  /** Whether its driver can hold a bake for a person (pause.ts); a release stored before pause existed cannot be paused. */
  readonly hold?: HoldSupport;
}

/**
 * Whether a release's driver keeps traffic where it is while a person holds the release (pause):
 * indefinitely, or for at most `limitSeconds` at one traffic step (ECS rolls back a PAUSE hook that
 * times out); or not at all, and why.
 */
export type HoldSupport = { readonly can: true; readonly limitSeconds?: number; readonly limitWhy?: string } | { readonly can: false; readonly why: string };

/** A person holds the release at its current bake (pause.ts): nothing moves until someone resumes it. */
export interface Paused {
  readonly by: Actor;
  readonly at: string;
  readonly comment?: string;
  /** The driver's limit: past it the release rolls back rather than let the target decide behind its back. */
  readonly until?: string;
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
  /** Time the bake spent paused (pause.ts): its end moves by as much, so it resumes with the time it had left. */
  readonly pausedSeconds?: number;
}

export type EndPhase = typeof Phase.rolledBack | typeof Phase.failed | typeof Phase.cancelled;

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
  readonly gateHistory?: GateHistory;
  readonly pendingApproval?: PendingApproval;
  /** Set while a person holds the release at its current bake (pause.ts). */
  readonly paused?: Paused;
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
