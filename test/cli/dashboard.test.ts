import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type DashboardServer } from '../../src/cli/dashboard-server.js';
import { verifySigV4 } from '../support/sigv4-verifier.js';

/**
 * `switchyard dashboard`: a stand-in for the IAM-authorized API Gateway that verifies every request's
 * SigV4 signature independently (test/support/sigv4-verifier.ts, node:crypto only) and answers like
 * the API; the dashboard server in front of it signs with the credentials it is given.
 */
const KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
let standIn: Server;
let api: string;
const seen: { method: string; path: string; ok: boolean; reason?: string; body: string; idempotencyKey?: string }[] = [];
let redirectTo = 'http://127.0.0.1:1/';
let release = { id: 'r-1', service: 'checkout-api', phase: 'baking', updatedAt: '2026-11-26T00:00:00.000Z', traffic: { candidate: 10, stable: 90 } };

beforeAll(async () => {
  standIn = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = Buffer.concat(chunks).toString('utf8');
      const verdict = verifySigV4(
        { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body },
        { [KEY.accessKeyId]: KEY.secretAccessKey },
        { region: 'eu-west-1', service: 'execute-api' },
      );
      seen.push({
        method: req.method ?? '',
        path: `${url.pathname}${url.search}`,
        ok: verdict.ok,
        ...(verdict.reason ? { reason: verdict.reason } : {}),
        body,
        ...(typeof req.headers['idempotency-key'] === 'string' ? { idempotencyKey: req.headers['idempotency-key'] } : {}),
      });
      res.setHeader('content-type', 'application/json');
      if (!verdict.ok) return res.writeHead(403).end(JSON.stringify({ message: `Forbidden: ${verdict.reason}` }));
      if (url.pathname === '/prod/hang') return; // an API that never answers
      if (url.pathname === '/prod/moved') return res.writeHead(307, { location: redirectTo }).end('{}');
      if (url.pathname === '/prod/services') return res.end(JSON.stringify({ services: [{ name: 'checkout-api' }] }));
      if (url.pathname === '/prod/releases/r-1') return res.end(JSON.stringify(release));
      if (url.pathname === '/prod/releases/r-1/approve' && req.method === 'POST')
        return res.end(JSON.stringify({ ...release, approved: JSON.parse(body) as unknown }));
      res.writeHead(404).end(JSON.stringify({ error: { code: 'not_found', message: 'no such route' } }));
    });
  });
  await new Promise<void>((r) => standIn.listen(0, '127.0.0.1', () => r()));
  api = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}/prod`;
});
afterAll(async () => new Promise<void>((r) => standIn.close(() => r())));

/** The session the page shows on every call (the dashboard prints it in the page's address). */
const SESSION = 'test-session-0123456789abcdef';
/** A call as the dashboard's own page makes it: with the session. */
const call = (url: string, init: RequestInit = {}) =>
  fetch(url, { ...init, headers: { 'x-dashboard-session': SESSION, ...((init.headers as Record<string, string> | undefined) ?? {}) } });

async function dashboard(secretAccessKey = KEY.secretAccessKey): Promise<DashboardServer> {
  return startDashboard({
    api,
    session: SESSION,
    region: 'eu-west-1',
    port: 0,
    pollMs: 50,
    requestTimeoutMs: 300,
    credentials: async () => ({ accessKeyId: KEY.accessKeyId, secretAccessKey }),
  });
}

describe('switchyard dashboard: the page locally, its API calls signed with your AWS credentials', () => {
  it('serves the page (no token asked: requests are signed) and forwards reads and steers with a valid SigV4 signature', async () => {
    const d = await dashboard();
    try {
      const page = await (await fetch(d.url)).text();
      expect(page).toMatch(/<meta name="switchyard-auth" content="signed"/);
      const origin = new URL(d.url).origin;
      // The page and its files come with the same policy as local mode's: no inline script or style.
      for (const path of ['/ui', '/ui/dashboard.js', '/ui/dashboard.css']) {
        const res = await fetch(`${origin}${path}`);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
        expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      }
      const services = await call(`${origin}/services`);
      expect(services.status).toBe(200);
      expect(await services.json()).toEqual({ services: [{ name: 'checkout-api' }] });
      const approve = await call(`${origin}/releases/r-1/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ comment: 'ship it' }),
      });
      expect(approve.status).toBe(200);
      expect(((await approve.json()) as { approved: unknown }).approved).toEqual({ comment: 'ship it' });
      expect(seen.filter((s) => s.path === '/prod/services' || s.path === '/prod/releases/r-1/approve').every((s) => s.ok)).toBe(true);
      expect(seen.find((s) => s.method === 'POST')?.body).toBe('{"comment":"ship it"}');
    } finally {
      await d.close();
    }
  });

  it('an API that hangs gets a 504 with the reason, not a page that waits for ever', async () => {
    const d = await dashboard();
    try {
      const started = Date.now();
      const res = await call(`${new URL(d.url).origin}/hang`);
      expect(res.status).toBe(504);
      expect(await res.text()).toContain('the API did not answer GET /prod/hang within 0.3 s');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await d.close();
    }
  });

  it('the stand-in tells a wrong signature apart: the API’s refusal reaches the page as it is', async () => {
    const d = await dashboard('not-the-secret');
    try {
      const res = await call(`${new URL(d.url).origin}/services`);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('signature does not match');
    } finally {
      await d.close();
    }
  });

  it('a release is live over server-sent events made from the API (API Gateway does not stream); other sites and forms are refused', async () => {
    const d = await dashboard();
    const origin = new URL(d.url).origin;
    try {
      const res = await call(`${origin}/releases/r-1/events`);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('"phase":"baking"')) text += (await reader.read()).value ?? '';
      release = { ...release, phase: 'succeeded', updatedAt: '2026-11-26T00:01:00.000Z', traffic: { candidate: 100, stable: 0 } };
      while (!text.includes('"phase":"succeeded"')) text += (await reader.read()).value ?? '';
      expect(text.match(/event: release/g)?.length).toBe(2);
      await reader.cancel();
      // DNS rebinding: another name for 127.0.0.1 is not this dashboard.
      const { request } = await import('node:http');
      const status = await new Promise<number>((resolve) =>
        request(`${origin}/services`, { headers: { host: 'evil.example:80' } }, (r) => resolve(r.statusCode ?? 0)).end(),
      );
      expect(status).toBe(403);
      const form = await call(`${origin}/releases/r-1/approve`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
      expect(form.status).toBe(415);
      // A body larger than the dashboard ever sends is refused as such, not passed on (nor called a failed API).
      const huge = await call(`${origin}/releases/r-1/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ comment: 'x'.repeat(100 * 1024) }),
      });
      expect(huge.status).toBe(413);
      expect(((await huge.json()) as { error: { message: string } }).error.message).toMatch(/^body: larger than 64 KiB/);
    } finally {
      await d.close();
    }
  });
});

/**
 * The request-target exactly as written (node:net: fetch and http.request would normalise it), and
 * the answer's status and body. `headers` replace the defaults (Host is this dashboard's).
 */
async function raw(origin: string, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
  const { connect } = await import('node:net');
  const { hostname, port } = new URL(origin);
  const all: Record<string, string> = { host: `${hostname}:${port}`, connection: 'close', 'x-dashboard-session': SESSION, ...headers };
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `${method} ${target} HTTP/1.1\r\n${Object.entries(all)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n`,
      );
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('switchyard dashboard signs only for the configured API and its stage, and only for its own page', () => {
  let attacker: Server;
  let evil: string;
  const stolen: string[] = [];
  beforeAll(async () => {
    attacker = createServer((req, res) => {
      stolen.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers.authorization ?? ''}`);
      res.end('{}');
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
    evil = `127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((r) => attacker.close(() => r())));

  const hostile = (): string[] => [
    `/.///${evil}/steal`,
    `/./\\${evil}/steal`,
    `/..//${evil}/steal`,
    `//${evil}/steal`,
    `///${evil}/steal`,
    `/\\\\${evil}/steal`,
    `/\\${evil}/steal`,
    `/%2e//${evil}/steal`,
    `/%2E%2E//${evil}/steal`,
    `/%5c%5c${evil}/steal`,
    `/%5C${evil}/steal`,
    `/%2f%2f${evil}/steal`,
    `/%2F${evil}/steal`,
    `/%252f%252f${evil}/steal`,
    `/%25252e%25252e/steal`,
    `http://${evil}/steal`,
    `HTTP://${evil}/prod/services`,
    `http:\\\\${evil}/steal`,
    `/../other-stage/services`,
    `/services/../../other-stage/services`,
    `/%2e%2e/other-stage/services`,
    `/.%2e/other-stage/services`,
    `/%2e./other-stage/services`,
    `/releases/%2e%2e%2f%2e%2e%2fother-stage%2fservices`,
    `/releases/r-1/..%2f..%2f..%2fother-stage/approve`,
    `/releases/%252e%252e/services`,
    `/./services`,
    `/services/.`,
    `/services//`,
    `/services/`,
    `/services/%00`,
    `/services#/../../x`,
    `*`,
  ];

  it('a hostile path is a 400 that names the path; neither another host nor another stage receives anything', async () => {
    const d = await dashboard();
    const origin = new URL(d.url).origin;
    const before = seen.length;
    stolen.length = 0;
    try {
      for (const target of hostile()) {
        const get = await raw(origin, target);
        expect({ target, status: get.status }).toEqual({ target, status: 400 });
        // Node's own parser refuses `http:\\…` before the dashboard sees it (a 400 with no body).
        if (!target.startsWith('http:\\'))
          expect({ target, body: get.body }).toMatchObject({
            target,
            body: expect.stringMatching(/"path: .*the dashboard forwards only to http:\/\/127\.0\.0\.1:\d+\/prod\/"/),
          });
        const post = await raw(origin, target, { 'content-type': 'application/json', 'content-length': '2' }, 'POST');
        expect({ target, status: post.status }).toEqual({ target, status: 400 });
      }
      expect(stolen).toEqual([]);
      expect(seen.slice(before)).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('a redirect from the API is not followed: the signature and session token go nowhere else', async () => {
    const d = await dashboard();
    const origin = new URL(d.url).origin;
    stolen.length = 0;
    try {
      for (const to of [`http://${evil}/steal`, '/other-stage/services']) {
        redirectTo = to;
        const res = await raw(origin, '/moved');
        expect(res.status).toBe(502);
        expect(res.body).toContain('with a redirect (307); the dashboard follows none');
      }
      expect(stolen).toEqual([]);
      expect(seen.filter((s) => s.path.startsWith('/other-stage'))).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('a normal path goes to the API under its stage, signed with a signature the API accepts', async () => {
    const d = await dashboard();
    const origin = new URL(d.url).origin;
    const before = seen.length;
    stolen.length = 0;
    try {
      const services = await raw(origin, '/services');
      expect(services.status).toBe(200);
      expect(services.body).toContain(JSON.stringify({ services: [{ name: 'checkout-api' }] }));
      const list = await raw(origin, '/releases?service=checkout-api&phase=baking');
      expect(list.status).toBe(404); // the stand-in has no list route: what matters is where it went and how
      const one = await raw(origin, '/releases/r-1');
      expect(one.status).toBe(200);
      expect(seen.slice(before).map((s) => [s.method, s.path, s.ok])).toEqual([
        ['GET', '/prod/services', true],
        ['GET', '/prod/releases?service=checkout-api&phase=baking', true],
        ['GET', '/prod/releases/r-1', true],
      ]);
      expect(stolen).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('another process on this machine, without the session the page was opened with, gets 401 and signs nothing; the page’s idempotency key goes on', async () => {
    const d = await dashboard();
    const origin = new URL(d.url).origin;
    const before = seen.length;
    try {
      expect(d.url).toBe(`${origin}/ui#session=${SESSION}`);
      for (const headers of <Record<string, string>[]>[{ 'x-dashboard-session': '' }, { 'x-dashboard-session': 'test-session-0123456789abcdeX' }]) {
        expect((await raw(origin, '/services', headers)).status).toBe(401);
        expect((await raw(origin, '/releases/r-1/approve', { ...headers, 'content-type': 'application/json', 'content-length': '2' }, 'POST')).status).toBe(
          401,
        );
      }
      expect(seen.length).toBe(before);
      // The page itself needs no session: it holds nothing until the address gives it one.
      expect((await fetch(`${origin}/ui`)).status).toBe(200);
      const approve = await call(`${origin}/releases/r-1/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'page-key-1' },
        body: '{}',
      });
      expect(approve.status).toBe(200);
      expect(seen.at(-1)).toMatchObject({ path: '/prod/releases/r-1/approve', ok: true, idempotencyKey: 'page-key-1' });
    } finally {
      await d.close();
    }
  });

  it('another site’s page cannot drive it: Host must be this address, Origin this page, Sec-Fetch-Site not another site', async () => {
    const d = await dashboard();
    const origin = new URL(d.url).origin;
    const { port } = new URL(origin);
    const before = seen.length;
    stolen.length = 0;
    try {
      for (const headers of <Record<string, string>[]>[
        { host: 'evil.example' },
        { host: `evil.example:${port}` },
        { host: '127.0.0.1:1' },
        { host: `127.0.0.2:${port}` },
        { host: `[::1]:${port}` },
        { origin: 'http://evil.example' },
        { origin: `http://evil.example:${port}` },
        { origin: 'http://127.0.0.1:1' },
        { origin: 'null' },
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
      ]) {
        const res = await raw(origin, '/services', headers);
        expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
      }
      expect(seen.slice(before)).toEqual([]);
      // Its own page, at either local name, goes through.
      expect((await raw(origin, '/services', { origin, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
      expect((await raw(origin, '/services', { host: `localhost:${port}`, origin: `http://localhost:${port}` })).status).toBe(200);
    } finally {
      await d.close();
    }
  });
});
