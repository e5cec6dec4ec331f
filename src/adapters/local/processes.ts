import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { getPriority, setPriority } from 'node:os';
import { ReplicaLogWriter } from './log-writer.js';
import { dieWithParent } from './parent-death.js';
import type { ProcessRecords } from './process-records.js';
import { bootId, groupStillRunning, processStartTime, signalGroup } from './process-table.js';
import { poll } from '../../ports/clock.js';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One running process of a service version, with its output in a log file. */
export interface ManagedProcess {
  readonly pid: number;
  /** Its process group, which it leads (pgid = pid): everything it starts is in it, and is stopped with it. */
  readonly pgid: number;
  /** The kernel's start time of `pid` (Linux): members of the group cannot be older. */
  readonly startTime?: string;
  readonly port: number;
  readonly version: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Set once the process has exited. */
  exit?: ProcessExit;
  /** True while Switchyard itself is stopping it (an exit then is not a crash). */
  stopping: boolean;
  readonly exited: Promise<ProcessExit>;
}

export interface SpawnOptions {
  readonly service: string;
  readonly version: string;
  readonly index: number;
  readonly command: string | readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Runs the process as this user and group (the caller is root). */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  readonly logDir: string;
  /** Where running processes are recorded, so a later start can reap what a crash left behind. */
  readonly records?: ProcessRecords;
  readonly onExit?: (proc: ManagedProcess, exit: ProcessExit) => void;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts one process with PORT, VERSION and its config's env as its whole environment; output goes to a JSON-lines log file. */
export async function spawnProcess(options: SpawnOptions): Promise<ManagedProcess> {
  const port = await freePort();
  const dir = join(options.logDir, options.service);
  mkdirSync(dir, { recursive: true });
  const [program, args] =
    typeof options.command === 'string' ? ['/bin/sh', ['-c', `exec ${options.command}`]] : [options.command[0] ?? '', options.command.slice(1)];
  // Only what the service's config gives it, plus PORT and VERSION (and PATH, to find its program):
  // Switchyard's own environment (its API token, Slack secrets, AWS credentials) never reaches a
  // service, which could otherwise steer its own release.
  const env: Record<string, string> = {
    ...(process.env['PATH'] ? { PATH: process.env['PATH'] } : {}),
    ...options.env,
    PORT: String(port),
    VERSION: options.version,
  };
  // Killed by the kernel when this process (the service's data plane) dies, however it dies (see dieWithParent).
  const [file, argv] = dieWithParent(program, args, env['PATH']);
  const child = spawn(file, argv, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own session and process group (setsid): a Ctrl-C in Switchyard's terminal does not reach
    // the service directly (Switchyard drains and stops it in order), and the group holds everything
    // the service starts (`npm start`: npm, sh, node), so stopping signals the whole group.
    detached: true,
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
  });
  const pid = child.pid ?? -1;
  // The data plane may run ahead of its replicas (see data-plane-main.ts); they run at the usual priority.
  if (pid > 0 && getPriority() < 0) {
    try {
      setPriority(pid, 0);
    } catch {
      // it exited already
    }
  }
  const startTime = pid > 0 ? processStartTime(pid) : undefined;
  if (pid > 0) {
    const boot = bootId();
    options.records?.add({
      pid,
      pgid: pid,
      service: options.service,
      version: options.version,
      port,
      ...(startTime ? { startTime } : {}),
      ...(boot ? { bootId: boot } : {}),
    });
  }
  const logFile = join(dir, `${options.version.replace(/[^A-Za-z0-9._-]/g, '_')}-${options.index}-${pid}.log`);
  // Rotated by size, written in batches, bounded in memory (see log-writer.ts).
  const log = new ReplicaLogWriter({ file: logFile, service: options.service, version: options.version, pid });
  if (child.stdout) log.attach('stdout', child.stdout);
  if (child.stderr) log.attach('stderr', child.stderr);
  let resolveExit: (exit: ProcessExit) => void = () => undefined;
  const exited = new Promise<ProcessExit>((resolve) => (resolveExit = resolve));
  const proc: ManagedProcess = { pid, pgid: pid, ...(startTime ? { startTime } : {}), port, version: options.version, logFile, child, stopping: false, exited };
  const onExit = (exit: ProcessExit) => {
    if (proc.exit) return;
    proc.exit = exit;
    options.records?.remove(pid);
    log.line('switchyard', `exited with ${exit.signal ?? `code ${exit.code}`}`);
    void log.close();
    resolveExit(exit);
    options.onExit?.(proc, exit);
  };
  child.once('exit', (code, signal) => onExit({ code, signal }));
  // A wrapper that exits on its own (a crash, `sh -c 'server &'`) leaves its children running, unseen,
  // on the old version and holding resources: once the leader is gone, the rest of its group goes too.
  // While Switchyard stops it, stopProcess gives the group its grace instead.
  child.once('exit', () => {
    if (!proc.stopping) signalReplica(proc, 'SIGKILL');
  });
  child.once('error', (error) => {
    log.line('switchyard', `could not start: ${error.message}`);
    onExit({ code: 127, signal: null });
  });
  return proc;
}

