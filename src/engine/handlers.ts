import { decide, gatesToObserve, type Action } from '../core/decide.js';
import type { Observation } from '../core/gates.js';
import { isTerminal, Phase } from '../core/phases.js';
import { Reasons } from '../core/reasons.js';
import { beginRollback, endAfterFailure, markDeployed, markFinalized, markRolledBack, markShifted, recordApproval, SYSTEM, type Release } from '../core/release.js';
import { restoreStable } from './restore.js';
import { LOCK_LEASE_SECONDS, serviceNamed, type EngineDeps } from './deps.js';
import type { ReleaseService } from './releases.js';
import { DeployError, TargetFailedError, TransientError, messageOf } from '../core/errors.js';
import { silentLog } from '../ports/log.js';

/** The task names of the workflow; each state passes one in its input as `task`. */
export const TASKS = ['decide', 'deploy', 'shift', 'requestApproval', 'approvalTimedOut', 'rollback', 'finalize', 'recover'] as const;
export type TaskName = (typeof TASKS)[number];

export interface TaskInput {
  readonly task: TaskName;
  readonly releaseId: string;
  readonly action?: Action;
  readonly approvalId?: string;
  readonly taskToken?: string;
  /** The recover task gets the whole state: the action being done and the caught error. */
  readonly state?: { readonly action?: Action; readonly failure?: Readonly<Record<string, { readonly Error?: string; readonly Cause?: string }>> };
}

