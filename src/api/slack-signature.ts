import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Slack's window: a request older (or newer) than five minutes is refused, so it cannot be replayed later. */
export const SLACK_MAX_AGE_SECONDS = 300;

/**
 * Verifies Slack's request signature: `v0=` + hex HMAC-SHA256(signing secret,
 * `v0:{timestamp}:{raw body}`), compared in constant time, timestamp within five minutes of `now`.
 */
export function verifySlackSignature(
  secret: string,
  timestamp: string | undefined,
  rawBody: string,
  signature: string | undefined,
  now: number,
): SignatureCheck {
  if (!timestamp || !signature) return { ok: false, reason: 'missing X-Slack-Request-Timestamp or X-Slack-Signature' };
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return { ok: false, reason: 'X-Slack-Request-Timestamp is not a Unix time' };
  if (Math.abs(now / 1000 - ts) > SLACK_MAX_AGE_SECONDS) return { ok: false, reason: 'stale request: the timestamp is more than 5 minutes from now' };
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`);
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}

/** Signs a body the way Slack does (for tests and tools that replay requests). */
export function signSlackRequest(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}
