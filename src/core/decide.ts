import type { JudgeCache } from './judge.js';
import { assessGates, isBeforeTraffic, overallVerdict, withStoredDefaults, type GateResult, type GateSpec, type JudgeGate, type Observation } from './gates.js';
import { Phase, isTerminal } from './phases.js';
import type { Step } from './plan.js';
import { Reasons } from './reasons.js';
import { PauseReason, type Release } from './release.js';
import { beginRollback, deadlinesOf, markFailed } from './transitions.js';
import { EventKind, evolve } from './timeline.js';
import { withGateResults } from './evidence.js';
import { TARGET_POLL_SECONDS, TargetStep } from './target-waits.js';

/** When a release's current execution must hand over to a new one. */
export interface ExecutionBudget {
  readonly decisions: number;
  readonly seconds: number;
}

/**
 * Counts a decision against the current execution's budget. At a safe point (the decision is to
 * wait: nothing is in flight and no approval holds a task token) with the budget spent, the action
 * becomes `continue`: the next generation re-decides from the stored release.
 */
export function continueWhenDue(decision: Decision, now: number, budget: ExecutionBudget): Decision {
  const { release, action } = decision;
  if (action.type === 'done') return decision;
  const decisions = (release.decisionsInGeneration ?? 0) + 1;
  const startedAt = Date.parse(release.generationStartedAt ?? release.createdAt);
  const spent = decisions >= budget.decisions || now - startedAt >= budget.seconds * 1000;
  if (spent && action.type === 'wait') {
    const generation = (release.generation ?? 1) + 1;
    return { action: { type: 'continue', generation }, release: evolve(release, now, { generation, decisionsInGeneration: 0, generationStartedAt: iso(now) }) };
  }
  return { action, release: { ...release, decisionsInGeneration: decisions } };
}

/** How often the workflow asks a target that shifts on its own timer whether it got there: as for every wait on a target. */
export const SHIFT_POLL_SECONDS = TARGET_POLL_SECONDS;

/** What the workflow does next. One action per loop of decide -> act. */
export type Action =
  | { readonly type: 'deploy' }
  | { readonly type: 'shift'; readonly percent: number; readonly nextStep: number }
  /** Wait until `until` (`seconds` from now, at least 1: a callback's timeout), unless a person's steer ends it sooner. */
  | { readonly type: 'wait'; readonly until: string; readonly seconds: number }
  | { readonly type: 'approval'; readonly approvalId: string; readonly label: string; readonly timeoutSeconds: number }
  | { readonly type: 'rollback'; readonly reason: string }
  | { readonly type: 'finalize' }
  | { readonly type: 'done'; readonly phase: Phase }
  /** Continue the release in a new execution (its next generation), to stay inside the engine's limits. */
  | { readonly type: 'continue'; readonly generation: number };

export type ActionType = Action['type'];

export interface Decision {
  readonly action: Action;
  /** The release with the bookkeeping of this decision (step pointer, gate results, phase, timeline). */
  readonly release: Release;
}

const iso = (now: number): string => new Date(now).toISOString();

/**
 * The gates watched while traffic is on the new version: all but the webhooks that run before traffic
 * (a smoke test against the test route is asked once, in the plan's first step, not in every bake).
 */
export function watchedGates(release: Release): readonly GateSpec[] {
  const gates = release.settings.gates;
  return gates.some(isBeforeTraffic) ? gates.filter((g) => !isBeforeTraffic(g)) : gates;
}

/** The gates watched by a step: analysis steps may name a subset (any gate, by name), bakes watch them all. */
export function stepGates(release: Release, step: Step | undefined): readonly GateSpec[] {
  if (step === undefined) return [];
  if (step.type === 'bake') return watchedGates(release);
  if (step.type === 'analysis') {
    return step.gates ? release.settings.gates.filter((g) => step.gates?.includes(g.name)) : watchedGates(release);
  }
  return [];
}

/**
 * The gates whose observations `decide` needs now: those of the current bake or analysis step,
 * unless the release is finished or rolling back. The caller collects them and passes them in.
 */
