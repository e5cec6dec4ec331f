/**
 * HAProxy's configuration for one service, written once when its data plane starts: a frontend on
 * the production port and one on the test port, one backend each with no server in it. Every replica
 * is added, weighted, drained and removed afterwards through the runtime API (haproxy-router.ts), so
 * nothing here changes during a release and HAProxy is never reloaded.
 */
import { LOG_FORMAT } from './haproxy-log.js';

/** The ring HAProxy writes its per-request log lines to; the data plane reads it on the admin socket. */
export const LOG_RING = 'switchyard';
export const PRODUCTION_BACKEND = 'production';
export const TEST_BACKEND = 'test';

/**
 * Servers declared in each backend, disabled, for replicas to take: HAProxy 2.6 keeps no idle connection
 * to a server added at run time (`add server`), so each request through one opens a new connection, a
 * quarter of the throughput measured with wrk. A slot is given its replica's address at run time
 * (`set server ... addr`) and keeps its connections alive like any configured server. Two versions of 16
 * replicas and replacements in flight fit; past that, `add server` takes over.
 */
export const SLOTS = 40;
export const SLOT_PREFIX = 'slot';

export interface HaproxyConfigOptions {
  readonly service: string;
  readonly adminSocket: string;
  readonly productionPort: number;
  readonly testPort?: number;
  readonly host?: string;
  /** Idle timeout towards backends (and a client that stops reading), as the built-in proxy's. */
  readonly upstreamTimeoutMs: number;
  /** HAProxy's threads (nbthread). @default one per CPU */
  readonly threads?: number;
}

/** The configuration text; deterministic, so a data plane that finds an HAProxy running can tell it is its own. */
export function haproxyConfig(options: HaproxyConfigOptions): string {
  const host = options.host ?? '127.0.0.1';
  // What goes into the file is checked, not escaped: a path with a quote or a line break is refused.
  if (!/^[^'\\]+$/.test(options.adminSocket) || [...options.adminSocket].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127))
    throw new Error(`HAProxy cannot take the admin socket path ${JSON.stringify(options.adminSocket)}: it has a quote or a control character`);
  const idle = `${Math.max(1, Math.round(options.upstreamTimeoutMs))}ms`;
  const lines = [
    `# Switchyard's data plane for ${options.service}: written once, then steered only through the runtime API.`,
    '# Do not edit: the next start writes it again.',
    'global',
    `  stats socket '${options.adminSocket}' mode 600 level admin`,
    // A session left idle on the admin socket (a forgotten socat) is closed soon, and there is room for
    // many: the data plane's own commands are never kept waiting for a free one. (The log reader's
    // session, waiting for events, is not idle: it is not timed out.)
    '  stats timeout 30s',
    '  stats maxconn 100',
    // The ports are HAProxy's alone: a second HAProxy (an orphan, another Switchyard) binding them fails
    // with EADDRINUSE, as the built-in proxy does, instead of sharing the traffic (SO_REUSEPORT).
    '  noreuseport',
    `  log ring@${LOG_RING} local0 info`,
    ...(options.threads !== undefined ? [`  nbthread ${options.threads}`] : []),
    '',
    `ring ${LOG_RING}`,
    '  format raw',
    // 4 MiB: about 60,000 requests of backlog, seconds of it at any load a single server sees.
    '  size 4194304',
    '',
    'defaults',
    '  mode http',
    '  log global',
    `  log-format "${LOG_FORMAT}"`,
    '  option dontlognull',
    // A client that leaves takes its upstream request with it, as with the built-in proxy.
    '  option abortonclose',
    '  timeout connect 2s',
    `  timeout client ${idle}`,
    `  timeout server ${idle}`,
    `  timeout tunnel ${idle}`,
    '  timeout http-request 30s',
    '  timeout http-keep-alive 5s',
    '  timeout queue 5s',
    // A replica that refuses a connection (crashed, stopping) is skipped for another one; a GET or HEAD
    // it closed without answering is sent again elsewhere. Nothing else is repeated. Every failed attempt
    // counts against the version that failed it (its server's wretr, wredis, econ, eresp: see readCounters).
    // Why `empty-response` (an L7 retry), though HAProxy 2.6 then copies every request into a buffer of
    // its own (the manual, `retry-on`: it must "allocate a buffer and copy the whole request into it"; the
    // source copies the whole 16 KiB tune.bufsize once the request is complete, about 1 µs a request on
    // this machine's CPU): what it covers needs it.
    // - A replica that crashes cuts the requests on its connections: only a retry answers those (the
    //   reliability test "a replica that dies under load fails no GET" failed 1 run in 3 without it).
    // - A kept-alive connection its replica closes as HAProxy sends on it: `http-reuse safe` (the default)
    //   keeps a client's first request off reused connections only, and HAProxy then closes the client's
    //   connection unanswered, which Node's clients report as an error. Nothing bounds how long a server
    //   connection stays idle below the replica's own keep-alive timeout (`pool-purge-delay` closes half of
    //   the idle ones per period, whatever their age), and that timeout is the service's (Node 5 s,
    //   gunicorn 2 s), which Switchyard does not know. Only `option http-server-close` (a connection per
    //   request) avoids the race, at about a quarter of the throughput (see the slots below).
    // The built-in proxy promises the same (proxy.ts retries a GET or HEAD whose backend failed).
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '',
    ...frontend(PRODUCTION_BACKEND, host, options.productionPort),
    ...(options.testPort !== undefined ? frontend(TEST_BACKEND, host, options.testPort) : []),
    ...[PRODUCTION_BACKEND, ...(options.testPort !== undefined ? [TEST_BACKEND] : [])].flatMap((name) => [
      `backend ${name}`,
      // roundrobin: weights change at run time, and servers can be added and deleted (HAProxy 2.6).
      '  balance roundrobin',
      // No health checks: Switchyard supervises readiness itself (a replica takes traffic once ready, a
      // replica that exits is replaced), as with the built-in proxy. A check with its own timeout would take
      // a healthy but slow-to-check replica out of service, and its clients would get HAProxy's 503.
      // Port 9 (discard) until a replica takes the slot; disabled (maintenance) until then.
      `  server-template ${SLOT_PREFIX} 1-${SLOTS} 127.0.0.1:9 disabled weight 0`,
      // Only a GET or HEAD is sent again after the replica got it (empty-response above).
      '  http-request disable-l7-retry if !METH_GET',
      '',
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A frontend, with the X-Forwarded-* headers the built-in proxy sets (a service moved from one data plane
 * to the other sees the same): the client appended to X-Forwarded-For, Proto, Host and Port replaced.
 * They cost HAProxy about 7,500 instructions a request (callgrind; the L7 retry's copy about 34,000,
 * docs/benchmarks.md), about half of the configuration's CPU beyond a bare one. The port is the one the
 * client connected to (`%[dst_port]`: before a same-host REDIRECT or DNAT, HAProxy reads the original
 * destination), so it agrees with X-Forwarded-Host; the port as text would save 400 instructions and
 * report the bound port behind such a NAT.
 */
function frontend(name: string, host: string, port: number): string[] {
  return [
    `frontend ${name}`,
    `  bind ${host}:${port}`,
    '  option forwardfor',
    '  http-request set-header X-Forwarded-Proto http',
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)]',
    '  http-request set-header X-Forwarded-Port %[dst_port]',
    `  default_backend ${name}`,
    '',
  ];
}

/** The `add server` line of one replica in one backend (no health check: see the backends above). */
export function addServerCommand(backend: string, server: string, port: number, weight: number): string {
  return `add server ${backend}/${server} 127.0.0.1:${port} weight ${weight}`;
}
