import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * What the kernel shows of processes, read from /proc independently of the code under test
 * (Linux: man proc(5), /proc/<pid>/stat). A zombie counts as gone: it runs nothing and holds no
 * port; it only waits for its parent (or init) to collect it.
 */
function stat(pid: number | string): { state: string; pgrp: number; startTime: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]), startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** A process as it was seen: its pid and kernel start time (a pid alone may be reused). */
export interface Seen {
  readonly pid: number;
  readonly startTime: string;
}

export function see(pid: number): Seen {
  const s = stat(pid);
  if (!s) throw new Error(`process ${pid} is not running`);
  return { pid, startTime: s.startTime };
}

/** True while the process seen is still running (same pid, same start time, not a zombie). */
export function stillRunning(seen: Seen): boolean {
  const s = stat(seen.pid);
  return s !== undefined && s.state !== 'Z' && s.startTime === seen.startTime;
}

/** The command line a process runs now (empty when it is gone). */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Every running (non-zombie) process whose process group is `pgid`. */
export function liveInGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      const s = stat(e);
      return s !== undefined && s.pgrp === pgid && s.state !== 'Z';
    })
    .map(Number);
}

/**
 * Cleanup for tests: SIGKILL to group `pgid` if anything of it still runs (while a member runs, the
 * group id cannot name another group: Linux does not reuse a pid in use as a pgid).
 */
export function killGroup(pgid: number): void {
  if (pgid <= 1 || liveInGroup(pgid).length === 0) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/** The first line a child writes to stdout (rejects if it exits first). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) return reject(new Error('the child has no stdout pipe'));
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code, signal) => reject(new Error(`the child exited (${signal ?? code}) before writing a line`)));
  });
}

/** A TypeScript fixture run in its own Node process (as Switchyard runs: tsx, the main thread). */
export function runTs(script: string, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}