export function gatesToObserve(release: Release, now?: number): readonly GateSpec[] {
  if (isTerminal(release.phase) || release.phase === Phase.rollingBack || release.requests.rollback || !release.deployed) return [];
  if (release.requests.promote) return [];
  // A target moving on its own (CodeDeploy's timer, ECS replacing tasks) is watched the whole way.
  if (release.shiftInProgress) return watchedGates(release);
  // At the very start of a step nothing is assessed yet (see decideBake): reading now would be wasted,
  // and a webhook (a smoke or load test) would run once for nothing.
  if (now !== undefined && (release.stepStartedAt === undefined || now <= Date.parse(release.stepStartedAt))) return [];
  return heldGates(release, release.plan.steps[release.stepIndex]);
}

/**
 * The gates a step watches, less a before-traffic webhook while a person holds the release: that smoke
 * or load test runs once, when the check before traffic runs (after resume), not at every interval of a pause.
 */
function heldGates(release: Release, step: Step | undefined): readonly GateSpec[] {
  const gates = stepGates(release, step);
  return release.paused ? gates.filter((g) => !isBeforeTraffic(g)) : gates;
}

/** One approval per step: a plan's approval step and an inconclusive bake are different steps. */
function approvalId(release: Release, stepIndex: number): string {
  return `${release.id}-a${stepIndex}`;
}

function rollback(release: Release, reason: string, now: number, endAs?: 'failed'): Decision {
  const next = beginRollback(release, reason, now, endAs);
  return { action: { type: 'rollback', reason: next.reason ?? reason }, release: next };
}

/** What `decide` may be given beside the release, its observations and the time. */
export interface DecideOptions {
  /** The judge's remembered walks (see JudgeCache), owned by the caller. */
  readonly judgeCache?: JudgeCache;
}

/**
 * Decides the next action of a release. Pure and deterministic: the same release, observations and
 * time always give the same decision. Time comes in as `now` (epoch ms), never read.
 *
 * @param observations gate observations for {@link gatesToObserve}; missing ones count as errors.
 * @param options.judgeCache the judge's remembered walks, owned by the caller: checks are faster, decisions the same.
 * @example
 * const { action, release: next } = decide(release, observations, Date.parse('2026-01-01T00:00:00Z'));
 * if (action.type === 'shift') await driver.setWeight(next, action.percent);
 */
export function decide(release: Release, observations: readonly Observation[], now: number, options: DecideOptions = {}): Decision {
  if (isTerminal(release.phase)) return { action: { type: 'done', phase: release.phase }, release };
  if (release.phase === Phase.queued) {
    throw new Error(`release ${release.id} is queued: it has no workflow until the service's lock is free`);
  }
  if (release.phase === Phase.rollingBack) {
    // Rolling back must end: past its deadline the release fails with what the target last said.
    return onTarget(release, { type: 'rollback', reason: release.reason ?? 'rollback' }, now, (why) => {
      const failed = markFailed(release, why, now);
      return { action: { type: 'done', phase: failed.phase }, release: failed };
    });
  }
  const rollbackRequest = release.requests.rollback;
  if (rollbackRequest) return rollback(release, Reasons.rollbackRequested(rollbackRequest.actor.id), now);
  if (!release.deployed) {
    const next =
      release.phase === Phase.deploying ? release : evolve(release, now, { phase: Phase.deploying }, { type: EventKind.deploying, message: Reasons.deploying });
    // Nothing took production traffic yet: a new version that never gets ready fails the release.
    return onTarget(next, { type: 'deploy' }, now, (why) => rollback(next, Reasons.deployFailed(why), now, Phase.failed));
  }
  const pending = release.shiftInProgress;
  if (pending) return decideShifting(release, pending, observations, now, options);
  const steps = release.plan.steps;
  const finalizeIndex = steps.length - 1;
  if (release.requests.promote && release.stepIndex < finalizeIndex) {
    // Promote skips every remaining step, bakes and approvals included, straight to 100% then finalize.
    if (release.weight < 100) {
      const next = evolve(
        release,
        now,
        { phase: Phase.promoting, pendingApproval: undefined, paused: undefined },
        { type: EventKind.shifting, message: Reasons.shifting(release.weight, 100) },
      );
      return { action: { type: 'shift', percent: 100, nextStep: finalizeIndex }, release: next };
    }
    return decide(
      evolve(release, now, { stepIndex: finalizeIndex, stepStartedAt: iso(now), pendingApproval: undefined, paused: undefined }),
      observations,
      now,
      options,
    );
  }
  if (release.paused) return decidePaused(release, release.paused, observations, now, options);
  return decideStep(release, observations, now, options);
}

