import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signSlackRequest } from '../../src/api/slack-signature.js';

/** A request body signed the way Slack signs it, with the headers Slack sends. */
export function signedSlackRequest(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): { body: string; headers: Record<string, string> } {
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signSlackRequest(secret, timestamp, body),
    },
  };
}

/** A signed `block_actions` interaction: `user` clicked the button `action` whose value is `value`. */
export function slackClick(
  secret: string,
  user: string,
  action: string,
  value: string,
  { timestamp, responseUrl, triggerId, actionTs }: { timestamp?: number; responseUrl?: string; triggerId?: string; actionTs?: string } = {},
) {
  const payload = {
    type: 'block_actions',
    user: { id: user },
    channel: { id: 'C0RELEASES' },
    message: { ts: '1700000000.000001' },
    ...(responseUrl ? { response_url: responseUrl } : {}),
    // Slack gives every click its own trigger and action time; a click it delivers again keeps both.
    ...(triggerId ? { trigger_id: triggerId } : {}),
    actions: [{ action_id: action, value, type: 'button', ...(actionTs ? { action_ts: actionTs } : {}) }],
  };
  return signedSlackRequest(secret, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), timestamp);
}

export interface SlackCall {
  method: string;
  args: Record<string, string>;
}

/** A stand-in for Slack's Web API (and response_url) that records every call. */
export class SlackStandIn {
  calls: SlackCall[] = [];
  ephemeral: { text: string }[] = [];
  /** Answer the next N calls with 429 (Retry-After: 1) or 500. */
  failNext: { status: 429 | 500; count: number } | undefined;
  /** Answer the next call 200 `{ ok: false, error }`, as Slack refuses a call (e.g. `channel_not_found`). */
  refuseNext: string | undefined;
  /** The Content-Type of every recorded call. */
  contentTypes: string[] = [];
  private server: Server;
  private n = 0;
  url = '';
  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/response') {
          this.ephemeral.push(JSON.parse(body) as { text: string });
          res.end('ok');
          return;
        }
        if (this.failNext && this.failNext.count > 0) {
          this.failNext.count--;
          res.writeHead(
            this.failNext.status,
            this.failNext.status === 429 ? { 'retry-after': '1', 'content-type': 'application/json' } : { 'content-type': 'application/json' },
          );
          res.end(JSON.stringify({ ok: false, error: this.failNext.status === 429 ? 'ratelimited' : 'internal_error' }));
          return;
        }
        if (this.refuseNext) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: this.refuseNext }));
          this.refuseNext = undefined;
          return;
        }
        const method = (req.url ?? '').replace(/^\/api\//, '');
        this.contentTypes.push(req.headers['content-type'] ?? '');
        const args = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
        this.calls.push({ method, args: { ...args, auth: req.headers.authorization ?? '' } });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, channel: args['channel'] ?? 'C0SLACK', ts: args['ts'] ?? `1700000000.${String(++this.n).padStart(6, '0')}` }));
      });
    });
  }
  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close() {
    return new Promise((r) => this.server.close(r));
  }
  top() {
    return this.calls.filter((c) => c.method === 'chat.postMessage' && !c.args['thread_ts']);
  }
  updates() {
    return this.calls.filter((c) => c.method === 'chat.update');
  }
  replies() {
    return this.calls.filter((c) => c.method === 'chat.postMessage' && c.args['thread_ts']);
  }
}
