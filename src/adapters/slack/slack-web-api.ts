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
  /** Retries of a call that may be retried (see {@link SlackWebApi}). @default 2 */
  readonly retries?: number;
  /** Waits between attempts (tests pass a recorder). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The time now, in ms (tests pass a virtual clock). @default Date.now */
  readonly now?: () => number;
}

/** When a call must be over (ms since the epoch): no attempt starts, and no wait ends, after it. */
export interface CallBudget {
  readonly deadline?: number;
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

/** Longest Retry-After honoured by a call without a budget. */
const MAX_RETRY_AFTER_MS = 30_000;
const BACKOFF_MS = 100;

type Args = Readonly<Record<string, string | number | boolean | object | undefined>>;

/** Methods that post something new: sent again after an unclear failure, they could post twice. */
const POSTS = new Set(['chat.postMessage']);

/**
 * The two Slack Web API methods Switchyard calls (chat.postMessage, chat.update), as Slack's own
 * client sends them: an HTTPS POST of form fields with the bot token as a bearer token, objects
 * (blocks) as JSON strings; an `ok: false` answer is a {@link SlackApiError}.
 *
 * Retries: a 429 is retried after its Retry-After, and a connection refused (nothing was sent) after a
 * short backoff, for every method. chat.update, which sets the message to the same text however often
 * it is sent, is also retried after a 5xx, a timeout or a lost connection; chat.postMessage is not, as
 * Slack may have posted it (a 500 `fatal_error`: "some aspect of the operation may have succeeded").
 * A call's {@link CallBudget} bounds all of it: no attempt starts, and no Retry-After is waited, past its
 * deadline. Small on purpose: it keeps the Lambda bundles free of the full Web API client.
 */
export class SlackWebApi {
  readonly chat = {
    postMessage: (args: Args, budget?: CallBudget) => this.call('chat.postMessage', args, budget),
    update: (args: Args, budget?: CallBudget) => this.call('chat.update', args, budget),
  };
  private readonly base: string;

  constructor(private readonly options: SlackWebApiOptions) {
    const url = options.apiUrl ?? SLACK_API_URL;
    this.base = url.endsWith('/') ? url : `${url}/`;
  }

  async call(method: string, args: Args, { deadline = Infinity }: CallBudget = {}): Promise<SlackResponse> {
    const { retries = 2, timeoutMs = 2500, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), now = Date.now } = this.options;
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(args)) {
      if (value !== undefined) body.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
    const mayResend = !POSTS.has(method);
    /** Waits `ms` before trying again, or throws `failure` when there is no retry left or no time for it. */
    const again = async (attempt: number, ms: number, failure: Error): Promise<void> => {
      if (attempt >= retries || now() + ms >= deadline) throw failure;
      await sleep(ms);
    };
    for (let attempt = 0; ; attempt++) {
      const left = deadline - now();
      if (left <= 0) throw new TransientError(`slack ${method}: its time budget is spent`);
      let res: Response;
      try {
        res = await fetch(`${this.base}${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/x-www-form-urlencoded' },
          body,
          signal: AbortSignal.timeout(Math.min(timeoutMs, left)),
        });
      } catch (cause) {
        const failure = new TransientError(`slack ${method}: no answer`, { cause });
        if (!mayResend && !neverSent(cause)) throw failure;
        await again(attempt, BACKOFF_MS, failure);
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        await res.body?.cancel();
        const failure = new TransientError(`slack ${method}: HTTP ${res.status}`);
        if (res.status !== 429 && !mayResend) throw failure;
        const retryAfter = Number(res.headers.get('retry-after'));
        await again(attempt, res.status === 429 && retryAfter > 0 ? Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS) : BACKOFF_MS, failure);
        continue;
      }
      const answer = (await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}, not JSON` }))) as SlackResponse;
      if (!answer.ok) throw new SlackApiError(method, answer.error ?? `HTTP ${res.status}`);
      return answer;
    }
  }
}

/** The connection was refused: nothing reached Slack, so even a post may be sent again. */
function neverSent(error: unknown): boolean {
  return (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
}
