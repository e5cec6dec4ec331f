import { closeSync, linkSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';

/** Hard links are not supported where the file is (some network and FUSE file systems). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'ENOSYS', 'EXDEV']);

/**
 * Creates `file` holding `text` only if nothing has that name yet; false if something has. Never
 * visible half written: the text goes to a file of our own first, which is then hard-linked to the
 * name (link(2) fails with EEXIST if the name exists, atomically, and never overwrites). Where hard
 * links are not supported, an exclusive create (O_EXCL) is used, whose content a reader can see
 * before it is all written.
 */
export function createExclusive(file: string, text: string, mode: number): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  // 'wx': a fresh file, so `mode` applies (an existing one would keep its own).
  writeFileSync(temp, text, { mode, flag: 'wx' });
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === undefined || !NO_HARD_LINKS.has(code)) throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}
