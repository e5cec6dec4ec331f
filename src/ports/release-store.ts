import type { Phase } from '../core/phases.js';
import type { Release } from '../core/release.js';

/*
 * Durable state, as small ports named for what they do. All writes are single-item and
 * conditional (no transactions), so every method is safe under concurrent callers. One adapter
 * (DynamoDB, or dynalite locally) implements them all: {@link Store}.
 */

export interface ReleasePage {
  readonly releases: readonly Release[];
  /** Pass back as `cursor` for the next (older) page; absent on the last page. */
  readonly cursor?: string;
}

export interface ListQuery {
  readonly service?: string;
  readonly phase?: Phase;
  readonly limit: number;
  readonly cursor?: string;
}

/** Releases: created once, changed only by optimistic read-modify-write. */
export interface Releases {
  /** Creates a release; fails with ConflictError if the id exists. */
  create(release: Release): Promise<void>;
  /** The release as stored now (a consistent read). */
  get(id: string): Promise<Release | undefined>;
  /**
   * The release as this store last read or wrote it, without asking the database; undefined when
   * it does not remember it. It may be stale: use it for what tolerates that (which gates to read)
   * and as `current` for {@link Releases.update}, never to conclude that nothing changed.
   */
  recent(id: string): Promise<Release | undefined>;
  /**
   * Read-modify-write with optimistic concurrency: `change` runs on the freshest release and is
   * re-run when another writer got there first. Returns the stored result and what `change` returned.
   * `change` returns the very release it was given when nothing changes: then nothing is written.
   * `current`, a release this store handed out (by `get` or `recent`), saves the first read: a change
   * to it is written only if nobody wrote since (else re-read and re-applied), and a no-op on it is
   * confirmed on a fresh read. Fails with NotFoundError for an unknown id.
   */
  update<T>(id: string, change: (release: Release) => { release: Release; result: T }, current?: Release): Promise<{ release: Release; result: T }>;
  list(query: ListQuery): Promise<ReleasePage>;
  /** Releases not in a terminal phase, for recovery at start. */
  listUnfinished(): Promise<Release[]>;
}

/**
 * Releases as this process writes them, for readers that follow them live (the API's event streams):
 * one subscription serves them all, instead of each reading the store again and again.
 */
export interface ReleaseChanges {
  /**
   * Calls `listener` with each release right after this process created or changed it, and returns
   * the function that stops it. Writes by other processes (other Lambdas) are not seen: subscribe
   * only where every writer of releases runs in this process (local mode).
   */
  watchReleases(listener: (release: Release) => void): () => void;
}

/** One active release per service: a lease-based lock. */
export interface ServiceLocks {
  /** Takes (or renews) the service's lock for `owner` unless another live owner holds it. */
  acquireLock(service: string, owner: string, now: number, leaseSeconds: number): Promise<boolean>;
  /** Releases the lock only if `owner` holds it. */
  releaseLock(service: string, owner: string): Promise<void>;
  lockOwner(service: string, now: number): Promise<string | undefined>;
}

/** The one release waiting for a service's lock (a newer one supersedes it). */
export interface ReleaseQueue {
  /** Sets the service's waiting release; returns the one it replaced, if any. */
  enqueue(service: string, releaseId: string): Promise<string | undefined>;
  peekQueue(service: string): Promise<string | undefined>;
  /** Removes the queue entry only if it still names `releaseId`. */
  dequeue(service: string, releaseId: string): Promise<boolean>;
}

/** The image each service serves when no release is active. */
export interface StableVersions {
  getStable(service: string): Promise<string | undefined>;
  setStable(service: string, image: string): Promise<void>;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

export interface ApprovalItem {
  readonly approvalId: string;
  readonly releaseId: string;
  readonly status: ApprovalStatus;
  readonly taskToken?: string;
  readonly decidedBy?: string;
}

/** Approvals decided exactly once, and the workflow's task tokens kept server side. */
export interface ApprovalTokens {
  /** Stores the workflow's task token unless the approval was already decided (then returns that). */
  putApprovalToken(approvalId: string, releaseId: string, taskToken: string): Promise<ApprovalItem>;
  /** Moves an approval from pending to `status` exactly once; returns the item, or undefined if it was not pending. */
  decideApproval(approvalId: string, releaseId: string, status: Exclude<ApprovalStatus, 'pending'>, by: string): Promise<ApprovalItem | undefined>;
  getApproval(approvalId: string): Promise<ApprovalItem | undefined>;
}

/** Duplicate requests (ECR redeliveries, client retries) collapse onto one release. */
export interface IdempotencyKeys {
  /** Records `releaseId` under `key` unless the key exists; returns the release id the key names. */
  claimIdempotencyKey(key: string, releaseId: string, now: number): Promise<string>;
  forgetIdempotencyKey(key: string, releaseId: string): Promise<void>;
}

/** Every store port together: what the engine is wired with. */
export type Store = Releases & ServiceLocks & ReleaseQueue & StableVersions & ApprovalTokens & IdempotencyKeys;
