import { errorBody } from '../core/errors.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { ReleaseView } from '../contract/schema.js';
import { dashboardFiles } from '../ui/page.js';
import { sigv4Headers } from './client.js';

/**
 * `switchyard dashboard --api <url>`: the dashboard for a Switchyard deployed on AWS, served on this
 * machine (127.0.0.1 only) as Argo's dashboard runs beside kubectl. The page's API calls come here and
 * go on to the API signed with your own AWS credentials (SigV4), so the IAM authorizer stays the only
 * door; on this machine, only the page opened with the session in its address (printed to your
 * terminal) may use them: other processes and users reach 127.0.0.1 too. API Gateway does not stream, so a release's live events are made
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
  /** The session the page must show on every call. @default a random one, in `url` */
  readonly session?: string;
}

export interface DashboardServer {
  /** The page's address, with the session in its fragment (never sent over the network by the browser). */
  readonly url: string;
  readonly session: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

/**
 * Where a request for `raw` (the request-target exactly as it came, before any parsing) goes: the
 * configured API's origin and stage (`base`, ending in `/`) plus the request's path, or the reason it
 * is refused. Nothing is resolved against anything: a path that a URL parser or the signer would
 * rewrite (`//`, `.` or `..` segments, separators or dots percent-encoded once or twice, backslashes,
 * control characters) or an absolute URL is refused, and the URL made is checked to still be on the
 * API's origin, under its stage, with the path asked for, so a signed request goes nowhere else.
 */
export function apiTarget(base: URL, raw: string): URL | string {
  if (!raw.startsWith('/') || raw.startsWith('//'))
    return `the path must start with a single "/" (an absolute URL or "//host" is not forwarded): ${JSON.stringify(raw.slice(0, 200))}`;
  // Only printable ASCII: a parser strips tabs and newlines and may read other bytes otherwise.
  if (!/^[\x21-\x7e]*$/.test(raw)) return 'the path has a space, a control character or a non-ASCII byte';
  if (raw.includes('#')) return 'the path has a "#"';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q);
  if (path.includes('\\')) return 'the path has a backslash';
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return 'the path has an empty segment ("//" or a trailing "/")';
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return `the path segment ${JSON.stringify(segment)} is not valid percent-encoding`;
    }
    // Once decoded a segment is plain text: "%" (a second encoding), a separator or a dot segment is a trick.
    if (/[%/\\]/.test(decoded) || /^\.+$/.test(decoded) || [...decoded].some((c) => c <= ' ' || c === '\x7f'))
      return `the path segment ${JSON.stringify(segment)} is or hides a separator, a dot segment or a second encoding`;
  }
  const target = new URL(`${base.origin}${base.pathname}${path.slice(1)}`);
  if (query) target.search = new URLSearchParams(query).toString();
  if (target.origin !== base.origin || target.pathname !== `${base.pathname}${path.slice(1)}` || target.username || target.password)
    return `the path ${JSON.stringify(path.slice(0, 200))} would not reach ${base.origin}${base.pathname} as written (a URL parser rewrites it)`;
  return target;
}

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

const fail = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, JSON.stringify(errorBody(code, message)));

