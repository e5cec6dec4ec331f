/** Errors the use cases raise; the HTTP layer maps each to a status in one place. */
export class UnknownServiceError extends Error {
  override readonly name = 'UnknownServiceError';
}
export class ReleaseNotFoundError extends Error {
  override readonly name = 'ReleaseNotFoundError';
}
/** The action is not valid in the release's current phase (HTTP 409). */
export class InvalidActionError extends Error {
  override readonly name = 'InvalidActionError';
}
/** The caller may not take this action (HTTP 403). */
export class ForbiddenActionError extends Error {
  override readonly name = 'ForbiddenActionError';
}
/** The service already has an active release and its policy is to reject (HTTP 409). */
export class ActiveReleaseError extends Error {
  override readonly name = 'ActiveReleaseError';
}