/**
 * How often the rest of a group is looked for once its leader has exited (they are not our children:
 * no event tells): soon at first, as they usually follow the leader within milliseconds, then less
 * often, as one that ignores SIGTERM waits out the whole grace and each look reads /proc.
 */
const GROUP_POLL_MS = { first: 5, max: 200 };
/** How long to wait for a SIGKILLed group to be gone before returning anyway (a process stuck in the kernel). */
const KILL_WAIT_MS = 5000;

/** True while any process of the replica's group runs (its leader or what the leader started). */
function replicaRunning(proc: ManagedProcess): boolean {
  if (!proc.exit) return true;
  // Windows has no process groups: the leader is all there is.
  if (process.platform === 'win32' || proc.pgid <= 1) return false;
  return groupStillRunning(proc.pgid, { pid: proc.pid, ...(proc.startTime ? { startTime: proc.startTime } : {}) });
}

/**
 * Sends `signal` to the replica's whole process group. Until the leader has been collected (its
 * 'exit' event), its pid, which is the group id, cannot be handed to another process; after that,
 * the group is signalled only while members of it are seen running (see groupStillRunning).
 */
function signalReplica(proc: ManagedProcess, signal: NodeJS.Signals): void {
  if (process.platform === 'win32' || proc.pgid <= 1) {
    if (!proc.exit) proc.child.kill(signal);
    return;
  }
  if (replicaRunning(proc)) signalGroup(proc.pgid, signal);
}

/** Resolves after `ms`, or as soon as the leader exits. */
function leaderExitOr(proc: ManagedProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void proc.exited.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Waits up to `timeoutMs` for the whole group to be gone; true if it is. */
async function groupGone(proc: ManagedProcess, timeoutMs: number): Promise<boolean> {
  // While the leader lives, its exit ends the wait; then the rest of the group is polled, backing off.
  const gone = await poll(() => (replicaRunning(proc) ? undefined : true), {
    withinMs: timeoutMs,
    everyMs: (looks) => (proc.exit ? Math.min(GROUP_POLL_MS.max, GROUP_POLL_MS.first * 2 ** (looks - 1)) : timeoutMs),
    pause: (ms) => leaderExitOr(proc, ms),
  });
  return gone ?? false;
}

/**
 * SIGTERM to the replica's whole process group, wait up to `graceMs` for every process of it to
 * finish its in-flight work and exit, then SIGKILL to the group. A wrapper (`npm start`, `sh -c`)
 * and everything it started stop together: signalling the leader alone would leave the server it
 * started running, on a version that was rolled back, with nothing left to stop it.
 */
export async function stopProcess(proc: ManagedProcess, graceMs: number): Promise<ProcessExit> {
  proc.stopping = true;
  signalReplica(proc, 'SIGTERM');
  if (!(await groupGone(proc, graceMs))) {
    signalReplica(proc, 'SIGKILL');
    await groupGone(proc, KILL_WAIT_MS);
  }
  return proc.exited;
}
