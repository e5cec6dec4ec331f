import type { DriverCapabilities } from '../core/capabilities.js';
import type { PreflightCheck } from '../core/preflight.js';
import type { Release } from '../core/release.js';
import type { Change } from '../core/task-diff.js';

export type DriverState = Readonly<Record<string, string>>;

/**
 * How far a call that the target completes on its own clock got. No call waits for the target: it
 * starts something or reads its progress and answers at once; the workflow's Wait loop does the
 * waiting, up to a deadline the core derives from the service (src/core/target-waits.ts).
 */
export type Progress =
  | { readonly done: true; readonly state?: DriverState }
  | {
      readonly done: false;
      /** What the target is doing now, for people (the timeline, the release view). */
      readonly seen: string;
      readonly state?: DriverState;
      /** Ask again this soon (a step that needs only a fresh read), instead of the usual poll interval. */
      readonly askAgainSeconds?: number;
    };

/** The target got there (with state to keep, if any). */
export const done = (state?: DriverState): Progress => (state ? { done: true, state } : { done: true });

/** The target is on its way: the workflow waits and asks again. */
export const notYet = (seen: string, state?: DriverState, askAgainSeconds?: number): Progress => ({
  done: false,
  seen,
  ...(state ? { state } : {}),
  ...(askAgainSeconds !== undefined ? { askAgainSeconds } : {}),
});

/**
 * Where traffic actually moves: one adapter per real system (local processes behind the
 * built-in proxy, ECS through CodeDeploy). Every method is idempotent: the workflow retries them.
 */
export interface TrafficDriver {
  readonly capabilities: DriverCapabilities;
  /**
   * Starts the new version with 0% of production traffic, or reads how far it got: `done` once it is
   * ready. A target that gets there on its own clock (ECS scaling up and passing health checks) answers
   * `pending` at once and the workflow asks again later: no call waits for it. State returned with
   * either answer (a deployment id, the configuration to restore) is stored before the next call.
   */
  deploy(release: Release): Promise<Progress>;
  /**
   * Sends `percent` of production traffic to the new version. May return state to keep with the
   * release from now on (an ECS rolling update's deployment starts with its first batch).
   */
  setWeight(release: Release, percent: number): Promise<Readonly<Record<string, string>> | void>;
  /** The live percentage of production traffic on the new version. */
  verify(release: Release): Promise<number>;
  /** All traffic back to the stable version; the new version is stopped and removed. `pending` until the target confirms it. */
  rollback(release: Release): Promise<Progress>;
  /** The new version becomes the stable one; the old version is drained and removed. `pending` until the target confirms it. */
  finalize(release: Release): Promise<Progress>;
  /**
   * Read-only checks that the target is ready for a release, before anything moves (the first
   * step of every release, and `switchyard verify`). Drivers with nothing to check leave it out.
   */
  preflight?(): Promise<PreflightCheck[]>;
  /**
   * What the deployed release changes in the task definition besides the image, against the revision
   * that ran before (read after deploy, shown with approvals). Drivers without task definitions leave it out.
   */
  changes?(release: Release): Promise<readonly Change[]>;
}

/** How a service is doing: its stable replicas as they run now (local mode supervises them). */
export interface ServiceHealth {
  readonly status: 'ok' | 'degraded' | 'down';
  readonly version?: string;
  readonly replicas: { readonly wanted: number; readonly running: number };
  readonly restarts: number;
  /** Why it is down or degraded, when known (its data plane stopped, its stable version cannot start). */
  readonly reason?: string;
}

// The errors a driver raises (DeployError, TargetFailedError, TransientError, AlreadyFinalizedError)
// are in the project's one hierarchy: src/core/errors.ts.
