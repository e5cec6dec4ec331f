import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readVersionLogs } from '../../src/adapters/local/log-reader.js';
import { VERSION_LOG_FILE_BYTES, VERSION_LOG_ROTATED_FILES } from '../../src/adapters/local/log-writer.js';
import { spawnProcess, type ManagedProcess } from '../../src/adapters/local/processes.js';
import { ERROR_LINE_MATCH, MAX_ERROR_LINES } from '../../src/core/evidence.js';
import { at, filesIn } from '../support/log-files.js';
import { stallsDuring } from '../support/event-loop.js';
import { eventually } from '../support/poll.js';

const dirs: string[] = [];
const procs: ManagedProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (!p.exit) p.child.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-logs-'));
  dirs.push(dir);
  return dir;
};

/**
 * The longest the event loop may stall while a log is read or written. Generous on purpose (two
 * loaded cores, a garbage collection): the findings saw a read of a 143 MB log hold the loop for
 * seconds, and a chatty version push a quiet service's p99 to 1.48 s.
 */
const MAX_STALL_MS = 200;

/**
 * A log as an older Switchyard left it (never rotated), `megabytes` big, a line every millisecond:
 * written in 1 MB blocks from a template, so 80 MB take a second or two.
 */
async function bigLog(file: string, megabytes: number): Promise<number> {
  await mkdir(join(file, '..'), { recursive: true });
  const padding = 'p'.repeat(80);
  let count = 0;
  for (let mb = 0; mb < megabytes; mb++) {
    let block = '';
    while (block.length < 1 << 20) {
      const stream = count % 97 === 0 ? 'stderr' : 'stdout';
      const message = count % 97 === 0 ? `ERROR request ${count} failed` : `request ${count} handled ${padding}`;
      block += `{"time":"${at(count)}","service":"shop","version":"v1","pid":7,"stream":"${stream}","message":"${message}"}\n`;
      count++;
    }
    await appendFile(file, block);
  }
  return count;
}

describe('reading a large log', () => {
  it('the last 500 lines of an 80 MB log (never rotated) come back right, and the event loop never stalls while they are read', async () => {
    const logDir = tempDir();
    const count = await bigLog(join(logDir, 'shop', 'v1-0-7.log'), 80);
    const { result: lines, stalls } = await stallsDuring(() => readVersionLogs(logDir, { service: 'shop', version: 'v1', limit: 500 }));
    expect(lines).toHaveLength(500);
    expect(lines[0]?.time).toBe(at(count - 500));
    expect(lines.at(-1)).toMatchObject({ time: at(count - 1), replica: 0, pid: 7 });
    expect(lines.at(-1)?.message).toMatch(new RegExp(`^(ERROR )?request ${count - 1} `));
    expect(lines.truncated).toBeUndefined();
    expect(stalls.busyMs).toBeLessThan(MAX_STALL_MS);
    console.log(
      `an 80 MB log: the last 500 lines read with the event loop busy at most ${stalls.busyMs.toFixed(1)} ms in one go (timer late by up to ${stalls.delayMs.toFixed(1)} ms)`,
    );
  });

  it('grep, since and the byte bound on the same log: the newest matches, only what is newer, and a search that finds too little says it is truncated; no stall', async () => {
    const logDir = tempDir();
    const count = await bigLog(join(logDir, 'shop', 'v1-0-7.log'), 80);
    const query = { service: 'shop', version: 'v1' } as const;
    const { result, stalls } = await stallsDuring(async () => ({
      errors: await readVersionLogs(logDir, { ...query, grep: 'error request', limit: 20 }),
      since: await readVersionLogs(logDir, { ...query, since: at(count - 31) }),
      rare: await readVersionLogs(logDir, { ...query, grep: 'request 17 handled' }),
    }));
    const lastError = count - 1 - ((count - 1) % 97);
    expect(result.errors.map((l) => l.message)).toEqual(Array.from({ length: 20 }, (_, i) => `ERROR request ${lastError - 97 * (19 - i)} failed`));
    expect(result.errors.every((l) => l.stream === 'stderr')).toBe(true);
    expect(result.since.map((l) => l.time)).toEqual(Array.from({ length: 30 }, (_, i) => at(count - 30 + i)));
    // Line 17 is 80 MB back, past the 8 MB a read looks through.
    expect(result.rare).toHaveLength(0);
    expect(result.rare.truncated).toBe(true);
    expect(stalls.busyMs).toBeLessThan(MAX_STALL_MS);
  });
});

describe('a version that logs far more than its bound', () => {
  it('keeps the disk within the live file and its rotated ones, its newest lines readable; the approval still sees the error line rotated away; no stall', async () => {
    const logDir = tempDir();
    // 256 KB of 100-character lines a burst, 200 bursts (about 90 MB of JSON lines, three times the
    // bound), a last line, exit.
    const script = [
      `console.error('Error: payment declined');`,
      `const burst = Array.from({ length: 2560 }, (_, i) => 'chatter ' + String(i).padStart(5, '0') + ' ' + 'x'.repeat(86)).join('\\n') + '\\n';`,
      `let n = 0;`,
      `const next = () => { if (n++ < 200) { process.stdout.write(burst); setTimeout(next, 5); } else console.log('the last line'); };`,
      `next();`,
    ].join('\n');
    const { result, stalls } = await stallsDuring(async () => {
      const proc = await spawnProcess({ service: 'shop', version: 'v1', index: 0, command: ['node', '-e', script], logDir });
      procs.push(proc);
      await proc.exited;
      // The child's last lines reach the disk a moment after it exits.
      await eventually(
        () => readVersionLogs(logDir, { service: 'shop', version: 'v1', limit: 1 }),
        (lines) => lines.at(-1)?.message === 'exited with code 0',
        { timeoutMs: 20_000 },
      );
      return { proc, approval: await readVersionLogs(logDir, { service: 'shop', version: 'v1', grep: ERROR_LINE_MATCH, limit: MAX_ERROR_LINES }) };
    });
    const files = await filesIn(join(logDir, 'shop'));
    const base = `v1-0-${result.proc.pid}`;
    expect(Object.keys(files)).toEqual([`${base}.errors`, `${base}.log`, `${base}.log.1`, `${base}.log.2`]);
    const logBytes = files[`${base}.log`]! + files[`${base}.log.1`]! + files[`${base}.log.2`]!;
    expect(logBytes).toBeLessThanOrEqual((VERSION_LOG_ROTATED_FILES + 1) * VERSION_LOG_FILE_BYTES);
    // More than the bound was written: the oldest lines, the error line among them, were rotated away.
    const kept = ['.log', '.log.1', '.log.2'].map((s) => readFileSync(join(logDir, 'shop', `${base}${s}`), 'utf8')).join('');
    expect(kept).not.toContain('payment declined');
    expect(result.approval.map((l) => [l.stream, l.message])).toEqual([['stderr', 'Error: payment declined']]);
    const newest = await readVersionLogs(logDir, { service: 'shop', version: 'v1', limit: 2 });
    // Nothing is lost on the way: the child waited for the disk instead.
    expect(newest.map((l) => l.message)).toEqual(['the last line', 'exited with code 0']);
    expect(kept).not.toContain('lines dropped');
    expect(stalls.busyMs).toBeLessThan(MAX_STALL_MS);
    console.log(
      `a version logging ~90 MB: ${(logBytes / 1024 / 1024).toFixed(1)} MB on disk, event loop busy at most ${stalls.busyMs.toFixed(1)} ms in one go (timer late by up to ${stalls.delayMs.toFixed(1)} ms)`,
    );
  }, 60_000);
});
