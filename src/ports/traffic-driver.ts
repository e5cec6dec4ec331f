import type { DriverCapabilities } from '../core/capabilities.js';
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
}

/** Raised by a driver when the new version cannot be deployed (for example never ready). */
export class DeployError extends Error {
  override readonly name = 'DeployError';
}

/**
 * The target itself ended the rollout (for example a CodeDeploy deployment stopped by someone else
 * or failed by an alarm): the release rolls back with this reason.
 */
export class TargetFailedError extends Error {
  override readonly name = 'TargetFailedError';
}

/** A retryable failure of a downstream system (throttling, a timeout): the workflow retries it. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/**
 * Raised by `rollback` when the release was already finalized: the new version is the stable one
 * and the old one is gone, so there is nothing to roll back to.
 */
export class AlreadyFinalizedError extends Error {
  override readonly name = 'AlreadyFinalizedError';
}
