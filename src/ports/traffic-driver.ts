import type { DriverCapabilities } from '../core/capabilities.js';
import type { PreflightCheck } from '../core/preflight.js';
import type { Release } from '../core/release.js';

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
  /** Sends `percent` of production traffic to the new version and checks the live split. */
  setWeight(release: Release, percent: number): Promise<void>;
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
