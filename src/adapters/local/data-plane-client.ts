import { spawn } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LOCAL_CAPABILITIES } from '../../core/capabilities.js';
import { AlreadyFinalizedError, DeployError, messageOf, TargetFailedError, TransientError } from '../../core/errors.js';
import type { GateSpec, Observation } from '../../core/gates.js';
import type { Release } from '../../core/release.js';
import type { LocalTarget as LocalTargetConfig } from '../../config/schema.js';
import type { Log } from '../../ports/log.js';
import type { MetricsSource } from '../../ports/metrics-source.js';
import type { Progress, ServiceHealth, TrafficDriver } from '../../ports/traffic-driver.js';
import { assertPrivate, UnsafePathError } from './private-path.js';
import { livePlane } from './data-plane-server.js';
import {
  planePidFile,
  planePidRecord,
  readLines,
  writeLine,
  type DataPlaneMethod,
  type DataPlaneMessage,
  type PlaneSetup,
  type PlaneState,
} from './data-plane-protocol.js';
import { poll } from '../../ports/clock.js';

export interface DataPlaneTargetOptions {
  readonly service: string;
  readonly config: LocalTargetConfig;
  /** The data plane's socket (see {@link socketPathFor}). */
  readonly socketPath: string;
  readonly logDir: string;
  readonly recordsDir: string;
  /** Where the data plane process writes its own output. */
  readonly planeLog: string;
  /** In-memory runs: the data plane stops when this control plane goes away (nothing would re-attach). */
  readonly ephemeral: boolean;
  readonly ephemeralPorts?: boolean;
  readonly runAs?: PlaneSetup['runAs'];
  /** What the service serves when its data plane (re)starts: the store's stable version. */
  readonly stableVersion: () => Promise<string>;
  /** The last lines a version logged, to say why it could not start. */
  readonly lastLines?: (version: string) => Promise<readonly string[]>;
  /** Told once per problem (and once when it is over): a data plane that stopped, a version that cannot start. */
  readonly onProblem?: (message: string) => void;
  readonly log?: Log;
}

/** Backoff between attempts to bring a service's data plane back: 1 s doubling to 30 s. */
const REVIVE_BACKOFF_MS = { first: 1000, max: 30_000 };
/** How often the data plane is asked how it serves (its health, a descriptor limit reached, a hang). */
const HEARTBEAT_MS = 2000;
/** A data plane that leaves a question unanswered this long is reported as not answering. */
const UNANSWERED_MS = 10_000;
const NOT_ANSWERING = 'its data plane does not answer';
/** How long a running data plane that lost its socket has to listen again. */
const RELISTEN_WITHIN_MS = 5000;
/** How long a question that changes nothing may wait for its answer. */
const QUICK_ANSWER_MS = 30_000;
/** How long a started data plane may take to listen (a loaded machine starting Node and its loader). */
const LISTEN_WITHIN_MS = 30_000;

const EMPTY: PlaneState = { pid: 0, traffic: {}, productionPort: 0, pids: [], candidatePids: [], backends: [] };

/** Errors the data plane raises, rebuilt by name with the same class on this side. */
const ERRORS: Readonly<Record<string, new (message: string) => Error>> = {
  DeployError,
  NotReadyError: DeployError,
  AlreadyFinalizedError,
  TransientError,
  // HAProxy's runtime API did not take a change (HAProxy restarting): transient, the workflow retries it.
  HaproxyCommandError: TransientError,
  TargetFailedError,
};

/**
 * The command that starts a data plane: this Node, the same file layout (TypeScript through tsx
 * when run from source, JavaScript when built).
 */
function dataPlaneCommand(socketPath: string, ephemeral: boolean): { program: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  const main = join(dirname(here), `data-plane-main${extname(here)}`);
  const loader = extname(here) === '.ts' ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  return { program: process.execPath, args: [...loader, main, '--socket', socketPath, ...(ephemeral ? ['--ephemeral'] : [])] };
}

/**
 * Connects to a data plane's socket, if one of ours is there. A socket another user made (in a
 * folder they could write) is refused: whoever answers there would be told the service's setup and
 * asked every gate's observations.
 */
function tryConnect(path: string): Promise<Socket | undefined> {
  assertPrivate(dirname(path), 'directory', "the data plane's socket folder");
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return Promise.resolve(undefined);
  }
  if (!stat.isSocket() || stat.uid !== process.getuid?.())
    throw new UnsafePathError(`${path} is not a socket of this user (uid ${stat.uid}); remove it (rm ${path}) and start again`);
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => resolve(undefined));
  });
}

/**
 * One local service, steered in its own data plane process (its proxy and replicas): the control
 * plane's traffic driver and metrics source for it. It attaches to a data plane that is already
 * serving (after a restart of Switchyard) or starts one; when the data plane stops, every call is a
 * transient failure (the workflow waits) while it is brought back with the stable version.
 */
