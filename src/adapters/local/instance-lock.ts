import { linkSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConflictError, ErrorCode, SwitchyardError } from '../../core/errors.js';
import { createExclusive } from './exclusive-file.js';
import { identityOf, isRunning, type ProcessIdentity } from './process-table.js';

/** The lock file in a data directory: the pid and start time of the Switchyard using it. */
export const LOCK_FILE = 'switchyard.pid';

/**
 * Another Switchyard, still running, uses this data directory. Two on one directory would share
 * the store and the process records: the second one's start would kill the first one's services,
 * and the store fails under both ("Database is closed").
 */
export class AlreadyRunningError extends SwitchyardError {
  override readonly name: string = 'AlreadyRunningError';
  // Lost the race for the data directory; retrying while the other one runs does not help.
  readonly code: ErrorCode = ErrorCode.conflict;
  constructor(
    readonly pid: number,
    readonly dataDir: string,
    options?: ErrorOptions,
  ) {
    super(`already running (pid ${pid}), data dir ${dataDir}`, options);
  }
}

/** A data directory held by this process until {@link DataDirClaim.release}. */
export interface DataDirClaim {
  /** The lock file, `<dataDir>/switchyard.pid`. */
  readonly file: string;
  /** Gives the directory up (at stop); idempotent, and never removes a lock another process holds. */
  release(): void;
}

function parseHolder(text: string): ProcessIdentity | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const v = value as Record<string, unknown>;
    const pid = v['pid'];
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
    return {
      pid,
      ...(typeof v['startTime'] === 'string' ? { startTime: v['startTime'] } : {}),
      ...(typeof v['bootId'] === 'string' ? { bootId: v['bootId'] } : {}),
    };
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Takes a stale lock away (its holder is dead) so a new one can be created. Two starts may both see
 * it stale: the lock is first renamed to a name of our own (only one rename of it succeeds), then
 * checked to be the stale one; a live one taken by mistake (another start replaced the stale lock
 * between our read and our rename) is put back with link(2), which never overwrites.
 */
function removeStale(file: string, staleText: string): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another start took it away
    throw error;
  }
  try {
    if (readText(aside) !== staleText) linkSync(aside, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Claims `dataDir` for this process: writes `<dataDir>/switchyard.pid` (pid and kernel start time)
 * if no live Switchyard holds it. A lock whose holder is dead (a crash, a SIGKILL), or whose pid
 * now belongs to another process (a different start time), is taken over.
 *
 * @throws AlreadyRunningError when a live process holds it; its message is
 *   `already running (pid N), data dir X`
 * @example
 * const claim = claimDataDir(dataDir); // before the store opens or any record is reaped
 * try { ... } finally { claim.release(); }
 */
export function claimDataDir(dataDir: string): DataDirClaim {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const mine = JSON.stringify(identityOf(process.pid));
  // Each round either creates the lock, meets a live holder, or removes a stale one; a start that
  // keeps losing races to stale locks (never to a live one) gives up after a few rounds.
  for (let round = 0; round < 10; round++) {
    if (createExclusive(file, mine, 0o644)) {
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          if (readText(file) === mine) rmSync(file, { force: true });
        },
      };
    }
    const text = readText(file);
    if (text === undefined) continue;
    const holder = parseHolder(text);
    // An unreadable lock names nobody who could be running: only a damaged file looks like that (or,
    // where hard links are not supported, one being written this very moment: see createExclusive).
    if (holder && isRunning(holder)) throw new AlreadyRunningError(holder.pid, dir);
    removeStale(file, text);
  }
  throw new ConflictError(`could not claim the data directory ${dir}: its lock ${file} keeps changing; try again`);
}
