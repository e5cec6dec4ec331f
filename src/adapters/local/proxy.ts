import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { VersionMetrics } from './version-metrics.js';

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
   * How long a backend may take to start answering before the proxy gives up with 504, as a load
   * balancer does. @default 60 s (the ALB's default idle timeout)
   */
  readonly upstreamTimeoutMs?: number;
}

/** Status recorded for a request its client gave up on before an answer came (the ALB's 460). */
export const CLIENT_CLOSED = 460;

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

/**
 * The built-in reverse proxy of local mode. The production route splits requests across versions
 * by weight; the test route sends them to the candidate only. A request that cannot reach a
 * draining or dying backend is retried on another one when that is safe: it is GET/HEAD, or
 * nothing of it was sent. Per-version metrics feed the local gates.
 */
export class WeightedProxy {
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
  private rr = 0;
  /** Requests the proxy could not deliver anywhere (answered 502/503 by the proxy itself). */
  proxyErrors = 0;
  productionPort = 0;
  testPortBound: number | undefined;

  private readonly timeoutMs: number;

  constructor(private readonly options: ProxyOptions) {
    this.timeoutMs = options.upstreamTimeoutMs ?? 60_000;
  }

  async start(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    this.productionPort = await this.listen(this.options.port, host, false);
    if (this.options.testPort !== undefined) this.testPortBound = await this.listen(this.options.testPort, host, true);
  }

