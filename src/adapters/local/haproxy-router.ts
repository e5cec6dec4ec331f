import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chownSync,
  closeSync,
  constants,
  fchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  type Stats,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { DeployError, messageOf } from '../../core/errors.js';
import { HaproxyAdmin, HaproxyCommandError, type ServerStat } from './haproxy-admin.js';
import { addServerCommand, haproxyConfig, LOG_RING, PRODUCTION_BACKEND, SLOT_PREFIX, SLOTS, TEST_BACKEND } from './haproxy-config.js';
import { checkAttach, MIN_VERSION, tooOld, type HaproxyAttach } from './haproxy-attach.js';
import { LogLineReader, type LogRecord } from './haproxy-log.js';
import { dieWithParent } from './parent-death.js';
import { freePort } from './processes.js';
import { processStartTime } from './process-table.js';
import type { ProxyHealth, Router, RouterBackend, RouterOptions } from './router.js';
import { VersionMetrics } from './version-metrics.js';
import { poll } from '../../ports/clock.js';
import { connect } from 'node:net';

/** HAProxy's largest server weight: per-server weights are scaled so the heaviest gets it (finest split). */
const MAX_WEIGHT = 256;
/** How often HAProxy's counters are read into per-second counts, and its process looked after. */
const POLL_MS = 1000;
/** How long HAProxy may take to answer on its admin socket after it starts. */
const START_TIMEOUT_MS = 10_000;
/** How long the every-second reads (counters, in-flight requests) wait for HAProxy's answer. */
const POLL_TIMEOUT_MS = 1500;
/**
 * Reads in a row HAProxy did not answer before it is killed and started again: stopped by a signal (its
 * state says so), or running and hung for longer (a busy machine can delay one answer, never ten).
 */
const UNANSWERED_STOPPED = 2;
const UNANSWERED_HUNG = 10;
/** How long a 503 HAProxy answered for want of a server keeps the data plane reported down. */
const NO_SERVER_WINDOW_MS = 10_000;
/** The user HAProxy runs as when the data plane runs as root: its own, shared with no service (they run as nobody or their target.user). */
export const HAPROXY_USER = 'switchyard-haproxy';
const SETPRIV = '/usr/bin/setpriv';
const [CHAR_C, CHAR_D, CHAR_S_LOWER] = ['C', 'D', 's'].map((c) => c.charCodeAt(0)) as [number, number, number];

export interface HaproxyRouterOptions extends RouterOptions {
  /** The haproxy program: a path, or a name looked up in PATH, /usr/sbin and /usr/local/sbin. @default 'haproxy' */
  readonly binary?: string;
  /** HAProxy's threads (nbthread). @default one per CPU */
  readonly threads?: number;
  /** A site's own HAProxy to steer through its admin socket, instead of one this router starts (docs/haproxy.md). */
  readonly attach?: HaproxyAttach;
  /** Replicas per version: an attached HAProxy's backend needs twice as many slots, and one more. @default 1 */
  readonly replicas?: number;
}

