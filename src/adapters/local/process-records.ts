import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { assertPrivate, currentUid } from './private-path.js';
import { bootId, groupMembers, identityOf, isRunning, processGroupOf, processStartTime, signalGroup, type ProcessIdentity } from './process-table.js';

export { processStartTime } from './process-table.js';

/**
 * A record of every service process Switchyard has running, so the next start can find and stop
 * what a crashed or killed Switchyard left behind (orphans keep ports and serve stale versions).
 * The kernel's start time of the process guards against a reused pid.
 */
export interface ProcessRecord {
  /** The replica's first process, the leader of its process group. */
  readonly pid: number;
  /**
   * Its process group: everything the replica started (a wrapper's children, `npm start`'s shell and
   * node) is in it. A replica leads its own group (spawned detached: setsid), so this is its pid.
   */
  readonly pgid: number;
  readonly service: string;
  readonly version: string;
  readonly port: number;
  /** /proc/<pid>/stat start time (clock ticks since boot), where the system has /proc. */
  readonly startTime?: string;
  /** The boot the start time counts from (a reboot ends every process of the group anyway). */
  readonly bootId?: string;
}

const OWNER_FILE = 'owner.json';

/**
 * Where runs that keep no data directory (`--in-memory`, tests) record their processes: a fixed
 * place per user, so any later start finds what a killed run left, though its temporary data
 * directory is gone or never found again. Private to the user (0700): a record names processes to kill.
 *
 * @example
 * reapOrphans(processRecordsRoot()); // at every start
 * const records = ProcessRecords.owned(processRecordsRoot()); // an in-memory run's records
 */
export function processRecordsRoot(): string {
  const user = currentUid() ?? userInfo().username;
  return join(tmpdir(), `switchyard-${user}`, 'orphans');
}

function isRecord(value: unknown): value is Omit<ProcessRecord, 'pgid'> & { pgid?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    Number.isInteger(r['pid']) &&
    typeof r['service'] === 'string' &&
    typeof r['version'] === 'string' &&
    typeof r['port'] === 'number' &&
    (r['startTime'] === undefined || typeof r['startTime'] === 'string') &&
    (r['bootId'] === undefined || typeof r['bootId'] === 'string')
  );
}

function readRecord(file: string): ProcessRecord | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isRecord(value)) return undefined;
    // Records written before groups were recorded: those replicas led their own group too.
    return { ...value, pgid: Number.isInteger(value.pgid) ? Number(value.pgid) : value.pid };
  } catch {
    return undefined;
  }
}

function readOwner(dir: string): ProcessIdentity | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const o = value as Record<string, unknown>;
    const pid = o['pid'];
    if (typeof pid !== 'number' || !Number.isInteger(pid)) return undefined;
    return {
      pid,
      ...(typeof o['startTime'] === 'string' ? { startTime: o['startTime'] } : {}),
      ...(typeof o['bootId'] === 'string' ? { bootId: o['bootId'] } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A write that is never seen half done: a crash mid-write must not lose the record of a running process. */
function writeWhole(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, file);
}

/** Creates `dir` (and its parent) private to the user, or checks that they are. */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  assertPrivate(dirname(dir), 'directory', 'the folder of process records');
  assertPrivate(dir, 'directory', 'the folder of process records');
}

/**
 * Kills what is left of a recorded replica's process group; true if anything was signalled.
 *
 * - The leader still runs (same pid, same start time): `kill(-pgid)`. It leads the group, so the
 *   group id is in use and cannot name any other group (kernel pid allocation).
 * - The pid now belongs to another process: the kernel hands out a pid only when no process uses
 *   it as a pid, group or session id, so our group was already empty then; nothing is ours.
 * - The leader is gone: members found in /proc with the recorded group id and a start time no
 *   earlier than the leader's (they cannot be older than the group) are what the wrapper left.
 */
