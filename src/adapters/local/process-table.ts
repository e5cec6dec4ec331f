import { readFileSync, readdirSync } from 'node:fs';

/**
 * What the kernel says about processes: start times, process groups, who is still running. On
 * Linux it is read from /proc (man proc(5)); elsewhere the functions answer `undefined` and callers
 * fall back to what `kill(2)` can tell.
 */

/** A process as the kernel knows it: a pid alone is reused, a pid with its start time (on this boot) is not. */
export interface ProcessIdentity {
  readonly pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot), where the system has /proc. */
  readonly startTime?: string;
  /** The kernel's boot id: start times count from boot, so they only compare within one boot. */
  readonly bootId?: string;
}

interface StatFields {
  readonly state: string;
  readonly pgrp: number;
  readonly startTime: string;
}

/** Fields of /proc/<pid>/stat, or undefined when it is gone (or there is no /proc). */
function statOf(pid: number | string): StatFields | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the other fields start after the
  // last ')'. From there, index 0 is field 3 (state), 2 is field 5 (pgrp), 19 is field 22 (starttime).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, pgrp, startTime] = [fields[0], fields[2], fields[19]];
  if (state === undefined || pgrp === undefined || startTime === undefined) return undefined;
  return { state, pgrp: Number(pgrp), startTime };
}

/** The kernel's start time of a process (Linux /proc), or undefined elsewhere or when it is gone. */
export function processStartTime(pid: number): string | undefined {
  return statOf(pid)?.startTime;
}

let cachedBootId: string | null | undefined;

/** This boot's id (Linux), or undefined elsewhere. */
export function bootId(): string | undefined {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId ?? undefined;
}

/** The identity of a running process, to recognise it later (see {@link isRunning}). */
export function identityOf(pid: number): ProcessIdentity {
  const startTime = processStartTime(pid);
  const boot = bootId();
  return { pid, ...(startTime !== undefined ? { startTime } : {}), ...(boot !== undefined ? { bootId: boot } : {}) };
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True while the process `identity` names still runs: the same pid with the same start time on the
 * same boot. Without a recorded start time (no /proc where it was recorded) only the pid can be
 * checked, which a reused pid fools; that is all such a system allows.
 */
export function isRunning(identity: ProcessIdentity): boolean {
  const boot = bootId();
  if (identity.bootId !== undefined && boot !== undefined && identity.bootId !== boot) return false;
  if (identity.startTime === undefined) return signalZero(identity.pid);
  const stat = statOf(identity.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === identity.startTime;
}

/**
 * The live members of process group `pgid` that started no earlier than `notBefore` (a start time),
 * from a scan of /proc; undefined where there is no /proc. Zombies are left out: they run nothing
 * and only wait for their parent (or init) to collect them.
 */
export function groupMembers(pgid: number, notBefore?: string): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const floor = notBefore === undefined ? undefined : Number(notBefore);
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (!stat || stat.pgrp !== pgid || stat.state === 'Z') continue;
    if (floor !== undefined && Number(stat.startTime) < floor) continue;
    members.push(Number(entry));
  }
  return members;
}

/** The process group a running process is in (Linux), or undefined. */
export function processGroupOf(pid: number): number | undefined {
  return statOf(pid)?.pgrp;
}

/**
 * Sends `signal` to every process of group `pgid` at once (`kill(-pgid)`, man kill(2)): members
 * that fork meanwhile are not missed, as they would be by signalling pids one by one. Returns false
 * when the group is empty. The caller must know the group is still the one it means: see
 * {@link groupStillRunning}.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (pgid <= 1) return false; // -1 would signal every process we may signal; 0, our own group.
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while group `pgid`, led by `leader` when it started, has any live member. A group id is the
 * pid of its leader, and Linux never hands out a pid that is still in use as a process-group or
 * session id (kernel/pid.c: a pid number is freed only when no task uses it as pid, pgid or sid), so
 * while a member lives, `-pgid` means this group. Once the group is empty the number may come back
 * (after the pid range wraps: alloc_pid allocates cyclically), so callers stop signalling then.
 */
export function groupStillRunning(pgid: number, leader: ProcessIdentity): boolean {
  const boot = bootId();
  if (leader.bootId !== undefined && boot !== undefined && leader.bootId !== boot) return false;
  if (pgid <= 1) return false;
  const members = groupMembers(pgid, leader.startTime);
  if (members !== undefined) return members.length > 0;
  return signalZero(-pgid);
}
