import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { GateSpec } from '../../core/gates.js';
import type { Release } from '../../core/release.js';
import { messageOf } from '../../core/errors.js';
import { LocalTarget } from './local-target.js';
import { ProcessRecords } from './process-records.js';
import { assertPrivate } from './private-path.js';
import { bootId, processStartTime } from './process-table.js';
import {
  DATA_PLANE_METHODS,
  planePidFile,
  planePidRecord,
  readLines,
  writeLine,
  type DataPlaneMethod,
  type DataPlaneRequest,
  type PlaneSetup,
  type PlaneState,
} from './data-plane-protocol.js';

/** Methods that change processes or weights: run one at a time. */
const MUTATING: ReadonlySet<DataPlaneMethod> = new Set(['configure', 'deploy', 'setWeight', 'rollback', 'finalize', 'holdStable', 'restartProxy']);

/** Who this process is: pid, kernel start time and boot, so a reused pid is never taken for it. */
function identity(): string {
  return JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), boot: bootId() });
}

/** The pid of the data plane an identity file names, if that very process still runs. */
export function livePlane(file: string): number | undefined {
  try {
    const { pid, startTime, boot } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; startTime?: string; boot?: string };
    if (startTime === undefined || processStartTime(pid) !== startTime) return undefined;
    if (boot !== undefined && bootId() !== undefined && boot !== bootId()) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

/** Removes a leftover socket of ours; anything else at that path (a link, another user's file) is refused. */
function removeOwnSocket(path: string): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket() || stat.uid !== process.getuid?.()) throw new Error(`${path} is not a socket of this user; remove it and start again`);
  rmSync(path);
}

export interface DataPlaneServerOptions {
  /** The local socket it listens on; only its owner may connect (0600 in a 0700 directory). */
  readonly socketPath: string;
  /** Exit when the control plane's connection closes (in-memory runs: nothing would re-attach). */
  readonly ephemeral: boolean;
  /** Called once the data plane has stopped everything and should exit. */
  readonly onExit: (code: number) => void;
}

/**
 * The data plane of one service: its proxy and the supervision of its replicas, and nothing else.
 * The control plane (API, store, workflow, judge, logs, Slack) steers it over a local socket; when
 * the control plane dies or restarts, this process keeps serving the last weights it was given.
 */
