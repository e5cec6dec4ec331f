import { landsExactly } from '../core/capabilities.js';
import { continueWhenDue, decide, gatesToObserve } from '../core/decide.js';
import { DeployError, NotFoundError, TargetFailedError, TransientError, messageOf } from '../core/errors.js';
import type { Observation } from '../core/gates.js';
import { JudgeCache } from '../core/judge.js';
import { preflightFailures } from '../core/preflight.js';
import { isTerminal, Phase } from '../core/phases.js';
import { Reasons } from '../core/reasons.js';
import { TargetStep } from '../core/target-waits.js';
import { done, notYet, type Progress } from '../ports/traffic-driver.js';
import type { EndPhase, Release } from '../core/release.js';
import {
  beginRollback,
  deadlinesOf,
  recoverWaitSeconds,
  markWaitingOnTarget,
  withDriverState,
  type RestoreOutcome,
  endAfterFailure,
  markDeployed,
  markFinalized,
  markShiftInProgress,
  markRolledBack,
  recordShift,
  recordApproval,
} from '../core/transitions.js';
import { holdWith } from '../core/wake.js';
import { leaseRenewalDue, markLeaseRenewed } from '../core/lease.js';
import { MAX_ERROR_LINES, ERROR_LINE_MATCH, errorLinesFrom } from '../core/evidence.js';
import { evolve } from '../core/timeline.js';
import { SYSTEM } from '../core/actor.js';
import { silentLog } from '../ports/log.js';
import { EXECUTION_LIMITS, isTaskName, type CaughtError, type TaskHandlers, type TaskInput, type TaskOutputs, type TaskRunner } from '../workflow/protocol.js';
import { LOCK_LEASE_SECONDS, serviceNamed, type EngineDeps, type WorkflowStore } from './deps.js';
import { executionName, type ReleaseService } from './releases.js';
import { restoreStable } from './restore.js';

/**
 * One step of a target that finishes on its own clock. A read the target refused for now (throttled,
 * a hiccup on AWS's side) is not a failure of the step: it is "not yet", and the workflow asks again
 * after its poll interval, within the step's deadline, instead of spending its task retries on it.
 */
async function stepOf(call: () => Promise<Progress>): Promise<Progress> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TransientError) return notYet(`the target could not be read just now (${error.message})`);
    throw error;
  }
}

/** Lambda errors arrive with a JSON Cause; local ones with the message itself. */
function causeOf(error: CaughtError | undefined): string {
  const cause = error?.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return cause || error?.Error || 'unknown error';
}

/**
 * The workflow's tasks: thin handlers that load the release, act through the driver, apply the
 * pure core and store the result. Whether a step was already applied is the core's business
 * (`markShifted` on a shifted release returns it unchanged), so a retried task is harmless.
 * The Lambda and the local engine call these same functions through {@link WorkflowHandlers.run}.
 */
