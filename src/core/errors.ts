/**
 * One error hierarchy for the whole project. Every error Switchyard raises on purpose extends
 * {@link SwitchyardError} and carries a machine-readable {@link ErrorCode}; the HTTP API and the
 * Slack endpoint turn codes into answers from one table (src/api/errors.ts), and the workflow
 * retries by class name (src/workflow/definition.ts: only `transient` and `conflict` are retried).
 *
 * The rule for choosing: a missing thing is NotFound, a lost race is Conflict, a slow or throttled
 * remote is Transient. Never swap them: the workflow retries a conflict, but a missing release
 * will not appear by retrying.
 */
export const ErrorCode = {
  /** Input that can never work as given (a request field, a cursor, a config). */
  validation: 'validation_error',
  /** A request body that is not JSON (HTTP 415). */
  unsupportedMediaType: 'unsupported_media_type',
  /** A request body over the size limit (HTTP 413). */
  payloadTooLarge: 'payload_too_large',
  /** An idempotency key sent again with a different request (HTTP 422, as the IETF Idempotency-Key draft says). */
  idempotencyKeyReused: 'idempotency_key_reused',
  /** A method the route does not take (HTTP 405). */
  methodNotAllowed: 'method_not_allowed',
  /** A service name no config knows. */
  unknownService: 'unknown_service',
  /** A release (or another addressed thing) does not exist. */
  notFound: 'not_found',
  /** The caller may not do this (approver allowlist, four-eyes). */
  forbidden: 'forbidden',
  /** The action does not apply in the release's current phase. */
  invalidAction: 'invalid_action',
  /** The service already has an active release and its policy is to reject. */
  releaseActive: 'release_active',
  /** A conditional write lost to another writer; re-read and retry. */
  conflict: 'conflict',
  /** A downstream system was slow, throttled or briefly unavailable; retry with backoff. */
  transient: 'transient',
  /** The caller already holds as many open event streams as one client may (HTTP 429). */
  tooManyStreams: 'too_many_streams',
  /** The server already holds as many open event streams as it serves in all (HTTP 503). */
  streamCapacity: 'stream_capacity',
  /** The target itself ended the rollout (stopped outside Switchyard, failed by its alarms). */
  targetFailed: 'target_failed',
  /** The new version could not be deployed (never ready, bad task definition). */
  deployFailed: 'deploy_failed',
  /** Rollback asked after the driver finalized: the new version is already the stable one. */
  alreadyFinalized: 'already_finalized',
  /** Switchyard's own role lacks an AWS permission. */
  permissionDenied: 'permission_denied',
  /** Anything else: a bug or an unknown failure. */
  internal: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The body of every error answer over HTTP (the API, the Slack endpoint, the dashboard's proxy): one
 * shape, built in one place, so a client reads `error.code` the same way everywhere.
 * @example
 * c.json(errorBody(ErrorCode.notFound, 'no route GET /x'), 404)
 */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The base of every project error: a message for people, a code for programs, the cause kept. */
export abstract class SwitchyardError extends Error {
  abstract readonly code: ErrorCode;
}

/** Input that can never work as given; the message names the field, what is wrong and what to do. */
export class ValidationError extends SwitchyardError {
  override readonly name: string = 'ValidationError';
  readonly code: ErrorCode = ErrorCode.validation;
}

/** An idempotency key already used for another request: the first release is not silently returned. */
export class IdempotencyKeyReusedError extends SwitchyardError {
  override readonly name: string = 'IdempotencyKeyReusedError';
  readonly code: ErrorCode = ErrorCode.idempotencyKeyReused;
}

/** A request body sent as something other than JSON. */
export class UnsupportedMediaTypeError extends SwitchyardError {
  override readonly name: string = 'UnsupportedMediaTypeError';
  readonly code: ErrorCode = ErrorCode.unsupportedMediaType;
}

export class UnknownServiceError extends SwitchyardError {
  override readonly name: string = 'UnknownServiceError';
  readonly code: ErrorCode = ErrorCode.unknownService;
}

/** A release (or another addressed thing) does not exist. Never retried. */
export class NotFoundError extends SwitchyardError {
  override readonly name: string = 'NotFoundError';
  readonly code: ErrorCode = ErrorCode.notFound;
}

/** The caller may not take this action (HTTP 403). */
export class ForbiddenError extends SwitchyardError {
  override readonly name: string = 'ForbiddenError';
  readonly code: ErrorCode = ErrorCode.forbidden;
}

/** The action is not valid in the release's current phase (HTTP 409). */
export class InvalidActionError extends SwitchyardError {
  override readonly name: string = 'InvalidActionError';
  readonly code: ErrorCode = ErrorCode.invalidAction;
}

export class ActiveReleaseError extends SwitchyardError {
  override readonly name: string = 'ActiveReleaseError';
  readonly code: ErrorCode = ErrorCode.releaseActive;
}

/** A conditional write lost to another writer; callers re-read and retry (the workflow does). */
export class ConflictError extends SwitchyardError {
  override readonly name: string = 'ConflictError';
  readonly code: ErrorCode = ErrorCode.conflict;
}

/** A retryable failure of a downstream system (throttling, a timeout): the workflow retries it. */
export class TransientError extends SwitchyardError {
  override readonly name: string = 'TransientError';
  readonly code: ErrorCode = ErrorCode.transient;
}

/** A client asked for one more event stream than a client may hold open (HTTP 429). */
export class TooManyStreamsError extends SwitchyardError {
  override readonly name: string = 'TooManyStreamsError';
  readonly code: ErrorCode = ErrorCode.tooManyStreams;
}

/** The server holds as many event streams as it serves; a new one waits until some end (HTTP 503). */
export class StreamCapacityError extends SwitchyardError {
  override readonly name: string = 'StreamCapacityError';
  readonly code: ErrorCode = ErrorCode.streamCapacity;
}

/**
 * The target itself ended the rollout (for example a CodeDeploy deployment stopped by someone else
 * or failed by an alarm): the release rolls back with this reason.
 */
export class TargetFailedError extends SwitchyardError {
  override readonly name: string = 'TargetFailedError';
  readonly code: ErrorCode = ErrorCode.targetFailed;
}

/** Raised by a driver when the new version cannot be deployed (for example never ready). */
export class DeployError extends SwitchyardError {
  override readonly name: string = 'DeployError';
  readonly code: ErrorCode = ErrorCode.deployFailed;
}

/**
 * Raised by `rollback` when the release was already finalized: the new version is the stable one
 * and the old one is gone, so there is nothing to roll back to.
 */
export class AlreadyFinalizedError extends SwitchyardError {
  override readonly name: string = 'AlreadyFinalizedError';
  readonly code: ErrorCode = ErrorCode.alreadyFinalized;
}

/** Switchyard's role lacks a permission; the message names the action and the resource. */
export class PermissionError extends SwitchyardError {
  override readonly name: string = 'PermissionError';
  readonly code: ErrorCode = ErrorCode.permissionDenied;
}

/** The code of any thrown value: its own for project errors, `internal` for everything else. */
export function codeOf(error: unknown): ErrorCode {
  return error instanceof SwitchyardError ? error.code : ErrorCode.internal;
}

/** The message of any thrown value, for timelines and logs (`throw 'x'` and `throw {}` included). */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
