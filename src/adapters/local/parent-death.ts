import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * setpriv(1) from util-linux: `setpriv --pdeathsig KILL -- <program> <args>` sets the parent-death
 * signal (prctl(2) PR_SET_PDEATHSIG) and execs the program, which keeps it (it survives execve,
 * except into a set-user-ID or file-capability program: man prctl(2)). Then the kernel kills the
 * replica when the process that started it (a service's data plane) dies, even by SIGKILL, when
 * nothing of that process can run to stop it.
 */
const SETPRIV = '/usr/bin/setpriv';

let pdeathsigSupported: boolean | undefined;

/** setpriv is there and knows --pdeathsig (read from its --help: an older util-linux lacks it); asked once. */
function setprivHasPdeathsig(): boolean {
  if (pdeathsigSupported === undefined) {
    if (process.platform !== 'linux') pdeathsigSupported = false;
    else {
      const help = spawnSync(SETPRIV, ['--help'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'], env: {} });
      pdeathsigSupported = help.status === 0 && help.stdout.includes('--pdeathsig');
    }
  }
  return pdeathsigSupported;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where execvp(3) would find `program` with this PATH, or undefined when it would not. */
function findProgram(program: string, path: string | undefined): string | undefined {
  if (program.includes('/')) return isExecutableFile(resolve(program)) ? program : undefined;
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir && isAbsolute(dir) && isExecutableFile(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

/**
 * The program and arguments to spawn so that the process dies with its parent: `program` run
 * through `setpriv --pdeathsig KILL` where setpriv has it (Linux), else `program` itself (other
 * systems: the records reaped at the next start are the only net there).
 *
 * The parent-death signal is sent when the parent THREAD that forked the child exits (prctl(2)).
 * Node forks from the thread that calls `spawn`: the main thread, which ends only with the process,
 * so the replica dies exactly when its parent process does. (Spawned from a worker thread, it would
 * die with that worker.) A parent that dies between fork and setpriv's prctl is missed (setpriv does not
 * re-check getppid): that window, and the children a replica starts itself (they do not inherit the
 * signal across fork), are covered by reaping the process group from its record at the next start.
 *
 * A program that is not found is spawned as it is, so it fails to start exactly as before
 * (`spawn ENOENT`), not as an exit of setpriv.
 *
 * @param path the PATH the child gets, where a bare program name is looked up
 */
export function dieWithParent(program: string, args: readonly string[], path: string | undefined): [string, string[]] {
  if (!setprivHasPdeathsig() || findProgram(program, path) === undefined) return [program, [...args]];
  return [SETPRIV, ['--pdeathsig', 'KILL', '--', program, ...args]];
}
