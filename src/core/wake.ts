import { isTerminal } from './phases.js';
import type { Release } from './release.js';

/**
 * How a person's steer (rollback, promote) reaches a workflow that is waiting: the token of the
 * wait it is in (`Release.wake`), or word left for the next wait when none is registered yet.
 */

/**
 * A person steered the release (rollback, promote): take the token of the wait the workflow is in,
 * so the caller completes it and the workflow decides at once, whatever the check interval; and
 * always leave word for the next wait, which then ends as soon as it starts ({@link holdWith}). The
 * word covers both races: no wait registered yet, and a token whose wait ended (timed out) just
 * before the steer took it, which Step Functions refuses (TaskTimedOut) and so wakes nothing.
 * Both run as conditional writes of the release, so one of them always sees the other.
 */
export function takeWake(release: Release): { readonly release: Release; readonly token?: string } {
  const { wake, ...rest } = release;
  const next = { ...rest, wake: { pending: true as const } };
  return wake && 'token' in wake ? { release: next, token: wake.token } : { release: next };
}

/** The workflow starts waiting with `token`: register it, or end the wait at once if a steer is pending. */
export function holdWith(release: Release, token: string): { readonly release: Release; readonly wakeNow: boolean } {
  const { wake, ...rest } = release;
  if (isTerminal(release.phase) || (wake && 'pending' in wake)) return { release: rest, wakeNow: true };
  return { release: { ...rest, wake: { token } }, wakeNow: false };
}
