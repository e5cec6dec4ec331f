import { isTerminal, Phase } from './phases.js';
import type { Release } from './release.js';
import { evolve } from './timeline.js';

/**
 * The service's lock, as the release sees it: a lease taken when the release starts and renewed
 * by its decisions (the store holds the lock itself, ports/release-store.ts `ServiceLocks`).
 */

/**
 * True when the service's lock should be renewed now: past half its lease since it was last taken.
 * The lease outlives any bake or approval between two decisions, so renewing on every decision
 * would only cost store calls.
 */
export function leaseRenewalDue(release: Release, now: number, leaseSeconds: number): boolean {
  if (isTerminal(release.phase) || release.phase === Phase.queued) return false;
  return now - Date.parse(release.leaseRenewedAt ?? release.createdAt) >= (leaseSeconds * 1000) / 2;
}

export function markLeaseRenewed(release: Release, now: number): Release {
  return evolve(release, now, { leaseRenewedAt: new Date(now).toISOString() });
}
