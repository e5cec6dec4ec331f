import { TransientError } from '../../core/errors.js';

/** Slack's Web API base URL. */
export const SLACK_API_URL = 'https://slack.com/api/';

export interface SlackWebApiOptions {
  /** The bot token (`xoxb-…`), sent as `Authorization: Bearer`. */
  readonly token: string;
  /** @default {@link SLACK_API_URL} */
  readonly apiUrl?: string;
  /** Longest one HTTP call may take. @default 2500 */
  readonly timeoutMs?: number;
  /** Retries after a 429 (after its Retry-After), a 5xx or a network error. @default 2 */
  readonly retries?: number;
  /** Waits between attempts (tests pass a recorder). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What Slack answers every Web API call: `ok`, or `ok: false` with an error code. */
export interface SlackResponse {
  readonly ok: boolean;
  readonly error?: string;
  readonly channel?: string;
  readonly ts?: string;
}

/** Slack answered `ok: false` (a bad channel, a revoked token): retrying would not help. */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly code: string,
  ) {
    super(`slack ${method} failed: ${code}`);
  }
}

/** Longest Retry-After honoured: beyond it the notifier's own time budget has long run out. */
const MAX_RETRY_AFTER_MS = 30_000;
const BACKOFF_MS = 100;

type Args = Readonly<Record<string, string | number | boolean | object | undefined>>;

/**
 * The two Slack Web API methods Switchyard calls (chat.postMessage, chat.update), as Slack's own
 * client sends them: an HTTPS POST of form fields with the bot token as a bearer token, objects
 * (blocks) as JSON strings. Rate limits (429) are honoured by waiting Retry-After; 5xx and network
 * errors are retried with a short backoff; an `ok: false` answer is a {@link SlackApiError}.
 * Small on purpose: it keeps the Lambda bundles free of the full Web API client.
 */
export class SlackWebApi {
  readonly chat = {
    postMessage: (args: Args) => this.call('chat.postMessage', args),
    update: (args: Args) => this.call('chat.update', args),
  };
  private readonly base: string;

  constructor(private readonly options: SlackWebApiOptions) {
    const url = options.apiUrl ?? SLACK_API_URL;
    this.base = url.endsWith('/') ? url : `${url}/`;
  }

  async call(method: string, args: Args): Promise<SlackResponse> {
    const { retries = 2, timeoutMs = 2500, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) } = this.options;
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(args)) {
      if (value !== undefined) body.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.base}${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/x-www-form-urlencoded' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (cause) {
        if (attempt >= retries) throw new TransientError(`slack ${method}: no answer`, { cause });
        await sleep(BACKOFF_MS);
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        await res.body?.cancel();
        if (attempt >= retries) throw new TransientError(`slack ${method}: HTTP ${res.status}`);
        const retryAfter = Number(res.headers.get('retry-after'));
        await sleep(res.status === 429 && retryAfter > 0 ? Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS) : BACKOFF_MS);
        continue;
      }
      const answer = (await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}, not JSON` }))) as SlackResponse;
      if (!answer.ok) throw new SlackApiError(method, answer.error ?? `HTTP ${res.status}`);
      return answer;
    }
  }
}
