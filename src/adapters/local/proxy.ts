import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { VersionMetrics } from './version-metrics.js';
import type { ProxyHealth, Router } from './router.js';
import { poll } from '../../ports/clock.js';

export interface Backend {
  readonly id: string;
  readonly version: string;
  readonly port: number;
  readonly origin: string;
  draining: boolean;
  inflight: number;
}

export interface ProxyOptions {
  readonly name: string;
  /** Production route: weighted across versions. 0 picks a free port (tests). */
  readonly port: number;
  /** Test route: the candidate version only. */
  readonly testPort?: number;
  readonly host?: string;
  /**
   * The idle timeout towards backends, with the ALB's semantics (its connection idle timeout, 60 s by
   * default): how long a backend may send nothing while the proxy waits on it, before its response
   * headers, between two chunks of its body, and on an established upgrade (WebSocket) tunnel. A request
   * it ends is a 504 of that version; a body slow but steady is never cut. @default 60 s (the ALB's default)
   */
  readonly upstreamTimeoutMs?: number;
}

/** Status recorded for a request its client gave up on before the answer was complete (the ALB's 460). */
export const CLIENT_CLOSED = 460;

export type { ProxyHealth } from './router.js';

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const MAX_ATTEMPTS = 3;
const MAX_SOCKETS_PER_BACKEND = 256;
const DESCRIPTOR_ERRORS: ReadonlySet<string | undefined> = new Set(['EMFILE', 'ENFILE']);
/** What an upgrading client may send before the backend's answer is kept for it, at most. */
const MAX_EARLY_BYTES = 64 * 1024;
/** The idle sweep runs this often at most; a timeout fires within one period after it is due. */
const MAX_SWEEP_MS = 1000;

