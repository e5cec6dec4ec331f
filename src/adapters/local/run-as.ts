import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import type { ServiceConfig } from '../../config/config.js';

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/** The user that runs a service's processes when Switchyard is root and the config names none: never root by default. */
export const DEFAULT_SERVICE_USER = 'nobody';

/** A user's numeric ids, from the system's user database (id(1) asks NSS, as login does), or undefined when there is no such user. */
function idsOf(name: string): RunAs | undefined {
  const read = (flag: string) => {
    const out = spawnSync('id', [flag, name], { encoding: 'utf8' });
    return out.status === 0 ? Number(out.stdout.trim()) : undefined;
  };
  const uid = read('-u');
  const gid = read('-g');
  return uid === undefined || gid === undefined || !Number.isInteger(uid) || !Number.isInteger(gid) ? undefined : { uid, gid, name };
}

/**
 * Who runs each local service's processes. As root: the user its config names (`target.user`), or
 * `nobody`; root only when the config says "root". Not root: the services run as this user, which
 * lets them read this process's environment and data directory: said once, as a warning.
 * A user that does not exist is an error naming the service.
 */
export function servicesUser(services: readonly ServiceConfig[], warn?: (message: string) => void, uid = process.getuid?.()): Map<string, RunAs> {
  const out = new Map<string, RunAs>();
  if (uid !== 0) {
    const me = userInfo().username;
    const named = services.filter((s) => s.target.driver === 'local' && s.target.user !== undefined && s.target.user !== me).map((s) => s.name);
    warn?.(
      `services run as your user (${me}), as Switchyard does: they can read its environment and its data directory (tokens, Slack secrets) and signal its processes. Run Switchyard as root with target.user per service to keep them apart${
        named.length > 0 ? ` (target.user of ${named.join(', ')} applies only then)` : ''
      }.`,
    );
    return out;
  }
  for (const svc of services) {
    if (svc.target.driver !== 'local') continue;
    const name = svc.target.user ?? DEFAULT_SERVICE_USER;
    if (name === 'root') continue; // said explicitly: the processes run as root
    const ids = idsOf(name);
    if (!ids)
      throw new Error(`services.${svc.name}.target.user: there is no user "${name}" on this system; create it (useradd --system ${name}) or name another`);
    out.set(svc.name, ids);
  }
  return out;
}