interface Server {
  readonly id: string;
  /** Its name in both backends: a slot, or a name unique to this router's lifetime (an added server). */
  name: string;
  readonly version: string;
  readonly port: number;
  /** A slot declared in the configuration (kept-alive connections), or a server added at run time. */
  slot: boolean;
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

/** A user's uid and gid, from id(1); undefined when there is no such user. */
function idsOf(name: string): { uid: number; gid: number } | undefined {
  const read = (flag: string) => {
    const out = spawnSync('id', [flag, name], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    return out.status === 0 ? Number(out.stdout.trim()) : undefined;
  };
  const [uid, gid] = [read('-u'), read('-g')];
  return uid === undefined || gid === undefined || !Number.isInteger(uid) || !Number.isInteger(gid) ? undefined : { uid, gid };
}

/**
 * The user HAProxy runs as, when the data plane runs as root: `switchyard-haproxy`, created (a system user
 * with no home and no shell) when missing. Not `nobody`: any process running as nobody (a service's, by
 * default) could otherwise stop HAProxy with a signal. Undefined when not root: HAProxy runs as Switchyard's user.
 */
export function haproxyUser(uid = process.getuid?.()): { uid: number; gid: number } | undefined {
  if (uid !== 0) return undefined;
  const found = idsOf(HAPROXY_USER);
  if (found) return found;
  const useradd = findHaproxy('useradd');
  const made = useradd
    ? spawnSync(useradd, ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', HAPROXY_USER], {
        encoding: 'utf8',
        timeout: 10_000,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      })
    : undefined;
  const ids = idsOf(HAPROXY_USER);
  if (!ids)
    throw new DeployError(
      `HAProxy runs as its own user "${HAPROXY_USER}" when Switchyard is root, and it could not be created (${(made?.stderr || made?.error?.message || 'no useradd').trim().slice(0, 200)}): create it with useradd --system ${HAPROXY_USER}`,
    );
  return ids;
}

/**
 * A folder only `owner` (or this process's user) can enter: created, or checked when it exists. Root
 * replaces one that is not so (it is in a shared /tmp); anyone else refuses to use it.
 */
function privateFolder(path: string, owner: { uid: number; gid: number } | undefined): void {
  const uid = owner?.uid ?? process.getuid?.();
  let found: Stats | undefined;
  try {
    found = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (found) {
    if (found.isDirectory() && found.uid === uid && (found.mode & 0o777) === 0o700) return;
    if (process.getuid?.() !== 0) throw new DeployError(`${path} should be a folder private to this user (mode 0700): remove it`);
    rmSync(path, { recursive: true, force: true });
  }
  // Created by this process in a sticky folder: nobody else can replace it before it changes hands.
  mkdirSync(path, { mode: 0o700 });
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/** Writes a file anew (never through a link someone left in its place) owned by `owner`. */
function writeOwned(path: string, text: string, owner: { uid: number; gid: number }): void {
  rmSync(path, { force: true });
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

/** The installed HAProxy's version, or why it cannot serve as a data plane. */
export function haproxyVersion(binary: string): { version: string } | { problem: string } {
  const out = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000, env: {} });
  const match = /version (\d+)\.(\d+)(\S*)/.exec(out.stdout ?? '');
  if (!match) return { problem: `${binary} -v did not say its version (${(out.stderr || out.error?.message || '').trim().slice(0, 200)})` };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const version = `${major}.${minor}${match[3] ?? ''}`;
  if (tooOld(major, minor))
    return { problem: `HAProxy ${version} has no "add server" in its runtime API; the haproxy data plane needs ${MIN_VERSION.join('.')} or later` };
  return { version };
}

/**
 * The HAProxy data plane: the system's HAProxy in front of the replicas, configured once (frontends,
 * empty backends) and then driven only through its runtime API: `add server` / `del server` as
 * replicas come and go, `set server ... weight` for the split, `set server ... state drain|ready|maint`
 * to drain and to open the test route. No live health check: Switchyard supervises readiness itself, as
 * with the built-in proxy. No reload, ever.
 *
 * Signals for the gates come from HAProxy itself: its per-server counters (`show stat`: attempts, 5xx,
 * failed responses and connections, attempts retried or redispatched) read every second into per-version
 * counts, and each request's time from its log lines (a ring the data plane follows on the admin socket)
 * into the latency histograms. Every attempt that failed on a replica counts against its version, also
 * when HAProxy then answered the client from another one, so the gates see what the version did.
 *
 * HAProxy runs as a child of the data plane (as root, as its own user) and dies with it, as the replicas
 * do (nothing would serve behind it otherwise); it survives Switchyard's control plane. Found running at
 * start (its admin socket answers with the same configuration), it is attached to and reconciled, its live
 * servers adopted as they are, instead of started again. Stopped or hung, it is killed and started again.
 */
export class HaproxyRouter implements Router {
  readonly metrics = new VersionMetrics();
  productionPort = 0;
  testPortBound: number | undefined;

  private readonly servers = new Map<string, Server>();
  /** Server name to version label, kept after a server is removed: its last counters still count. */
  private readonly versionOf = new Map<string, string>();
  /**
   * Replica port to version label, for log lines: a slot's late lines (a request that ended after its
   * replica was removed) count against that replica's version, not the next one given the slot.
   */
  private readonly versionAt = new Map<number, string>();
  /** When the log chunk being read arrived. */
  private chunkAt = 0;
  /** Per server: attempts and failed attempts read from its counters, and the failures counted so far. */
  private readonly tally = new Map<string, { attempts: number; failures: number; counted: number }>();
  private weights = new Map<string, number>();
  private testVersion: string | undefined;
  /** Weight and test-route state applied in HAProxy, per server name: only changes are sent. */
  private readonly applied = new Map<string, { weight?: number; test?: 'ready' | 'maint' }>();
  /** Servers still to delete in HAProxy (it refuses while a connection is attached); retried every poll. */
  private readonly leftovers = new Set<string>();
  private readonly last = new Map<string, ServerStat>();
  private readonly prefix = `r${Date.now().toString(36)}`;
  /** The configured slots no replica holds, lowest first. */
  private freeSlots: string[] = allSlots();
  /** The slots (server names) declared in the production backend, in order: Switchyard's own 40, or an attached HAProxy's. */
  private slotNames: string[] = allSlots();
  /** The backends this router steers: its own configuration's, or an attached HAProxy's. */
  private readonly production: string;
  private readonly test: string;
  private count = 0;

  private readonly dir: string;
  private readonly ownDir: boolean;
  /**
   * A folder in the system's temporary folder, stable for this state folder, holding HAProxy's admin
   * socket (and, as root, the configuration HAProxy reads): where HAProxy, running as its own user, can
   * write, and where a socket path fits its 107 bytes. Undefined when the state folder serves (not root, short path).
   */
  private readonly socketDir: string | undefined;
  private readonly admin: HaproxyAdmin;
  private user: { uid: number; gid: number } | undefined;
  private text = '';
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private pidStart: string | undefined;
  /** How long the attached HAProxy had run at the last poll (`show info`): shorter later means it started again. */
  private uptime: number | undefined;
  private started = false;
  private closed = false;
  private failure: string | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private stopFollowing: (() => void) | undefined;
  /** Changes to HAProxy's runtime state go one at a time (a crash replacement runs beside a release's calls). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Production requests HAProxy answered with no server to send them to (503 `<NOSRV>`): reported in health(). */
  noServerAnswers = 0;
  private lastNoServerAt: number | undefined;
  /** Why production has no server up in HAProxy while a version should serve, read at the last poll. */
  private noServerUp: string | undefined;
  /** Polls in a row HAProxy (running) did not answer, and why. */
  private unanswered = 0;
  private silent: string | undefined;
  private reviveFailures = 0;
  private nextRevive = 0;
  restarts = 0;

  constructor(private readonly options: HaproxyRouterOptions) {
    this.ownDir = options.stateDir === undefined;
    this.dir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'switchyard-haproxy-'));
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // A unix socket path holds at most 107 bytes, and HAProxy binds a temporary `<path>.<pid>.tmp` first.
    // As root, HAProxy (its own user) cannot enter the state folder: its socket goes to a folder it owns.
    const socket = join(this.dir, 'haproxy.sock');
    const shared = process.getuid?.() === 0 || Buffer.byteLength(socket) > 90;
    this.socketDir = shared ? join(tmpdir(), `sy-hx-${createHash('sha256').update(resolve(this.dir)).digest('hex').slice(0, 16)}`) : undefined;
    this.admin = new HaproxyAdmin(options.attach?.adminSocket ?? (this.socketDir !== undefined ? join(this.socketDir, 'a.sock') : socket));
    this.production = options.attach?.backend ?? PRODUCTION_BACKEND;
    this.test = options.attach?.testBackend ?? TEST_BACKEND;
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
    if (this.options.attach) return this.attachTo(this.options.attach);
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
    this.user = haproxyUser();
    if (this.socketDir !== undefined) privateFolder(this.socketDir, this.user);
    const text = haproxyConfig({
      service: this.options.name,
      adminSocket: this.admin.socketPath,
      productionPort: this.productionPort,
      ...(this.testPortBound !== undefined ? { testPort: this.testPortBound } : {}),
      upstreamTimeoutMs: this.options.upstreamTimeoutMs,
      ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
    });
    this.text = text;
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

  /**
   * Attaches to a site's own HAProxy: checks it (changing nothing), then steers only its backends' slots
   * through the runtime API. Never writes its configuration, reloads, starts or stops it.
   */
  private async attachTo(attach: HaproxyAttach): Promise<void> {
    const found = await checkAttach(this.admin, attach, 2 * (this.options.replicas ?? 1) + 1);
    this.slotNames = found.slots;
    this.freeSlots = [...found.slots];
    // Its ports are its frontends': Switchyard binds nothing.
    this.productionPort = this.options.port;
    if (attach.testBackend !== undefined) this.testPortBound = this.options.testPort;
    this.pid = found.pid;
    this.pidStart = processStartTime(found.pid);
    this.uptime = found.uptimeSeconds;
    await this.refuseForeignSlots(attach);
    for (const server of this.servers.values()) this.renameFromSlots(server);
    this.started = true;
    await this.change(() => this.reconcile());
    if (attach.logRing !== undefined) this.follow();
    this.poller = setInterval(() => void this.pollAttached(attach), POLL_MS);
    this.poller.unref();
  }

  /**
   * Refuses a backend another Switchyard steers: a slot in service at an address none of this router's
   * replicas has, where something answers (a stale slot of a stopped Switchyard's replicas does not: it is taken).
   */
  private async refuseForeignSlots(attach: HaproxyAttach): Promise<void> {
    const ours = new Set([...this.servers.values()].map((s) => `127.0.0.1:${s.port}`));
    const live = (await this.serverStats()).filter(
      (s) => s.backend === this.production && this.slotNames.includes(s.server) && s.status !== 'MAINT' && !ours.has(s.address),
    );
    const foreign: string[] = [];
    for (const s of live) if (await accepts(s.address)) foreign.push(`${s.server} (${s.address})`);
    if (foreign.length > 0)
      throw new DeployError(
        `backend "${attach.backend}" of the HAProxy at ${attach.adminSocket} is in use: its slots ${foreign.join(', ')} serve replicas that are not this service's (another Switchyard steers it?): give each service a backend of its own (dataPlane.attach.backend), or stop the other first`,
      );
  }

  /** A server named before the slots were known (added before start) takes one of the attached HAProxy's slots. */
  private renameFromSlots(server: Server): void {
    if (this.slotNames.includes(server.name)) return;
    server.name = this.takeSlot();
    server.slot = true;
    this.versionOf.set(server.name, server.version);
  }

  /** A free slot of the attached HAProxy's backend; none left is a clear error (it cannot be given more at run time). */
  private takeSlot(): string {
    const slot = this.freeSlots.shift();
    if (slot !== undefined) return slot;
    throw new DeployError(
      `backend "${this.production}" of the HAProxy at ${this.admin.socketPath} has no free server slot (${this.slotNames.length} declared, all in use): declare more in its server-template line and reload HAProxy once`,
    );
  }

  /**
   * Every second with an attached HAProxy: the counters, and HAProxy itself. One that stopped answering is
   * reported (Switchyard cannot start a site's HAProxy); one restarted or reloaded (its slots back as its
   * configuration declares them) is given every server and weight again. A restart is seen by another pid,
   * by a shorter uptime (the same pid: pid 1 in a container), or by a slot of a replica found without the
   * replica's address or in maintenance (a reload, a hand's change).
   */
  private async pollAttached(attach: HaproxyAttach): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const { pid, uptimeSeconds } = await this.admin.process(POLL_TIMEOUT_MS);
      const restarted = pid !== this.pid || uptimeSeconds < (this.uptime ?? 0);
      this.uptime = uptimeSeconds;
      const reconciled = await this.exclusive(async () => {
        if (restarted) await this.reconcile();
        await this.readCounters(POLL_TIMEOUT_MS);
        if (!restarted && !this.drifted()) return false;
        if (!restarted) await this.reconcile();
        await this.saveServerState();
        return true;
      });
      if (reconciled) {
        this.pid = pid;
        this.pidStart = processStartTime(pid);
        if (attach.logRing !== undefined) this.follow();
        this.restarts++;
      }
      this.failure = undefined;
    } catch (error) {
      if (this.closed) return;
      this.failure = `the HAProxy at ${attach.adminSocket} does not answer (${messageOf(error)}): it is the site's own, Switchyard does not start it; its servers and weights are given back as soon as it answers`;
    } finally {
      this.polling = false;
    }
  }

  /**
   * A server of this router's, once set up, is not as it was left in the attached HAProxy's production
   * backend (read at the last counters): another address, or in maintenance. HAProxy restarted or reloaded.
   */
  private drifted(): boolean {
    return [...this.servers.values()].some((s) => {
      if (this.applied.get(s.name)?.weight === undefined) return false; // still being set up
      const live = this.last.get(`${this.production}/${s.name}`);
      return live === undefined || live.address !== `127.0.0.1:${s.port}` || live.status === 'MAINT';
    });
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

  /**
   * How HAProxy is started: killed by the kernel with its data plane (a parent-death signal), as the
   * replicas are. As root, as its own user from the start (setpriv, with only the capability to bind a
   * port below 1024): a process that changes its own user loses its parent-death signal, so HAProxy's own
   * `user`/`uid` would leave it running, and serving stale servers, after a killed data plane.
   */
  private command(binary: string, path: string): [string, string[]] {
    const user = this.user;
    if (!user) return dieWithParent(binary, ['-db', '-f', this.configFile], path);
    if (!findHaproxy(SETPRIV)) throw new DeployError(`HAProxy is started as ${HAPROXY_USER} with ${SETPRIV} (util-linux), which is not installed`);
    // As its own user HAProxy cannot read the state folder: its configuration is written where its socket is.
    const config = join(this.socketDir!, 'haproxy.cfg');
    writeOwned(config, this.text, user);
    const ids = ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups'];
    const caps = ['--inh-caps', '+net_bind_service', '--ambient-caps', '+net_bind_service'];
    return [SETPRIV, [...ids, ...caps, '--pdeathsig', 'KILL', '--', binary, '-db', '-f', config]];
  }

  private async spawn(binary: string): Promise<void> {
    const logFile = join(this.dir, 'haproxy.log');
    const path = process.env['PATH'] ?? '/usr/bin:/bin';
    const [file, args] = this.command(binary, path);
    const out = openSync(logFile, 'a', 0o600);
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

  /** Runs a change to HAProxy's runtime state, then saves that state for an attached HAProxy's next reload. */
  private change<T>(change: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const done = await change();
      await this.saveServerState();
      return done;
    });
  }

  /**
   * Writes the attached HAProxy's state of this router's backends (`show servers state`) to
   * `attach.serverStateFile`, which the backends load at a reload or restart (`load-server-state-from-file
   * local`): the slots come back as Switchyard left them instead of disabled. Replaced whole (a rename),
   * never half-written.
   */
  private async saveServerState(): Promise<void> {
    const file = this.options.attach?.serverStateFile;
    if (file === undefined) return;
    const lines: string[] = [];
    let header = '';
    for (const backend of this.backends())
      for (const line of (await this.admin.run(`show servers state ${backend}`)).split('\n')) {
        if (line.startsWith('# ')) header = line;
        else if (line.includes(' ') && !line.startsWith('#')) lines.push(line);
      }
    try {
      writeFileSync(`${file}.tmp`, `1\n${header}\n${lines.join('\n')}\n`, { mode: 0o644 });
      renameSync(`${file}.tmp`, file);
    } catch (error) {
      throw new DeployError(
        `cannot write HAProxy's server state file ${file} (dataPlane.attach.serverStateFile): ${messageOf(error)}: Switchyard's user must be able to write in its folder`,
      );
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
   *
   * Attaching to an HAProxy that serves must not interrupt it: a live server with a replica's address is
   * that replica's (adopted as it is, never set up again); the others take slots no live server uses;
   * weights are applied before any server this router does not know is taken out of service.
   */
  private async reconcile(): Promise<void> {
    // An attached HAProxy's servers other than its slots (a `backup`, the site's own) are never touched.
    const stats = (await this.serverStats()).filter((s) => !this.options.attach || this.slotNames.includes(s.server) || s.server.startsWith(`${this.prefix}-`));
    this.applied.clear();
    for (const s of stats) this.last.set(`${s.backend}/${s.server}`, s); // counted from here on
    const unknown = this.adopt(stats);
    const live = (backend: string, name: string) => stats.find((s) => s.backend === backend && s.server === name);
    for (const server of this.servers.values()) {
      for (const backend of this.backends()) {
        const found = live(backend, server.name);
        const same = found !== undefined && found.address === `127.0.0.1:${server.port}`;
        // Production: serving with the replica's address; the test route: the address (its state follows below).
        if (same && (backend === this.test || found.status !== 'MAINT')) {
          if (backend === this.production) this.applied.set(server.name, { ...this.applied.get(server.name), weight: found.weight });
          continue;
        }
        await this.addServer(backend, server);
      }
    }
    // This router's servers take their share first; only then is anything taken out of service.
    await this.applyWeights();
    await this.applyTestRoute();
    for (const server of this.servers.values()) if (server.draining) await this.setState(server, 'drain');
    for (const s of stats) {
      if (!unknown.has(s.server)) continue;
      // A slot no replica of this data plane holds is put in maintenance; a server added at run time is deleted.
      if (this.slotNames.includes(s.server)) {
        if (s.status !== 'MAINT') await this.admin.expect(`set server ${s.backend}/${s.server} state maint`);
      } else this.leftovers.add(s.server);
    }
    const held = new Set([...this.servers.values()].map((server) => server.name));
    this.freeSlots = this.slotNames.filter((name) => !held.has(name));
    await this.deleteLeftovers();
  }

  /**
   * Gives this router's servers their names in the HAProxy found: the live slot serving a replica's address
   * is that replica's; any other keeps its slot if no live server uses it, else takes a free one (or is
   * added at run time past the slots). Returns the names of the servers found that are none of this router's.
   */
  private adopt(stats: readonly ServerStat[]): Set<string> {
    const production = stats.filter((s) => s.backend === this.production);
    const busy = new Set(production.filter((s) => s.status !== 'MAINT').map((s) => s.server));
    const taken = new Set<string>();
    const rename = (server: Server, name: string, slot: boolean) => {
      server.name = name;
      server.slot = slot;
      taken.add(name);
      this.versionOf.set(name, server.version);
      this.versionAt.set(server.port, server.version);
    };
    const pending: Server[] = [];
    for (const server of this.servers.values()) {
      const match = production.find((s) => s.status !== 'MAINT' && s.address === `127.0.0.1:${server.port}` && !taken.has(s.server));
      if (match) rename(server, match.server, this.slotNames.includes(match.server));
      else pending.push(server);
    }
    const free = this.slotNames.filter((name) => !busy.has(name) && !taken.has(name));
    const moving: Server[] = [];
    for (const server of pending) {
      if (!server.slot)
        taken.add(server.name); // a name of this router's own: no live server has it
      else if (free.includes(server.name) && !taken.has(server.name)) rename(server, server.name, true);
      else moving.push(server);
    }
    for (const server of moving) {
      const slot = free.find((name) => !taken.has(name));
      if (slot !== undefined) rename(server, slot, true);
      else rename(server, `${this.prefix}-${++this.count}`, false);
    }
    return new Set(stats.map((s) => s.server).filter((name) => !taken.has(name)));
  }

  /** The counters of this router's backends' servers only: an attached HAProxy has other backends, none of its business. */
  private async serverStats(timeoutMs?: number): Promise<ServerStat[]> {
    const ours = new Set(this.backends());
    return (await this.admin.serverStats(timeoutMs)).filter((s) => ours.has(s.backend));
  }

  private backends(): string[] {
    if (this.options.attach) return this.options.attach.testBackend !== undefined ? [this.production, this.test] : [this.production];
    return this.testPortBound !== undefined || this.options.testPort !== undefined ? [this.production, this.test] : [this.production];
  }

  /** Adds a server in maintenance with no weight, then opens it (production only: the test route follows applyTestRoute). */
  private async addServer(backend: string, server: Server): Promise<void> {
    // Production weights follow the split (applyWeights); the test route's servers all weigh the same.
    const weight = backend === this.test ? 1 : 0;
    if (server.slot) {
      // A slot in maintenance: its replica's address, no weight yet.
      await this.admin.expect(`set server ${backend}/${server.name} state maint`);
      await this.admin.expect(`set server ${backend}/${server.name} addr 127.0.0.1 port ${server.port}`, /^(IP changed from|no need to change the addr).*$/s);
      await this.admin.expect(`set server ${backend}/${server.name} weight ${weight}`);
    } else await this.admin.expect(addServerCommand(backend, server.name, server.port, weight), /^New server registered\.$/);
    if (backend === this.production) {
      this.applied.set(server.name, { ...this.applied.get(server.name), weight: 0 });
      await this.admin.expect(`set server ${backend}/${server.name} state ready`);
    } else this.applied.set(server.name, { ...this.applied.get(server.name), test: 'maint' });
  }

  private async setState(server: Server, state: 'ready' | 'drain' | 'maint'): Promise<void> {
    for (const backend of this.backends()) {
      // The test route's servers stay in maintenance unless they serve the test version.
      if (backend === this.test && state === 'ready') continue;
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
      await this.admin.expect(`set server ${this.production}/${s.name} weight ${weight}`);
      this.applied.set(s.name, { ...this.applied.get(s.name), weight });
    }
  }

  /** The test route: the test version's serving replicas ready, every other server in maintenance. */
  private async applyTestRoute(): Promise<void> {
    if (!this.backends().includes(this.test)) return;
    const open = [...this.servers.values()].filter((s) => !s.draining && s.version === this.testVersion);
    const closed = [...this.servers.values()].filter((s) => !open.includes(s) && !s.draining);
    for (const [list, state] of [
      [open, 'ready'],
      [closed, 'maint'],
    ] as const) {
      for (const s of list) {
        if (this.applied.get(s.name)?.test === state) continue;
        await this.admin.expect(`set server ${this.test}/${s.name} state ${state}`);
        this.applied.set(s.name, { ...this.applied.get(s.name), test: state });
      }
    }
  }

  addBackend(backend: RouterBackend): Promise<void> {
    const slot = this.options.attach && this.started ? this.takeSlot() : this.freeSlots.shift();
    const server: Server = { ...backend, name: slot ?? `${this.prefix}-${++this.count}`, slot: slot !== undefined, draining: false };
    this.servers.set(backend.id, server);
    this.versionOf.set(server.name, server.version);
    this.versionAt.set(server.port, server.version);
    this.tally.delete(`${this.production}/${server.name}`);
    this.tally.delete(`${this.test}/${server.name}`);
    if (!this.started) return Promise.resolve();
    return this.change(async () => {
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
    return this.change(async () => {
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

  /**
   * Until HAProxy has no request in flight or queued on these servers (read from `show stat`). HAProxy not
   * answering while it runs (stopped, its sessions all taken) says nothing: waited on, up to the timeout.
   */
  private async until(names: ReadonlySet<string>, timeoutMs: number): Promise<boolean> {
    if (names.size === 0 || !this.started) return true;
    const idle = await poll(
      async (leftMs) => {
        const busy = await this.serverStats(Math.max(100, Math.min(POLL_TIMEOUT_MS, leftMs)))
          .then((stats) => stats.some((s) => names.has(s.server) && s.current + s.queued > 0))
          .catch(() => this.running()); // HAProxy gone: nothing is in flight through it; running: unknown
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
    return this.change(async () => {
      await this.applyWeights();
      await this.readCounters(); // their last requests count before they go
      for (const s of leaving) {
        for (const backend of this.backends()) await this.admin.expect(`set server ${backend}/${s.name} state maint`);
        this.applied.delete(s.name);
        for (const backend of this.backends()) this.tally.delete(`${backend}/${s.name}`);
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
    return this.change(() => this.applyWeights());
  }

  weightOf(version: string): number {
    return this.weights.get(version) ?? 0;
  }

  setTestVersion(version: string | undefined): Promise<void> {
    this.testVersion = version;
    if (!this.started) return Promise.resolve();
    return this.change(() => this.applyTestRoute());
  }

  /**
   * Why the data plane cannot serve, if it cannot: HAProxy not running or not answering, production with
   * no server up while a version should serve, or HAProxy answering 503 for want of a server lately.
   */
  health(now = Date.now()): ProxyHealth {
    const noServer =
      this.lastNoServerAt !== undefined && now - this.lastNoServerAt < NO_SERVER_WINDOW_MS
        ? `HAProxy answered ${this.noServerAnswers} request(s) with 503 for want of a server (the last ${Math.round((now - this.lastNoServerAt) / 1000)} s ago)`
        : undefined;
    const failure = this.failure ?? this.silent ?? this.noServerUp ?? noServer;
    return { descriptorErrors: 0, lastDescriptorErrorAt: undefined, connections: 0, ...(failure !== undefined ? { failure } : {}) };
  }

  /**
   * Reads the per-server counters into per-version counts. Requests: the attempts each server was given
   * (`stot`). Errors: every attempt that failed there, whether or not HAProxy then answered the client from
   * another server (a retry, `wretr`; a redispatch, `wredis`), and those it answered as failed (refused
   * connections `econ`, failed responses `eresp`: its own 502 and 504, the server's 5xx). A version that
   * accepts a readiness check and fails everything else so fails its gates, though its clients were
   * answered by another version. The failures of a server never count above its attempts (an L7 retry
   * counts twice in `wretr`).
   */
  private async readCounters(timeoutMs?: number): Promise<void> {
    const stats = await this.serverStats(timeoutMs);
    const now = Date.now();
    let serving = false;
    const production: string[] = [];
    for (const s of stats) {
      const key = `${s.backend}/${s.server}`;
      const before = this.last.get(key);
      this.last.set(key, s);
      if (s.backend === this.production && s.status !== 'MAINT') {
        production.push(`${s.server} ${s.status} weight ${s.weight}`);
        if (s.status === 'UP' && s.weight > 0) serving = true;
      }
      const version = this.versionOf.get(s.server);
      if (!version) continue;
      // A counter that went down belongs to a new server of that name (HAProxy restarted): count it all.
      const reset = before === undefined || s.total < before.total;
      const delta = (now: number, then: number | undefined) => (reset || then === undefined || now < then ? now : now - then);
      const requests = delta(s.total, before?.total);
      // Client aborts are not all the version's: one mid-body is (counted from its log line, see logLine).
      const failures =
        delta(s.http5xx, before?.http5xx) +
        delta(s.responseErrors, before?.responseErrors) +
        delta(s.connectionErrors, before?.connectionErrors) +
        delta(s.retries, before?.retries) +
        delta(s.redispatches, before?.redispatches);
      let tally = this.tally.get(key);
      if (!tally || reset) this.tally.set(key, (tally = { attempts: 0, failures: 0, counted: 0 }));
      tally.attempts += requests;
      tally.failures += failures;
      const failed = Math.min(tally.failures, tally.attempts) - tally.counted;
      tally.counted += failed;
      // Latency comes from log lines only: show stat's average (ttime) holds keep-alive idle time and a slot's previous replica.
      this.metrics.count(version, requests, failed, now);
    }
    const wanted = [...this.servers.values()].some((s) => !s.draining && (this.weights.get(s.version) ?? 0) > 0);
    this.noServerUp =
      wanted && !serving
        ? `HAProxy has no server up in production (${production.join(', ') || 'every server in maintenance'}): requests are answered 503`
        : undefined;
  }

  /** Every second: the counters, the leftovers, and HAProxy itself (restarted, reconciled, when it died). */
  private async poll(binary: string): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      await this.exclusive(async () => {
        await this.readCounters(POLL_TIMEOUT_MS);
        this.unanswered = 0;
        this.silent = undefined;
        if (this.leftovers.size > 0) await this.deleteLeftovers();
      });
    } catch (error) {
      if (this.closed) return;
      if (!this.running()) await this.revive(binary, messageOf(error));
      else if (++this.unanswered >= (stopped(this.pid!) ? UNANSWERED_STOPPED : UNANSWERED_HUNG)) {
        // It runs and does not answer (stopped by a signal, hung): killed, and started again.
        this.silent = `HAProxy (pid ${this.pid}) did not answer on its admin socket ${this.unanswered} times in a row (${messageOf(error)}); starting it again`;
        await this.exclusive(() => stopPid(this.pid!, 'SIGKILL'));
        this.unanswered = 0;
        await this.revive(binary, this.silent);
        if (this.failure === undefined) this.silent = undefined;
      } else this.silent = `HAProxy (pid ${this.pid}) does not answer on its admin socket (${messageOf(error)})`;
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
    // The test route's lines only where Switchyard has one: an attached site without `testBackend` may
    // have a backend of its own called `test`, logging to the same ring.
    const test = this.backends().includes(this.test) || (!this.options.attach && this.options.testPort !== undefined) ? this.test : undefined;
    const reader = new LogLineReader(this.production, (record) => this.logRecord(record), test);
    this.stopFollowing = this.admin.follow(
      LOG_RING,
      (chunk) => {
        // One clock read per chunk (a chunk holds the lines of a few milliseconds at most).
        this.chunkAt = Date.now();
        reader.push(chunk);
      },
      () => {
        this.stopFollowing = undefined;
        // Ended when idle past `stats timeout` (nothing logged): followed again at once.
        if (!this.closed) setTimeout(() => !this.closed && !this.stopFollowing && this.follow(), 20).unref();
      },
    );
  }

  private logRecord(r: LogRecord): void {
    // A line of another backend (a site's own HAProxy logs its other frontends' requests to the same ring) is not a replica's, whatever its port.
    if (!r.production && !r.test) return;
    const now = this.chunkAt;
    if (r.port < 0) {
      // <NOSRV>: HAProxy found no server to send the request to.
      if (r.status >= 500 && r.production) {
        this.noServerAnswers++;
        this.lastNoServerAt = now;
      }
      return;
    }
    const version = this.versionAt.get(r.port);
    if (version === undefined) return;
    // A request tried elsewhere first: the time its failed attempts took is not this version's; its own
    // attempt's is (response and transfer). A request that failed here is timed whole.
    const ms = r.retried && r.response >= 0 ? r.response + Math.max(0, r.transfer) : r.active;
    if (ms >= 0) this.metrics.recordLatency(version, ms, now);
    // The client left while the body was on its way (CD): an answer begun and not delivered, which the
    // built-in proxy counts against the version (the ALB's 460). One that left before any answer is not.
    // The same for a body the replica stopped sending past the idle timeout (sD): HAProxy's counters show
    // no error for it (a 200 had begun), its client saw a cut answer.
    if (r.termination1 === CHAR_D && (r.termination0 === CHAR_C || r.termination0 === CHAR_S_LOWER)) this.metrics.count(version, 0, 1, now);
  }

  /** Kills HAProxy and starts it again with every server and weight (what a crash and restart look like to clients). */
  async restart(): Promise<void> {
    // A site's own HAProxy is never stopped by Switchyard: its servers and weights are applied again.
    if (this.options.attach) return this.change(() => this.reconcile());
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
    // A site's own HAProxy keeps serving as it is (the stable version, at its weight): nothing is stopped or removed.
    if (this.options.attach) {
      if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    if (this.running()) await stopPid(this.pid!);
    rmSync(this.admin.socketPath, { force: true });
    if (this.socketDir !== undefined) rmSync(this.socketDir, { recursive: true, force: true });
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether something accepts a TCP connection at `host:port` within a second. */
function accepts(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function allSlots(): string[] {
  return Array.from({ length: SLOTS }, (_, i) => `${SLOT_PREFIX}${i + 1}`);
}

function readIfAny(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The process is stopped by a signal (SIGSTOP, SIGTSTP, SIGTTOU...): its state in /proc is T (or t, traced). */
function stopped(pid: number): boolean {
  try {
    return /^[Tt]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop() ?? '');
  } catch {
    return false;
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
