import * as z from 'zod';
import { FOLLOW_UPS, HUMAN_DECISIONS } from '../core/approvals.js';
import { ALL_PHASES } from '../core/phases.js';
import { CountdownKind, START_ACTIONS } from './kinds.js';

export { CountdownKind, START_ACTIONS, StepStatus, type StartAction } from './kinds.js';

/**
 * The one wire contract: a release as every screen receives it (the API's answers and event stream,
 * the CLI, the dashboard, and through `toReleaseView` the terminal progress and Slack). It carries the
 * core's answers, so a screen renders and decides nothing: the phase as an enum and whether it is
 * final, the decisions offered to this caller, each step's label and state, the traffic and gate
 * series as numbers with times, and when the current wait ends. The OpenAPI document is made from
 * these schemas (src/api/openapi.ts).
 */

export const PhaseSchema = z.enum(ALL_PHASES as [(typeof ALL_PHASES)[number], ...(typeof ALL_PHASES)[number][]]).meta({ id: 'Phase' });

/** What proved a caller (the audit trail): the credential the channel checked, and what it named. */
const ProofSchema = z.object({
  by: z.enum(['shared-token', 'person-token', 'slack-signature', 'sigv4', 'jwt', 'ecr-event', 'switchyard']),
  subject: z.string().optional(),
});

export const ActorSchema = z
  .object({ id: z.string(), channel: z.enum(['api', 'slack', 'ecr', 'system']), person: z.string().optional(), proof: ProofSchema.optional() })
  .meta({ id: 'Actor' });

/** What a gate read, as numbers (core/gates.ts `Evidence`); further fields may follow. */
const EvidenceSchema = z
  .object({
    value: z.number().optional(),
    threshold: z.number().optional(),
    comparison: z.string().optional(),
    windowSeconds: z.number().optional(),
    samples: z.number().optional(),
    alarmState: z.string().optional(),
    ratio: z.number().optional(),
    interval: z.tuple([z.number(), z.number().nullable()]).readonly().optional(),
  })
  .catchall(z.unknown());

const GateResultSchema = z.object({
  gate: z.string(),
  verdict: z.enum(['pass', 'fail', 'inconclusive', 'error']),
  summary: z.string(),
  evidence: EvidenceSchema,
  at: z.string(),
});

/** A decision a person may take on a running release (approve, reject, promote, rollback, pause, resume). */
export const DecisionSchema = z.enum(HUMAN_DECISIONS);
/** What a person may start from a finished release: undo a succeeded one, retry one that did not ship. */
export const FollowUpSchema = z.enum(FOLLOW_UPS);

export const CountdownSchema = z
  .object({
    kind: z.enum(Object.values(CountdownKind) as [CountdownKind, ...CountdownKind[]]),
    /** What is waited for, for people ("bake 2m", "approval after-first-step", "deploy"). */
    label: z.string(),
    since: z.string(),
    /** When the wait ends (a bake: its end with any extension; an approval: when it expires; the target: its deadline). */
    endsAt: z.string(),
    /** Seconds from `ReleaseView.at` to `endsAt`, never below 0. */
    remainingSeconds: z.number(),
  })
  .meta({ id: 'Countdown' });

export const ReleaseSummarySchema = z
  .object({
    id: z.string(),
    service: z.string(),
    image: z.string(),
    phase: PhaseSchema,
    /** The release has ended (succeeded, rolled_back, failed, superseded, cancelled): nothing follows. */
    final: z.boolean(),
    traffic: z.object({ candidate: z.number(), stable: z.number() }),
    step: z.object({ index: z.number(), total: z.number() }),
    createdAt: z.string(),
    createdBy: ActorSchema,
    finishedAt: z.string().optional(),
    reason: z.string().optional(),
    /** Why the release exists beyond a new image: it undoes or retries another release. */
    origin: z.object({ kind: z.enum(['undo', 'retry']), of: z.string() }).optional(),
    /** A hotfix: bakes cut to one gate check, approvals skipped, for this reason. */
    expedited: z.object({ reason: z.string() }).optional(),
    /** What the service served when the release started (where `undo` goes back to). */
    previous: z.string().optional(),
  })
  .meta({ id: 'ReleaseSummary' });

