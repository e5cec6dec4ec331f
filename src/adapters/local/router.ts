import type { VersionMetrics } from './version-metrics.js';

/** One replica as a router sees it: a unique id, the version label it serves and its port on 127.0.0.1. */
export interface RouterBackend {
  readonly id: string;
  readonly version: string;
  readonly port: number;
}

/**
 * The data plane's port: what serves a service's production and test ports and splits requests across
 * its versions by weight. Two adapters: the built-in proxy (proxy.ts, nothing to install) and HAProxy
 * (haproxy-router.ts, configured once and then steered only through its runtime API). The local target
 * supervises the replicas and tells the router which backends exist, their weights and what to drain;
 * the router measures per-version requests, errors and latency for the gates in `metrics`.
 *
 * Every mutating method resolves once the change is applied where traffic flows (the built-in proxy's
 * tables, HAProxy's runtime state), so a caller holding its answer holds the state it asked for.
 */
export interface Router {
  readonly metrics: VersionMetrics;
  /** The production port, once started (a free one when asked for 0). */
  readonly productionPort: number;
  /** The test route's port, once started, when the service has one. */
  readonly testPortBound: number | undefined;
  /** Where an operator reaches the data plane's own runtime API (HAProxy's admin socket), when it has one. */
  readonly adminSocket?: string;
  start(): Promise<void>;
  addBackend(backend: RouterBackend): Promise<void> | void;
  /** Stops routing new requests to a version; in-flight ones carry on. */
  drain(version: string): Promise<void> | void;
  /** Stops routing new requests to one backend (a replica being replaced); in-flight ones carry on. */
  drainBackend(id: string): Promise<void> | void;
  /** Resolves when the backends have no request in flight, or after `timeoutMs` (false). */
  waitBackendsIdle(ids: readonly string[], timeoutMs: number): Promise<boolean>;
  /** Resolves when the version has no request in flight, or after `timeoutMs` (false). */
  waitIdle(version: string, timeoutMs: number): Promise<boolean>;
  removeBackend(id: string): Promise<void> | void;
  removeVersion(version: string): Promise<void> | void;
  /** Production weights, percent per version, summing to 100. */
  setWeights(weights: Record<string, number>): Promise<void> | void;
  /** The production weight of a version as applied, in percent. */
  weightOf(version: string): number;
  /** The version the test route serves (the candidate), or none. */
  setTestVersion(version: string | undefined): Promise<void> | void;
  health(): ProxyHealth;
  /** Stops serving and serves again on the same ports, keeping versions, weights and metrics (a crash and restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** What every router is built from. */
export interface RouterOptions {
  readonly name: string;
  /** Production port; 0 picks a free one (tests). */
  readonly port: number;
  readonly testPort?: number;
  /** Idle timeout towards backends, with the ALB's semantics. */
  readonly upstreamTimeoutMs: number;
  /** The replicas' readiness path: HAProxy's health checks ask it. */
  readonly readinessPath: string;
  /** Processes per version (an attached HAProxy's backend needs slots for two versions of them). */
  readonly replicas?: number;
  /** A private folder where a router keeps its files (HAProxy's configuration, pid, admin socket). */
  readonly stateDir?: string;
}

/**
 * What the proxy knows of its own health, for the caller's /healthz. At the descriptor limit (EMFILE: the
 * process's `ulimit -n`, ENFILE: the system's) the proxy can neither accept clients nor reach backends,
 * so every request fails while the services behind it are fine: a /healthz that asks only the services
 * says ok. A caller should report the proxy unhealthy while `lastDescriptorErrorAt` is recent (a few
 * seconds: the errors recur with every request as long as the limit is hit, and stop when descriptors are
 * freed). What it counts: a backend connection failing with EMFILE/ENFILE (each request on an open client
 * connection then answers 502), and an accept failing so when Node hears of it. libuv usually does not say:
 * it keeps one descriptor in reserve and, at the limit, accepts and closes pending connections with it so
 * that it does not spin, reporting nothing; the server's 'error' comes only when that reserve is gone.
 */
export interface ProxyHealth {
  /** Accepts and backend connections that failed for want of a file descriptor (EMFILE, ENFILE), since start. */
  readonly descriptorErrors: number;
  /** When the last one happened (ms since the epoch); undefined when none has. */
  readonly lastDescriptorErrorAt: number | undefined;
  /** Client connections open now, upgraded (WebSocket) ones included: each holds a descriptor. */
  readonly connections: number;
  /** Why the data plane cannot serve now (HAProxy's process is gone and not back yet), if it cannot. */
  readonly failure?: string;
}
