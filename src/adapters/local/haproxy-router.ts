import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { DeployError, messageOf } from '../../core/errors.js';
import { HaproxyAdmin, HaproxyCommandError, type ServerStat } from './haproxy-admin.js';
import { addServerCommand, haproxyConfig, LOG_RING, PRODUCTION_BACKEND, SLOT_PREFIX, SLOTS, TEST_BACKEND } from './haproxy-config.js';
import { dieWithParent } from './parent-death.js';
import { freePort } from './processes.js';
import { processStartTime } from './process-table.js';
import type { ProxyHealth, Router, RouterBackend, RouterOptions } from './router.js';
import { VersionMetrics } from './version-metrics.js';
import { poll } from '../../ports/clock.js';

/** HAProxy's largest server weight: per-server weights are scaled so the heaviest gets it (finest split). */
const MAX_WEIGHT = 256;
/** How often HAProxy's counters are read into per-second counts, and its process looked after. */
const POLL_MS = 1000;
/** How long HAProxy may take to answer on its admin socket after it starts. */
const START_TIMEOUT_MS = 10_000;
/** Oldest HAProxy with `add server` / `del server` in its runtime API. */
const MIN_VERSION = [2, 6] as const;

export interface HaproxyRouterOptions extends RouterOptions {
  /** The haproxy program: a path, or a name looked up in PATH, /usr/sbin and /usr/local/sbin. @default 'haproxy' */
  readonly binary?: string;
  /** HAProxy's threads (nbthread). @default one per CPU */
  readonly threads?: number;
}

interface Server {
  readonly id: string;
  /** Its name in both backends: unique to this router's lifetime, so it never meets a server an earlier data plane left. */
  readonly name: string;
  readonly version: string;
  readonly port: number;
  /** A slot declared in the configuration (kept-alive connections), or a server added at run time. */
  readonly slot: boolean;
  draining: boolean;
}

/** Where `program` is, looked up as the data plane's empty environment would not (it has only PATH). */
export function findHaproxy(program = 'haproxy', path = process.env['PATH']): string | undefined {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) return executable(program) ? program : undefined;
  const dirs = [...(path ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) if (dir && isAbsolute(dir) && executable(join(dir, program))) return join(dir, program);
  return undefined;
}

/** The installed HAProxy's version, or why it cannot serve as a data plane. */
export function haproxyVersion(binary: string): { version: string } | { problem: string } {
  const out = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000, env: {} });
  const match = /version (\d+)\.(\d+)(\S*)/.exec(out.stdout ?? '');
  if (!match) return { problem: `${binary} -v did not say its version (${(out.stderr || out.error?.message || '').trim().slice(0, 200)})` };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const version = `${major}.${minor}${match[3] ?? ''}`;
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]))
    return { problem: `HAProxy ${version} has no "add server" in its runtime API; the haproxy data plane needs ${MIN_VERSION.join('.')} or later` };
  return { version };
}

/**
 * The HAProxy data plane: the system's HAProxy in front of the replicas, configured once (frontends,
 * empty backends) and then driven only through its runtime API: `add server` / `del server` as
 * replicas come and go, `set server ... weight` for the split, `set server ... state drain|ready|maint`
 * to drain and to open the test route, health checks on the readiness path. No reload, ever.
 *
 * Signals for the gates come from HAProxy itself: its per-server counters (`show stat`: requests, 5xx,
 * failed responses, client aborts) read every second into per-version counts, and each request's active
 * time from its log lines (a ring the data plane follows on the admin socket) into the latency
 * histograms. A 502 or 504 HAProxy answers because a replica crashed or hung is a failed response of
 * that replica's server, so it counts against its version, as the built-in proxy's do.
 *
 * HAProxy runs as a child of the data plane and dies with it, as the replicas do (nothing would serve
 * behind it otherwise); it survives Switchyard's control plane. Found running at start (its admin socket
 * answers with the same configuration), it is attached to and reconciled instead of started again.
 */
export class HaproxyRouter implements Router {
  readonly metrics = new VersionMetrics();
  productionPort = 0;
  testPortBound: number | undefined;

