import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { ValidationError } from '../core/errors.js';
import type { Actor } from '../core/release.js';

/** Who is calling: an actor, or undefined when the credentials are missing or wrong (401). */
export type Authenticator = (c: Context) => Actor | undefined;

const ACTOR_HEADER = 'x-switchyard-actor';
const ACTOR_PATTERN = /^[A-Za-z0-9._@+-]{1,64}$/;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Local mode: one bearer token (from SWITCHYARD_TOKEN or generated at start). The caller names
 * itself with `X-Switchyard-Actor` for the timeline and the approval rules (default "api").
 */
export function bearerAuthenticator(token: string): Authenticator {
  const expected = digest(token);
  return (c) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Compare digests in constant time so the token's length and content do not leak through timing.
    if (!match?.[1] || !timingSafeEqual(digest(match[1].trim()), expected)) return undefined;
    const named = c.req.header(ACTOR_HEADER);
    if (named === undefined) return { id: 'api', channel: 'api' };
    // A name that is not one is refused, never silently replaced: the timeline and the approver rules use it.
    if (!ACTOR_PATTERN.test(named)) throw new ValidationError('header.X-Switchyard-Actor: must be 1 to 64 letters, digits or . _ @ + - (for example "alice")');
    return { id: named, channel: 'api' };
  };
}

interface ApiGatewayContext {
  readonly requestContext?: {
    readonly authorizer?: {
      readonly jwt?: { readonly claims?: Record<string, unknown> };
      readonly iam?: { readonly userArn?: string; readonly userId?: string };
    };
  };
}

/**
 * AWS: API Gateway has already checked the caller (IAM or JWT authorizer); the actor is the
 * JWT subject (or email) or the IAM principal ARN.
 */
export function apiGatewayAuthenticator(): Authenticator {
  return (c) => {
    const event = (c.env as { event?: ApiGatewayContext } | undefined)?.event;
    const authorizer = event?.requestContext?.authorizer;
    const claims = authorizer?.jwt?.claims;
    const fromJwt = claims ? String(claims['email'] ?? claims['sub'] ?? '') : '';
    const id = fromJwt || authorizer?.iam?.userArn || '';
    return id ? { id: id.slice(0, 256), channel: 'api' } : undefined;
  };
}
