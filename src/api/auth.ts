import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import { actorFor, RESERVED_NAMES, type Person } from '../core/people.js';
import type { Actor } from '../core/actor.js';

/** Who is calling: an actor, or undefined when the credentials are missing or wrong (401). */
export type Authenticator = (c: Context) => Actor | undefined;

const ACTOR_HEADER = 'x-switchyard-actor';
const ACTOR_PATTERN = /^[A-Za-z0-9._@+-]{1,64}$/;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export interface LocalIdentity {
  readonly people?: readonly Person[];
  /** People's own tokens (people[].localToken): a request with one acts as that person, and only as them. */
  readonly personTokens?: ReadonlyMap<string, string>;
}

/**
 * Local mode: bearer tokens. The shared token (SWITCHYARD_TOKEN) proves no person: it acts as
 * "api", unproven, and may take only what the config grants to anyone (core/authority.ts);
 * `X-Switchyard-Actor` may give a label for the timeline, but never a configured person's or a
 * reserved name, and a label grants nothing. A person acts with their own token
 * (people[].localToken), which acts as them alone.
 */
export function bearerAuthenticator(token: string, identity: LocalIdentity = {}): Authenticator {
  const expected = digest(token);
  const people = identity.people ?? [];
  const personal = [...(identity.personTokens ?? new Map<string, string>())].map(([t, name]) => [digest(t), name] as const);
  return (c) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1]) return undefined;
    const given = digest(match[1].trim());
    const named = c.req.header(ACTOR_HEADER);
    // A name that is not one is refused, never silently replaced: the timeline and the approver rules use it.
    if (named !== undefined && !ACTOR_PATTERN.test(named))
      throw new ValidationError('header.X-Switchyard-Actor: must be 1 to 64 letters, digits or . _ @ + - (for example "alice")');
    // Compare digests in constant time so the tokens' length and content do not leak through timing.
    const owner = personal.find(([d]) => timingSafeEqual(d, given))?.[1];
    if (owner !== undefined) {
      if (named !== undefined && named !== owner)
        throw new ForbiddenError(`header.X-Switchyard-Actor: this token is ${owner}'s and acts only as ${owner}, not as "${named}"`);
      return actorFor(people, { person: owner }, 'api', owner);
    }
    if (!timingSafeEqual(given, expected)) return undefined;
    // The shared token proves no person: a label names the caller in the timeline and grants nothing (core/authority.ts).
    if (named === undefined) return { id: 'api', channel: 'api', proof: { by: 'shared-token' } };
    if (RESERVED_NAMES.has(named))
      throw new ForbiddenError(`header.X-Switchyard-Actor: "${named}" is reserved for Switchyard's own actors; choose another label`);
    if (people.some((p) => p.name === named)) {
      throw new ForbiddenError(
        `header.X-Switchyard-Actor: the shared token cannot act as ${named}, a configured person; ${named} acts with their own token (people[].localToken in the config)`,
      );
    }
    return { id: named, channel: 'api', proof: { by: 'shared-token' } };
  };
}

/**
 * Who holds the credentials, for limits per client (open event streams): the person they prove;
 * else the bearer credential itself, so the shared token is one client whatever label
 * (`X-Switchyard-Actor`) it adds; else the actor (an IAM principal on AWS). Not the client's
 * address: in local mode every caller comes from 127.0.0.1.
 */
export function clientKey(c: Context, actor: Actor): string {
  if (actor.person !== undefined) return `person:${actor.person}`;
  const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
  if (bearer) return `token:${digest(bearer).toString('base64url').slice(0, 22)}`;
  return `actor:${actor.id}`;
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
 * AWS: API Gateway has already checked the caller (IAM or JWT authorizer). The actor is the person
 * whose IAM principal, JWT subject or verified email it is; else the raw JWT email or subject, or
 * the IAM principal ARN.
 */
export function apiGatewayAuthenticator(people: readonly Person[] = []): Authenticator {
  return (c) => {
    const event = (c.env as { event?: ApiGatewayContext } | undefined)?.event;
    const authorizer = event?.requestContext?.authorizer;
    const claims = authorizer?.jwt?.claims;
    if (claims) {
      const sub = typeof claims['sub'] === 'string' ? claims['sub'] : undefined;
      const email = typeof claims['email'] === 'string' ? claims['email'] : undefined;
      // API Gateway passes claims as strings: "true" is a verified email.
      const emailVerified = claims['email_verified'] === true || claims['email_verified'] === 'true';
      const raw = (email ?? sub ?? '').slice(0, 256);
      if (!raw) return undefined;
      return actorFor(people, { jwt: { ...(sub ? { sub } : {}), ...(email ? { email } : {}), emailVerified } }, 'api', raw);
    }
    const arn = authorizer?.iam?.userArn;
    return arn ? actorFor(people, { iam: arn }, 'api', arn.slice(0, 256)) : undefined;
  };
}