  private readonly servers = new Map<string, Server>();
  /** Server name to version label, kept after a server is removed: its last counters and log lines still count. */
  private readonly versionOf = new Map<string, string>();
  private weights = new Map<string, number>();
  private testVersion: string | undefined;
  /** Weight and test-route state applied in HAProxy, per server name: only changes are sent. */
  private readonly applied = new Map<string, { weight?: number; test?: 'ready' | 'maint' }>();
  /** Servers still to delete in HAProxy (it refuses while a connection is attached); retried every poll. */
  private readonly leftovers = new Set<string>();
  private readonly last = new Map<string, ServerStat>();
  private readonly prefix = `r${Date.now().toString(36)}`;
  /** The configured slots no replica holds, lowest first. */
  private readonly freeSlots: string[] = Array.from({ length: SLOTS }, (_, i) => `${SLOT_PREFIX}${i + 1}`);
  private count = 0;

  private readonly dir: string;
  private readonly ownDir: boolean;
  private readonly admin: HaproxyAdmin;
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private pidStart: string | undefined;
  private started = false;
  private closed = false;
  private failure: string | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private stopFollowing: (() => void) | undefined;
  /** Changes to HAProxy's runtime state go one at a time (a crash replacement runs beside a release's calls). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Requests HAProxy answered with no server to send them to (503 `<NOSRV>`): no version to count them against. */
  noServerAnswers = 0;
  private reviveFailures = 0;
  private nextRevive = 0;
  restarts = 0;