/** How long a paused release with no gate to watch waits before it looks again (a resume wakes it at once). */
export const PAUSED_WAIT_SECONDS = 3600;

/**
 * A person holds the release (pause.ts): no step starts and the bake's clock stands still, but the
 * gates are still watched and a failing one rolls back, as in any bake (safety first). Too little data
 * or a failed query changes nothing while paused: the bake decides once it resumes. A target that
 * holds a step only so long (ECS's PAUSE hook) is rolled back at its limit, never left to decide.
 */
function decidePaused(
  release: Release,
  paused: NonNullable<Release['paused']>,
  observations: readonly Observation[],
  now: number,
  options: DecideOptions,
): Decision {
  const until = paused.until === undefined ? Infinity : Date.parse(paused.until);
  if (now >= until) {
    const hold = release.settings.hold;
    return rollback(release, Reasons.holdLimitReached(paused.until ?? iso(until), (hold?.can === true && hold.limitWhy) || 'its limit per step'), now);
  }
  const step = release.plan.steps[release.stepIndex];
  const gates = withStoredDefaults(heldGates(release, step), release.settings.gates, release.plan);
  let current = release;
  if (gates.length > 0) {
    const stepSeconds = step?.type === 'bake' || step?.type === 'analysis' ? step.seconds : undefined;
    const results = assessGates(gates, observations, now, { ...options, ...(stepSeconds !== undefined ? { stepSeconds } : {}) });
    current = evolve(release, now, withGateResults(release, results));
    if (results.some((r) => r.verdict === 'fail')) return rollback(current, Reasons.gateFailed(summarize(results, 'fail')), now);
  }
  const every = gates.length > 0 ? release.settings.gatePolicy.checkIntervalSeconds : PAUSED_WAIT_SECONDS;
  return wait(current, Math.min(now + every * 1000, until), now);
}

/**
 * The target is still shifting on its own (CodeDeploy's timer, ECS replacing tasks): wait, then ask
 * again, never block a task on it. The gates are watched meanwhile: a gate that fails rolls back at
 * once; too little data or a failed query waits for the bake that follows the shift.
 */
function decideShifting(
  release: Release,
  pending: NonNullable<Release['shiftInProgress']>,
  observations: readonly Observation[],
  now: number,
  options: DecideOptions,
): Decision {
  const poll = Date.parse(pending.checkedAt) + SHIFT_POLL_SECONDS * 1000;
  let current = release;
  // A shift has a deadline too: a rollout that makes no progress (ECS rounding a batch to no task) never holds the service for ever.
  const limit = deadlinesOf(release).shift;
  if (now - Date.parse(pending.since) >= limit * 1000) {
    return rollback(release, Reasons.targetTimedOut(TargetStep.shift, limit, `${release.weight}% of production on the new version`), now);
  }
  const gates = withStoredDefaults(watchedGates(release), release.settings.gates, release.plan);
  if (gates.length > 0) {
    const results = assessGates(gates, observations, now, { ...options });
    current = evolve(release, now, withGateResults(release, results));
    if (results.some((r) => r.verdict === 'fail')) return rollback(current, Reasons.gateFailed(summarize(results, 'fail')), now);
  }
  if (now < poll) return wait(current, gates.length > 0 ? Math.min(poll, now + release.settings.gatePolicy.checkIntervalSeconds * 1000) : poll, now);
  return { action: { type: 'shift', percent: pending.percent, nextStep: pending.nextStep }, release: current };
}

function advance(release: Release, now: number): Release {
  return evolve(release, now, {
    stepIndex: release.stepIndex + 1,
    stepStartedAt: iso(now),
    bake: { extendedSeconds: 0, errors: 0 },
    gateResults: release.gateResults,
  });
}

