import { serve, type ServerType } from '@hono/node-server';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { createApp, type AppDeps } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { openApiDocument } from '../../src/api/openapi.js';
import type { Phase } from '../../src/core/phases.js';
import { notifyingStore } from '../../src/engine/notifying-store.js';
import type { ReleaseChanges, Store } from '../../src/ports/release-store.js';
import { eventually } from '../support/poll.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { canary, release, T0 } from '../support/releases.js';

/**
 * What an attacker's test of local mode found (when one process carried the API and production
 * traffic), each case as a caller meets it: event streams without credentials or limits, lists by
 * phase that read every release, and a keep-alive connection broken by the body a 413 left unread.
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
      console.log(
        `lists by phase: 20 lists of the 3 releases waiting for approval read ${reads.items} items of the 300 stored (6000 before the byPhase index)`,
      );
    } finally {
      await h?.close();
      h = undefined;
      await dynamo.close();
    }
  });
});

/** One server-sent event as a caller parses it; a comment line (a heartbeat) has only `comment`. */
interface Sse {
  readonly event?: string;
  readonly data?: string;
  readonly id?: string;
  readonly comment?: string;
}

/** An event stream as its reader sees it: the events so far, whether it ended, and a way to close it. */
class EventStream {
  readonly events: Sse[] = [];
  ended = false;
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<string>;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Reads until `predicate` holds for the events, or the stream ends (then it must hold). */
  async until(predicate: (events: readonly Sse[]) => boolean): Promise<readonly Sse[]> {
    while (!predicate(this.events) && !this.ended) {
      const { value, done } = await this.reader.read();
      if (done) this.ended = true;
      this.buffer += value ?? '';
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, end).split('\n');
        this.buffer = this.buffer.slice(end + 2);
        const field = (name: string) => block.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trimStart());
        const comment = block.find((l) => l.startsWith(':'));
        this.events.push(
          comment !== undefined ? { comment: comment.slice(1).trim() } : { event: field('event')[0], data: field('data').join('\n'), id: field('id')[0] },
        );
      }
    }
    expect(predicate(this.events), `the stream ended after ${JSON.stringify(this.events.map((e) => e.comment ?? e.event))}`).toBe(true);
    return this.events;
  }

  /** Reads until the server ends the stream. */
  async end(): Promise<readonly Sse[]> {
    await this.until(() => this.ended);
    return this.events;
  }

  /** The phases of the release events so far. */
  phases(): string[] {
    return this.events.filter((e) => e.event === 'release').map((e) => (JSON.parse(e.data ?? '{}') as { phase: string }).phase);
  }

  /** The reader leaves, as a closed tab does. */
  async close(): Promise<void> {
    await this.reader.cancel();
  }
}

const PEOPLE = Array.from({ length: 30 }, (_, i) => [`person-${i}-token-0123456789`, `person-${i}`] as const);

