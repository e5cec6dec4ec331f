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
const seen: { method: string; path: string; ok: boolean; reason?: string; body: string }[] = [];
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
      });
      res.setHeader('content-type', 'application/json');
      if (!verdict.ok) return res.writeHead(403).end(JSON.stringify({ message: `Forbidden: ${verdict.reason}` }));
      if (url.pathname === '/prod/hang') return; // an API that never answers
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

async function dashboard(secretAccessKey = KEY.secretAccessKey): Promise<DashboardServer> {
  return startDashboard({
    api,
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
      const services = await fetch(`${origin}/services`);
      expect(services.status).toBe(200);
      expect(await services.json()).toEqual({ services: [{ name: 'checkout-api' }] });
      const approve = await fetch(`${origin}/releases/r-1/approve`, {
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
      const res = await fetch(`${new URL(d.url).origin}/hang`);
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
      const res = await fetch(`${new URL(d.url).origin}/services`);
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
      const res = await fetch(`${origin}/releases/r-1/events`);
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
      const form = await fetch(`${origin}/releases/r-1/approve`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
      expect(form.status).toBe(415);
      // A body larger than the dashboard ever sends is refused as such, not passed on (nor called a failed API).
      const huge = await fetch(`${origin}/releases/r-1/approve`, {
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