function decideStep(release: Release, observations: readonly Observation[], now: number, options: DecideOptions): Decision {
  const steps = release.plan.steps;
  const step = steps[release.stepIndex];
  if (step === undefined) {
    // Every step is done but finalize never recorded success: finalize is idempotent, so ask again.
    return onTarget(release, { type: 'finalize' }, now, (why) => rollback(release, why, now));
  }
  switch (step.type) {
    case 'setWeight': {
      if (release.weight === step.percent) return decideStep(advance(release, now), observations, now, options);
      const next = evolve(release, now, { phase: Phase.shifting }, { type: EventKind.shifting, message: Reasons.shifting(release.weight, step.percent) });
      return { action: { type: 'shift', percent: step.percent, nextStep: release.stepIndex + 1 }, release: next };
    }
    case 'bake':
    case 'analysis':
      return decideBake(release, step, observations, now, options);
    case 'approval':
      return decideApproval(release, PauseReason.step, step.label, step.timeoutSeconds, step.onTimeout, now);
    case 'finalize': {
      const next =
        release.phase === Phase.promoting
          ? release
          : evolve(release, now, { phase: Phase.promoting }, { type: EventKind.finalizing, message: Reasons.finalizing });
      // A finalize the target never confirms rolls back while it still can (the old version is not yet gone).
      return onTarget(next, { type: 'finalize' }, now, (why) => rollback(next, why, now));
    }
  }
}

function decideApproval(
  release: Release,
  reason: PauseReason,
  label: string,
  timeoutSeconds: number,
  onTimeout: 'rollback' | 'approve',
  now: number,
): Decision {
  const id = approvalId(release, release.stepIndex);
  const record = release.approvals.findLast((a) => a.id === id);
  if (record) {
    if (record.decision === 'approved' || (record.decision === 'expired' && onTimeout === 'approve')) {
      return decideStep(advance(release, now), [], now, {});
    }
    const why = record.decision === 'rejected' ? Reasons.rejected(record.actor?.id ?? 'unknown') : Reasons.approvalExpired(onTimeout);
    return rollback(release, why, now);
  }
  if (release.pendingApproval?.id === id) {
    return { action: { type: 'approval', approvalId: id, label, timeoutSeconds: remaining(release.pendingApproval.expiresAt, now) }, release };
  }
  const next = evolve(
    release,
    now,
    {
      phase: Phase.awaitingApproval,
      pendingApproval: { id, stepIndex: release.stepIndex, reason, label, requestedAt: iso(now), expiresAt: iso(now + timeoutSeconds * 1000), onTimeout },
    },
    { type: EventKind.approvalRequested, message: Reasons.approvalRequested(label, timeoutSeconds) },
  );
  return { action: { type: 'approval', approvalId: id, label, timeoutSeconds }, release: next };
}

function remaining(expiresAt: string, now: number): number {
  return Math.max(1, Math.ceil((Date.parse(expiresAt) - now) / 1000));
}

function summarize(results: readonly GateResult[], verdict: GateResult['verdict']): string {
  return results
    .filter((r) => r.verdict === verdict)
    .map((r) => r.summary)
    .join('; ');
}

/**
 * When the current bake or analysis ends (ms): its planned length plus the extensions inconclusive
 * gates took and the time it spent paused (pause.ts). While paused it is the end if resumed now.
 */
export function bakeEnd(
  release: Release,
  step: Extract<Step, { type: 'bake' | 'analysis' }>,
  startedAt: number = Date.parse(release.stepStartedAt ?? release.updatedAt),
  now?: number,
): number {
  const pausing = release.paused && now !== undefined ? Math.max(0, now - Date.parse(release.paused.at)) : 0;
  return startedAt + (step.seconds + release.bake.extendedSeconds + (release.bake.pausedSeconds ?? 0)) * 1000 + pausing;
}