export async function startDashboard(options: DashboardServerOptions): Promise<DashboardServer> {
  const base = new URL(options.api.endsWith('/') ? options.api : `${options.api}/`);
  if (!/^https?:$/.test(base.protocol) || base.username || base.password || base.search || base.hash)
    throw new Error(`--api: "${options.api}" is not an API URL; give the stack's ApiUrl output (https://<id>.execute-api.<region>.amazonaws.com/<stage>)`);
  const ui = await dashboardFiles('signed');
  const session = options.session ?? randomBytes(24).toString('base64url');
  const pollMs = options.pollMs ?? 2000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  /** One signed call to the API; the answer comes back as it is (status, body, type). */
  async function forward(method: string, url: URL, body?: string, idempotencyKey?: string): Promise<{ status: number; body: string; type: string }> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    };
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
      // A redirect is not followed: it would carry the signed headers (and the session token) to wherever it points.
      const res = await fetch(url, {
        method,
        headers: signed,
        ...(body ? { body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const message = `the API answered ${method} ${url.pathname} with a redirect (${res.status}); the dashboard follows none, since it would carry your signature elsewhere`;
        return { status: 502, body: JSON.stringify(errorBody('bad_gateway', message)), type: 'application/json' };
      }
      return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? 'application/json' };
    } catch (error) {
      if (!(error instanceof Error && error.name === 'TimeoutError')) throw error;
      const message = `the API did not answer ${method} ${url.pathname} within ${requestTimeoutMs / 1000} s`;
      return { status: 504, body: JSON.stringify(errorBody('gateway_timeout', message)), type: 'application/json' };
    }
  }

  async function events(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let open = true;
    req.on('close', () => void (open = false));
    let sent = '';
    while (open) {
      const answer = await forward('GET', new URL(`releases/${encodeURIComponent(id)}`, base)).catch((error: unknown) => ({
        status: 0,
        body: String(error),
        type: '',
      }));
      if (answer.status !== 200) {
        res.write(`event: error\ndata: ${JSON.stringify({ status: answer.status, body: answer.body.slice(0, 500) })}\n\n`);
      } else {
        const release = JSON.parse(answer.body) as Pick<ReleaseView, 'updatedAt' | 'final'>;
        if (release.updatedAt !== sent) {
          res.write(`event: release\nid: ${release.updatedAt}\ndata: ${answer.body.replace(/\n/g, '')}\n\n`);
          sent = release.updatedAt;
        }
        if (release.final) break;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    res.end();
  }

  let port = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      // This address only: a page that rebinds its DNS name to 127.0.0.1 cannot use your credentials.
      const here = [`127.0.0.1:${port}`, `localhost:${port}`];
      const host = (req.headers.host ?? '').toLowerCase();
      if (!here.includes(host))
        return fail(res, 403, 'forbidden', `header.Host: "${req.headers.host ?? ''}" is not this dashboard; open it at http://127.0.0.1:${port}/ui`);
      // A page of another site (another port of this machine included) does not drive it either.
      const origin = req.headers.origin;
      if (origin !== undefined && !here.some((h) => origin.toLowerCase() === `http://${h}`))
        return fail(res, 403, 'forbidden', `header.Origin: "${origin}" is not this dashboard; only its own page calls it`);
      const site = req.headers['sec-fetch-site'];
      const raw = req.url ?? '/';
      const rawPath = raw.split('?')[0];
      // The page and its files, under the same Content-Security-Policy as local mode's (src/ui/page.ts).
      const asked = rawPath === '/' ? '/ui' : (rawPath ?? '');
      const file = req.method === 'GET' && Object.hasOwn(ui.files, asked) ? ui.files[asked] : undefined;
      if (file) {
        res.writeHead(200, { ...ui.headers, 'content-type': file.type });
        return void res.end(file.body);
      }
      if (site !== undefined && site !== 'same-origin' && site !== 'none')
        return fail(res, 403, 'forbidden', `header.Sec-Fetch-Site: "${String(site)}": only the dashboard's own page calls the API through it`);
      // Every other process on this machine can reach 127.0.0.1 too: only the page opened with the
      // session in its address (printed to your terminal) gets your signature.
      const given = req.headers['x-dashboard-session'];
      if (typeof given !== 'string' || given.length !== session.length || !timingSafeEqual(Buffer.from(given), Buffer.from(session)))
        return fail(
          res,
          401,
          'unauthorized',
          `header.X-Dashboard-Session: missing or wrong; open the address switchyard dashboard printed (it carries the session)`,
        );
      const events_ = /^\/releases\/([A-Za-z0-9_-]{1,80})\/events$/.exec(raw);
      if (req.method === 'GET' && events_?.[1]) return events(req, res, events_[1]);
      if (req.method !== 'GET' && req.method !== 'POST') return fail(res, 405, 'method_not_allowed', `${req.method ?? ''} is not used by the dashboard`);
      // Only the configured API, its stage, and a path no parser or signer rewrites (before any body is read).
      const target = apiTarget(base, raw);
      if (typeof target === 'string') return fail(res, 400, 'bad_path', `path: ${target}; the dashboard forwards only to ${base.origin}${base.pathname}`);
      let body: string | undefined;
      if (req.method === 'POST') {
        // A form or text/plain POST from another site is not the dashboard: only JSON goes on, signed.
        if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? ''))
          return fail(res, 415, 'unsupported_media_type', 'header.Content-Type: must be application/json');
        body = await readBody(req);
        if (body === undefined)
          return fail(res, 413, 'payload_too_large', `body: larger than ${MAX_BODY / 1024} KiB; the dashboard sends a comment of a few lines`);
      }
      const key = req.headers['idempotency-key'];
      const answer = await forward(req.method, target, body, typeof key === 'string' && /^[\x21-\x7e]{1,128}$/.test(key) ? key : undefined);
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
  ({ port } = server.address() as AddressInfo);
  return {
    url: `http://127.0.0.1:${port}/ui#session=${session}`,
    session,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