export class DataPlaneServer {
  private target: LocalTarget | undefined;
  private setup: PlaneSetup | undefined;
  private records: ProcessRecords | undefined;
  private configuring: Promise<void> | undefined;
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();
  private stopping = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DataPlaneServerOptions) {}

  async listen(): Promise<void> {
    const path = this.options.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Another user's folder (one made first in the system's temporary directory) could swap the socket.
    assertPrivate(dirname(path), 'directory', "the data plane's socket folder");
    removeOwnSocket(path);
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Created 0600 from the start: no moment where another user could connect (and no chmod,
      // which would follow a link put in its place).
      const umask = process.umask(0o177);
      server.listen(path, () => {
        process.umask(umask);
        server.off('error', reject);
        resolve();
      });
    });
    // Who serves behind this socket, so a control plane that finds the socket gone asks this process
    // to listen again instead of starting a second data plane (which would fight it for the port).
    writeFileSync(planePidFile(path), identity(), { mode: 0o600 });
  }

  /** Listens again on a fresh socket (someone removed the file): the service's traffic never stopped. */
  async relisten(): Promise<void> {
    if (this.stopping) return;
    this.server?.close();
    await this.listen();
  }

  private accept(socket: Socket): void {
    this.clients.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.clients.delete(socket);
      if (this.options.ephemeral && this.clients.size === 0 && !this.stopping) void this.shutdown().then(() => this.options.onExit(0));
    });
    writeLine(socket, { event: 'state', state: this.state() });
    readLines(socket, (message) => void this.answer(socket, message));
  }

  /** The state as it is now, to every connected control plane. */
  private broadcast(): void {
    const state = this.state();
    for (const socket of this.clients) writeLine(socket, { event: 'state', state });
  }

  private async answer(socket: Socket, message: unknown): Promise<void> {
    const request = message as Partial<DataPlaneRequest>;
    const id = typeof request.id === 'number' ? request.id : -1;
    const method = request.method;
    if (!method || !DATA_PLANE_METHODS.includes(method) || !Array.isArray(request.params)) {
      writeLine(socket, { id, ok: false, error: { name: 'Error', message: `unknown data plane request ${String(method)}` } });
      return;
    }
    try {
      const result = await this.call(method, request.params);
      // The state first: a caller holding the answer holds the state it produced.
      this.broadcast();
      writeLine(socket, { id, ok: true, result: result ?? null });
    } catch (error) {
      this.broadcast();
      writeLine(socket, { id, ok: false, error: { name: error instanceof Error ? error.name : 'Error', message: messageOf(error) } });
    }
    if (method === 'shutdown') socket.end(() => this.options.onExit(0));
  }

  private targetFor(method: string): LocalTarget {
    if (!this.target) throw new Error(`the data plane is not serving yet (${method}); configure it first`);
    return this.target;
  }

  /**
   * Calls that change what runs go one at a time, in order: a restarted control plane's restore
   * (rollback) waits for the deploy or rolling batch its predecessor left in flight, and then
   * undoes all of it, instead of racing it.
   */
  private call(method: DataPlaneMethod, params: readonly unknown[]): Promise<unknown> {
    if (!MUTATING.has(method)) return this.run(method, params);
    const next = this.queue.then(() => this.run(method, params));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(method: DataPlaneMethod, params: readonly unknown[]): Promise<unknown> {
    const release = params[0] as Release;
    switch (method) {
      case 'hello':
        return this.state();
      case 'configure':
        return this.configure(params[0] as PlaneSetup);
      case 'deploy':
        return this.targetFor(method).deploy(release);
      case 'setWeight':
        return this.targetFor(method).setWeight(release, params[1] as number);
      case 'verify':
        return this.targetFor(method).verify(release);
      case 'rollback':
        return this.targetFor(method).rollback(release);
      case 'finalize':
        return this.targetFor(method).finalize(release);
      case 'observe':
        return this.targetFor(method).observe(release, params[1] as GateSpec[], params[2] as number);
      case 'holdStable':
        return this.targetFor(method).holdStable();
      case 'restartProxy':
        return this.targetFor(method).proxy.restart();
      case 'shutdown':
        return this.shutdown();
    }
  }

  /**
   * Starts serving the setup's stable version: once. A second control plane with the same setup
   * only re-attaches; one with another setup is refused (it shuts this one down and starts anew).
   */
  private async configure(setup: PlaneSetup): Promise<PlaneState> {
    if (this.configuring) await this.configuring.catch(() => undefined);
    if (this.target) {
      if (this.setup?.fingerprint !== setup.fingerprint) throw new Error('this data plane serves another configuration of the service');
      return this.state();
    }
    // Another data plane that still serves this service (its socket's folder was removed): never two.
    const other = livePlane(planePidRecord(setup.recordsDir));
    if (other !== undefined && other !== process.pid)
      throw new Error(`another data plane (pid ${other}) still serves ${setup.service}; it is asked to listen again or stopped first`);
    // In-memory runs keep nothing in a data directory: their records live in the per-user folder,
    // owned by this process, where any later start reaps them once this process is gone.
    const records = this.options.ephemeral ? ProcessRecords.owned() : new ProcessRecords(setup.recordsDir);
    // A data plane killed before this one may have left replicas running: they hold ports.
    if (!this.options.ephemeral) records.reap();
    this.records = records;
    const target = new LocalTarget({
      service: setup.service,
      config: setup.config,
      logDir: setup.logDir,
      records,
      ...(setup.ephemeralPorts ? { ephemeralPorts: true } : {}),
      ...(setup.runAs ? { runAs: { uid: setup.runAs.uid, gid: setup.runAs.gid } } : {}),
      onChange: () => this.broadcast(),
      // Beside its socket (a private folder): HAProxy's configuration and admin socket, when it is the data plane.
      stateDir: join(dirname(this.options.socketPath), `${setup.service}.data-plane`),
    });
    this.configuring = target.start(setup.stableVersion);
    try {
      await this.configuring;
    } catch (error) {
      await target.close().catch(() => undefined);
      throw error;
    } finally {
      this.configuring = undefined;
    }
    this.target = target;
    this.setup = setup;
    if (!this.options.ephemeral) writeFileSync(planePidRecord(setup.recordsDir), identity(), { mode: 0o600 });
    return this.state();
  }

  private state(): PlaneState {
    const t = this.target;
    if (!t) return { pid: process.pid, traffic: {}, productionPort: 0, pids: [], candidatePids: [], backends: [] };
    const versions = [t.stableVersion, t.candidateVersion].filter((v): v is string => v !== undefined);
    return {
      pid: process.pid,
      ...(this.setup ? { fingerprint: this.setup.fingerprint } : {}),
      ...(t.stableVersion !== undefined ? { stable: t.stableVersion } : {}),
      ...(t.candidateVersion !== undefined ? { candidate: t.candidateVersion } : {}),
      traffic: t.traffic,
      productionPort: t.proxy.productionPort,
      ...(t.proxy.testPortBound !== undefined ? { testPort: t.proxy.testPortBound } : {}),
      pids: t.pids,
      candidatePids: t.candidatePids,
      backends: versions.flatMap((version) => t.backendPorts(version).map((port) => ({ version, port }))),
      health: t.health(),
      ...(t.proxy.adminSocket !== undefined ? { adminSocket: t.proxy.adminSocket } : {}),
    };
  }

  /** Drains and stops the replicas, closes the proxy and the socket. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.target?.close().catch(() => undefined);
    this.target = undefined;
    this.records?.dispose();
    // No new connections; the open ones get their answers and are closed by the exit.
    this.server?.close();
    rmSync(this.options.socketPath, { force: true });
    rmSync(planePidFile(this.options.socketPath), { force: true });
    if (this.setup && !this.options.ephemeral) rmSync(planePidRecord(this.setup.recordsDir), { force: true });
  }
}