describe('event streams', () => {
  /** A release waiting for approval, and the API over it; `deps` adds or replaces what the test needs. */
  async function waiting(deps: (store: Store & ReleaseChanges) => Partial<AppDeps> = () => ({})) {
    let fed: (Store & ReleaseChanges) | undefined;
    h = await startHarness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })], {
      wrapStore: (store) => (fed = notifyingStore(store)),
    });
    const harness = h;
    if (!fed) throw new Error('the harness did not wrap its store');
    const store = fed;
    const { release } = await harness.releases.startRelease({ service: 'api', image: 'api:2', actor: { id: 'ci', channel: 'api' } });
    await harness.until(release.id, (r) => r.phase === 'awaiting_approval');
    const app = createApp({
      releases: harness.releases,
      store,
      services: harness.services,
      clock: harness.clock,
      authenticate: bearerAuthenticator(TOKEN, { personTokens: new Map(PEOPLE) }),
      changes: store,
      ...deps(store),
    });
    const open = async (token: string | null = TOKEN, headers: Record<string, string> = {}) => {
      const res = await app.request(`/releases/${release.id}/events`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
      const body = res.headers.get('content-type')?.startsWith('application/json')
        ? ((await res.json()) as { error: { code: string; message: string } })
        : undefined;
      return { res, error: body?.error, stream: res.ok && res.body ? new EventStream(res.body) : undefined };
    };
    /** Opens a stream that must be accepted, and reads its first event. */
    const accepted = async (token: string = TOKEN) => {
      const { res, error, stream } = await open(token);
      expect(res.status, JSON.stringify(error)).toBe(200);
      if (!stream) throw new Error('no stream');
      await stream.until((events) => events.some((e) => e.event === 'release'));
      return stream;
    };
    return { app, release, store, open, accepted, harness };
  }

  it('needs credentials: no token or a wrong one is 401 and holds nothing open; the token opens it', async () => {
    const { open } = await waiting();
    for (const token of [null, 'wrong-token']) {
      const { res, error, stream } = await open(token);
      expect(res.status).toBe(401);
      expect(error?.code).toBe('unauthorized');
      expect(stream).toBeUndefined();
    }
    const { res, stream } = await open();
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await stream?.until((events) => events.length > 0)).toMatchObject([{ event: 'release' }]);
    expect(stream?.phases()).toEqual(['awaiting_approval']);
    await stream?.close();
  });

  it('a client holds at most 4: the fifth is 429 too_many_streams naming the limit, whatever label it adds; others still get theirs; closing one makes room', async () => {
    const { open, accepted } = await waiting();
    const mine = [await accepted(), await accepted(), await accepted(), await accepted()];
    for (const headers of [{}, { 'x-switchyard-actor': 'someone-else' }] as Record<string, string>[]) {
      const fifth = await open(TOKEN, headers);
      expect(fifth.res.status).toBe(429);
      expect(fifth.error?.code).toBe('too_many_streams');
      expect(fifth.error?.message).toMatch(/already has 4 open event streams, the most one client may hold \(4\); close one/);
    }
    // Another person's token is another client.
    const theirs = await accepted(PEOPLE[0]?.[0]);
    await mine[0]?.close();
    const again = await accepted();
    for (const s of [...mine.slice(1), theirs, again]) await s.close();
  });

  it('the server holds at most 100 in all: the 101st is 503 stream_capacity with Retry-After, naming the limit; a stream that ends makes room', async () => {
    const { open, accepted } = await waiting();
    const streams: EventStream[] = [];
    for (const [token] of PEOPLE.slice(0, 25)) for (let i = 0; i < 4; i++) streams.push(await accepted(token));
    const refused = await open(PEOPLE[25]?.[0]);
    expect(refused.res.status).toBe(503);
    expect(refused.res.headers.get('retry-after')).toBe('60');
    expect(refused.error?.code).toBe('stream_capacity');
    expect(refused.error?.message).toMatch(/the server has 100 open event streams, the most it serves \(100\); retry in a minute/);
    await streams.pop()?.close();
    streams.push(await accepted(PEOPLE[25]?.[0]));
    for (const s of streams) await s.close();
  });

  it('the limits and their answers are in the OpenAPI document', () => {
    const events = (openApiDocument() as { paths: Record<string, { get: { security?: unknown[]; responses: Record<string, unknown> } }> }).paths[
      '/releases/{id}/events'
    ]?.get;
    expect(Object.keys(events?.responses ?? {}).sort()).toEqual(['200', '400', '401', '404', '429', '503']);
    expect(events?.security?.length).toBeGreaterThan(0);
  });

  it('200 streams of one release cost no store read per change: one subscription feeds them all, and each ends with the release', async () => {
    let reads = 0;
    const { accepted, harness, release } = await waiting((store) => ({
      // The store the API reads, counting: the streams' reads are all there is here.
      store: Object.assign(Object.create(store) as Store, { get: (id: string) => (reads++, store.get(id)) }),
      eventStreams: { perClient: 200, total: 200 },
    }));
    const streams: EventStream[] = [];
    for (let i = 0; i < 200; i++) streams.push(await accepted());
    // Opening them read the release once; every later stream of it started from the view already made.
    expect(reads).toBe(1);
    let writes = 0;
    const stop = (harness.deps.store as Store & ReleaseChanges).watchReleases(() => writes++);
    await harness.releases.act(release.id, 'approve', { id: 'bob', channel: 'api' });
    // Each stream ends by itself once the release has: its last event is the release as it ended.
    for (const s of streams) await s.end();
    stop();
    expect(writes).toBeGreaterThan(3);
    expect(reads).toBe(1);
    console.log(`event streams: 200 streams of one release followed ${writes} changes to its end with ${reads} store read in all`);
    for (const s of streams) expect(s.phases().at(-1)).toBe('succeeded');
  });

  it('without a change feed (AWS), one read per interval serves every stream of a release, not one read per stream', async () => {
    let reads = 0;
    const pollMs = 50;
    const { accepted, harness, release } = await waiting((store) => ({
      store: Object.assign(Object.create(store) as Store, { get: (id: string) => (reads++, store.get(id)) }),
      changes: undefined,
      eventStreams: { perClient: 200, total: 200, pollMs },
    }));
    const streams: EventStream[] = [];
    for (let i = 0; i < 200; i++) streams.push(await accepted());
    reads = 0;
    const started = Date.now();
    await harness.releases.act(release.id, 'approve', { id: 'bob', channel: 'api' });
    for (const s of streams) await s.end();
    for (const s of streams) expect(s.phases().at(-1)).toBe('succeeded');
    // One poller waits pollMs after each read: it cannot have read more often than this, however slow the machine.
    const bound = Math.floor((Date.now() - started) / pollMs) + 2;
    expect(reads).toBeLessThanOrEqual(bound);
    expect(reads).toBeGreaterThan(0);
    console.log(
      `event streams without a change feed: 200 streams of one release cost ${reads} reads in ${Date.now() - started} ms (one per ${pollMs} ms at most)`,
    );
  });

  it('a quiet stream still gets a comment line now and then, so proxies keep it open', async () => {
    const { accepted } = await waiting(() => ({ eventStreams: { heartbeatMs: 20 } }));
    const stream = await accepted();
    expect(await stream.until((events) => events.some((e) => e.comment !== undefined))).toContainEqual({ comment: 'still here' });
    await stream.close();
  });

  it('over a real socket, a reader that leaves gives its place back', async () => {
    const { app, release } = await waiting(() => ({ eventStreams: { perClient: 1 } }));
    const port = await listening(app);
    const get = (signal?: AbortSignal) =>
      fetch(`http://127.0.0.1:${port}/releases/${release.id}/events`, { headers: { authorization: `Bearer ${TOKEN}` }, ...(signal ? { signal } : {}) });
    const leaving = new AbortController();
    const first = await get(leaving.signal);
    expect(first.status).toBe(200);
    expect((await get()).status).toBe(429);
    leaving.abort();
    // The server learns of the closed connection when its socket closes: wait for that, not for a time.
    const next = await eventually(
      () => get(),
      (res) => res.status === 200,
    );
    await next.body?.cancel();
  });
});