/** How far an exchange with a backend has gone. */
const Phase = { waiting: 0, streaming: 1, settled: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** What an exchange needs of its proxy: created once per proxy, so a request allocates no closures. */
interface Host {
  readonly metrics: VersionMetrics;
  readonly timeoutMs: number;
  /** Exchanges waiting on a backend or streaming its body: what the idle sweep looks at. */
  readonly active: ActiveExchanges;
  pick(test: boolean, exclude: ReadonlySet<string> | undefined, avoidVersion?: string): Backend | undefined;
  pool(backend: Backend): Pool;
  proxyError(): void;
  descriptorError(): void;
}

/**
 * The exchanges in flight, as a list threaded through them. Not a Set: a Set that takes in and lets go of
 * one short-lived object per request made V8's young-generation collections about four times as costly
 * (measured: 20,000 requests, 120 ms of scavenges against 30 ms), as much CPU as all the proxy's own code.
 */
class ActiveExchanges {
  first: Exchange | undefined;

  add(exchange: Exchange): void {
    exchange.prev = undefined;
    exchange.next = this.first;
    if (this.first) this.first.prev = exchange;
    this.first = exchange;
  }

  remove(exchange: Exchange): void {
    if (exchange.prev) exchange.prev.next = exchange.next;
    else if (this.first === exchange) this.first = exchange.next;
    if (exchange.next) exchange.next.prev = exchange.prev;
    exchange.prev = undefined;
    exchange.next = undefined;
  }
}

const kExchange = Symbol('exchange');
/** A client's response, with the exchange currently answering it (one listener function serves all). */
type TrackedResponse = ServerResponse & { [kExchange]?: Exchange };

/**
 * The built-in reverse proxy of local mode. The production route splits requests across versions
 * by weight; the test route sends them to the candidate only. A request that cannot reach a
 * draining or dying backend is retried on another one when that is safe: it is GET/HEAD, or
 * nothing of it was sent. Per-version metrics feed the local gates: a request counts once its
 * answer has ended (see `Exchange`), so the gates see what clients saw.
 */
export class WeightedProxy implements Router {
  readonly metrics = new VersionMetrics();
  private backends: Backend[] = [];
  private weights = new Map<string, number>();
  private totalWeight = 0;
  private testVersion: string | undefined;
  /** One connection pool per backend: at most 256 sockets each, kept alive, so one slow backend cannot take another's. */
  private readonly pools = new Map<string, Pool>();
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly upgraded = new Set<Duplex>();
  private readonly active = new ActiveExchanges();
  private rr = 0;
  /** Requests the proxy could not deliver anywhere (answered 502/503/504 by the proxy itself). */
  proxyErrors = 0;
  productionPort = 0;
  testPortBound: number | undefined;
  private descriptorErrors = 0;
  private lastDescriptorErrorAt: number | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  private readonly timeoutMs: number;
  private readonly host: Host;

  constructor(private readonly options: ProxyOptions) {
    this.timeoutMs = options.upstreamTimeoutMs ?? 60_000;
    this.host = {
      metrics: this.metrics,
      timeoutMs: this.timeoutMs,
      active: this.active,
      pick: (test, exclude, avoidVersion) => this.pick(test, exclude, avoidVersion),
      pool: (backend) => this.pool(backend),
      proxyError: () => void this.proxyErrors++,
      descriptorError: () => this.descriptorError(),
    };
  }

  async start(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    this.productionPort = await this.listen(this.options.port, host, false);
    if (this.options.testPort !== undefined) this.testPortBound = await this.listen(this.options.testPort, host, true);
    this.startSweeper();
  }

  /** What the proxy knows of its own health (see ProxyHealth), for the caller's /healthz. */
  health(): ProxyHealth {
    return { descriptorErrors: this.descriptorErrors, lastDescriptorErrorAt: this.lastDescriptorErrorAt, connections: this.sockets.size };
  }

  private descriptorError(): void {
    this.descriptorErrors++;
    this.lastDescriptorErrorAt = Date.now();
  }

  /**
   * One timer for every exchange instead of one per request: each period, an exchange that saw no
   * activity (a chunk either way) since the last one counts an idle period; enough of them in a row and
   * it times out. It fires between `timeoutMs` and one period later (at most 1 s, a quarter of short timeouts).
   */
  private startSweeper(): void {
    if (this.sweeper) return;
    const period = Math.min(MAX_SWEEP_MS, Math.max(1, Math.floor(this.timeoutMs / 4)));
    const idlePeriods = Math.ceil(this.timeoutMs / period);
    this.sweeper = setInterval(() => {
      for (let exchange = this.active.first; exchange !== undefined;) {
        const next = exchange.next; // a timeout takes the exchange off the list
        if (exchange.busy) {
          exchange.busy = false;
          exchange.idle = 0;
        } else if (++exchange.idle >= idlePeriods) exchange.timeout();
        exchange = next;
      }
    }, period);
    this.sweeper.unref();
  }

  private listen(port: number, host: string, test: boolean): Promise<number> {
    // The port the client connected to, for X-Forwarded-Port: known once listening.
    let bound = '';
    const server = createServer((req, res) => this.handle(req, res, test, bound));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, test, bound));
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      const refused = (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`port ${port} on ${host} is already in use (service ${this.options.name}); stop what uses it or change the port in the config`)
            : error,
        );
      server.once('error', refused);
      server.listen(port, host, () => {
        server.off('error', refused);
        // Once listening, a server 'error' is a failed accept (libuv goes on listening): EMFILE/ENFILE are the
        // descriptor limit, for health(); another (ECONNABORTED, ENOBUFS) concerns one connection. Without a
        // listener Node would end the whole process on it.
        server.on('error', (error: NodeJS.ErrnoException) => {
          if (DESCRIPTOR_ERRORS.has(error.code)) this.descriptorError();
        });
        const address = server.address() as AddressInfo;
        bound = String(address.port);
        resolve(address.port);
      });
    });
  }

  addBackend(backend: Omit<Backend, 'draining' | 'inflight' | 'origin'>): void {
    this.backends.push({ ...backend, origin: `http://127.0.0.1:${backend.port}`, draining: false, inflight: 0 });
  }

  private closePool(id: string): void {
    const pool = this.pools.get(id);
    this.pools.delete(id);
    // In-flight requests finish first (close waits for them); nothing new is sent to it.
    void pool?.close().catch(() => undefined);
  }

  /** Stops routing new requests to a version; in-flight requests carry on. */
  drain(version: string): void {
    for (const b of this.backends) if (b.version === version) b.draining = true;
  }

  /** Stops routing new requests to one backend (a replica being replaced); its in-flight requests carry on. */
  drainBackend(id: string): void {
    for (const b of this.backends) if (b.id === id) b.draining = true;
  }

  /** Resolves when the backends' in-flight requests have finished, or after `timeoutMs`. */
  async waitBackendsIdle(ids: readonly string[], timeoutMs: number): Promise<boolean> {
    return this.until((b) => ids.includes(b.id), timeoutMs);
  }

  /** Resolves when the version's in-flight requests have finished, or after `timeoutMs`. */
  async waitIdle(version: string, timeoutMs: number): Promise<boolean> {
    return this.until((b) => b.version === version, timeoutMs);
  }

  private async until(which: (b: Backend) => boolean, timeoutMs: number): Promise<boolean> {
    const idle = () => (this.backends.some((b) => which(b) && b.inflight > 0) ? undefined : true);
    return (await poll(idle, { withinMs: timeoutMs, everyMs: 10 })) ?? false;
  }

  removeBackend(id: string): void {
    this.backends = this.backends.filter((b) => b.id !== id);
    this.closePool(id);
  }

  removeVersion(version: string): void {
    for (const b of this.backends) if (b.version === version) this.closePool(b.id);
    this.backends = this.backends.filter((b) => b.version !== version);
    this.weights.delete(version);
    if (this.testVersion === version) this.testVersion = undefined;
  }

  /** Sets production weights (percent per version, summing to 100). */
  setWeights(weights: Record<string, number>): void {
    this.weights = new Map(Object.entries(weights).filter(([, w]) => w > 0));
    this.totalWeight = [...this.weights.values()].reduce((a, b) => a + b, 0);
  }

  weightOf(version: string): number {
    return this.weights.get(version) ?? 0;
  }

  setTestVersion(version: string | undefined): void {
    this.testVersion = version;
  }

  inflight(version: string): number {
    return this.backends.filter((b) => b.version === version).reduce((n, b) => n + b.inflight, 0);
  }

  private pool(backend: Backend): Pool {
    let pool = this.pools.get(backend.id);
    if (!pool) {
      pool = new Pool(backend.origin, { connections: MAX_SOCKETS_PER_BACKEND, keepAliveTimeout: 4_000, pipelining: 1 });
      this.pools.set(backend.id, pool);
    }
    return pool;
  }

  private pick(test: boolean, exclude: ReadonlySet<string> | undefined, avoidVersion?: string): Backend | undefined {
    // The common case allocates nothing: one weighted draw, one backend of that version.
    const chosen = test ? this.testVersion : this.draw();
    if (chosen === undefined) return undefined;
    if (avoidVersion !== chosen) {
      const backend = this.liveOne(chosen, exclude);
      if (backend || test) return backend;
    }
    // A retry prefers another version: the chosen one may be the one dying.
    for (const version of this.weights.keys()) {
      if (version === chosen) continue;
      const backend = this.liveOne(version, exclude);
      if (backend) return backend;
    }
    return this.liveOne(chosen, exclude);
  }

  /** A version by weight. */
  private draw(): string | undefined {
    let r = Math.random() * this.totalWeight;
    let last: string | undefined;
    for (const [version, weight] of this.weights) {
      last = version;
      if ((r -= weight) < 0) return version;
    }
    return last;
  }

  /** One live backend of the version, round robin, skipping the excluded ones. */
  private liveOne(version: string, exclude: ReadonlySet<string> | undefined): Backend | undefined {
    const backends = this.backends;
    const n = backends.length;
    for (let i = 0; i < n; i++) {
      const b = backends[(this.rr + i) % n]!;
      if (b.version === version && !b.draining && !(exclude?.has(b.id) ?? false)) {
        this.rr = (this.rr + i + 1) % n;
        return b;
      }
    }
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse, test: boolean, port: string): void {
    const forwarded = forwardHeaders(req, port);
    const exchange = new Exchange(this.host, req, res, test, forwarded.headers, forwarded.withBody, 0, undefined, undefined);
    (res as TrackedResponse)[kExchange] = exchange;
    res.on('close', onResponseClose);
    exchange.dispatch(undefined);
  }

  /**
   * Protocol upgrades (WebSocket) pass through to one backend, chosen like any request, with the same
   * rules as a plain request: the backend's answer to the upgrade must come within the upstream timeout
   * (else 504, counted against its version); a client that leaves before it takes the upstream request with
   * it; an established tunnel ends when either side closes, errs or both sit idle past the timeout (the
   * ALB's idle timeout applies to WebSocket connections too). Each counts once in the metrics, at the
   * handshake's answer. The backend counts the connection as in flight, so draining waits for it (up to the
   * drain timeout).
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, test: boolean, port: string): void {
    const backend = this.pick(test, undefined);
    if (!backend) {
      this.proxyErrors++;
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n', () => socket.destroy());
      return;
    }
    backend.inflight++;
    const started = performance.now();
    let phase: Phase = Phase.waiting;
    const count = (status: number, failed: boolean) => this.metrics.record(backend.version, status, performance.now() - started, Date.now(), failed);
    /** Ends the exchange before any tunnel: counted (unless the proxy answers for itself), the backend released. */
    const settle = (status?: number, failed = false) => {
      phase = Phase.settled;
      clearTimeout(timer);
      backend.inflight--;
      if (status !== undefined) count(status, failed);
    };
    const answer = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
    // What the client sends before the backend answers is kept for it; reading also shows the client leaving.
    const early: Buffer[] = [];
    let earlyBytes = 0;
    const keep = (chunk: Buffer) => {
      early.push(chunk);
      // A client has little to send before the answer (a WebSocket client waits for 101): past a bound, stop
      // reading, and the upstream timeout still ends the wait.
      if ((earlyBytes += chunk.length) > MAX_EARLY_BYTES) socket.pause();
    };
    socket.on('data', keep);
    const left = () => {
      if (phase !== Phase.waiting) return;
      settle(CLIENT_CLOSED, false);
      upstream.destroy();
      socket.destroy();
    };
    socket.on('end', left);
    socket.on('close', left);
    socket.on('error', left);
    const upstream = httpRequest({
      host: '127.0.0.1',
      port: backend.port,
      method: req.method,
      path: req.url,
      agent: false,
      headers: { ...headerObject(forwardHeaders(req, port).headers), connection: 'Upgrade', upgrade: String(req.headers.upgrade ?? '') },
    });
    // Before its answer a backend sends nothing, so its idle time is the time since the request went out.
    const timer = setTimeout(() => {
      if (phase !== Phase.waiting) return;
      settle(504, true);
      this.proxyErrors++;
      upstream.destroy();
      answer('504 Gateway Timeout');
    }, this.timeoutMs);
    upstream.on('upgrade', (res, upSocket: Socket, upHead: Buffer) => {
      if (phase !== Phase.waiting) {
        upSocket.destroy();
        return;
      }
      // Counted at the handshake's answer; the backend stays in flight until the tunnel closes.
      phase = Phase.streaming;
      clearTimeout(timer);
      count(res.statusCode ?? 101, false);
      const lines = [`HTTP/1.1 ${res.statusCode ?? 101} ${res.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      socket.off('data', keep);
      for (const chunk of early) upSocket.write(chunk);
      upSocket.pipe(socket).pipe(upSocket);
      this.upgraded.add(socket).add(upSocket);
      const close = () => {
        if (phase === Phase.settled) return;
        phase = Phase.settled;
        backend.inflight--;
        this.upgraded.delete(socket);
        this.upgraded.delete(upSocket);
        upSocket.destroy();
        socket.destroy();
      };
      // Reads and writes both count as activity for Node's socket timeouts, so a tunnel busy one way stays open.
      // The server hands over a net.Socket as a Duplex.
      for (const side of [socket as Socket, upSocket]) {
        side.setTimeout(this.timeoutMs);
        // Sockets of node:http servers allow half-open connections: an end on either side ends the tunnel.
        side.on('close', close);
        side.on('end', close);
        side.on('error', close);
        side.on('timeout', close);
      }
    });
    // The backend answered without upgrading: pass its answer on and close.
    upstream.on('response', (res) => {
      res.resume();
      if (phase !== Phase.waiting) return;
      const status = res.statusCode ?? 502;
      settle(status, status >= 500);
      answer(`${status} ${res.statusMessage ?? ''}`);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (phase !== Phase.waiting) return;
      settle(); // not the version's answer: the proxy's own 502, as for a plain request it cannot deliver
      if (DESCRIPTOR_ERRORS.has(error.code)) this.descriptorError();
      this.proxyErrors++;
      answer('502 Bad Gateway');
    });
    upstream.end();
  }

  /**
   * Stops listening and listens again on the same ports, keeping versions, weights and metrics
   * (what a crash and restart of the proxy process looks like to clients).
   */
  async restart(): Promise<void> {
    await this.closeServers();
    const host = this.options.host ?? '127.0.0.1';
    this.productionPort = await this.listen(this.productionPort, host, false);
    if (this.testPortBound !== undefined) this.testPortBound = await this.listen(this.testPortBound, host, true);
  }

  private async closeServers(): Promise<void> {
    const servers = this.servers.splice(0);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const s of this.servers) s.closeIdleConnections();
    // Upgraded connections (WebSocket) are not idle and would hold the close forever: end them.
    for (const socket of this.upgraded) socket.destroy();
    await closed;
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => undefined)));
    this.pools.clear();
  }
}

/** The client's response closed: its exchange learns whether the client left before the answer ended. */
function onResponseClose(this: TrackedResponse): void {
  this[kExchange]?.clientClosed();
}

/** The client read what was written: the backend may send more. */
function onResponseDrain(this: TrackedResponse): void {
  this[kExchange]?.clientDrained();
}

/**
 * One attempt to answer a client's request from one backend: an undici dispatch handler, one object per
 * request (a retry is another), with no per-request closures or timers (the proxy's idle sweep times it out).
 *
 * It counts once in its version's metrics, when its answer has ended: the status the backend sent when its
 * body finished; 504 when the backend sat idle past the upstream timeout (before its headers: the client is
 * answered 504; after them: the client's connection is cut, as headers were already sent); 502 when the
 * backend's connection failed mid-body; CLIENT_CLOSED (460) when the client left first. The latency recorded
 * is to the end of the body (or its failure), where the ALB's TargetResponseTime stops at the target's first
 * byte: a version that sends its headers at once and then stalls must not look fast (nor, since its body is
 * what its clients wait for, successful).
 *
 * Errors for the gates (VersionMetrics' 5xx count): 5xx answers, including the two above. A client leaving
 * before the headers is not one (the ALB counts 460s apart from the target's 5xx; the wait shows in the
 * latency, and a version that never answers is a 504 for clients that wait). A client leaving mid-body is one,
 * as the version said 200 and did not deliver, unless the proxy was waiting on the client to read (backpressure):
 * then the client was the slow side, not the version.
 */
class Exchange implements Dispatcher.DispatchHandler {
  /** Activity since the sweep's last look (a chunk either way); the sweep clears it. */
  busy = true;
  /** Sweep periods in a row without activity. */
  idle = 0;
  /** Neighbours in the proxy's list of exchanges in flight. */
  prev: Exchange | undefined;
  next: Exchange | undefined;
  private phase: Phase = Phase.waiting;
  private backend: Backend | undefined;
  private started = 0;
  private status = 0;
  private abortUpstream: ((error?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  /** The client has not read what was written: the backend is paused for it. */
  private waitingOnClient = false;

  constructor(
    private readonly host: Host,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly test: boolean,
    private readonly headers: string[],
    private readonly withBody: boolean,
    private readonly attempt: number,
    private readonly tried: ReadonlySet<string> | undefined,
    private readonly lastError: string | undefined,
  ) {}

  dispatch(avoidVersion: string | undefined): void {
    const backend = this.host.pick(this.test, this.tried, avoidVersion);
    if (!backend) {
      this.phase = Phase.settled;
      this.host.proxyError();
      if (this.lastError) fail(this.res, 502, this.lastError);
      else fail(this.res, 503, this.test ? 'no candidate version is deployed on the test route' : 'no backend is available');
      return;
    }
    this.backend = backend;
    backend.inflight++;
    this.started = performance.now();
    this.host.active.add(this);
    this.host.pool(backend).dispatch(
      {
        path: this.req.url ?? '/',
        method: (this.req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: this.headers,
        // The body is read only once connected, so a refused connection leaves it unread and retryable.
        body: this.withBody ? this.req : null,
        // The proxy's idle sweep is the timeout (undici's own timers tick in coarse steps).
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    );
  }

  // undici 7's own handler interface (its pools call these; the onRequestStart/onResponseStart interface is
  // an adapter over them that parses every response's headers into an object, which a proxy only turns
  // back into a list: measured with `npm run bench:proxy`). Revisit when undici is upgraded past 7.

  onConnect(abort: (error?: Error) => void): void {
    // Timed out or left by its client while queued for a connection: there was nothing to abort until now.
    if (this.phase === Phase.settled) abort(new Error('the exchange ended before the backend was reached'));
    else this.abortUpstream = abort;
  }

  onBodySent(): void {
    this.busy = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200 || this.phase !== Phase.waiting) return true; // 1xx: informational, not the answer
    this.phase = Phase.streaming;
    this.status = statusCode;
    this.resumeUpstream = resume;
    this.busy = true;
    this.res.writeHead(statusCode, responseHeaders(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.busy = true;
    if (this.res.write(chunk)) return true;
    if (this.res.destroyed) return false; // the client is gone; its 'close' (next) ends the exchange
    // Backpressure: a slow client pauses the backend's response instead of buffering it here.
    this.waitingOnClient = true;
    this.res.once('drain', onResponseDrain);
    return false;
  }

  onComplete(): void {
    if (this.phase === Phase.settled) return;
    this.settle(this.status, this.status >= 500);
    this.res.end();
  }

  onError(error: Error & { code?: string }): void {
    if (this.phase === Phase.settled) return; // ended by the proxy (timeout, client gone): already counted
    const backend = this.backend!;
    if (DESCRIPTOR_ERRORS.has(error.code)) this.host.descriptorError();
    if (this.phase === Phase.streaming) {
      // The backend's connection failed mid-body: its answer was not delivered.
      this.settle(502, true);
      this.res.destroy();
      return;
    }
    if (this.res.destroyed) {
      this.clientClosed();
      return;
    }
    this.settle(undefined, false);
    // Safe to retry: nothing reached the backend, or repeating it has no side effects.
    const idempotent = this.req.method === 'GET' || this.req.method === 'HEAD';
    const neverSent = !this.withBody || error.code === 'ECONNREFUSED';
    const lastError = `backend ${backend.version} failed: ${error.code ?? error.message}`;
    if ((idempotent || neverSent) && this.attempt + 1 < MAX_ATTEMPTS && !this.req.destroyed) {
      const tried = new Set(this.tried);
      tried.add(backend.id);
      const next = new Exchange(this.host, this.req, this.res, this.test, this.headers, this.withBody, this.attempt + 1, tried, lastError);
      (this.res as TrackedResponse)[kExchange] = next;
      next.dispatch(backend.version);
      return;
    }
    this.host.proxyError();
    fail(this.res, 502, lastError);
  }

  /** The backend sat idle past the upstream timeout (called by the proxy's sweep). */
  timeout(): void {
    const backend = this.backend!;
    if (this.phase === Phase.waiting) {
      this.settle(504, true);
      this.host.proxyError();
      fail(this.res, 504, `backend ${backend.version} did not answer within ${this.host.timeoutMs} ms`);
    } else if (this.waitingOnClient) {
      // The client stopped reading: it is the idle side (the ALB closes an idle client connection too).
      this.settle(CLIENT_CLOSED, false);
      this.res.destroy();
    } else {
      // Headers were sent, so the client cannot be told 504: its connection is cut, and the gates see the 504.
      this.settle(504, true);
      this.res.destroy();
    }
    this.abortUpstream?.(new Error('upstream idle timeout'));
  }

  /** The client's response closed; if before the answer ended, the client left and takes the upstream request with it. */
  clientClosed(): void {
    if (this.phase === Phase.settled) return;
    this.settle(CLIENT_CLOSED, this.phase === Phase.streaming && !this.waitingOnClient);
    this.abortUpstream?.(new Error('client closed'));
  }

  clientDrained(): void {
    this.waitingOnClient = false;
    this.busy = true;
    if (this.phase === Phase.streaming) this.resumeUpstream?.();
  }

  /** Counts the exchange once (no status: a failed attempt the proxy retries or answers itself) and releases the backend. */
  private settle(status: number | undefined, failed: boolean): void {
    const backend = this.backend!;
    this.phase = Phase.settled;
    backend.inflight--;
    this.host.active.remove(this);
    if (status !== undefined) this.host.metrics.record(backend.version, status, performance.now() - this.started, Date.now(), failed);
  }
}

/**
 * The request's headers for the backend, in one pass over the raw list (never building `req.headers`):
 * hop-by-hop ones dropped, X-Forwarded-* set; and whether the request has a body.
 */
function forwardHeaders(req: IncomingMessage, port: string): { headers: string[]; withBody: boolean } {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let withBody = false;
  let prior: string | undefined;
  let host = '';
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
      else if (lower === 'transfer-encoding') withBody = true;
      continue;
    }
    if (lower.startsWith('x-forwarded-')) {
      if (lower === 'x-forwarded-for') prior = prior === undefined ? value : `${prior}, ${value}`;
      continue;
    }
    if (lower === 'host') host = value;
    else if (lower === 'content-length' && value !== '0') withBody = true;
    headers.push(name, value);
  }
  // Headers the client named in Connection are hop-by-hop too (RFC 9110 §7.6.1); rare beyond keep-alive/close.
  if (connection !== undefined) {
    const listed = connection
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== '' && t !== 'close' && !HOP_BY_HOP.has(t));
    if (listed.length > 0) {
      for (let i = headers.length - 2; i >= 0; i -= 2) if (listed.includes(headers[i]!.toLowerCase())) headers.splice(i, 2);
    }
  }
  const client = req.socket.remoteAddress ?? '';
  headers.push(
    'x-forwarded-for',
    prior === undefined ? client : `${prior}, ${client}`,
    'x-forwarded-proto',
    'http',
    'x-forwarded-host',
    host,
    'x-forwarded-port',
    port,
  );
  return { headers, withBody };
}

/** A flat name/value list as an object (repeated names become arrays), for node:http. */
function headerObject(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prior = out[name];
    out[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

/** The backend's raw response headers for the client, hop-by-hop ones dropped (flat name/value list). */
function responseHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  return out;
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'x-switchyard-proxy': 'error' });
  res.end(JSON.stringify({ error: { code: status === 502 ? 'bad_gateway' : status === 504 ? 'gateway_timeout' : 'unavailable', message } }));
}
