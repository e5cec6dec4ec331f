import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localToken, TOKEN_FILE } from '../../../src/adapters/local/local-token.js';
import { UnsafePathError } from '../../../src/adapters/local/private-path.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-token-'));
  dirs.push(dir);
  return dir;
};

describe('the local token', () => {
  it('is created once, readable by its owner only, and the same after a restart', () => {
    const dir = dataDir();
    const first = localToken(dir);
    expect(first).toMatchObject({ created: true, file: join(dir, TOKEN_FILE) });
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    if (process.platform !== 'win32') expect(statSync(first.file).mode & 0o777).toBe(0o600);
    // A restart reads the same token: scripts and a signed-in dashboard keep working.
    expect(localToken(dir)).toEqual({ token: first.token, created: false, file: first.file });
    expect(localToken(join(dir, 'another')).token).not.toBe(first.token);
  });

  it.skipIf(process.platform === 'win32')('a token file other users can read is refused, with the command that fixes it', () => {
    const dir = dataDir();
    const { token, file } = localToken(dir);
    chmodSync(file, 0o644);
    expect(() => localToken(dir)).toThrow(UnsafePathError);
    expect(() => localToken(dir)).toThrow(`the token file ${file} has mode 0644, open to other users; run chmod 600 ${file} and start again`);
    chmodSync(file, 0o600);
    expect(localToken(dir).token).toBe(token);
  });

  it.skipIf(process.getuid?.() !== 0)('a token file of another user is refused (only root can make one in a test)', () => {
    const dir = dataDir();
    const { file } = localToken(dir);
    chownSync(file, 4242, 4242);
    expect(() => localToken(dir)).toThrow(`the token file ${file} belongs to uid 4242, not to you (uid 0)`);
  });

  it.skipIf(process.platform === 'win32')('a token file that is a link is refused (it could point at another user’s file)', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'elsewhere'), 'a-token-from-somewhere-else', { mode: 0o600 });
    symlinkSync(join(dir, 'elsewhere'), join(dir, TOKEN_FILE));
    expect(() => localToken(dir)).toThrow(
      `the token file ${join(dir, TOKEN_FILE)} is a symbolic link; remove it (rm ${join(dir, TOKEN_FILE)}) and start again`,
    );
  });

  it('an empty or short token file is refused with how to get a new one', () => {
    const dir = dataDir();
    writeFileSync(join(dir, TOKEN_FILE), 'short\n', { mode: 0o600 });
    expect(() => localToken(dir)).toThrow(`remove it (rm ${join(dir, TOKEN_FILE)}) to get a new one`);
  });

  it('a token someone put there (16 characters or more) is used as it is', () => {
    const dir = dataDir();
    writeFileSync(join(dir, TOKEN_FILE), 'chosen-by-the-operator\n', { mode: 0o600 });
    expect(localToken(dir)).toMatchObject({ token: 'chosen-by-the-operator', created: false });
  });
});