export class DataPlaneTarget implements TrafficDriver, MetricsSource {
  readonly capabilities = LOCAL_CAPABILITIES;
  private socket: Socket | undefined;
  private current: PlaneState = EMPTY;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private stopping = false;
  /** Why it does not serve now; undefined while it serves. */
  private problem: string | undefined = 'not started yet';
  private attempts = 0;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  /** Sockets let go on purpose (a data plane replaced): their closing is not a failure. */
  private readonly retired = new WeakSet<Socket>();

  constructor(private readonly options: DataPlaneTargetOptions) {}

  get service(): string {
    return this.options.service;
  }
  /** The proxy's ports as the data plane bound them, and a restart of its listeners (what a crash of a proxy looks like). */
  get proxy(): { readonly productionPort: number; readonly testPortBound: number | undefined; restart(): Promise<void> } {
    const state = this.current;
    return { productionPort: state.productionPort, testPortBound: state.testPort, restart: async () => void (await this.call('restartProxy')) };
  }
  get stableVersion(): string | undefined {
    return this.current.stable;
  }
  get candidateVersion(): string | undefined {
    return this.current.candidate;
  }
  get traffic(): Record<string, number> {
    return { ...this.current.traffic };
  }
  get pids(): number[] {
    return [...this.current.pids];
  }
  get candidatePids(): number[] {
    return [...this.current.candidatePids];
  }
  /** HAProxy's admin socket (its runtime API), when HAProxy is the service's data plane. */
  get adminSocket(): string | undefined {
    return this.current.adminSocket;
  }
  /** The data plane's own process id (0 when none runs). */
  get planePid(): number {
    return this.current.pid;
  }
  backendPorts(version: string): number[] {
    return this.current.backends.filter((b) => b.version === version).map((b) => b.port);
  }
  /** The stable version's replicas as the data plane last reported them, or down with the reason. */
  health(): ServiceHealth {
    if (this.problem !== undefined || !this.current.health)
      return { status: 'down', replicas: { wanted: this.options.config.replicas, running: 0 }, restarts: 0, reason: this.problem ?? 'not serving' };
    return this.current.health;
  }
  /** Why the service does not serve now (undefined while it serves). */
  get down(): string | undefined {
    return this.problem;
  }

  /**
   * Attaches to the service's running data plane, or starts one, and has it serve the stable
   * version. Rejects when the service cannot serve (its stable version does not start, its port is
   * taken): the reason is reported and it keeps trying in the background, with backoff.
   */
  async start(): Promise<'attached' | 'started'> {
    try {
      const how = await this.bringUp();
      this.recovered();
      return how;
    } catch (error) {
      await this.failed(error);
      throw error;
    }
  }

  private async bringUp(): Promise<'attached' | 'started'> {
    let how: 'attached' | 'started' = 'attached';
    if (!this.socket) {
      const socket = (await tryConnect(this.options.socketPath)) ?? (await this.relistenRunning());
      if (socket) this.use(socket);
    }
    if (this.socket) {
      const state = (await this.call('hello', [], true)) as PlaneState;
      if (state.fingerprint !== undefined && state.fingerprint !== this.fingerprint()) {
        // Another configuration of the service (a new command, port or replica count): start anew.
        this.options.onProblem?.(`${this.options.service}: its configuration changed since its data plane started; restarting it`);
        const old = this.socket;
        if (old) this.retired.add(old);
        await this.call('shutdown', [], true).catch(() => undefined);
        old?.destroy();
        this.socket = undefined;
      }
    }
    if (!this.socket) {
      this.use(await this.spawnPlane());
      how = 'started';
    }
    const setup: PlaneSetup = {
      service: this.options.service,
      config: this.options.config,
      logDir: this.options.logDir,
      recordsDir: this.options.recordsDir,
      ephemeralPorts: this.options.ephemeralPorts ?? false,
      stableVersion: await this.options.stableVersion(),
      ...(this.options.runAs ? { runAs: this.options.runAs } : {}),
      fingerprint: this.fingerprint(),
    };
    await this.call('configure', [setup], true);
    return how;
  }

  /** What identifies the setup the data plane serves: the service's config, where it runs and as whom. */
  private fingerprint(): string {
    const { config, logDir, recordsDir, ephemeralPorts, runAs } = this.options;
    return JSON.stringify({ config, logDir, recordsDir, ephemeralPorts: ephemeralPorts ?? false, runAs: runAs ?? null });
  }

