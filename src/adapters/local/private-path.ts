import { lstatSync } from 'node:fs';
import { ErrorCode, SwitchyardError } from '../../core/errors.js';

/**
 * A file or directory Switchyard keeps to the user who runs it (the local token, the records of
 * processes to stop) is readable or writable by others, belongs to someone else, or is a link. The
 * message says what to run.
 */
export class UnsafePathError extends SwitchyardError {
  override readonly name: string = 'UnsafePathError';
  readonly code: ErrorCode = ErrorCode.validation;
}

/** The running user's uid, where the system has uids. */
export function currentUid(): number | undefined {
  return process.getuid?.();
}

/**
 * Throws {@link UnsafePathError} unless `path` is a `kind` (not a symbolic link to one) owned by the
 * running user with no permission bits for group or others. Returns false when it does not exist.
 *
 * Why each check: a token others can read lets them release; records another user can write (or a
 * folder they own, whose entries they can swap) would make Switchyard kill the processes they name.
 */
export function assertPrivate(path: string, kind: 'file' | 'directory', what: string): boolean {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (stat.isSymbolicLink()) throw new UnsafePathError(`${what} ${path} is a symbolic link; remove it (rm ${path}) and start again`);
  if (kind === 'file' ? !stat.isFile() : !stat.isDirectory()) throw new UnsafePathError(`${what} ${path} is not a ${kind}; remove it and start again`);
  const uid = currentUid();
  if (uid !== undefined && stat.uid !== uid) {
    throw new UnsafePathError(
      `${what} ${path} belongs to uid ${stat.uid}, not to you (uid ${uid}); remove it (rm -r ${path}) or take it over (chown ${uid} ${path}) and start again`,
    );
  }
  // Windows has no such bits (Node reports 0o666/0o777 there): only POSIX systems are checked.
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new UnsafePathError(`${what} ${path} has mode ${mode}, open to other users; run chmod ${kind === 'file' ? 600 : 700} ${path} and start again`);
  }
  return true;
}