/** Lambda errors arrive with a JSON Cause; local ones with the message itself. */
function causeOf(error: { readonly Error?: string; readonly Cause?: string } | undefined): string {
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
 * pure core and store the result. The Lambda and the local engine call these same functions.
 */
export function createWorkflowHandlers(deps: EngineDeps, releases: ReleaseService) {
  const { store, clock } = deps;
  const log = deps.log ?? silentLog;

  async function load(id: string): Promise<Release> {
    const release = await store.get(id);
    if (!release) throw new Error(`release ${id} is not in the store`);
    return release;
  }

  function driverOf(release: Release) {
    const svc = serviceNamed(deps, release.service);
    if (!svc) throw new Error(`service ${release.service} of release ${release.id} is no longer configured`);
    return { svc, driver: deps.driverFor(svc), metrics: deps.metricsFor(svc) };
  }

  async function observe(release: Release, now: number): Promise<Observation[]> {
    const gates = gatesToObserve(release);
    if (gates.length === 0) return [];
    try {
      return await driverOf(release).metrics.observe(release, gates, now);
    } catch (error) {
      // A failed read is a gate error (retried, then the policy), never a crash of the release.
      const message = messageOf(error);
      return gates.map((g) => ({ gate: g.name, kind: 'error', message }));
    }
  }

  const handlers = {
    async decide({ releaseId }: TaskInput): Promise<Action> {
      // One instant for both: the observations are judged at the time they were read.
      const now = clock.now();
      const observations = await observe(await load(releaseId), now);
      const { release, result: action } = await store.update(releaseId, (r) => {
        const d = decide(r, observations, now);
        return { release: d.release, result: d.action };
      });
      if (action.type === 'done') await releases.afterTerminal(release);
      else await store.acquireLock(release.service, release.id, clock.now(), LOCK_LEASE_SECONDS);
      log.info('decided', { releaseId, service: release.service, step: release.stepIndex, phase: release.phase, action: action.type });
      return action;
    },

    async deploy({ releaseId }: TaskInput): Promise<void> {
      const release = await load(releaseId);
      if (release.deployed) return;
      let state: Readonly<Record<string, string>> | void;
      try {
        state = await driverOf(release).driver.deploy(release);
      } catch (error) {
        if (!(error instanceof DeployError)) throw error;
        // Nothing was shifted: clean up the new version and end as failed, with the driver's reason.
        await store.update(releaseId, (r) => ({ release: beginRollback(r, Reasons.deployFailed(error.message), clock.now(), Phase.failed), result: undefined }));
        return;
      }
      await store.update(releaseId, (r) => ({ release: r.deployed ? r : markDeployed(r, clock.now(), state ?? undefined), result: undefined }));
    },

    async shift({ releaseId, action }: TaskInput): Promise<void> {
      if (action?.type !== 'shift') throw new Error('shift needs a shift action');
      const release = await load(releaseId);
      const { driver } = driverOf(release);
      try {
        await driver.setWeight(release, action.percent);
        const live = await driver.verify(release);
        // A driver that runs its own shift pattern (CodeDeploy) may already be past this step.
        const reached = driver.capabilities.arbitrarySteps ? live === action.percent : live >= action.percent;
        if (!reached) throw new TransientError(`the driver reports ${live}% on the new version after setting ${action.percent}%`);
      } catch (error) {
        if (!(error instanceof TargetFailedError)) throw error;
        await store.update(releaseId, (r) => ({ release: beginRollback(r, error.message, clock.now()), result: undefined }));
        return;
      }
      await store.update(releaseId, (r) => ({
        release: r.weight === action.percent && r.stepIndex >= action.nextStep ? r : markShifted(r, action.percent, action.nextStep, clock.now()),
        result: undefined,
      }));
    },

    async requestApproval({ releaseId, approvalId, taskToken }: TaskInput): Promise<void> {
      if (!approvalId || !taskToken) throw new Error('requestApproval needs approvalId and taskToken');
      const item = await store.putApprovalToken(approvalId, releaseId, taskToken);
      // Decided before the token was stored (or superseded by promote/rollback): complete at once.
      if (item.status !== 'pending') await deps.workflow.sendTaskSuccess(taskToken, { decision: item.status });
      log.info('approval requested', { releaseId, approvalId });
    },

    async approvalTimedOut({ releaseId }: TaskInput): Promise<void> {
      const release = await load(releaseId);
      const pending = release.pendingApproval;
      if (!pending) return;
      const item = await store.decideApproval(pending.id, releaseId, 'expired', SYSTEM.id);
      const decided = item ?? (await store.getApproval(pending.id));
      const status = decided?.status === 'approved' || decided?.status === 'rejected' ? decided.status : 'expired';
      const actor = status === 'expired' || !decided?.decidedBy ? undefined : { id: decided.decidedBy, channel: 'api' as const };
      await store.update(releaseId, (r) => ({ release: r.pendingApproval?.id === pending.id ? recordApproval(r, status, clock.now(), actor) : r, result: undefined }));
    },

    async rollback({ releaseId }: TaskInput): Promise<void> {
      const release = await load(releaseId);
      if (isTerminal(release.phase)) return;
      await driverOf(release).driver.rollback(release);
      const { release: done } = await store.update(releaseId, (r) => ({ release: isTerminal(r.phase) ? r : markRolledBack(beginRollback(r, r.reason ?? 'rollback', clock.now()), clock.now()), result: undefined }));
      log.info('rolled back', { releaseId, service: done.service, phase: done.phase });
    },

    async finalize({ releaseId }: TaskInput): Promise<void> {
      const release = await load(releaseId);
      if (release.phase !== Phase.succeeded) {
        if (isTerminal(release.phase)) return;
        // A retry after the driver finalized calls it again: drivers make finalize idempotent.
        try {
          await driverOf(release).driver.finalize(release);
        } catch (error) {
          if (!(error instanceof TargetFailedError)) throw error;
          await store.update(releaseId, (r) => ({ release: beginRollback(r, error.message, clock.now()), result: undefined }));
          return;
        }
        const { release: done } = await store.update(releaseId, (r) => ({ release: isTerminal(r.phase) ? r : markFinalized(r, clock.now()), result: undefined }));
        log.info('finalized', { releaseId, service: done.service });
      }
      // Recorded even when a retry finds the release already succeeded.
      await store.setStable(release.service, release.artifact.image);
    },

    /** The catch-all: whatever failed, put the stable version back and end the release with the reason. */
    async recover({ releaseId, state }: TaskInput): Promise<{ phase: Release['phase'] }> {
      const release = await load(releaseId);
      const [where, error] = Object.entries(state?.failure ?? {})[0] ?? ['the workflow', undefined];
      const reason = Reasons.unexpected(where, causeOf(error));
      if (isTerminal(release.phase)) {
        await releases.afterTerminal(release);
        return { phase: release.phase };
      }
      const outcome = await restoreStable(driverOf(release).driver, release);
      const { release: done } = await store.update(releaseId, (r) => ({ release: endAfterFailure(r, reason, outcome, clock.now()), result: undefined }));
      if (done.phase === Phase.succeeded) await store.setStable(done.service, done.artifact.image);
      log.error('release recovered after an unexpected error', { releaseId, service: done.service, phase: done.phase, reason });
      await releases.afterTerminal(done);
      return { phase: done.phase };
    },
  } satisfies Record<TaskName, (input: TaskInput) => Promise<unknown>>;

  /** One entry point for every task (the workflow Lambda's handler). */
  async function run(input: TaskInput): Promise<unknown> {
    const handler = handlers[input.task];
    if (!handler) throw new Error(`unknown task "${String(input.task)}"`);
    return handler(input);
  }

  return { ...handlers, run };
}

export type WorkflowHandlers = ReturnType<typeof createWorkflowHandlers>;