  /**
   * A data plane still serving whose socket is gone (removed by hand or by a cleaner of temporary
   * files): asked to listen again (SIGUSR2), never doubled, since a second one would fight it for the
   * port and reap its replicas. One that does not listen again within 5 s is stopped and replaced.
   */
  private async relistenRunning(): Promise<Socket | undefined> {
    const pid = this.runningPlane();
    if (pid === undefined) return undefined;
    const running = { pid };
    process.kill(running.pid, 'SIGUSR2');
    const socket = await poll(() => tryConnect(this.options.socketPath), { withinMs: RELISTEN_WITHIN_MS, everyMs: 50 });
    if (socket) return socket;
    this.options.onProblem?.(`${this.options.service}: its data plane (pid ${running.pid}) lost its socket and did not listen again; replacing it`);
    process.kill(running.pid, 'SIGKILL');
    return undefined;
  }

  /** The data plane serving this service, if one runs: named beside its socket, or in the service's records. */
  private runningPlane(): number | undefined {
    return livePlane(planePidFile(this.options.socketPath)) ?? livePlane(planePidRecord(this.options.recordsDir));
  }

  private async spawnPlane(): Promise<Socket> {
    const { program, args } = dataPlaneCommand(this.options.socketPath, this.options.ephemeral);
    mkdirSync(dirname(this.options.planeLog), { recursive: true, mode: 0o700 });
    const out = openSync(this.options.planeLog, 'a', 0o600);
    let exited: string | undefined;
    try {
      const child = spawn(program, args, {
        // Its own session: Switchyard's terminal and Switchyard's death do not reach it.
        detached: true,
        stdio: ['ignore', out, out],
        // Nothing of Switchyard's environment: its replicas may read their parent's (/proc/<ppid>/environ).
        env: process.env['PATH'] ? { PATH: process.env['PATH'] } : {},
      });
      child.once('exit', (code, signal) => (exited = signal ?? `code ${code}`));
      child.once('error', (error) => (exited = error.message));
      child.unref();
    } finally {
      closeSync(out);
    }
    const socket = await poll(
      () => {
        if (exited) throw new Error(`the data plane of ${this.options.service} exited with ${exited} before it listened (see ${this.options.planeLog})`);
        return tryConnect(this.options.socketPath);
      },
      { withinMs: LISTEN_WITHIN_MS, everyMs: 50 },
    );
    if (socket) return socket;
    throw new Error(`the data plane of ${this.options.service} did not listen within ${LISTEN_WITHIN_MS / 1000} s (see ${this.options.planeLog})`);
  }

  private use(socket: Socket): void {
    this.socket = socket;
    socket.on('error', () => undefined);
    readLines(socket, (message) => this.receive(message as DataPlaneMessage));
    socket.once('close', () => {
      if (this.socket === socket) this.socket = undefined;
      for (const waiting of this.pending.values()) waiting.reject(new TransientError(`the data plane of ${this.options.service} stopped`));
      this.pending.clear();
      if (this.stopping || this.retired.has(socket)) return;
      this.current = EMPTY;
      void this.failed(new Error('its data plane stopped'));
    });
  }

  private receive(message: DataPlaneMessage): void {
    if ('event' in message) {
      this.current = message.state;
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.ok) waiting.resolve(message.result);
    else {
      const Type = ERRORS[message.error.name] ?? Error;
      waiting.reject(new Type(message.error.message));
    }
  }