  constructor(private readonly options: HaproxyRouterOptions) {
    this.ownDir = options.stateDir === undefined;
    this.dir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'switchyard-haproxy-'));
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // A unix socket path holds at most 107 bytes, and HAProxy binds a temporary `<path>.<pid>.tmp` first.
    const socket = join(this.dir, 'haproxy.sock');
    this.admin = new HaproxyAdmin(Buffer.byteLength(socket) <= 90 ? socket : join(mkdtempSync(join(tmpdir(), 'sy-hx-')), 'a.sock'));
  }

  /** The admin socket HAProxy listens on (the runtime API), for tools and tests that read it directly. */
  get adminSocket(): string {
    return this.admin.socketPath;
  }

  /** The HAProxy this folder's last router started, if that very process still runs (pid and start time). */
  private recordedPid(): number | undefined {
    try {
      const { pid, startTime } = JSON.parse(readFileSync(this.pidFile, 'utf8')) as { pid: number; startTime?: string };
      return startTime !== undefined && processStartTime(pid) === startTime ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private get pidFile(): string {
    return join(this.dir, 'haproxy.pid');
  }

  private get configFile(): string {
    return join(this.dir, 'haproxy.cfg');
  }

  async start(): Promise<void> {
    const found = this.options.binary ?? 'haproxy';
    const binary = findHaproxy(found);
    if (!binary)
      throw new DeployError(
        `the haproxy data plane needs HAProxy 2.6 or later, and "${found}" is not installed (Debian/Ubuntu: apt-get install haproxy), or name it with dataPlane.binary`,
      );
    const version = haproxyVersion(binary);
    if ('problem' in version) throw new DeployError(version.problem);
    this.productionPort = this.options.port === 0 ? await freePort() : this.options.port;
    if (this.options.testPort !== undefined) this.testPortBound = this.options.testPort === 0 ? await freePort() : this.options.testPort;
    const text = haproxyConfig({
      service: this.options.name,
      adminSocket: this.admin.socketPath,
      productionPort: this.productionPort,
      ...(this.testPortBound !== undefined ? { testPort: this.testPortBound } : {}),
      upstreamTimeoutMs: this.options.upstreamTimeoutMs,
      readinessPath: this.options.readinessPath,
      ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
      ...(process.getuid?.() === 0 ? { dropTo: { uid: 65534, gid: 65534 } } : {}),
    });
    const running = await this.runningPid();
    // One that runs and does not answer (its admin socket removed) would share the port with a new one
    // (HAProxy binds with SO_REUSEPORT) and serve its stale servers: it is stopped first.
    const recorded = this.recordedPid();
    if (recorded !== undefined && recorded !== running) await stopPid(recorded);
    if (running !== undefined && readIfAny(this.configFile) === text) {
      // An HAProxy of this service with this very configuration serves already: attach, reconcile below.
      this.pid = running;
      this.pidStart = processStartTime(running);
    } else {
      if (running !== undefined) await stopPid(running);
      writeFileSync(this.configFile, text, { mode: 0o600 });
      await this.spawn(binary);
    }
    this.started = true;
    await this.exclusive(() => this.reconcile());
    this.follow();
    this.poller = setInterval(() => void this.poll(binary), POLL_MS);
    this.poller.unref();
  }

  /** The HAProxy this router started or attached to still runs (the same process: its start time is checked, not only its pid). */
  private running(): boolean {
    return this.pid !== undefined && alive(this.pid) && (this.pidStart === undefined || processStartTime(this.pid) === this.pidStart);
  }

  /** The pid of the HAProxy answering on this router's admin socket, if one does. */
  private async runningPid(): Promise<number | undefined> {
    try {
      const info = await this.admin.run('show info');
      const pid = Number(/^Pid: (\d+)$/m.exec(info)?.[1]);
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async spawn(binary: string): Promise<void> {
    const logFile = join(this.dir, 'haproxy.log');
    const out = openSync(logFile, 'a', 0o600);
    const path = process.env['PATH'] ?? '/usr/bin:/bin';
    // Killed by the kernel with its data plane, as the replicas are (see dieWithParent).
    const [file, args] = dieWithParent(binary, ['-db', '-f', this.configFile], path);
    const child = spawn(file, args, { stdio: ['ignore', out, out], detached: true, env: { PATH: path } });
    closeSync(out);
    this.child = child;
    this.pid = child.pid;
    this.pidStart = child.pid !== undefined ? processStartTime(child.pid) : undefined;
    if (child.pid !== undefined) writeFileSync(this.pidFile, JSON.stringify({ pid: child.pid, startTime: this.pidStart }), { mode: 0o600 });
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = signal ?? `code ${code}`;
      if (this.child === child) this.child = undefined;
      // Never signalled again: its pid may be another process's by then.
      if (this.pid === child.pid) this.pid = undefined;
    });
    child.once('error', (error) => (exited = error.message));
    const up = await poll(async () => ((await this.admin.answers()) ? true : exited !== undefined ? false : undefined), {
      withinMs: START_TIMEOUT_MS,
      everyMs: 25,
    });
    if (!up) {
      child.kill('SIGKILL');
      const said = readIfAny(logFile).trim().split('\n').slice(-5).join('\n');
      throw new DeployError(`HAProxy did not start for ${this.options.name} (${exited ?? 'no answer on its admin socket'}): ${said}`);
    }
  }

  /** Runs changes to HAProxy's runtime state one at a time. */
  private exclusive<T>(change: () => Promise<T>): Promise<T> {
    const next = this.queue.then(change);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Makes HAProxy's servers, weights and test route what this router holds: servers it lacks are added,
   * servers it has that this router does not know (an earlier data plane's) are removed. Used at start,
   * on attach, and after HAProxy was restarted.
   */
  private async reconcile(): Promise<void> {
    const stats = await this.admin.serverStats();
    this.applied.clear();
    for (const s of stats) this.last.set(`${s.backend}/${s.server}`, s); // counted from here on
    // Present with the replica's address and out of maintenance: kept as it is (an attach); else set up again.
    const present = new Set(stats.filter((s) => s.status !== 'MAINT').map((s) => `${s.backend}/${s.server}@${s.address}`));
    for (const server of this.servers.values()) {
      for (const backend of this.backends())
        if (!present.has(`${backend}/${server.name}@127.0.0.1:${server.port}`) || backend === TEST_BACKEND) await this.addServer(backend, server);
      if (server.draining) await this.setState(server, 'drain');
    }
    const mine = new Set([...this.servers.values()].map((server) => server.name));
    for (const s of stats) {
      if (mine.has(s.server)) continue;
      // A slot no replica of this data plane holds is put in maintenance; a server added at run time is deleted.
      if (s.server.startsWith(SLOT_PREFIX)) {
        if (s.status !== 'MAINT') await this.admin.expect(`set server ${s.backend}/${s.server} state maint`);
      } else this.leftovers.add(s.server);
    }
    await this.applyWeights();
    await this.applyTestRoute();
    await this.deleteLeftovers();
  }

  private backends(): string[] {
    return this.testPortBound !== undefined || this.options.testPort !== undefined ? [PRODUCTION_BACKEND, TEST_BACKEND] : [PRODUCTION_BACKEND];
  }

  /** Adds a server in maintenance with no weight, starts its health checks, then opens it (production only). */
  private async addServer(backend: string, server: Server): Promise<void> {
    // Production weights follow the split (applyWeights); the test route's servers all weigh the same.
    const weight = backend === TEST_BACKEND ? 1 : 0;
    if (server.slot) {
      // A slot in maintenance: its replica's address, no weight yet, then health checks.
      await this.admin.expect(`set server ${backend}/${server.name} state maint`);
      await this.admin.expect(`set server ${backend}/${server.name} addr 127.0.0.1 port ${server.port}`, /^(IP changed from|no need to change the addr).*$/s);
      await this.admin.expect(`set server ${backend}/${server.name} weight ${weight}`);
    } else await this.admin.expect(addServerCommand(backend, server.name, server.port, weight), /^New server registered\.$/);
    await this.admin.expect(`enable health ${backend}/${server.name}`);
    if (backend === PRODUCTION_BACKEND) await this.admin.expect(`set server ${backend}/${server.name} state ready`);
  }

  private async setState(server: Server, state: 'ready' | 'drain' | 'maint'): Promise<void> {
    for (const backend of this.backends()) {
      // The test route's servers stay in maintenance unless they serve the test version.
      if (backend === TEST_BACKEND && state === 'ready') continue;
      await this.admin.expect(`set server ${backend}/${server.name} state ${state}`);
    }
  }

  /**
   * Per-server weights from the versions' percentages: a version's share split evenly over its serving
   * replicas, scaled so the heaviest server weighs 256. Raised weights are applied before lowered ones, so
   * at no moment does every server weigh 0 while a version should serve.
   */
  private async applyWeights(): Promise<void> {
    const live = [...this.servers.values()].filter((s) => !s.draining);
    const replicas = new Map<string, number>();
    for (const s of live) replicas.set(s.version, (replicas.get(s.version) ?? 0) + 1);
    const share = (s: Server) => (this.weights.get(s.version) ?? 0) / (replicas.get(s.version) ?? 1);
    const heaviest = Math.max(0, ...live.map(share));
    const wanted = live.map((s) => ({ s, weight: share(s) > 0 ? Math.max(1, Math.round((MAX_WEIGHT * share(s)) / heaviest)) : 0 }));
    const before = (name: string) => this.applied.get(name)?.weight ?? -1;
    wanted.sort((a, b) => b.weight - before(b.s.name) - (a.weight - before(a.s.name)));
    for (const { s, weight } of wanted) {
      if (before(s.name) === weight) continue;
      await this.admin.expect(`set server ${PRODUCTION_BACKEND}/${s.name} weight ${weight}`);
      this.applied.set(s.name, { ...this.applied.get(s.name), weight });
    }
  }

  /** The test route: the test version's serving replicas ready, every other server in maintenance. */
  private async applyTestRoute(): Promise<void> {
    if (!this.backends().includes(TEST_BACKEND)) return;
    const open = [...this.servers.values()].filter((s) => !s.draining && s.version === this.testVersion);
    const closed = [...this.servers.values()].filter((s) => !open.includes(s) && !s.draining);
    for (const [list, state] of [
      [open, 'ready'],
      [closed, 'maint'],
    ] as const) {
      for (const s of list) {
        if (this.applied.get(s.name)?.test === state) continue;
        await this.admin.expect(`set server ${TEST_BACKEND}/${s.name} state ${state}`);
        this.applied.set(s.name, { ...this.applied.get(s.name), test: state });
      }
    }
  }

  addBackend(backend: RouterBackend): Promise<void> {
    const slot = this.freeSlots.shift();
    const server: Server = { ...backend, name: slot ?? `${this.prefix}-${++this.count}`, slot: slot !== undefined, draining: false };
    this.servers.set(backend.id, server);
    this.versionOf.set(server.name, server.version);
    if (!this.started) return Promise.resolve();
    return this.exclusive(async () => {
      for (const name of this.backends()) await this.addServer(name, server);
      await this.applyWeights();
      await this.applyTestRoute();
    });
  }

  drain(version: string): Promise<void> {
    return this.drainWhere((s) => s.version === version);
  }

  drainBackend(id: string): Promise<void> {
    return this.drainWhere((s) => s.id === id);
  }

  private drainWhere(which: (s: Server) => boolean): Promise<void> {
    const leaving = [...this.servers.values()].filter((s) => which(s) && !s.draining);
    for (const s of leaving) s.draining = true;
    if (!this.started) return Promise.resolve();
    return this.exclusive(async () => {
      // The others take their share first: then these stop taking new requests (in-flight ones carry on).
      await this.applyWeights();
      for (const s of leaving) await this.setState(s, 'drain');
    });
  }

  waitBackendsIdle(ids: readonly string[], timeoutMs: number): Promise<boolean> {
    const names = new Set(ids.map((id) => this.servers.get(id)?.name).filter((n): n is string => n !== undefined));
    return this.until(names, timeoutMs);
  }

  waitIdle(version: string, timeoutMs: number): Promise<boolean> {
    return this.until(new Set([...this.servers.values()].filter((s) => s.version === version).map((s) => s.name)), timeoutMs);
  }

  /** Until HAProxy has no request in flight or queued on these servers (read from `show stat`). */
  private async until(names: ReadonlySet<string>, timeoutMs: number): Promise<boolean> {
    if (names.size === 0 || !this.started) return true;
    const idle = await poll(
      async () => {
        const busy = await this.admin
          .serverStats()
          .then((stats) => stats.some((s) => names.has(s.server) && s.current + s.queued > 0))
          .catch(() => false); // HAProxy gone: nothing is in flight through it
        return busy ? undefined : true;
      },
      { withinMs: timeoutMs, everyMs: 20 },
    );
    return idle ?? false;
  }

  removeBackend(id: string): Promise<void> {
    return this.removeWhere((s) => s.id === id);
  }

  removeVersion(version: string): Promise<void> {
    this.weights.delete(version);
    if (this.testVersion === version) this.testVersion = undefined;
    return this.removeWhere((s) => s.version === version);
  }

  private removeWhere(which: (s: Server) => boolean): Promise<void> {
    const leaving = [...this.servers.values()].filter(which);
    for (const s of leaving) this.servers.delete(s.id);
    if (!this.started) return Promise.resolve();
    return this.exclusive(async () => {
      await this.applyWeights();
      await this.readCounters(); // their last requests count before they go
      for (const s of leaving) {
        for (const backend of this.backends()) await this.admin.expect(`set server ${backend}/${s.name} state maint`);
        this.applied.delete(s.name);
        // A slot goes back to the pool (its counters were read above: what it counts next is its next replica's).
        if (s.slot) this.freeSlots.push(s.name);
        else this.leftovers.add(s.name);
      }
      await this.deleteLeftovers();
    });
  }

  /** Deletes removed servers; one with a connection still attached (an idle keep-alive one) is tried again at the next poll. */
  private async deleteLeftovers(): Promise<void> {
    for (const name of [...this.leftovers]) {
      let gone = true;
      for (const backend of this.backends()) {
        const answer = (await this.admin.run(`del server ${backend}/${name}`)).trim();
        if (answer !== 'Server deleted.' && !/No such server|No such backend/i.test(answer)) {
          gone = false;
          // Not deletable while maintenance is pending: put it there (an earlier data plane's server).
          if (/maintenance/i.test(answer)) await this.admin.run(`set server ${backend}/${name} state maint`);
        }
      }
      if (gone) this.leftovers.delete(name);
    }
  }

  setWeights(weights: Record<string, number>): Promise<void> {
    this.weights = new Map(Object.entries(weights).filter(([, w]) => w > 0));
    if (!this.started) return Promise.resolve();
    return this.exclusive(() => this.applyWeights());
  }

  weightOf(version: string): number {
    return this.weights.get(version) ?? 0;
  }

  setTestVersion(version: string | undefined): Promise<void> {
    this.testVersion = version;
    if (!this.started) return Promise.resolve();
    return this.exclusive(() => this.applyTestRoute());
  }

  health(): ProxyHealth {
    return { descriptorErrors: 0, lastDescriptorErrorAt: undefined, connections: 0, ...(this.failure ? { failure: this.failure } : {}) };
  }

  /** Reads the per-server counters into per-version counts (requests; 5xx and failed responses, HAProxy's own 502 and 504, as errors). */
  private async readCounters(): Promise<void> {
    const stats = await this.admin.serverStats();
    const now = Date.now();
    for (const s of stats) {
      const key = `${s.backend}/${s.server}`;
      const before = this.last.get(key);
      this.last.set(key, s);
      const version = this.versionOf.get(s.server);
      if (!version) continue;
      // A counter that went down belongs to a new server of that name (HAProxy restarted): count it all.
      const delta = (now: number, then: number | undefined) => (then === undefined || now < then ? now : now - then);
      const requests = delta(s.total, before?.total);
      // Client aborts are not all the version's: one mid-body is (counted from its log line, see logLine).
      const failed = delta(s.http5xx, before?.http5xx) + delta(s.responseErrors, before?.responseErrors);
      this.metrics.count(version, requests, failed, now);
    }
  }

  /** Every second: the counters, the leftovers, and HAProxy itself (restarted, reconciled, when it died). */
  private async poll(binary: string): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      await this.exclusive(async () => {
        await this.readCounters();
        if (this.leftovers.size > 0) await this.deleteLeftovers();
      });
    } catch (error) {
      if (!this.closed && !this.running()) await this.revive(binary, messageOf(error));
    } finally {
      this.polling = false;
    }
  }

  /** HAProxy died (killed, crashed): started again with the same configuration, then given every server and weight. */
  private async revive(binary: string, why: string): Promise<void> {
    // One that cannot start (its port taken, its binary gone) is tried again 1 s, 2 s, 4 s ... 30 s apart.
    if (Date.now() < this.nextRevive) return;
    this.failure ??= `HAProxy is not running (${why}); starting it again`;
    try {
      await this.exclusive(async () => {
        await this.spawn(binary);
        await this.reconcile();
      });
      this.follow();
      this.restarts++;
      this.failure = undefined;
      this.reviveFailures = 0;
    } catch (error) {
      this.failure = `HAProxy could not be started again: ${messageOf(error)}`;
      this.nextRevive = Date.now() + Math.min(30_000, 1000 * 2 ** this.reviveFailures++);
    }
  }

  /** Follows HAProxy's log ring: each request's active time into its version's latency histogram. */
  private follow(): void {
    this.stopFollowing?.();
    this.stopFollowing = this.admin.follow(
      LOG_RING,
      (line) => this.logLine(line),
      () => {
        this.stopFollowing = undefined;
        if (!this.closed) setTimeout(() => !this.closed && !this.stopFollowing && this.follow(), 200).unref();
      },
    );
  }

  private logLine(line: string): void {
    const [, server, status, active, termination] = line.split('|');
    if (server === undefined || status === undefined || active === undefined) return;
    if (server === '<NOSRV>') {
      if (status.startsWith('5')) this.noServerAnswers++;
      return;
    }
    const version = this.versionOf.get(server);
    const ms = Number(active);
    if (version === undefined) return;
    if (ms >= 0) this.metrics.recordLatency(version, ms, Date.now());
    // The client left while the body was on its way (CD): an answer begun and not delivered, which the
    // built-in proxy counts against the version (the ALB's 460). One that left before any answer is not.
    // The same for a body the replica stopped sending past the idle timeout (sD): HAProxy's counters show
    // no error for it (a 200 had begun), its client saw a cut answer.
    if (termination?.startsWith('CD') || termination?.startsWith('sD')) this.metrics.count(version, 0, 1, Date.now());
  }

  /** Kills HAProxy and starts it again with every server and weight (what a crash and restart look like to clients). */
  async restart(): Promise<void> {
    const binary = findHaproxy(this.options.binary ?? 'haproxy');
    if (!binary) throw new DeployError('HAProxy is no longer installed');
    await this.exclusive(async () => {
      if (this.running()) await stopPid(this.pid!, 'SIGKILL');
      await this.spawn(binary);
      await this.reconcile();
    });
    this.follow();
    this.restarts++;
    this.failure = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poller);
    this.stopFollowing?.();
    await this.queue.catch(() => undefined);
    if (this.running()) await stopPid(this.pid!);
    rmSync(this.admin.socketPath, { force: true });
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function readIfAny(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops a process (SIGTERM: HAProxy's hard stop, in-flight requests were drained before), SIGKILL after 3 s. */
async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const gone = () => (alive(pid) ? undefined : true);
  if (await poll(gone, { withinMs: 3000, everyMs: 20 })) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  // After SIGKILL the kernel ends it: wait as long as that takes.
  await poll(gone, { withinMs: Number.POSITIVE_INFINITY, everyMs: 20 });
}

export { HaproxyCommandError };
