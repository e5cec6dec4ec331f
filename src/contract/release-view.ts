import type { Actor } from '../core/actor.js';
import { checkDecision, offeredDecisions, offeredFollowUps, type FollowUp, type HumanDecision } from '../core/approvals.js';
import { mayTake } from '../core/authority.js';
import { bakeEnd } from '../core/decide.js';
import { holdUntil } from '../core/pause.js';
import { isTerminal, Phase } from '../core/phases.js';
import type { Release } from '../core/release.js';
import { CountdownKind, StepStatus } from './kinds.js';
import type { Countdown, ReleaseSummary, ReleaseView, ViewStep } from './schema.js';
import { stepLabel } from './steps.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Who the view is for. An actor sees the decisions they may take (the buttons that can work for them);
 * `everyone` is a view shown to many people at once (a Slack channel), which offers what the release's
 * state allows and leaves each click to be checked; `nobody` (an unauthenticated read) is offered nothing.
 */
export type Viewer = Actor | 'everyone' | 'nobody';

export interface ViewOptions {
  /** The time the view is made at (ms): countdowns and durations are counted from it. */
  readonly now: number;
  /** @default 'nobody' */
  readonly viewer?: Viewer;
}

/** What people see of a release in lists. */
export function toReleaseSummary(r: Release): ReleaseSummary {
  return {
    id: r.id,
    service: r.service,
    image: r.artifact.image,
    phase: r.phase,
    final: isTerminal(r.phase),
    traffic: { candidate: r.weight, stable: 100 - r.weight },
    step: { index: Math.min(r.stepIndex + 1, r.plan.steps.length), total: r.plan.steps.length },
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.origin ? { origin: { ...r.origin } } : {}),
    ...(r.expedited ? { expedited: { ...r.expedited } } : {}),
    ...(r.previous ? { previous: r.previous } : {}),
  };
}

/**
 * Each step with its label and state. A succeeded release did every step; one that ended otherwise
 * did those before the step it stopped at, and the rest never ran.
 */
export function viewSteps(r: Release): ViewStep[] {
  const final = isTerminal(r.phase);
  return r.plan.steps.map((step, i) => ({
    type: step.type,
    label: stepLabel(step),
    status: i < r.stepIndex || r.phase === Phase.succeeded ? StepStatus.done : !final && i === r.stepIndex ? StepStatus.current : StepStatus.next,
  }));
}

type Offer = { readonly decisions: HumanDecision[]; readonly followUps: FollowUp[]; readonly withheld: { action: HumanDecision | FollowUp; why: string }[] };

/**
 * The decisions and follow-ups offered to `viewer`: what the release's state allows (core/approvals.ts),
 * then, for a caller, what their authority allows (core/authority.ts). A decision the state allows but
 * the caller may not take is withheld with the core's reason, so a screen can say why there is no button.
 */
export function offeredTo(r: Release, viewer: Viewer, now: number): Offer {
  if (viewer === 'nobody') return { decisions: [], followUps: [], withheld: [] };
  if (viewer === 'everyone') return { decisions: offeredDecisions(r, now), followUps: offeredFollowUps(r), withheld: [] };
  const offer: Offer = { decisions: [], followUps: [], withheld: [] };
  for (const decision of offeredDecisions(r, now)) {
    const check = checkDecision(r, decision, viewer, now);
    if (check.ok) offer.decisions.push(decision);
    // A conflict is the state (an approval that just expired): nothing to offer or explain.
    else if (check.code === 'forbidden') offer.withheld.push({ action: decision, why: check.message });
  }
  for (const followUp of offeredFollowUps(r)) {
    const check = mayTake(r.settings.approvalRules, followUp, viewer, r.createdBy);
    if (check.ok) offer.followUps.push(followUp);
    else offer.withheld.push({ action: followUp, why: `${check.message} (service ${r.service})` });
  }
  return offer;
}

/**
 * The wait the release is in at `now`, with when it ends: an approval until it expires, the target's
 * step until its deadline, a bake or analysis until its end (extensions included).
 */
