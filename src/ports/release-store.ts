import type { Phase } from '../core/phases.js';
import type { Release } from '../core/release.js';

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

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

export interface ApprovalItem {
  readonly approvalId: string;
  readonly releaseId: string;
  readonly status: ApprovalStatus;
  readonly taskToken?: string;
  readonly decidedBy?: string;
}

/** Raised when a conditional write loses to another writer; callers re-read and retry. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** Raised for an unknown release id. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/**
 * Durable state. All writes are single-item and conditional (no transactions), so every method
 * is safe under concurrent callers.
 */
export interface ReleaseStore {
  /** Creates a release; fails with ConflictError if the id exists. */
  create(release: Release): Promise<void>;
  get(id: string): Promise<Release | undefined>;
  /**
   * Read-modify-write with optimistic concurrency: `change` runs on the freshest release and is
   * re-run when another writer got there first. Returns the stored result and what `change` returned.
   */
  update<T>(id: string, change: (release: Release) => { release: Release; result: T }): Promise<{ release: Release; result: T }>;
  list(query: ListQuery): Promise<ReleasePage>;
  /** Releases not in a terminal phase, for recovery at start. */
  listUnfinished(): Promise<Release[]>;

  /** Takes the service's lock for `owner` unless another live owner holds it. */
  acquireLock(service: string, owner: string, now: number, leaseSeconds: number): Promise<boolean>;
  /** Releases the lock only if `owner` holds it. */
  releaseLock(service: string, owner: string): Promise<void>;
  lockOwner(service: string, now: number): Promise<string | undefined>;

  /** Sets the service's waiting release; returns the one it replaced, if any. */
  enqueue(service: string, releaseId: string): Promise<string | undefined>;
  peekQueue(service: string): Promise<string | undefined>;
  /** Removes the queue entry only if it still names `releaseId`. */
  dequeue(service: string, releaseId: string): Promise<boolean>;

  /** Records `releaseId` under `key` unless the key exists; returns the release id the key names. */
  claimIdempotencyKey(key: string, releaseId: string, now: number): Promise<string>;
  forgetIdempotencyKey(key: string, releaseId: string): Promise<void>;

  /** Stores the workflow's task token unless the approval was already decided (then returns that). */
  putApprovalToken(approvalId: string, releaseId: string, taskToken: string): Promise<ApprovalItem>;
  /** Moves an approval from pending to `status` exactly once; returns the item, or undefined if it was not pending. */
  decideApproval(approvalId: string, releaseId: string, status: Exclude<ApprovalStatus, 'pending'>, by: string): Promise<ApprovalItem | undefined>;
  getApproval(approvalId: string): Promise<ApprovalItem | undefined>;

  /** The image the service serves when no release is active. */
  getStable(service: string): Promise<string | undefined>;
  setStable(service: string, image: string): Promise<void>;
}
