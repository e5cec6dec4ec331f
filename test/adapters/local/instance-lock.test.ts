import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyRunningError, claimDataDir, LOCK_FILE, type DataDirClaim } from '../../../src/adapters/local/instance-lock.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { firstLine, runTs, see } from '../../support/process-groups.js';

const dirs: string[] = [];
const claims: DataDirClaim[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const claim of claims.splice(0)) claim.release();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-lock-'));
  dirs.push(dir);
  return dir;
};
const claim = (dir: string) => {
  const c = claimDataDir(dir);
  claims.push(c);
  return c;
};
const holder = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number };

/** Another Switchyard (its own process) holding `dir` until it is killed. */
async function otherSwitchyard(dir: string): Promise<ChildProcess> {
  const child = runTs(join(process.cwd(), 'test/fixtures/processes/hold-data-dir.ts'), [dir]);
  children.push(child);
  expect(await firstLine(child)).toBe('claimed');
  return child;
}

describe('one Switchyard per data directory', () => {
  it('a second start on a data directory in use stops with who holds it; once that one is killed, the next start takes the directory over', async () => {
    const dir = dataDir();
    const other = await otherSwitchyard(dir);
    let refused: unknown;
    try {
      claimDataDir(dir);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(AlreadyRunningError);
    expect((refused as AlreadyRunningError).message).toBe(`already running (pid ${other.pid}), data dir ${dir}`);
    expect((refused as AlreadyRunningError).code).toBe(ErrorCode.conflict);
    expect(holder(dir).pid).toBe(other.pid);

    const exited = new Promise((r) => other.once('exit', r));
    other.kill('SIGKILL'); // a crash: the lock stays behind, naming a dead process
    await exited;
    claim(dir);
    expect(holder(dir).pid).toBe(process.pid);
  });

  it('two starts in one process on one directory: the second is refused too', () => {
    const dir = dataDir();
    claim(dir);
    expect(() => claimDataDir(dir)).toThrow(`already running (pid ${process.pid}), data dir ${dir}`);
  });

  it('release gives the directory up (idempotently); a later start claims it again', () => {
    const dir = dataDir();
    const first = claimDataDir(dir);
    first.release();
    first.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    claim(dir);
    expect(holder(dir).pid).toBe(process.pid);
  });

  it.each([
    ['its pid now belongs to another process (a reused pid: another start time)', () => JSON.stringify({ pid: process.pid, startTime: '1' })],
    ['it was written on an earlier boot', () => JSON.stringify({ ...see(process.pid), bootId: 'an-earlier-boot' })],
    ['it is damaged', () => '{"pid":'],
  ])('a lock is taken over when %s', (_, text) => {
    const dir = dataDir();
    writeFileSync(join(dir, LOCK_FILE), text());
    claim(dir);
    expect(holder(dir)).toMatchObject({ pid: process.pid, startTime: see(process.pid).startTime });
    expect(readdirSync(dir)).toEqual([LOCK_FILE]); // nothing left over from the takeover
  });

  it('release never removes a lock another process holds now', async () => {
    const dir = dataDir();
    const mine = claimDataDir(dir);
    // Someone removed our lock (rm) and another Switchyard started meanwhile.
    rmSync(join(dir, LOCK_FILE));
    const other = await otherSwitchyard(dir);
    mine.release();
    expect(holder(dir).pid).toBe(other.pid);
  });
});