function stopGroup(record: ProcessRecord): boolean {
  // Without a start time a reused pid cannot be told apart: forget, never kill a stranger.
  if (record.startTime === undefined) return false;
  const boot = bootId();
  if (record.bootId !== undefined && boot !== undefined && record.bootId !== boot) return false;
  const leaderStart = processStartTime(record.pid);
  if (leaderStart === record.startTime) {
    if (processGroupOf(record.pid) === record.pgid && signalGroup(record.pgid, 'SIGKILL')) return true;
    try {
      process.kill(record.pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  }
  if (leaderStart !== undefined && record.pgid === record.pid) return false;
  const members = groupMembers(record.pgid, record.startTime) ?? [];
  return members.length > 0 && signalGroup(record.pgid, 'SIGKILL');
}

export class ProcessRecords {
  /** The process these records belong to, for records under the per-user root (see {@link ProcessRecords.owned}). */
  private owner: ProcessIdentity | undefined;

  /** @param dir the folder of records (a data directory's `processes/<service>`, or an owner's folder under the per-user root) */
  constructor(private readonly dir: string) {}

  /**
   * The records of this process's replicas under `root` (see {@link processRecordsRoot}), in a
   * folder named for this process (pid and start time) with this process's identity in it: once
   * this process is dead, any start's {@link reapOrphans} stops what is recorded there.
   */
  static owned(root: string = processRecordsRoot()): ProcessRecords {
    privateDir(root);
    const self = identityOf(process.pid);
    const records = new ProcessRecords(join(root, `${self.pid}-${self.startTime ?? 'unknown'}`));
    records.owner = self;
    const previous = readOwner(records.dir);
    // The same pid and start time on an earlier boot: what it recorded died with that boot.
    if (previous && (previous.bootId !== self.bootId || previous.startTime !== self.startTime)) rmSync(records.dir, { recursive: true, force: true });
    records.ensureDir();
    return records;
  }

  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (this.owner && !readOwner(this.dir)) writeWhole(join(this.dir, OWNER_FILE), JSON.stringify(this.owner));
  }

  add(record: ProcessRecord): void {
    this.ensureDir();
    writeWhole(join(this.dir, `${record.pid}.json`), JSON.stringify(record));
  }

  remove(pid: number): void {
    rmSync(join(this.dir, `${pid}.json`), { force: true });
  }

  /**
   * Stops every recorded process group that is still the one it was (see the rules at
   * `stopGroup`) and forgets them all. Returns the records of the groups it stopped.
   */
  reap(): ProcessRecord[] {
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => /^\d+\.json$/.test(f));
    } catch {
      return [];
    }
    const reaped: ProcessRecord[] = [];
    for (const file of files) {
      const record = readRecord(join(this.dir, file));
      rmSync(join(this.dir, file), { force: true });
      if (record && stopGroup(record)) reaped.push(record);
    }
    return reaped;
  }

  /** Removes an owned folder once it records nothing (a clean stop); the per-user root keeps no litter. */
  dispose(): void {
    if (!this.owner) return;
    try {
      if (readdirSync(this.dir).some((f) => f.endsWith('.json') && f !== OWNER_FILE)) return;
    } catch {
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Stops the processes recorded under `root` by owners that are dead (a Switchyard or a test run
 * killed with SIGKILL, a crash), and forgets their records; owners still running are left alone.
 * Call it at every start, in-memory or not. Returns what it stopped.
 *
 * @throws UnsafePathError when `root` or its parent is not private to the user (records there
 *   could name anyone's processes)
 */
export function reapOrphans(root: string = processRecordsRoot()): ProcessRecord[] {
  if (!assertPrivate(root, 'directory', 'the folder of process records')) return [];
  // Whoever owns the folder holding it could swap the records folder for their own.
  assertPrivate(dirname(root), 'directory', 'the folder of process records');
  const reaped: ProcessRecord[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    // The owner's identity is written right after its folder: a folder without it yet is named
    // `<pid>-<start time>`, which identifies the owner as well.
    const named = /^(\d+)-(\d+)$/.exec(entry.name);
    const owner = readOwner(dir) ?? (named?.[1] && named[2] ? { pid: Number(named[1]), startTime: named[2] } : undefined);
    if (owner && isRunning(owner)) continue;
    reaped.push(...new ProcessRecords(dir).reap());
    rmSync(dir, { recursive: true, force: true });
  }
  return reaped;
}