  private listen(port: number, host: string, test: boolean): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res, test));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, test));
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`port ${port} on ${host} is already in use (service ${this.options.name}); stop what uses it or change the port in the config`)
            : error,
        ),
      );
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
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
    const deadline = Date.now() + timeoutMs;
    while (this.backends.some((b) => which(b) && b.inflight > 0)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
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

  private pick(test: boolean, exclude: ReadonlySet<string>, avoidVersion?: string): Backend | undefined {
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

  private handle(req: IncomingMessage, res: ServerResponse, test: boolean): void {
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    const tried = new Set<string>();
    let lastError: string | undefined;
    const attempt = (n: number, avoidVersion?: string): void => {
      const backend = this.pick(test, tried, avoidVersion);
      if (!backend) {
        this.proxyErrors++;
        if (lastError) fail(res, 502, lastError);
        else fail(res, 503, test ? 'no candidate version is deployed on the test route' : 'no backend is available');
        return;
      }
      tried.add(backend.id);
      backend.inflight++;
      const started = performance.now();
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          backend.inflight--;
        }
      };
      // Every attempt is counted once in the version's metrics: answered, timed out, or abandoned.
      let recorded = false;
      const record = (status: number) => {
        if (recorded) return;
        recorded = true;
        this.metrics.record(backend.version, status, performance.now() - started, Date.now());
      };
      let controller: Dispatcher.DispatchController | undefined;
      let clientLeft = false;
      // A client that leaves takes its upstream request with it: no abandoned work holds a backend's sockets.
      res.on('close', () => {
        if (res.writableFinished) return;
        clientLeft = true;
        clearTimeout(timer);
        record(CLIENT_CLOSED);
        controller?.abort(new Error('client closed'));
        finish();
      });
      const withBody = hasBody(req);
      // A backend that does not start answering in time is a 504 the gates see (as the ALB's); a timer of
      // our own, since undici's timeouts tick in coarse steps.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller?.abort(new Error('upstream timeout'));
      }, this.timeoutMs);
      this.pool(backend).dispatch(
        {
          origin: backend.origin,
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: forwardHeaders(req),
          // The body is read only once connected, so a refused connection leaves it unread and retryable.
          body: withBody ? req : null,
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        {
          onRequestStart: (c) => {
            controller = c;
            if (clientLeft || timedOut) c.abort(new Error(timedOut ? 'upstream timeout' : 'client closed'));
          },
          onResponseStart: (_c, statusCode, headers) => {
            clearTimeout(timer);
            record(statusCode);
            res.writeHead(statusCode, responseHeaders(headers));
          },
          onResponseData: (c, chunk) => {
            // Backpressure: a slow client pauses the backend's response instead of buffering it here.
            if (!res.write(chunk)) {
              c.pause();
              res.once('drain', () => c.resume());
            }
          },
          onResponseEnd: () => {
            res.end();
            finish();
          },
          onResponseError: (_c, error: Error & { code?: string }) => {
            clearTimeout(timer);
            finish();
            if (res.headersSent) {
              res.destroy(error);
              return;
            }
            if (clientLeft || res.destroyed) return; // the client left: nothing to answer
            if (timedOut) {
              record(504);
              this.proxyErrors++;
              fail(res, 504, `backend ${backend.version} did not answer within ${this.timeoutMs} ms`);
              return;
            }
            // Safe to retry: nothing reached the backend, or repeating it has no side effects.
            const neverSent = !withBody || error.code === 'ECONNREFUSED';
            lastError = `backend ${backend.version} failed: ${error.code ?? error.message}`;
            if ((idempotent || neverSent) && n + 1 < MAX_ATTEMPTS && !req.destroyed) {
              attempt(n + 1, backend.version);
              return;
            }
            this.proxyErrors++;
            fail(res, 502, lastError);
          },
        },
      );
    };
    attempt(0);
  }

  /**
   * Protocol upgrades (WebSocket) pass through to one backend, chosen like any request; the two
   * connections are then joined until either side closes. The backend counts the connection as
   * in flight, so draining waits for it (up to the drain timeout).
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, test: boolean): void {
    const backend = this.pick(test, new Set());
    if (!backend) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    backend.inflight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      backend.inflight--;
    };
    const upstream = httpRequest({
      host: '127.0.0.1',
      port: backend.port,
      method: req.method,
      path: req.url,
      headers: { ...headerObject(forwardHeaders(req)), connection: 'Upgrade', upgrade: String(req.headers.upgrade ?? '') },
    });
    upstream.on('upgrade', (res, upSocket, upHead) => {
      const lines = [`HTTP/1.1 ${res.statusCode ?? 101} ${res.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.pipe(socket).pipe(upSocket);
      this.upgraded.add(socket).add(upSocket);
      const close = () => {
        release();
        this.upgraded.delete(socket);
        this.upgraded.delete(upSocket);
        upSocket.destroy();
        socket.destroy();
      };
      // Sockets of node:http servers allow half-open connections: an end on either side ends the tunnel.
      upSocket.on('close', close);
      socket.on('close', close);
      upSocket.on('end', close);
      socket.on('end', close);
      upSocket.on('error', close);
      socket.on('error', close);
    });
    // The backend answered without upgrading: pass its answer on and close.
    upstream.on('response', (res) => {
      release();
      socket.end(`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      res.resume();
    });
    upstream.on('error', () => {
      release();
      socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
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

function hasBody(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0' ? true : req.headers['transfer-encoding'] !== undefined;
}

/** The request's headers for the backend: hop-by-hop ones dropped, X-Forwarded-* set (flat name/value list). */
function forwardHeaders(req: IncomingMessage): string[] {
  const raw = req.rawHeaders;
  const connection = req.headers.connection;
  const listed = connection ? connection.split(',').map((t) => t.trim().toLowerCase()) : [];
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower.startsWith('x-forwarded-') || (listed.length > 0 && listed.includes(lower))) continue;
    out.push(name, raw[i + 1]!);
  }
  const client = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out.push(
    'x-forwarded-for',
    prior ? `${String(prior)}, ${client}` : client,
    'x-forwarded-proto',
    'http',
    'x-forwarded-host',
    req.headers.host ?? '',
    'x-forwarded-port',
    String(req.socket.localPort ?? ''),
  );
  return out;
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

/** The backend's response headers for the client, hop-by-hop ones dropped (flat name/value list). */
function responseHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'x-switchyard-proxy': 'error' });
  res.end(JSON.stringify({ error: { code: status === 502 ? 'bad_gateway' : status === 504 ? 'gateway_timeout' : 'unavailable', message } }));
}
