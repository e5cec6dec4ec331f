import { PermissionError, TransientError } from '../../core/errors.js';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'ThrottledException',
  'RateExceeded',
]);

/**
 * Translates an AWS SDK error into Switchyard's own: throttling and service hiccups become
 * {@link TransientError} (the workflow retries them with backoff), AccessDenied becomes a
 * {@link PermissionError} naming what is missing. Anything else is returned as is, to be rethrown.
 */
export function translateAwsError(error: unknown, action: string, resource: string): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (THROTTLING.has(error.name) || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(`${action} on ${resource} was throttled or failed on AWS's side (${error.name}); retrying`, { cause: error });
  }
  if (error.name === 'AccessDeniedException' || error.name === 'AccessDenied' || error.name === 'UnauthorizedOperation') {
    return new PermissionError(`not allowed to call ${action} on ${resource}: grant ${action} on it to Switchyard's role (${error.message})`, { cause: error });
  }
  return error;
}

/** Runs one AWS call, its error translated (`translateAwsError`) with the action and resource it was for. */
export async function awsCall<T>(action: string, resource: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw translateAwsError(error, action, resource);
  }
}