const GatePointSchema = z.object({
  at: z.string(),
  value: z.number(),
  threshold: z.number().optional(),
  lower: z.number().optional(),
  upper: z.number().nullable().optional(),
  verdict: z.string(),
});

export const ReleaseViewSchema = ReleaseSummarySchema.extend({
  /** The server's time when it made this view: countdowns are counted from it. */
  at: z.string(),
  /** Seconds from creation to the end (or to `at` while it runs). */
  durationSeconds: z.number(),
  digest: z.string().optional(),
  strategy: z.string(),
  plan: z.array(z.record(z.string(), z.unknown())),
  /** Each step of the plan as people read it, and whether it is done, current or still to come. */
  steps: z.array(z.object({ type: z.string(), label: z.string(), status: z.enum(['done', 'current', 'next']) })),
  /** The decisions this caller may take now (the state allows them and the caller's authority does): the buttons to show. */
  decisions: z.array(DecisionSchema),
  /** The follow-ups this caller may start from the finished release (undo, retry). */
  followUps: z.array(FollowUpSchema),
  /** Decisions and follow-ups the release's state allows but this caller may not take, and why (in the core's words). */
  withheld: z.array(z.object({ action: z.union([DecisionSchema, FollowUpSchema]), why: z.string() })),
  /** The wait the release is in now (a bake, an approval, the target), with when it ends. */
  countdown: CountdownSchema.optional(),
  /** The split over time: percent of production traffic on the new version, from creation to now. */
  trafficSeries: z.array(z.object({ at: z.string(), candidate: z.number() })),
  gateResults: z.array(GateResultSchema),
  /** What the release changes in the task definition besides the image, against the running revision. */
  changes: z.array(z.object({ path: z.string(), before: z.string().optional(), after: z.string().optional() })).optional(),
  /** Each gate's recent readings, oldest first: value (the judge: its ratio), limit or interval, verdict. */
  gateHistory: z.record(z.string(), z.array(GatePointSchema)).optional(),
  /** The new version's most recent error lines, read when a person was asked to decide. */
  recentErrors: z.array(z.object({ time: z.string(), message: z.string(), source: z.string().optional() })).optional(),
  /** Where all of the new version's logs are. */
  recentErrorsLink: z.string().optional(),
  pendingApproval: z.object({ id: z.string(), label: z.string(), requestedAt: z.string(), expiresAt: z.string(), onTimeout: z.string() }).optional(),
  /**
   * Set while a person holds the release at its current bake: who, since when, why, how much of the bake
   * is left for when it resumes, and the latest it may stay paused (a driver's limit; absent: indefinitely).
   */
  paused: z.object({ by: ActorSchema, at: z.string(), comment: z.string().optional(), bakeLeftSeconds: z.number(), until: z.string().optional() }).optional(),
  /**
   * When pause is offered on a target that holds a step only so long (ECS's PAUSE hook): the latest a
   * pause started now may last before the release rolls back. Absent: a pause holds until someone resumes it.
   */
  pauseUntil: z.string().optional(),
  approvals: z.array(z.record(z.string(), z.unknown())),
  timeline: z.array(
    z.object({
      at: z.string(),
      type: z.string(),
      message: z.string(),
      actor: ActorSchema.optional(),
      comment: z.string().optional(),
      weight: z.number().optional(),
    }),
  ),
  updatedAt: z.string(),
}).meta({ id: 'Release' });

export type ReleaseSummary = z.infer<typeof ReleaseSummarySchema>;
export type ReleaseView = z.infer<typeof ReleaseViewSchema>;
export type Countdown = z.infer<typeof CountdownSchema>;
export type ViewStep = ReleaseView['steps'][number];
export type TimelineActor = z.infer<typeof ActorSchema>;

/** What a caller may start on a service (contract/service-offer.ts), with what their authority keeps from them and why. */
export const StartOfferSchema = z.object({
  /** What this caller may start now: `start` through the whole plan, `expedite` with fewer steps. The buttons to show. */
  starts: z.array(z.enum(START_ACTIONS)),
  withheld: z.array(z.object({ action: z.enum(START_ACTIONS), why: z.string() })),
});
