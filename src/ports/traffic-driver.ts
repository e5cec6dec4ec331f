import type { DriverCapabilities } from '../core/capabilities.js';
import type { PreflightCheck } from '../core/preflight.js';
import type { Release } from '../core/release.js';
import type { Change } from '../core/task-diff.js';

/**
 * Where traffic actually moves: one adapter per real system (local processes behind the
 * built-in proxy, ECS through CodeDeploy). Every method is idempotent: the workflow retries them.
 */
export interface TrafficDriver {
  readonly capabilities: DriverCapabilities;
  /**
   * Starts the new version with 0% of production traffic and waits until it is ready. May return
   * state to keep with the release (for example a deployment id) for the later calls.
   */
  deploy(release: Release): Promise<Readonly<Record<string, string>> | void>;
  /**
   * Sends `percent` of production traffic to the new version. May return state to keep with the
   * release from now on (an ECS rolling update's deployment starts with its first batch).
   */
  setWeight(release: Release, percent: number): Promise<Readonly<Record<string, string>> | void>;
  /** The live percentage of production traffic on the new version. */
  verify(release: Release): Promise<number>;
  /** All traffic back to the stable version; the new version is stopped and removed. */
  rollback(release: Release): Promise<void>;
  /** The new version becomes the stable one; the old version is drained and removed. */
  finalize(release: Release): Promise<void>;
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
}

// The errors a driver raises (DeployError, TargetFailedError, TransientError, AlreadyFinalizedError)
// are in the project's one hierarchy: src/core/errors.ts.
