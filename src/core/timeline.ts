import type { Actor } from './actor.js';
import { isTerminal, transition, type Phase } from './phases.js';

/**
 * A release's timeline: what happened, in time order, appended to and never edited. Surfaces
 * (Slack, the API, the CLI) read its event kinds from here.
 */

/** Every kind of timeline event. */
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
  paused: 'paused',
  resumed: 'resumed',
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
  EventKind.paused,
  EventKind.resumed,
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

/** What {@link evolve} reads and writes of a release: its phase and its timeline. */
export interface Evolving {
  readonly phase: Phase;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  readonly timeline: readonly TimelineEvent[];
}

/** Appends to the timeline (never edits it) and moves the phase through {@link transition}. */
export function evolve<R extends Evolving>(
  release: R,
  now: number,
  changes: Partial<Omit<R, 'timeline' | 'updatedAt'>>,
  ...events: Omit<TimelineEvent, 'at'>[]
): R {
  // The timeline stays in time order: a writer whose clock (or whose read) is behind the last event
  // stamps its events at that event's time, never before it.
  const last = release.timeline.at(-1)?.at;
  const at = last !== undefined && Date.parse(last) > now ? last : new Date(now).toISOString();
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
