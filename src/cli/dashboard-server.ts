import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { isTerminal, type Phase } from '../core/phases.js';
import { dashboardPage } from '../ui/page.js';
import { sigv4Headers } from './client.js';

/**
 * `switchyard dashboard --api <url>`: the dashboard for a Switchyard deployed on AWS, served on this
 * machine (127.0.0.1 only) as Argo's dashboard runs beside kubectl. The page's API calls come here and
 * go on to the API signed with your own AWS credentials (SigV4), so the IAM authorizer stays the only
 * door and nothing new is exposed. API Gateway does not stream, so a release's live events are made
 * here: the release is read every `pollMs` while its page is open, and sent when it changed.
 */
export interface DashboardServerOptions {
  /** The API's URL (the stack's ApiUrl output). */
  readonly api: string;
  readonly region: string;
  /** @default the environment's credentials (profile, SSO, environment variables, …) */
  readonly credentials?: AwsCredentialIdentityProvider;
  /** @default 8788; 0 picks a free port */
  readonly port?: number;
  /** How often an open release is read from the API. @default 2000 ms */
  readonly pollMs?: number;
  /** How long a call to the API may take before the page is told it timed out. @default 30 s */
  readonly requestTimeoutMs?: number;
}

export interface DashboardServer {
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;
const MAX_BODY = 64 * 1024;

/** The request's body, or undefined when it is larger than MAX_BODY (the rest is not kept). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

const fail = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, JSON.stringify({ error: { code, message } }));

export async function startDashboard(options: DashboardServerOptions): Promise<DashboardServer> {
  const base = new URL(options.api.endsWith('/') ? options.api : `${options.api}/`);
  const page = await dashboardPage('signed');
  const pollMs = options.pollMs ?? 2000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  /** One signed call to the API; the answer comes back as it is (status, body, type). */
  async function forward(method: string, path: string, body?: string): Promise<{ status: number; body: string; type: string }> {
    const url = new URL(path.replace(/^\//, ''), base);
    const headers: Record<string, string> = { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) };
    const signed = await sigv4Headers({
      method,
      url,
      headers,
      ...(body ? { body } : {}),
      region: options.region,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    // An API that hangs must not hold the page (or an event stream's loop) for ever.
    try {
      const res = await fetch(url, { method, headers: signed, ...(body ? { body } : {}), signal: AbortSignal.timeout(requestTimeoutMs) });
      return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? 'application/json' };
    } catch (error) {
      if (!(error instanceof Error && error.name === 'TimeoutError')) throw error;
      const message = `the API did not answer ${method} ${url.pathname} within ${requestTimeoutMs / 1000} s`;
      return { status: 504, body: JSON.stringify({ error: { code: 'gateway_timeout', message } }), type: 'application/json' };
    }
  }

  async function events(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let open = true;
    req.on('close', () => void (open = false));
    let sent = '';
    while (open) {
      const answer = await forward('GET', `/releases/${encodeURIComponent(id)}`).catch((error: unknown) => ({ status: 0, body: String(error), type: '' }));
      if (answer.status !== 200) {
        res.write(`event: error\ndata: ${JSON.stringify({ status: answer.status, body: answer.body.slice(0, 500) })}\n\n`);
      } else {
        const release = JSON.parse(answer.body) as { updatedAt: string; phase: Phase };
        if (release.updatedAt !== sent) {
          res.write(`event: release\nid: ${release.updatedAt}\ndata: ${answer.body.replace(/\n/g, '')}\n\n`);
          sent = release.updatedAt;
        }
        if (isTerminal(release.phase)) break;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    res.end();
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      // Loopback names only: a page that rebinds its DNS name to 127.0.0.1 cannot use your credentials.
      if (!LOOPBACK.test(req.headers.host ?? ''))
        return fail(res, 403, 'forbidden', `header.Host: "${req.headers.host ?? ''}" is not this dashboard; open it at 127.0.0.1`);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/ui')) return send(res, 200, page, 'text/html; charset=utf-8');
      const events_ = /^\/releases\/([A-Za-z0-9_-]{1,80})\/events$/.exec(url.pathname);
      if (req.method === 'GET' && events_?.[1]) return events(req, res, events_[1]);
      if (req.method !== 'GET' && req.method !== 'POST') return fail(res, 405, 'method_not_allowed', `${req.method ?? ''} is not used by the dashboard`);
      let body: string | undefined;
      if (req.method === 'POST') {
        // A form or text/plain POST from another site is not the dashboard: only JSON goes on, signed.
        if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? ''))
          return fail(res, 415, 'unsupported_media_type', 'header.Content-Type: must be application/json');
        body = await readBody(req);
        if (body === undefined)
          return fail(res, 413, 'payload_too_large', `body: larger than ${MAX_BODY / 1024} KiB; the dashboard sends a comment of a few lines`);
      }
      const answer = await forward(req.method, `${url.pathname}${url.search}`, body);
      send(res, answer.status, answer.body, answer.type);
    })().catch((error: unknown) => {
      if (!res.headersSent)
        fail(res, 502, 'bad_gateway', `the API could not be reached or signed for: ${error instanceof Error ? error.message : String(error)}`);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8788, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ui`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
