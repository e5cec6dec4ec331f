import { createHmac } from 'node:crypto';
import type { GateSpec, Observation, WebhookGate } from '../../core/gates.js';
import { messageOf } from '../../core/errors.js';
import type { Release } from '../../core/release.js';
import { SIGNATURE_SCHEME, signedContent, WebhookHeader, webhookObservation, webhookPayload } from '../../core/webhooks.js';
import type { MetricsSource } from '../../ports/metrics-source.js';

/** The most of an answer read: a verdict is a few bytes; a receiver that streams a report is cut off here. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface WebhookGatesOptions {
  /** Where every other gate is read (the data plane, CloudWatch). */
  readonly inner: MetricsSource;
  /** The shared secret of a gate (an environment variable locally, Secrets Manager on AWS). Throws when it cannot be read. */
  readonly secretOf: (gate: WebhookGate) => Promise<string>;
  /** The environment's name (the config's `environment`), sent with the context. */
  readonly environment: string;
  /** Where the new version alone answers (the test route), where known. */
  readonly testUrl?: (release: Release) => string | undefined;
  /** @default the global fetch (Node's undici) */
  readonly fetch?: typeof fetch;
  /** How a call is ended after the gate's timeout. @default AbortSignal.timeout(gate.timeoutSeconds) */
  readonly deadline?: (gate: WebhookGate) => AbortSignal;
}

/**
 * A metrics source that also calls webhook gates: each is POSTed the release's context as JSON,
 * signed (HMAC-SHA256 over "<timestamp>.<body>", see core/webhooks.ts), and its answer becomes the
 * gate's observation. Other gates are read from `inner`, at the same time. A call that fails, times
 * out or answers garbage is an `error` observation, counted like any gate's errors; it never throws.
 * Runs where the workflow's tasks run (the workflow Lambda on AWS, the control plane locally): the
 * calls go out, nothing new listens.
 */
export class WebhookGates implements MetricsSource {
  constructor(private readonly options: WebhookGatesOptions) {}

  async observe(release: Release, gates: readonly GateSpec[], now: number): Promise<Observation[]> {
    const hooks = gates.filter((g): g is WebhookGate => g.kind === 'webhook');
    const others = gates.filter((g) => g.kind !== 'webhook');
    const [read, called] = await Promise.all([
      others.length > 0 ? this.options.inner.observe(release, others, now) : Promise.resolve([]),
      Promise.all(hooks.map((g) => this.call(release, g, now))),
    ]);
    return [...read, ...called];
  }

  /** One signed call; what went wrong is the observation's message (without the secret or the URL's query). */
  async call(release: Release, gate: WebhookGate, now: number): Promise<Observation> {
    const where = safeUrl(gate.url);
    let secret: string;
    try {
      secret = await this.options.secretOf(gate);
    } catch (error) {
      return { gate: gate.name, kind: 'error', message: `the webhook's secret could not be read: ${messageOf(error)}` };
    }
    const testUrl = this.options.testUrl?.(release);
    const body = JSON.stringify(webhookPayload(release, gate, now, { environment: this.options.environment, ...(testUrl ? { testUrl } : {}) }));
    const timestamp = String(Math.floor(now / 1000));
    const signature = `${SIGNATURE_SCHEME}=${createHmac('sha256', secret).update(signedContent(timestamp, body)).digest('hex')}`;
    const signal = this.options.deadline?.(gate) ?? AbortSignal.timeout(gate.timeoutSeconds * 1000);
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    try {
      const response = await (this.options.fetch ?? fetch)(gate.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'Switchyard-Webhook/1',
          [WebhookHeader.signature]: signature,
          [WebhookHeader.timestamp]: timestamp,
          [WebhookHeader.gate]: gate.name,
        },
        body,
        // A redirect is an answer without a verdict: following it could send the signed context elsewhere.
        redirect: 'manual',
        signal,
      });
      const text = await readCapped(response);
      return webhookObservation(gate.name, { status: response.status, body: text, durationMs: took() });
    } catch (error) {
      if (signal.aborted) return { gate: gate.name, kind: 'error', message: `webhook ${where} did not answer within ${gate.timeoutSeconds}s` };
      return { gate: gate.name, kind: 'error', message: `webhook ${where} could not be called: ${reasonOf(error)}` };
    }
  }
}

/** The body as text, up to MAX_ANSWER_BYTES (the rest is not read). */
async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

/** fetch's "fetch failed" says nothing: the cause (ECONNREFUSED, a TLS error) does. */
function reasonOf(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? messageOf(error);
}

/** The URL as people may see it: scheme, host and path, no query (it may carry a token). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'URL';
  }
}
