import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DeployError, messageOf } from '../../core/errors.js';
import type { HaproxyAdmin, ServerStat } from './haproxy-admin.js';

/** Oldest HAProxy with `set server ... addr` and `add server` / `del server` in its runtime API. */
export const MIN_VERSION = [2, 6] as const;

/** Whether HAProxy `major.minor` is older than the data plane needs. */
export function tooOld(major: number, minor: number): boolean {
  return major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]);
}

/** A site's own HAProxy, already running, that Switchyard steers through its admin socket only. */
export interface HaproxyAttach {
  /** Its admin socket (`stats socket <path> level admin`). */
  readonly adminSocket: string;
  /** The backend production traffic goes to: its servers declared `disabled` (not `backup`) are Switchyard's slots, any other is left alone. */
  readonly backend: string;
  /** The test route's backend, with the same slot names. */
  readonly testBackend?: string;
  /** A ring the frontend logs to in Switchyard's format (LOG_FORMAT), for per-request latency. */
  readonly logRing?: string;
  /**
   * A file Switchyard writes its backends' runtime state to after every change, which they load at a
   * reload or restart (`load-server-state-from-file local` and `server-state-file-name <this path>`).
   */
  readonly serverStateFile?: string;
}

/** What attaching found: HAProxy's pid and the slots (server names) of the production backend, in order. */
export interface Attached {
  readonly pid: number;
  /** How long it has run (`Uptime_sec`). */
  readonly uptimeSeconds: number;
  readonly version: string;
  readonly slots: string[];
}

/** The snippet a user adds to their haproxy.cfg for a backend with `count` slots (docs/haproxy.md). */
export function backendSnippet(backend: string, count: number): string {
  return `backend ${backend}\n  balance roundrobin\n  server-template slot 1-${count} 127.0.0.1:9 disabled`;
}

/**
 * Checks a site's HAProxy before Switchyard steers it, changing nothing: its admin socket answers at level
 * admin, it is 2.6 or later, the backends exist with at least `slotsNeeded` server slots (the test
 * backend with the same names) and the log ring, when named, exists. Refuses with what to add otherwise.
 */
export async function checkAttach(admin: HaproxyAdmin, attach: HaproxyAttach, slotsNeeded: number): Promise<Attached> {
  const where = `HAProxy's admin socket ${attach.adminSocket} (dataPlane.attach.adminSocket)`;
  const socketLine = `"stats socket ${attach.adminSocket} mode 660 level admin" in the global section of your haproxy.cfg`;
  let isSocket: boolean;
  try {
    const socket = statSync(attach.adminSocket);
    isSocket = socket.isSocket();
    // Anyone who may replace the socket (or write to it) could answer in HAProxy's name and steer production.
    const folder = dirname(attach.adminSocket);
    if ((statSync(folder).mode & 0o002) !== 0)
      throw new DeployError(
        `${where} is in ${folder}, which any user can write to: any user could put a socket of theirs in its place; put it in a folder only HAProxy's user can write to (such as /run/haproxy)`,
      );
    if (isSocket && (socket.mode & 0o002) !== 0)
      throw new DeployError(
        `${where} can be written to by any user, who could then steer HAProxy: declare it "stats socket ${attach.adminSocket} mode 600 level admin" (or mode 660 with a group of Switchyard's user)`,
      );
  } catch (error) {
    if (error instanceof DeployError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new DeployError(
      code === 'ENOENT'
        ? `${where} does not exist: is HAProxy running, with ${socketLine}? Or correct the path`
        : `${where} cannot be read (${code ?? messageOf(error)}): Switchyard's user needs access to the folder it is in`,
    );
  }
  if (!isSocket) throw new DeployError(`${where} is not a socket: name the path of ${socketLine}`);
  let info: string;
  try {
    info = await admin.run('show info', 3000);
  } catch (error) {
    const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    throw new DeployError(
      code === 'EACCES'
        ? `${where}: permission denied to Switchyard's user: give the socket a group it is in (stats socket ... mode 660 group <group> level admin)`
        : code === 'ECONNREFUSED'
          ? `${where}: nothing answers on it (HAProxy not running, or a socket left by one that stopped)`
          : `${where} did not answer: ${messageOf(error)}`,
    );
  }
  const pid = Number(/^Pid: (\d+)$/m.exec(info)?.[1]);
  const found = /^Version: (\d+)\.(\d+)(\S*)$/m.exec(info);
  if (!found || !(pid > 0)) throw new DeployError(`${where} does not answer like HAProxy's runtime API ("show info" said: ${info.slice(0, 120)})`);
  const [major, minor] = [Number(found[1]), Number(found[2])];
  const version = `${major}.${minor}${found[3] ?? ''}`;
  if (tooOld(major, minor))
    throw new DeployError(`the HAProxy at ${attach.adminSocket} is ${version}; Switchyard needs ${MIN_VERSION.join('.')} or later (set server ... addr)`);
  const level = (await admin.run('show cli level')).trim();
  if (level !== 'admin')
    throw new DeployError(`${where} answers at level "${level || 'unknown'}": Switchyard sets weights and states, which needs ${socketLine}`);

  const backends = new Set(
    (await admin.run('show backend'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#')),
  );
  const backups = new Set((await admin.serverStats()).filter((s: ServerStat) => s.backup).map((s) => `${s.backend}/${s.server}`));
  const states = await admin.serversState();
  // A slot is a server of the documented snippet: disabled in the configuration, not a backup. Any other
  // server of the backend (a `backup`, one of the site's own) is the site's: never read, set or deleted.
  const slotsOf = (backend: string) =>
    states.filter((s) => s.backend === backend && s.disabledInConfig && !backups.has(`${backend}/${s.server}`)).map((s) => s.server);
  const needs = (backend: string, role: string) => {
    if (!backends.has(backend))
      throw new DeployError(
        `the HAProxy at ${attach.adminSocket} has no backend "${backend}" (dataPlane.attach.${role}): add it to your haproxy.cfg with ${slotsNeeded} disabled server slots and reload HAProxy once:\n${backendSnippet(backend, slotsNeeded)}`,
      );
    const slots = slotsOf(backend);
    if (slots.length < slotsNeeded)
      throw new DeployError(
        `backend "${backend}" of the HAProxy at ${attach.adminSocket} has ${slots.length} server slot(s) (servers declared "disabled", not "backup"); Switchyard needs ${slotsNeeded} (two versions of every replica, and one replacement): declare them in your haproxy.cfg and reload HAProxy once:\n  server-template slot 1-${slotsNeeded} 127.0.0.1:9 disabled`,
      );
    return slots;
  };
  const slots = needs(attach.backend, 'backend');
  if (attach.testBackend !== undefined) {
    const test = new Set(needs(attach.testBackend, 'testBackend'));
    const missing = slots.filter((name) => !test.has(name));
    if (missing.length > 0)
      throw new DeployError(
        `backend "${attach.testBackend}" (the test route) lacks the server slots ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} of backend "${attach.backend}": declare the same server-template line in both`,
      );
  }
  if (attach.logRing !== undefined) {
    const answer = await admin.run(`show events ${attach.logRing}`);
    if (/unknown|no such/i.test(answer.slice(0, 200)))
      throw new DeployError(
        `the HAProxy at ${attach.adminSocket} has no ring "${attach.logRing}" (dataPlane.attach.logRing): declare it, and log the frontend to it (docs/haproxy.md), or leave logRing out`,
      );
  }
  return { pid, uptimeSeconds: Number(/^Uptime_sec: (\d+)$/m.exec(info)?.[1] ?? 0), version, slots };
}