export function countdownOf(r: Release, now: number): Countdown | undefined {
  const remaining = (endsAt: number) => Math.max(0, Math.ceil((endsAt - now) / 1000));
  if (isTerminal(r.phase)) return undefined;
  const pending = r.pendingApproval;
  if (pending) {
    const endsAt = Date.parse(pending.expiresAt);
    return {
      kind: CountdownKind.approval,
      label: `approval (${pending.label})`,
      since: pending.requestedAt,
      endsAt: pending.expiresAt,
      remainingSeconds: remaining(endsAt),
    };
  }
  if (r.paused) {
    // The bake's clock stands still while paused: the only thing that ends a pause on its own is the target's limit.
    const until = r.paused.until;
    return until === undefined
      ? undefined
      : {
          kind: CountdownKind.hold,
          label: "paused: the target's hold limit",
          since: r.paused.at,
          endsAt: until,
          remainingSeconds: remaining(Date.parse(until)),
        };
  }
  const wait = r.targetWait;
  if (wait)
    return { kind: CountdownKind.target, label: wait.step, since: wait.since, endsAt: wait.deadline, remainingSeconds: remaining(Date.parse(wait.deadline)) };
  const step = r.plan.steps[r.stepIndex];
  if (r.phase === Phase.baking && (step?.type === 'bake' || step?.type === 'analysis')) {
    const endsAt = bakeEnd(r, step);
    return {
      kind: step.type === 'bake' ? CountdownKind.bake : CountdownKind.analysis,
      label: stepLabel(step),
      since: r.stepStartedAt ?? r.updatedAt,
      endsAt: iso(endsAt),
      remainingSeconds: remaining(endsAt),
    };
  }
  return undefined;
}

/** The latest a pause started now may last, where pause is offered and the target limits it (ECS). */
function pauseLimit(r: Release, decisions: readonly HumanDecision[], now: number): { pauseUntil?: string } {
  const until = decisions.includes('pause') ? holdUntil(r, now) : undefined;
  return until === undefined ? {} : { pauseUntil: new Date(until).toISOString() };
}

/** Who holds a paused release, and the bake time it resumes with. */
function pausedView(r: Release, paused: NonNullable<Release['paused']>, now: number): NonNullable<ReleaseView['paused']> {
  const step = r.plan.steps[r.stepIndex];
  const left = step?.type === 'bake' || step?.type === 'analysis' ? bakeEnd(r, step, undefined, now) - now : 0;
  return {
    by: paused.by,
    at: paused.at,
    ...(paused.comment ? { comment: paused.comment } : {}),
    bakeLeftSeconds: Math.max(0, Math.ceil(left / 1000)),
    ...(paused.until ? { until: paused.until } : {}),
  };
}

/**
 * The split over time as numbers: 0% at creation, each weight the target reported (the timeline's
 * events that changed it), and the weight now (or at the end).
 */
export function trafficSeries(r: Release, now: number): { at: string; candidate: number }[] {
  const points = [{ at: r.createdAt, candidate: 0 }];
  for (const e of r.timeline) if (e.weight !== undefined) points.push({ at: e.at, candidate: e.weight });
  points.push({ at: isTerminal(r.phase) ? (r.finishedAt ?? r.updatedAt) : iso(Math.max(now, Date.parse(r.updatedAt))), candidate: r.weight });
  return points;
}

/**
 * One release in full, for one viewer at one time: everything a screen shows, the core's answers
 * included. Never a task token, never the wake word.
 * @example toReleaseView(release, { now: clock.now(), viewer: c.get('actor') })
 */
export function toReleaseView(r: Release, { now, viewer = 'nobody' }: ViewOptions): ReleaseView {
  const final = isTerminal(r.phase);
  const end = final ? Date.parse(r.finishedAt ?? r.updatedAt) : now;
  const countdown = countdownOf(r, now);
  const offer = offeredTo(r, viewer, now);
  return {
    ...toReleaseSummary(r),
    at: iso(now),
    durationSeconds: Math.max(0, Math.round((end - Date.parse(r.createdAt)) / 1000)),
    ...(r.artifact.digest ? { digest: r.artifact.digest } : {}),
    strategy: r.plan.strategy,
    plan: r.plan.steps.map((s) => ({ ...s })),
    steps: viewSteps(r),
    ...offer,
    ...(countdown ? { countdown } : {}),
    trafficSeries: trafficSeries(r, now),
    gateResults: r.gateResults.map((g) => ({ ...g, evidence: { ...g.evidence } })),
    ...(r.changes ? { changes: r.changes.map((c) => ({ ...c })) } : {}),
    ...(r.gateHistory ? { gateHistory: Object.fromEntries(Object.entries(r.gateHistory).map(([k, v]) => [k, v.map((p) => ({ ...p }))])) } : {}),
    ...(r.recentErrors ? { recentErrors: r.recentErrors.map((e) => ({ ...e })) } : {}),
    ...(r.recentErrorsLink ? { recentErrorsLink: r.recentErrorsLink } : {}),
    ...(r.pendingApproval
      ? {
          pendingApproval: {
            id: r.pendingApproval.id,
            label: r.pendingApproval.label,
            requestedAt: r.pendingApproval.requestedAt,
            expiresAt: r.pendingApproval.expiresAt,
            onTimeout: r.pendingApproval.onTimeout,
          },
        }
      : {}),
    ...(r.paused ? { paused: pausedView(r, r.paused, now) } : {}),
    ...pauseLimit(r, offer.decisions, now),
    approvals: r.approvals.map((a) => ({ ...a })),
    timeline: r.timeline.map((e) => ({ ...e })),
    updatedAt: r.updatedAt,
  };
}