  /**
   * One call to the data plane; while it does not serve, a transient failure (the workflow waits and
   * asks again). Every call has a time limit: a data plane that hangs fails the call as transient,
   * never the control plane with it.
   */
  private call(method: DataPlaneMethod, params: readonly unknown[] = [], starting = false): Promise<unknown> {
    const socket = this.socket;
    if (!socket || (!starting && this.problem !== undefined))
      return Promise.reject(new TransientError(`${this.options.service} is not serving: ${this.problem ?? 'its data plane is not connected'}`));
    const id = this.nextId++;
    const limitMs = this.limitOf(method);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TransientError(`${this.options.service}: its data plane did not answer ${method} within ${Math.round(limitMs / 1000)} s`));
      }, limitMs);
      timer.unref();
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      writeLine(socket, { id, method, params });
    });
  }

  /**
   * A call's time limit: what the slowest honest answer takes. Starting or stopping replicas waits
   * for readiness (each batch) and for drains, and may wait behind another such call, so those calls
   * get readiness twice, drains four times, and a minute more.
   */
  private limitOf(method: DataPlaneMethod): number {
    if (method === 'hello') return UNANSWERED_MS;
    if (method === 'verify' || method === 'observe' || method === 'holdStable' || method === 'restartProxy') return QUICK_ANSWER_MS;
    const { readiness, drainTimeout } = this.options.config;
    // Queued behind the rest of a rolling batch (a restore after a restart): readiness twice, drains four times.
    return (2 * readiness.timeout + 4 * drainTimeout) * 1000 + 60_000;
  }

  /** Asks the data plane how it serves, every few seconds: fresh health for /healthz, and a hang noticed. */
  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    if (this.beating || !this.socket || this.stopping) return;
    this.beating = true;
    const hung = setTimeout(() => {
      if (this.problem !== undefined) return;
      this.problem = `${NOT_ANSWERING} within ${UNANSWERED_MS / 1000} s`;
      this.attempts = 1;
      this.options.onProblem?.(`${this.options.service}: ${this.problem}; its traffic may still flow, but releases wait until it answers`);
    }, UNANSWERED_MS);
    try {
      await this.call('hello', [], true);
      if (this.problem?.startsWith(NOT_ANSWERING)) this.recovered();
    } catch {
      // a closed connection is handled where it closes
    } finally {
      clearTimeout(hung);
      this.beating = false;
    }
  }

  private recovered(): void {
    this.startHeartbeat();
    if (this.problem !== undefined && this.attempts > 0)
      this.options.onProblem?.(`${this.options.service} serves again (${this.current.stable ?? 'its stable version'})`);
    this.problem = undefined;
    this.attempts = 0;
  }

  /** Reports why the service does not serve (by name, with its version's last lines) and tries again later. */
  private async failed(error: unknown): Promise<void> {
    if (this.stopping) return;
    const delay = Math.min(REVIVE_BACKOFF_MS.max, REVIVE_BACKOFF_MS.first * 2 ** Math.min(this.attempts, 10));
    this.attempts++;
    const stable = await this.options.stableVersion().catch(() => undefined);
    const lines = stable ? await this.options.lastLines?.(stable).catch(() => []) : [];
    const reason = messageOf(error);
    const first = this.problem === undefined || this.problem === 'not started yet';
    this.problem = reason;
    this.options.log?.warn('a service cannot serve', { service: this.options.service, error: reason, retryInMs: delay });
    if (first || this.attempts === 1)
      this.options.onProblem?.(
        `${this.options.service} cannot serve${stable ? ` ${stable}` : ''}: ${reason}; trying again in ${delay / 1000} s and then less often, while the other services serve${
          lines && lines.length > 0 ? `\n  its last log lines:\n${lines.map((l) => `    ${l}`).join('\n')}` : ''
        }`,
      );
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.revive(), delay);
    this.retry.unref();
  }

  private async revive(): Promise<void> {
    if (this.stopping) return;
    try {
      await this.bringUp();
      this.recovered();
    } catch (error) {
      await this.failed(error);
    }
  }

  async deploy(release: Release): Promise<Progress> {
    return (await this.call('deploy', [release])) as Progress;
  }
  async setWeight(release: Release, percent: number): Promise<void> {
    await this.call('setWeight', [release, percent]);
  }
  async verify(release: Release): Promise<number> {
    return (await this.call('verify', [release])) as number;
  }
  async rollback(release: Release): Promise<Progress> {
    return (await this.call('rollback', [release])) as Progress;
  }
  async finalize(release: Release): Promise<Progress> {
    return (await this.call('finalize', [release])) as Progress;
  }
  async observe(release: Release, gates: readonly GateSpec[], now: number): Promise<Observation[]> {
    return (await this.call('observe', [release, gates, now])) as Observation[];
  }
  /** All production traffic to the stable version now (the store failed: no release can be recorded). */
  holdStable(): void {
    void this.call('holdStable').catch(() => undefined);
  }

  /** Stops the data plane: drains and stops the replicas, closes the proxy. Production stops here. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const socket = this.socket;
    if (socket) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      // One that does not answer a hello within its limit hangs: it is not asked to drain (Ctrl-C would wait minutes).
      const alive = await this.call('hello', [], true).then(
        () => true,
        () => false,
      );
      const answered =
        alive &&
        (await this.call('shutdown', [], true).then(
          () => true,
          () => false,
        ));
      // A data plane that hangs is stopped the hard way; its replicas die with it (parent-death signal).
      const pid = this.current.pid || this.runningPlane();
      if (!answered && pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      socket.end();
      socket.destroy();
      await closed;
    }
  }

  /** Lets go of the data plane and leaves it serving (Switchyard stops or restarts; the next start re-attaches). */
  async detach(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.end(() => resolve()));
  }
}

/**
 * Where a service's data plane listens: `<dataDir>/run/<service>.sock`, or a short path in the
 * system's temporary directory when that one is too long for a socket (108 bytes on Linux, 104 on macOS).
 */
export function socketPathFor(dataDir: string, service: string, tmp: string): string {
  const path = join(dataDir, 'run', `${service}.sock`);
  if (Buffer.byteLength(path) <= 100) return path;
  let hash = 0;
  for (const ch of path) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
  return join(tmp, `switchyard-${process.getuid?.() ?? 0}`, `${(hash >>> 0).toString(36)}-${service.slice(0, 20)}.sock`);
}
