import { describe, expect, it } from 'vitest';
import { answerFor, HTTP_STATUS } from '../../src/api/errors.js';
import {
  ActiveReleaseError,
  AlreadyFinalizedError,
  ConflictError,
  DeployError,
  ErrorCode,
  ForbiddenError,
  InvalidActionError,
  messageOf,
  NotFoundError,
  PermissionError,
  StreamCapacityError,
  TargetFailedError,
  TooManyStreamsError,
  TransientError,
  UnknownServiceError,
  ValidationError,
} from '../../src/core/errors.js';
import { IllegalTransitionError } from '../../src/core/phases.js';
import { ConfigError } from '../../src/config/config.js';

describe('one error hierarchy, one table of answers', () => {
  it.each([
    [new ValidationError('body.image: is required'), 400, 'validation_error'],
    [new ConfigError([{ path: 'services[0].name', message: 'is required' }]), 400, 'validation_error'],
    [new UnknownServiceError('unknown service "x"'), 400, 'unknown_service'],
    [new ForbiddenError('not an approver'), 403, 'forbidden'],
    [new NotFoundError('no release with id "r-1"'), 404, 'not_found'],
    [new InvalidActionError('nothing to approve'), 409, 'invalid_action'],
    [new IllegalTransitionError('succeeded', 'baking'), 409, 'invalid_action'],
    [new ActiveReleaseError('busy'), 409, 'release_active'],
    [new ConflictError('lost a race'), 409, 'conflict'],
    [new AlreadyFinalizedError('already finalized'), 409, 'already_finalized'],
    [new TargetFailedError('stopped outside Switchyard'), 502, 'target_failed'],
    [new DeployError('never ready'), 502, 'deploy_failed'],
    [new TransientError('throttled'), 503, 'transient'],
    [new TooManyStreamsError('4 open event streams'), 429, 'too_many_streams'],
  ])('%s -> %i %s, with its message', (error, status, code) => {
    expect(answerFor(error)).toEqual({ status, code, message: error.message, internal: status >= 500 });
  });

  it('a full server says when to ask again: 503 stream_capacity with Retry-After', () => {
    const error = new StreamCapacityError('100 open event streams');
    expect(answerFor(error)).toEqual({ status: 503, code: 'stream_capacity', message: error.message, internal: true, retryAfterSeconds: 60 });
  });

  it('an unknown error and a permission our role lacks answer 500 without leaking their message', () => {
    for (const error of [new Error('ECONNREFUSED 10.0.0.7'), 'a thrown string']) {
      expect(answerFor(error)).toEqual({ status: 500, code: 'internal', message: 'internal error; the server log has the details', internal: true });
    }
    const denied = answerFor(new PermissionError('not allowed to call codedeploy:CreateDeployment on app/group'));
    expect(denied).toEqual({ status: 500, code: 'permission_denied', message: 'internal error; the server log has the details', internal: true });
  });

  it('every code has a status', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it.each([
    [new Error('boom'), 'boom'],
    [new TypeError(''), 'TypeError'],
    ['plain text', 'plain text'],
    [{ code: 42 }, '{"code":42}'],
    [undefined, 'undefined'],
    [null, 'null'],
  ])('messageOf(%s) is %s', (value, message) => {
    expect(messageOf(value)).toBe(message);
  });
});
