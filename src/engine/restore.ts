import type { Release } from '../core/release.js';
import type { RestoreOutcome } from '../core/transitions.js';
import { type TrafficDriver } from '../ports/traffic-driver.js';
import { AlreadyFinalizedError, TransientError, messageOf } from '../core/errors.js';

/**
 * Puts the stable version back after a failure and says how it went; the core
 * (`endAfterFailure` in src/core/transitions.ts) decides what that means for the release.
 */
export async function restoreStable(driver: TrafficDriver, release: Release): Promise<RestoreOutcome> {
  try {
    const progress = await driver.rollback(release);
    if (!progress.done) {
      return {
        kind: 'pending',
        seen: progress.seen,
        ...(progress.state ? { state: progress.state } : {}),
        ...(progress.askAgainSeconds !== undefined ? { askAgainSeconds: progress.askAgainSeconds } : {}),
      };
    }
    return { kind: 'restored' };
  } catch (failure) {
    if (failure instanceof AlreadyFinalizedError) return { kind: 'finalized' };
    // Throttled or a hiccup on the target's side: nothing is known yet; Recover asks again after a wait.
    if (failure instanceof TransientError) return { kind: 'pending', seen: `the target could not be read just now (${failure.message})` };
    return { kind: 'unrestored', why: messageOf(failure) };
  }
}
