import { serve, type ServerType } from '@hono/node-server';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import type { Phase } from '../../src/core/phases.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { canary, release, T0 } from '../support/releases.js';

/**
 * What an attacker's test of local mode found (one process carries production traffic there), each
 * case as a caller meets it: event streams without credentials or limits, lists by phase that read
 * every release, and a keep-alive connection broken by the body a 413 left unread.
 */

const TOKEN = 'limits-token-0123456789';
let h: Harness | undefined;
let server: ServerType | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await h?.close();
  h = undefined;
});

/** The API on a real socket, as local mode serves it (@hono/node-server with its defaults). */
async function listening(app: ReturnType<typeof createApp>): Promise<number> {
  const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  server = s;
  await new Promise<void>((resolve) => s.once('listening', () => resolve()));
  return (s.address() as AddressInfo).port;
}

interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The responses in what a server sent on one connection (Content-Length framed, as the API answers). */
function responses(raw: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (!rest.startsWith('HTTP/1.1 ') || end < 0) return out;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
}

/**
 * Writes `data` on one new connection and reads until the server closes it or has answered
 * `expected` requests; the connection is then closed by us. Errors from writing into a closed
 * connection (EPIPE, ECONNRESET) are what a client meets; they end the exchange, they are not thrown.
 */
function exchange(port: number, data: readonly (string | Buffer)[], expected: number): Promise<{ responses: RawResponse[]; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ responses: responses(received), closedByServer });
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (responses(received).length >= expected) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      for (const d of data) socket.write(d);
    });
  });
}

describe('a body too large for the API', () => {
  const post = (length: number) =>
    `POST /releases HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  const next = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

  // 72 MiB: more than @hono/node-server drains (64 MiB) after an early answer; 100 KiB: just over the 64 KiB limit.
  it.each([
    ['100 KiB', 100 * 1024],
    ['72 MiB', 72 * 1024 * 1024],
  ])('a %s body is refused with 413 and Connection: close, so no client sends its next request into a closing connection', async (_, size) => {
    h = await startHarness([serviceConfig('api')]);
    const port = await listening(
      createApp({ releases: h.releases, store: h.store, services: h.services, clock: h.clock, authenticate: bearerAuthenticator(TOKEN) }),
    );
    // Two requests on one keep-alive connection: the oversized POST, then a GET.
    const { responses: answers, closedByServer } = await exchange(port, [post(size), Buffer.alloc(size, 0x20), next], 2);
    const [refused, following] = answers;
    expect(refused?.status).toBe(413);
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({ error: { code: 'payload_too_large' } });
    // A connection the server does not close may carry the next request; one it closes must say so first.
    if (following === undefined) {
      expect(closedByServer).toBe(true);
      expect(refused?.headers['connection'], 'the 413 kept the connection alive, then the server dropped it under the next request').toBe('close');
    } else {
      expect(following.status).toBe(200);
    }
    // The client opens a new connection as told, and it works.
    const fresh = await exchange(port, [next], 1);
    expect(fresh.responses[0]?.status).toBe(200);
    expect(await h.store.list({ limit: 10 })).toEqual({ releases: [] });
  });
});

describe('lists by phase', () => {
  it('twenty lists of one phase read the releases they return, not every release of every phase', async () => {
    const dynamo = await startLocalDynamo();
    // What the store asks DynamoDB to read: the items each Query examined (ScannedCount), and any Scan.
    const reads = { items: 0, scans: 0 };
    dynamo.client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'ScanCommand') reads.scans++;
        reads.items += (out.output as { ScannedCount?: number }).ScannedCount ?? 0;
        return out;
      },
      { step: 'initialize', name: 'count-reads' },
    );
    try {
      h = await startHarness([serviceConfig('api')], { dynamo });
      // 300 releases of history, three of them waiting for a person.
      const waiting: string[] = [];
      for (let i = 0; i < 300; i++) {
        const phase: Phase = i % 100 === 50 ? 'awaiting_approval' : 'succeeded';
        const r = { ...release(canary, { id: `r-history-${i}` }), service: 'api', phase, createdAt: new Date(T0 + i * 1000).toISOString() };
        await h.store.create(r);
        if (phase === 'awaiting_approval') waiting.unshift(r.id);
      }
      const app = createApp({ releases: h.releases, store: h.store, services: h.services, clock: h.clock, authenticate: bearerAuthenticator(TOKEN) });
      reads.items = 0;
      for (let i = 0; i < 20; i++) {
        const res = await app.request('/releases?phase=awaiting_approval&limit=20');
        expect(res.status).toBe(200);
        expect(((await res.json()) as { releases: { id: string }[] }).releases.map((r) => r.id)).toEqual(waiting);
      }
      // Before the byPhase index each list read all 300 releases (6000 in all); now each reads its 3.
      expect(reads).toEqual({ items: 20 * waiting.length, scans: 0 });
    } finally {
      await h?.close();
      h = undefined;
      await dynamo.close();
    }
  });
});
