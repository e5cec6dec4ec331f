import { ErrorCode, codeOf, messageOf } from '../core/errors.js';

export type ErrorStatus = 400 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503;

/**
 * The one table from error code to HTTP status. The API's `onError` and the Slack endpoint both
 * answer from it, so a failure reads the same wherever a person meets it.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, ErrorStatus>> = {
  [ErrorCode.validation]: 400,
  [ErrorCode.unsupportedMediaType]: 415,
  [ErrorCode.payloadTooLarge]: 413,
  [ErrorCode.idempotencyKeyReused]: 422,
  [ErrorCode.methodNotAllowed]: 405,
  [ErrorCode.unknownService]: 400,
  [ErrorCode.notFound]: 404,
  [ErrorCode.forbidden]: 403,
  [ErrorCode.invalidAction]: 409,
  [ErrorCode.releaseActive]: 409,
  [ErrorCode.conflict]: 409,
  [ErrorCode.alreadyFinalized]: 409,
  [ErrorCode.transient]: 503,
  [ErrorCode.tooManyStreams]: 429,
  [ErrorCode.streamCapacity]: 503,
  [ErrorCode.targetFailed]: 502,
  [ErrorCode.deployFailed]: 502,
  [ErrorCode.permissionDenied]: 500,
  [ErrorCode.internal]: 500,
};

export interface ErrorAnswer {
  readonly status: ErrorStatus;
  readonly code: ErrorCode;
  /** What a person reads. Internal errors never leak their message: the server log has it. */
  readonly message: string;
  /** True when the server log should record this error in full (ours or a downstream system's failure). */
  readonly internal: boolean;
  /** When asking again may work (the `Retry-After` header), where the code says. */
  readonly retryAfterSeconds?: number;
}

/**
 * Codes whose answer says when to ask again. Open event streams end with their releases (minutes), or
 * when people close pages: a minute is a fair wait for a place.
 */
const RETRY_AFTER_SECONDS: Readonly<Partial<Record<ErrorCode, number>>> = {
  [ErrorCode.streamCapacity]: 60,
};

const INTERNAL_MESSAGE = 'internal error; the server log has the details';

/** How any thrown value is answered: its status, code and the message a person may see. */
export function answerFor(error: unknown): ErrorAnswer {
  const code = codeOf(error);
  const status = HTTP_STATUS[code];
  const retryAfterSeconds = RETRY_AFTER_SECONDS[code];
  return {
    status,
    code,
    message: status === 500 ? INTERNAL_MESSAGE : messageOf(error),
    internal: status >= 500,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
}
