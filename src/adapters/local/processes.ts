import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { processStartTime, type ProcessRecords } from './process-records.js';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One running process of a service version, with its output in a log file. */
export interface ManagedProcess {
  readonly pid: number;
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

function logLine(stream: WriteStream, fields: Record<string, unknown>): void {
  stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

/** Starts one process with PORT, VERSION and its config's env as its whole environment; output goes to a JSON-lines log file. */
export async function spawnProcess(options: SpawnOptions): Promise<ManagedProcess> {
  const port = await freePort();
  const dir = join(options.logDir, options.service);
  mkdirSync(dir, { recursive: true });
  const [program, args] =
    typeof options.command === 'string' ? ['/bin/sh', ['-c', `exec ${options.command}`]] : [options.command[0] ?? '', options.command.slice(1)];
  const child = spawn(program, args, {
    // Only what the service's config gives it, plus PORT and VERSION (and PATH, to find its program):
    // Switchyard's own environment (its API token, Slack secrets, AWS credentials) never reaches a
    // service, which could otherwise steer its own release.
    env: { ...(process.env['PATH'] ? { PATH: process.env['PATH'] } : {}), ...options.env, PORT: String(port), VERSION: options.version },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in Switchyard's terminal does not reach the service directly;
    // Switchyard drains and stops it in order.
    detached: true,
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
  });
  const pid = child.pid ?? -1;
  if (pid > 0) {
    const startTime = processStartTime(pid);
    options.records?.add({ pid, service: options.service, version: options.version, port, ...(startTime ? { startTime } : {}) });
  }
  const logFile = join(dir, `${options.version.replace(/[^A-Za-z0-9._-]/g, '_')}-${options.index}-${pid}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const base = { service: options.service, version: options.version, pid };
  for (const [name, stream] of [
    ['stdout', child.stdout],
    ['stderr', child.stderr],
  ] as const) {
    if (stream) createInterface({ input: stream }).on('line', (message) => logLine(log, { ...base, stream: name, message }));
  }
  let resolveExit: (exit: ProcessExit) => void = () => undefined;
  const exited = new Promise<ProcessExit>((resolve) => (resolveExit = resolve));
  const proc: ManagedProcess = { pid, port, version: options.version, logFile, child, stopping: false, exited };
  const onExit = (exit: ProcessExit) => {
    if (proc.exit) return;
    proc.exit = exit;
    options.records?.remove(pid);
    logLine(log, { ...base, stream: 'switchyard', message: `exited with ${exit.signal ?? `code ${exit.code}`}` });
    log.end();
    resolveExit(exit);
    options.onExit?.(proc, exit);
  };
  child.once('exit', (code, signal) => onExit({ code, signal }));
  child.once('error', (error) => {
    logLine(log, { ...base, stream: 'switchyard', message: `could not start: ${error.message}` });
    onExit({ code: 127, signal: null });
  });
  return proc;
}

/** SIGTERM, wait up to `graceMs` for the process to finish its in-flight work, then SIGKILL. */
export async function stopProcess(proc: ManagedProcess, graceMs: number): Promise<ProcessExit> {
  proc.stopping = true;
  if (proc.exit) return proc.exit;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!proc.exit) proc.child.kill('SIGKILL');
  }, graceMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return exit;
}
