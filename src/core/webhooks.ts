import type { Observation, WebhookGate } from './gates.js';
import type { Release } from './release.js';

/**
 * The webhook gates' wire contract, in one place: what Switchyard sends, how it is signed, and which
 * answers give a verdict. Pure: the adapter (src/adapters/webhook) does the HTTP and the HMAC.
 * A receiver verifies a request as docs/webhook-gates.md shows.
 */

/** The headers of every webhook request. */
export const WebhookHeader = {
  /** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>`. */
  signature: 'X-Switchyard-Signature',
  /** Unix seconds when the request was signed: a receiver refuses old ones (replays). */
  timestamp: 'X-Switchyard-Timestamp',
  /** The gate's name, for receivers serving several. */
  gate: 'X-Switchyard-Gate',
} as const;

/** The scheme of the signature header's value; a new scheme would get a new prefix, sent beside this one. */
export const SIGNATURE_SCHEME = 'v1';

/** What is signed: the timestamp header's value, a dot, and the body exactly as sent. */
export function signedContent(timestamp: string, body: string): string {
  return `${timestamp}.${body}`;
}

/** A receiver's summary is cut to this many characters: it goes into the timeline, Slack and the dashboard. */
export const MAX_WEBHOOK_SUMMARY = 300;

/** What a webhook receives: the release's context at the time of the check (`version` 1 of this shape). */
export interface WebhookPayload {
  readonly version: 1;
  readonly gate: string;
  readonly when: WebhookGate['when'];
  readonly environment: string;
  readonly release: { readonly id: string; readonly service: string; readonly image: string; readonly digest?: string };
  /** The plan's step being checked (0-based), its type, and how many steps the plan has. */
  readonly step: { readonly index: number; readonly type: string; readonly count: number };
  /** Percent of production traffic on each version now (before traffic: 0 on the new version). */
  readonly weights: { readonly new: number; readonly stable: number };
  /** Where the new version alone is reachable (the test route), where Switchyard knows it. */
  readonly testUrl?: string;
  /** ISO 8601. */
  readonly at: string;
}

/** The request body for `gate` on `release` at `now`. */
export function webhookPayload(release: Release, gate: WebhookGate, now: number, context: { environment: string; testUrl?: string }): WebhookPayload {
  const step = release.plan.steps[release.stepIndex];
  return {
    version: 1,
    gate: gate.name,
    when: gate.when,
    environment: context.environment,
    release: {
      id: release.id,
      service: release.service,
      image: release.artifact.image,
      ...(release.artifact.digest ? { digest: release.artifact.digest } : {}),
    },
    step: { index: release.stepIndex, type: step?.type ?? 'done', count: release.plan.steps.length },
    weights: { new: release.weight, stable: Math.round((100 - release.weight) * 1000) / 1000 },
    ...(context.testUrl ? { testUrl: context.testUrl } : {}),
    at: new Date(now).toISOString(),
  };
}

const VERDICTS = ['pass', 'fail', 'inconclusive'] as const;

/**
 * The observation of a webhook's answer. Only a 2xx with a JSON body `{ "verdict": "pass" | "fail" |
 * "inconclusive", "summary"?: string }` gives a verdict; any other status or body is an error of the
 * gate (counted against gatePolicy.maxErrors, like a metric that could not be read), never a pass.
 */
export function webhookObservation(gate: string, answer: { status: number; body: string; durationMs: number }): Observation {
  const { status, durationMs } = answer;
  const took = `${durationMs} ms`;
  if (status < 200 || status > 299) return { gate, kind: 'error', message: `webhook answered HTTP ${status} after ${took}${excerpt(answer.body)}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return {
      gate,
      kind: 'error',
      message: `webhook answered HTTP ${status} with a body that is not JSON${excerpt(answer.body)}; expected {"verdict": "pass" | "fail" | "inconclusive"}`,
    };
  }
  const verdict = typeof parsed === 'object' && parsed !== null ? (parsed as { verdict?: unknown }).verdict : undefined;
  if (!VERDICTS.includes(verdict as (typeof VERDICTS)[number]))
    return {
      gate,
      kind: 'error',
      message: `webhook answered HTTP ${status} without a verdict ("verdict" must be "pass", "fail" or "inconclusive", got ${JSON.stringify(verdict) ?? 'nothing'})`,
    };
  const said = (parsed as { summary?: unknown }).summary;
  const summary = typeof said === 'string' ? oneLine(said) : '';
  return { gate, kind: 'webhook', verdict: verdict as (typeof VERDICTS)[number], status, durationMs, ...(summary ? { summary } : {}) };
}

/** A line of text a person can read: control characters and line breaks become spaces, and it is cut to a size. */
function oneLine(text: string, max = MAX_WEBHOOK_SUMMARY): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function excerpt(body: string): string {
  const line = oneLine(body, 120);
  return line ? `: ${JSON.stringify(line)}` : '';
}