function decideBake(
  release: Release,
  step: Extract<Step, { type: 'bake' | 'analysis' }>,
  observations: readonly Observation[],
  now: number,
  options: DecideOptions,
): Decision {
  const policy = release.settings.gatePolicy;
  const gates = withStoredDefaults(stepGates(release, step), release.settings.gates, release.plan);
  // The plan's first step has no recorded start (deploying is not a step): it starts now, and is recorded so.
  const startedAt = release.stepStartedAt !== undefined ? Date.parse(release.stepStartedAt) : now;
  const end = bakeEnd(release, step, startedAt);
  let current =
    release.phase === Phase.baking
      ? release
      : evolve(
          release,
          now,
          { phase: Phase.baking, ...(release.stepStartedAt === undefined ? { stepStartedAt: iso(now) } : {}) },
          { type: EventKind.baking, message: Reasons.bakeStarted(step.seconds) },
        );
  if (gates.length > 0 && now > startedAt) {
    // The judge spends its α over the bake's planned length (an extension spends nothing more).
    const results = assessGates(gates, observations, now, { ...options, stepSeconds: step.seconds });
    // A judge that has no verdict yet found no regression: it never holds a bake past its end.
    const judges = gates.filter((g): g is JudgeGate => g.kind === 'judge');
    const verdict = overallVerdict(results.filter((r) => !(r.verdict === 'inconclusive' && judges.some((j) => j.name === r.gate))));
    current = evolve(current, now, withGateResults(current, results));
    if (verdict === 'fail') return rollback(current, Reasons.gateFailed(summarize(results, 'fail')), now);
    if (verdict === 'error') {
      const errors = current.bake.errors + 1;
      current = evolve(current, now, { bake: { ...current.bake, errors } });
      if (errors > policy.maxErrors) return onUndecided(current, Reasons.gateErrors(summarize(results, 'error')), now);
    } else {
      current = evolve(current, now, { bake: { ...current.bake, errors: 0 } });
    }
    // Opt-in: the judge shows the new version is within its tolerance, and the bake ran long enough.
    const early = judges.length > 0 && judges.every((j) => j.earlyPassAfterSeconds !== undefined && now - startedAt >= j.earlyPassAfterSeconds * 1000);
    if (early && now < end && verdict === 'pass' && judges.every((j) => results.find((r) => r.gate === j.name)?.verdict === 'pass')) {
      const passed = evolve(
        current,
        now,
        {},
        {
          type: EventKind.bakeEndedEarly,
          message: Reasons.bakeEndedEarly(
            summarize(
              results.filter((r) => judges.some((j) => j.name === r.gate)),
              'pass',
            ),
          ),
        },
      );
      return decideStep(advance(passed, now), [], now, options);
    }
    if (now >= end && verdict !== 'pass') {
      // Too little data (or a flaky query) when the bake ends: extend it, up to the limit.
      const room = policy.maxExtensionSeconds - current.bake.extendedSeconds;
      if (room <= 0) return onUndecided(current, Reasons.inconclusiveFail(summarize(results, verdict)), now);
      const extra = Math.min(room, policy.checkIntervalSeconds);
      current = evolve(
        current,
        now,
        { bake: { ...current.bake, extendedSeconds: current.bake.extendedSeconds + extra } },
        { type: EventKind.bakeExtended, message: Reasons.bakeExtended(extra) },
      );
      return wait(current, now + extra * 1000, now);
    }
  }
  if (now >= end) return decideStep(advance(current, now), [], now, options);
  const nextCheck = gates.length > 0 ? Math.min(end, now + policy.checkIntervalSeconds * 1000) : end;
  return wait(current, nextCheck, now);
}

/**
 * A deploy, finalize or rollback the target is carrying out on its own clock: ask it again (`action`)
 * when due, wait until then, and past the step's deadline decide with `giveUp` and the reason.
 */
function onTarget(release: Release, action: Action, now: number, giveUp: (why: string) => Decision): Decision {
  const pending = release.targetWait;
  if (!pending) return { action, release };
  const deadline = Date.parse(pending.deadline);
  if (now >= deadline) return giveUp(Reasons.targetTimedOut(pending.step, Math.round((deadline - Date.parse(pending.since)) / 1000), pending.seen));
  const due = Date.parse(pending.checkedAt) + (pending.askAgainSeconds ?? TARGET_POLL_SECONDS) * 1000;
  if (now < due) return wait(release, Math.min(due, deadline), now);
  return { action, release };
}

function wait(release: Release, until: number, now: number): Decision {
  return { action: { type: 'wait', until: iso(until), seconds: Math.max(1, Math.ceil((until - now) / 1000)) }, release };
}

/** Gates could not give a verdict in time: pause for a person, or fail, as configured. */
function onUndecided(release: Release, why: string, now: number): Decision {
  if (release.settings.gatePolicy.onInconclusive === 'fail') return rollback(release, why, now);
  return decideApproval(release, PauseReason.inconclusive, 'inconclusive', release.settings.pauseTimeoutSeconds, 'rollback', now);
}
