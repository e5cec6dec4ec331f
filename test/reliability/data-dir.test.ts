import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/switchyard.js', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, err }));
  });
}

describe('a data directory that cannot be written', () => {
  it('stops the start with what is wrong and what to do, not a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-dd-'));
    dirs.push(dir);
    // A path under a regular file cannot become a directory, whoever runs the test (even root).
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const { code, err } = await run(['local', '--config', 'examples/local/switchyard.config.ts', '--data-dir', join(dir, 'not-a-dir', 'data'), '--port', '0']);
    expect(code).toBe(2);
    expect(err).toContain(`the data directory ${join(dir, 'not-a-dir', 'data')} cannot be written (ENOTDIR`);
    expect(err).toContain('pass --data-dir with a writable directory, or --in-memory to keep nothing');
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
  }, 30_000);
});
