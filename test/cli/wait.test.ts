import { serve, type ServerType } from '@hono/node-server';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { waitForRelease } from '../../src/cli/wait.js';
import { freePort } from '../../src/adapters/local/processes.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
let server: ServerType | undefined;
afterEach(async () => {
  await h?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  h = undefined;
  server = undefined;
});

const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('switchyard wait (for CI)', () => {
  it('finds the release of a pushed digest and exits 0 when it succeeds, 1 when it rolls back', async () => {
    h = await startHarness([serviceConfig('web')]);
    const app = createApp({ releases: h.releases, store: h.store, services: h.services, clock: h.clock, authenticate: bearerAuthenticator('t') });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await h.releases.startRelease({ service: 'web', image: `web:1@${digest('a')}`, actor: { id: 'ci', channel: 'api' } });
    const lines: string[] = [];
    const ok = await waitForRelease({ api, service: 'web', digest: digest('a'), token: 't', timeoutMs: 10_000, pollMs: 20, log: (l) => lines.push(l) });
    expect(ok).toMatchObject({ exitCode: 0, phase: 'succeeded' });
    expect(lines.at(-1)).toMatch(/succeeded \(100% on the new version\)$/);

    h.metrics.errorRate.set(`web:2@${digest('b')}`, 60);
    await h.releases.startRelease({ service: 'web', image: `web:2@${digest('b')}`, actor: { id: 'ci', channel: 'api' } });
    const bad = await waitForRelease({ api, service: 'web', digest: digest('b'), token: 't', timeoutMs: 10_000, pollMs: 20 });
    expect(bad).toMatchObject({ exitCode: 1, phase: 'rolled_back', reason: expect.stringContaining('gate failed: error-rate') });

    const none = await waitForRelease({ api, service: 'web', digest: digest('c'), token: 't', timeoutMs: 100, pollMs: 20 });
    expect(none.exitCode).toBe(3);
  });

  it('signs requests with SigV4 for the IAM-authorized API when no token is given', async () => {
    let seen: IncomingHttpHeaders | undefined;
    const fake = createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'r-1', image: 'x', phase: 'succeeded', final: true }));
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session' });
    try {
      const result = await waitForRelease({
        api: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/`,
        service: 'web',
        releaseId: 'r-1',
        region: 'eu-west-1',
        timeoutMs: 5000,
      });
      expect(result.exitCode).toBe(0);
      expect(seen?.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*host.*, Signature=[a-f0-9]{64}$/,
      );
      expect(seen?.['x-amz-security-token']).toBe('session');
    } finally {
      process.env = saved;
      fake.close();
    }
  });
});

describe('switchyard wait through a flaky network', () => {
  it('keeps waiting through refused connections and 503s, and ends with the outcome', async () => {
    const port = await freePort();
    const lines: string[] = [];
    let answers = 0;
    // Nothing listens at first; then the API answers 503 twice, then the release's outcome.
    setTimeout(() => {
      const s = createServer((_req, res) => {
        answers++;
        if (answers <= 2) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'transient', message: 'try again' } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'r-1', image: 'x', phase: 'succeeded', final: true }));
      });
      s.listen(port, '127.0.0.1');
      flaky = s;
    }, 150);
    const result = await waitForRelease({
      api: `http://127.0.0.1:${port}`,
      service: 'web',
      releaseId: 'r-1',
      token: 't',
      timeoutMs: 10_000,
      pollMs: 30,
      log: (l) => lines.push(l),
    });
    expect(result).toMatchObject({ exitCode: 0, phase: 'succeeded' });
    expect(lines.some((l) => l.includes('ECONNREFUSED') && l.endsWith('retrying'))).toBe(true);
    expect(lines.some((l) => l.includes('503') && l.endsWith('retrying'))).toBe(true);
  });

  it('a refusal that will not change (401, 404) still ends the wait at once', async () => {
    const s = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'missing or wrong credentials' } }));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    flaky = s;
    await expect(
      waitForRelease({
        api: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
        service: 'web',
        releaseId: 'r-1',
        token: 'bad',
        timeoutMs: 10_000,
        pollMs: 30,
      }),
    ).rejects.toThrow('answered 401');
  });
});

let flaky: ReturnType<typeof createServer> | undefined;
afterEach(async () => {
  await new Promise((r) => (flaky ? flaky.close(r) : r(undefined)));
  flaky = undefined;
});