export function createWorkflowHandlers(deps: EngineDeps<WorkflowStore>, releases: ReleaseService) {
  const { store, clock } = deps;
  const log = deps.log ?? silentLog;
  // The judge's walks, remembered from one check to the next (same verdicts, a check costs one period).
  const judgeCache = new JudgeCache();
  const budget = {
    decisions: deps.executionBudget?.decisions ?? EXECUTION_LIMITS.decisionsPerExecution,
    seconds: deps.executionBudget?.seconds ?? EXECUTION_LIMITS.continueAfterSeconds,
  };

  async function load(id: string): Promise<Release> {
    const release = await store.get(id);
    if (!release) throw new NotFoundError(`release ${id} is not in the store`);
    return release;
  }

  /** Applies a pure transition to the stored release (nothing is written when it changes nothing). */
  async function apply(id: string, change: (release: Release, now: number) => Release, current?: Release): Promise<Release> {
    const { release } = await store.update(id, (r) => ({ release: change(r, clock.now()), result: undefined }), current);
    return release;
  }

  function driverOf(release: Release) {
    const svc = serviceNamed(deps, release.service);
    if (!svc) throw new NotFoundError(`service ${release.service} of release ${release.id} is no longer configured`);
    return { svc, driver: deps.driverFor(svc), metrics: deps.metricsFor(svc) };
  }

  /**
   * Runs a driver call; when the driver reports `failure` (the target refused or ended the rollout),
   * the release starts rolling back with the driver's words instead. Any other error propagates to
   * the workflow, which retries transient ones and recovers from the rest.
   */
  async function orRollBack(
    release: Release,
    failure: typeof DeployError | typeof TargetFailedError,
    call: () => Promise<void>,
    reason = (m: string) => m,
    endAs?: EndPhase,
  ): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (error) {
      if (!(error instanceof failure)) throw error;
      await apply(release.id, (r, now) => beginRollback(r, reason(error.message), now, endAs), release);
      return false;
    }
  }

  async function observe(release: Release, now: number): Promise<Observation[]> {
    const gates = gatesToObserve(release, now);
    if (gates.length === 0) return [];
    try {
      return await driverOf(release).metrics.observe(release, gates, now);
    } catch (error) {
      // A failed read is a gate error (retried, then the policy), never a crash of the release.
      const message = messageOf(error);
      return gates.map((g) => ({ gate: g.name, kind: 'error', message }));
    }
  }

  const handlers: TaskHandlers = {
    async decide({ releaseId }) {
      // One instant for both: the observations are judged at the time they were read.
      const now = clock.now();
      // The release as this store last wrote it is good enough to know which gates to read; the
      // update below checks it against the stored version (and confirms a no-op by a fresh read).
      const loaded = (await store.recent(releaseId)) ?? (await load(releaseId));
      const observations = await observe(loaded, now);
      const { release, result } = await store.update(
        releaseId,
        (r) => {
          const d = continueWhenDue(decide(r, observations, now, { judgeCache }), now, budget);
          // The service's lock is renewed only when its lease needs it, not on every decision.
          const renew = d.action.type !== 'done' && leaseRenewalDue(d.release, now, LOCK_LEASE_SECONDS);
          return { release: renew ? markLeaseRenewed(d.release, now) : d.release, result: { action: d.action, renew } };
        },
        loaded,
      );
      const { action, renew } = result;
      if (action.type === 'done') await releases.afterTerminal(release);
      else if (renew) await store.acquireLock(release.service, release.id, now, LOCK_LEASE_SECONDS);
      log.info('decided', { releaseId, service: release.service, step: release.stepIndex, phase: release.phase, action: action.type });
      return action;
    },

    async deploy({ releaseId }) {
      const release = await load(releaseId);
      if (release.deployed) return;
      const { driver } = driverOf(release);
      if (driver.preflight && !release.driverState) {
        // Pre-flight: read-only checks before anything moves; a failure refuses the release with the reason.
        let checks: Awaited<ReturnType<NonNullable<typeof driver.preflight>>>;
        try {
          checks = await driver.preflight();
        } catch (error) {
          // The target could not be read just now (throttled): the checks run again after the poll interval.
          if (!(error instanceof TransientError)) throw error;
          await apply(
            releaseId,
            (r, now) => markWaitingOnTarget(r, TargetStep.deploy, `pre-flight checks could not read the target (${error.message})`, undefined, now),
            release,
          );
          return;
        }
        const failures = preflightFailures(checks);
        if (failures) {
          await apply(releaseId, (r, now) => beginRollback(r, Reasons.preflightFailed(failures), now, Phase.failed), release);
          log.warn('pre-flight checks failed', { releaseId, service: release.service, failures });
          return;
        }
      }
      let progress: Progress = done();
      // Nothing was shifted when a deploy fails: clean up the new version and end as failed, with the driver's reason.
      const deployed = await orRollBack(
        release,
        DeployError,
        async () => void (progress = await stepOf(() => driverOf(release).driver.deploy(release))),
        Reasons.deployFailed,
        Phase.failed,
      );
      if (!deployed) return;
      const answer: Progress = progress;
      if (!answer.done) {
        // On its way: what the driver started is stored now, before anything can time out; the workflow asks again.
        await apply(releaseId, (r, now) => markWaitingOnTarget(r, TargetStep.deploy, answer.seen, answer.state, now, answer.askAgainSeconds), release);
        return;
      }
      // The diff is for people: a failure to read it never stops the release.
      const changes = driver.changes
        ? await driver.changes(withDriverState(release, answer.state)).catch((error: unknown) => {
            log.warn('could not read the task definition diff', { releaseId, error: messageOf(error) });
            return [];
          })
        : [];
      await apply(releaseId, (r, now) => markDeployed(r, now, answer.state, changes), release);
    },

    async shift({ releaseId, action }) {
      const release = await load(releaseId);
      const { driver } = driverOf(release);
      let live = 0;
      let started: Readonly<Record<string, string>> | void = undefined;
      const exactly = landsExactly(driver.capabilities, release.plan);
      let unread = false;
      const shifted = await orRollBack(release, TargetFailedError, async () => {
        try {
          started = await driver.setWeight(release, action.percent);
          // What the driver asked of the target (a hook answered) is kept now, whatever happens next.
          if (started && Object.keys(started).length > 0) {
            const asked: Readonly<Record<string, string>> = started;
            await apply(releaseId, (r) => withDriverState(r, asked), release);
          }
          live = await driver.verify(withDriverState(release, started ?? undefined));
        } catch (error) {
          // A target that shifts on its own clock and could not be read (throttled): still on its way, ask again later.
          if (exactly || !(error instanceof TransientError)) throw error;
          unread = true;
        }
      });
      if (!shifted) return;
      if (unread) {
        await apply(releaseId, (r, now) => markShiftInProgress(r, action.percent, action.nextStep, r.weight, now), release);
        return;
      }
      await apply(
        releaseId,
        (r, now) => {
          const next = recordShift(withDriverState(r, started ?? undefined), action.percent, action.nextStep, live, exactly, now);
          // The weight did not take: nothing is written, and the workflow retries the shift.
          if (!next) throw new TransientError(`the driver reports ${live}% on the new version after setting ${action.percent}%`);
          return next;
        },
        release,
      );
    },

    async requestApproval({ releaseId, approvalId, taskToken }) {
      const item = await store.putApprovalToken(approvalId, releaseId, taskToken);
      if (item.status === 'pending' && deps.logs) await attachRecentErrors(releaseId);
      // Decided before the token was stored (or superseded by promote/rollback): complete at once.
      if (item.status !== 'pending') await deps.workflow.sendTaskSuccess(taskToken, { decision: item.status });
      log.info('approval requested', { releaseId, approvalId });
    },

    async wait({ releaseId, taskToken }) {
      // Register the wait's token, so a steer completes it; a steer that came first ends the wait now.
      let wakeNow = false;
      await store.update(releaseId, (r) => {
        const held = holdWith(r, taskToken);
        wakeNow = held.wakeNow;
        return { release: held.release, result: undefined };
      });
      if (wakeNow) await deps.workflow.sendTaskSuccess(taskToken, { woken: true });
    },

    async approvalTimedOut({ releaseId }) {
      const release = await load(releaseId);
      const pending = release.pendingApproval;
      if (!pending) return;
      // The timeout and a person's click race: whoever decided the approval item first wins.
      const decided = (await store.decideApproval(pending.id, releaseId, 'expired', SYSTEM.id)) ?? (await store.getApproval(pending.id));
      const status = decided?.status === 'approved' || decided?.status === 'rejected' ? decided.status : 'expired';
      const actor = status === 'expired' || !decided?.decidedBy ? undefined : { id: decided.decidedBy, channel: 'api' as const };
      await apply(releaseId, (r, now) => recordApproval(r, pending.id, status, now, actor), release);
    },

    async rollback({ releaseId }) {
      const release = await load(releaseId);
      if (isTerminal(release.phase)) return;
      const progress = await stepOf(() => driverOf(release).driver.rollback(release));
      if (!progress.done) {
        await apply(
          releaseId,
          (r, now) =>
            markWaitingOnTarget(
              beginRollback(r, r.reason ?? Reasons.rollbackUnspecified, now),
              TargetStep.rollback,
              progress.seen,
              progress.state,
              now,
              progress.askAgainSeconds,
            ),
          release,
        );
        return;
      }
      const ended = await apply(releaseId, (r, now) => markRolledBack(withDriverState(r, progress.state), now), release);
      log.info('rolled back', { releaseId, service: ended.service, phase: ended.phase });
    },

    async finalize({ releaseId }) {
      const release = await load(releaseId);
      if (release.phase !== Phase.succeeded) {
        if (isTerminal(release.phase)) return;
        // A retry after the driver finalized calls it again: drivers make finalize idempotent.
        let progress: Progress = done();
        const finalized = await orRollBack(
          release,
          TargetFailedError,
          async () => void (progress = await stepOf(() => driverOf(release).driver.finalize(release))),
        );
        if (!finalized) return;
        const answer: Progress = progress;
        if (!answer.done) {
          await apply(releaseId, (r, now) => markWaitingOnTarget(r, TargetStep.finalize, answer.seen, answer.state, now, answer.askAgainSeconds), release);
          return;
        }
        const ended = await apply(releaseId, (r, now) => markFinalized(withDriverState(r, answer.state), now), release);
        log.info('finalized', { releaseId, service: ended.service });
      }
      // Recorded even when a retry finds the release already succeeded.
      await store.setStable(release.service, release.artifact.image);
    },

    /** Hands the release over to its next execution; this one then ends (Continued). */
    async continueAsNew({ releaseId, generation }) {
      const release = await load(releaseId);
      await deps.workflow.start(releaseId, executionName(release.service, releaseId, generation));
      log.info('continued in a new execution', { releaseId, generation });
    },

    /**
     * The catch-all: whatever failed, put the stable version back and end the release with the reason.
     * Recover waits for the target like every other step (its own Wait loop, RecoverWait): the release
     * keeps its service's lock until the target confirms the stable version, or the rollback's deadline passes.
     */
    async recover({ releaseId, state }) {
      const release = await load(releaseId);
      const [where, error] = Object.entries(state.failure ?? {})[0] ?? ['the workflow', undefined];
      const reason = Reasons.unexpected(where, causeOf(error));
      if (isTerminal(release.phase)) {
        await releases.afterTerminal(release);
        return { phase: release.phase };
      }
      const now = clock.now();
      const overdue = release.targetWait?.step === TargetStep.rollback && now >= Date.parse(release.targetWait.deadline);
      const outcome: RestoreOutcome = overdue
        ? { kind: 'unrestored', why: Reasons.targetTimedOut(TargetStep.rollback, deadlinesOf(release).rollback, release.targetWait?.seen ?? '') }
        : await restoreStable(driverOf(release).driver, release);
      if (outcome.kind === 'pending') {
        const waiting = await apply(
          releaseId,
          (r, at) =>
            markWaitingOnTarget(
              r.phase === Phase.rollingBack ? r : beginRollback(r, reason, at, r.deployed ? Phase.rolledBack : Phase.failed),
              TargetStep.rollback,
              outcome.seen,
              outcome.state,
              at,
              outcome.askAgainSeconds,
            ),
          release,
        );
        const waitSeconds = recoverWaitSeconds(waiting, now);
        return { phase: waiting.phase, waitSeconds, until: new Date(now + waitSeconds * 1000).toISOString() };
      }
      const ended = await apply(releaseId, (r, at) => endAfterFailure(r, reason, outcome, at), release);
      if (ended.phase === Phase.succeeded) await store.setStable(ended.service, ended.artifact.image);
      log.error('release recovered after an unexpected error', { releaseId, service: ended.service, phase: ended.phase, reason });
      await releases.afterTerminal(ended);
      return { phase: ended.phase };
    },
  };

  /**
   * The new version's latest error lines go with the question to a person; reading them never blocks
   * it: a log store that fails, or does not answer within `logsWaitMs`, leaves them out.
   */
  async function attachRecentErrors(releaseId: string): Promise<void> {
    const release = await load(releaseId);
    const readLogs = deps.logs;
    if (!readLogs) return;
    const waitMs = deps.logsWaitMs ?? 10_000;
    try {
      const query = { service: release.service, version: release.artifact.image, grep: ERROR_LINE_MATCH, limit: MAX_ERROR_LINES, release };
      const recentErrors = errorLinesFrom(await within(readLogs(query), waitMs, 'the log store'));
      if (recentErrors.length === 0) return;
      const link = deps.logsLink ? await within(deps.logsLink(query), waitMs, 'the logs link').catch(() => undefined) : undefined;
      await apply(releaseId, (r, now) => evolve(r, now, { recentErrors, ...(link ? { recentErrorsLink: link } : {}) }), release);
    } catch (error) {
      log.warn('could not read the new version’s error lines', { releaseId, error: messageOf(error) });
    }
  }

  /** One entry point for every task (the workflow Lambda's handler), dispatched on `task`. */
  const run: TaskRunner = async (input: TaskInput): Promise<TaskOutputs[TaskInput['task']]> => {
    if (!isTaskName((input as { task?: unknown }).task)) throw new Error(`unknown task "${String((input as { task?: unknown }).task)}"`);
    switch (input.task) {
      case 'decide':
        return handlers.decide(input);
      case 'deploy':
        return handlers.deploy(input);
      case 'shift':
        return handlers.shift(input);
      case 'requestApproval':
        return handlers.requestApproval(input);
      case 'approvalTimedOut':
        return handlers.approvalTimedOut(input);
      case 'wait':
        return handlers.wait(input);
      case 'rollback':
        return handlers.rollback(input);
      case 'finalize':
        return handlers.finalize(input);
      case 'continueAsNew':
        return handlers.continueAsNew(input);
      case 'recover':
        return handlers.recover(input);
    }
  };

  return { ...handlers, run };
}

export type WorkflowHandlers = ReturnType<typeof createWorkflowHandlers>;

/** `promise`, or an error once `ms` have passed without it settling. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TransientError(`${what} did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
