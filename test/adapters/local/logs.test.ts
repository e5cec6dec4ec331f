import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { readSwitchyardLog, readVersionLogs } from '../../../src/adapters/local/log-reader.js';
import { ReplicaLogWriter } from '../../../src/adapters/local/log-writer.js';
import { FileLog } from '../../../src/adapters/log/file-log.js';
import { at, filesIn, writeLog, type WrittenLine } from '../../support/log-files.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-logs-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const query = { service: 'shop', version: 'v1' } as const;
const messages = (lines: readonly { message: string }[]) => lines.map((l) => l.message);

/**
 * Two replicas of v1, each with rotated files (replica 0: `.log.2` oldest, `.log.1`, `.log`;
 * replica 1: `.log.1`, `.log`), their lines interleaved in time; an earlier process of replica 0;
 * and files that are not v1's logs.
 */
async function rotatedReplicas(): Promise<{ logDir: string; all: { time: string; replica: number; message: string }[] }> {
  const logDir = tempDir();
  const dir = join(logDir, 'shop');
  const all: { time: string; replica: number; message: string }[] = [];
  const line = (ms: number, replica: number, message: string, pid = replica === 0 ? 100 : 200): WrittenLine => {
    all.push({ time: at(ms), replica, message });
    return { time: at(ms), message, stream: message.includes('ERROR') ? 'stderr' : 'stdout', pid };
  };
  // The earlier process of replica 0 (pid 50), before a restart.
  await writeLog(join(dir, 'v1-0-50.log'), [line(0, 0, 'old process starting', 50), line(5, 0, 'old process ERROR crashed', 50)]);
  await writeLog(join(dir, 'v1-0-100.log.2'), [line(10, 0, 'r0 a'), line(20, 0, 'r0 b ERROR one')]);
  await writeLog(join(dir, 'v1-0-100.log.1'), [line(30, 0, 'r0 c'), line(50, 0, 'r0 d')]);
  await writeLog(join(dir, 'v1-1-200.log.1'), [line(15, 1, 'r1 a'), line(30, 1, 'r1 b error two'), line(40, 1, 'r1 c')]);
  await writeLog(join(dir, 'v1-1-200.log'), [line(60, 1, 'r1 d'), line(70, 1, 'r1 e')]);
  await writeLog(join(dir, 'v1-0-100.log'), [line(65, 0, 'r0 e Error three'), line(80, 0, 'r0 f')]);
  // Not v1's logs: another version whose name starts the same, and a stray file.
  await writeLog(join(dir, 'v10-0-300.log'), [{ time: at(75), message: 'v10 line' }]);
  await writeLog(join(dir, 'notes.txt'), [{ time: at(76), message: 'stray' }]);
  all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.replica - b.replica));
  return { logDir, all };
}

describe('reading a version’s logs across rotated files and replicas', () => {
  it('gives every line of every process of the version, rotated files included, merged in time order (replica breaks a tie)', async () => {
    const { logDir, all } = await rotatedReplicas();
    const lines = await readVersionLogs(logDir, query);
    expect(lines.map((l) => [l.time, l.replica, l.message])).toEqual(all.map((l) => [l.time, l.replica, l.message]));
    expect(lines.find((l) => l.message === 'r1 b error two')).toMatchObject({ version: 'v1', replica: 1, pid: 200, stream: 'stdout' });
    expect(lines.find((l) => l.message === 'old process ERROR crashed')).toMatchObject({ replica: 0, pid: 50, stream: 'stderr' });
    expect(lines.truncated).toBeUndefined();
  });

  it.each([
    ['limit keeps the most recent lines, from two rotated files and both replicas', { limit: 6 }, ['r1 c', 'r0 d', 'r1 d', 'r0 e Error three', 'r1 e', 'r0 f']],
    ['since keeps only lines after it (exclusive), reaching into rotated files', { since: at(40) }, ['r0 d', 'r1 d', 'r0 e Error three', 'r1 e', 'r0 f']],
    [
      'grep is case-insensitive plain text on the message',
      { grep: 'eRRoR' },
      ['old process ERROR crashed', 'r0 b ERROR one', 'r1 b error two', 'r0 e Error three'],
    ],
    ['grep looks at the message only, not the other fields', { grep: 'stdout' }, []],
    ['grep and limit: the most recent matches', { grep: 'error', limit: 2 }, ['r1 b error two', 'r0 e Error three']],
    ['since, grep and limit together', { since: at(20), grep: 'error', limit: 2 }, ['r1 b error two', 'r0 e Error three']],
    ['a since after every line gives nothing', { since: at(1000) }, []],
  ])('%s', async (_name, extra, expected) => {
    const { logDir } = await rotatedReplicas();
    expect(messages(await readVersionLogs(logDir, { ...query, ...extra }))).toEqual(expected);
  });

  it('skips a line cut short (a crash, or a write still under way) and what is not JSON', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-1.log');
    await writeLog(file, [
      { time: at(1), message: 'first' },
      { time: at(2), message: 'second' },
    ]);
    appendFileSync(file, 'not json at all\n{"time":"2026-01-01T00:00:00.003Z","service":"shop","version":"v1","pid":1,"stream":"stdout","message":"cut sh');
    expect(messages(await readVersionLogs(logDir, query))).toEqual(['first', 'second']);
  });

  it('says the answer is truncated when the read stopped at its byte bound before finding `limit` lines', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-1.log');
    await writeLog(file, [{ time: at(0), message: 'the only needle' }]);
    await writeLog(
      file,
      Array.from({ length: 2000 }, (_, i) => ({ time: at(1 + i), message: `hay ${i}` })),
    );
    const bounded = await readVersionLogs(logDir, { ...query, grep: 'needle' }, { maxBytes: 64 * 1024 });
    expect(messages(bounded)).toEqual([]);
    expect(bounded.truncated).toBe(true);
    // The same read with room enough finds the line and is complete.
    const whole = await readVersionLogs(logDir, { ...query, grep: 'needle' }, { maxBytes: 1024 * 1024 });
    expect(messages(whole)).toEqual(['the only needle']);
    expect(whole.truncated).toBeUndefined();
    // A bounded read that finds its `limit` lines first is not truncated.
    const recent = await readVersionLogs(logDir, { ...query, limit: 10 }, { maxBytes: 64 * 1024 });
    expect(messages(recent)).toEqual(Array.from({ length: 10 }, (_, i) => `hay ${1990 + i}`));
    expect(recent.truncated).toBeUndefined();
  });

  it('property: reading backwards in chunks of any size gives what reading the whole file gives (any text, any line length)', async () => {
    const logDir = tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 60 }),
        async (texts, chunkBytes, limit) => {
          const file = join(logDir, 'shop', `v1-0-${++run}.log`);
          // Messages as the writer keeps them: one line each (a newline would have ended the line).
          const lines = texts.map((t, i) => ({ time: at(i), message: t.replace(/\n/g, ' ') }));
          await writeLog(file, lines);
          const read = await readVersionLogs(logDir, { ...query, limit }, { chunkBytes });
          rmSync(file);
          expect(messages(read)).toEqual(messages(lines.slice(-limit)));
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** A writer fed through pipes, as processes.ts feeds it a child's stdout and stderr. */
function pipedWriter(file: string, options: { maxFileBytes?: number; rotatedFiles?: number; maxPendingBytes?: number } = {}) {
  const writer = new ReplicaLogWriter({ file, service: 'shop', version: 'v1', pid: 42, ...options });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  writer.attach('stdout', stdout);
  writer.attach('stderr', stderr);
  const close = async () => {
    stdout.end();
    stderr.end();
    await writer.close();
  };
  return { writer, stdout, stderr, close };
}
describe('writing a replica’s log', () => {
  it('writes the JSON lines the reader parses, field for field as before; CRLF, quotes, unicode and a last line without newline kept', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-42.log');
    const { stdout, stderr, close } = pipedWriter(file);
    stdout.write('plain\r\nwith "quotes" and \\ back\u00e9\u20ac');
    stdout.write(Buffer.from('\u{1F600}\n').subarray(0, 2));
    stdout.write(Buffer.from('\u{1F600}\n').subarray(2));
    stderr.write('an ERROR on stderr\n');
    stdout.write('no newline at the end');
    await close();
    const raw = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    for (const line of raw) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      // The same bytes JSON.stringify gives the same fields in the same order: the old format.
      expect(line).toBe(
        JSON.stringify({ time: parsed['time'], service: 'shop', version: 'v1', pid: 42, stream: parsed['stream'], message: parsed['message'] }),
      );
    }
    const lines = await readVersionLogs(logDir, query);
    expect(lines.map((l) => [l.stream, l.message])).toEqual(
      expect.arrayContaining([
        ['stdout', 'plain'],
        ['stdout', 'with "quotes" and \\ back\u00e9\u20ac\u{1F600}'],
        ['stderr', 'an ERROR on stderr'],
        ['stdout', 'no newline at the end'],
      ]),
    );
    expect(lines).toHaveLength(4);
  });

  it('Switchyard’s line about the exit comes after the process’s last lines, even when they are read after the exit', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-42.log');
    const { writer, stdout, stderr, close } = pipedWriter(file);
    stdout.write('working\n');
    writer.line('switchyard', 'exited with code 1');
    stderr.write('Error: the last words\n');
    stdout.write('a line without newline');
    await close();
    const lines = await readVersionLogs(logDir, query);
    expect(lines.map((l) => l.message)).toEqual(['working', 'Error: the last words', 'a line without newline', 'exited with code 1']);
  });

  it('cuts a line longer than 64 KiB into pieces instead of holding it whole (a child that never prints a newline)', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-42.log');
    const { stdout, close } = pipedWriter(file);
    for (let i = 0; i < 10; i++) stdout.write('y'.repeat(20 * 1024));
    await close();
    const lines = await readVersionLogs(logDir, query);
    expect(lines.map((l) => l.message.length)).toEqual([64 * 1024, 64 * 1024, 64 * 1024, 200 * 1024 - 3 * 64 * 1024]);
  });

  it('a replica writing faster than its log is saved: its output is no longer read until the disk catches up (the pipe pushes back, as ECS’s blocking awslogs does); no line is lost', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-42.log');
    const { writer, stdout, close } = pipedWriter(file, { maxPendingBytes: 10_000 });
    // 1000 lines (100 KB) in one turn of the event loop: the disk gets no chance to take any of them.
    let accepted = true;
    for (let i = 0; i < 1000; i++) accepted = stdout.write(`line ${i} ${'x'.repeat(60)}\n`) && accepted;
    await new Promise((resolve) => process.nextTick(resolve));
    // The rest waits on the producer's side, which is told to stop (a child's write would block).
    expect(stdout.isPaused()).toBe(true);
    expect(accepted).toBe(false);
    expect(stdout.readableLength + stdout.writableLength).toBeGreaterThan(50_000);
    await writer.flushed();
    stdout.write('after the burst\n');
    await close();
    const lines = messages(await readVersionLogs(logDir, { ...query, limit: 5000 }));
    expect(lines).toEqual([...Array.from({ length: 1000 }, (_, i) => `line ${i} ${'x'.repeat(60)}`), 'after the burst']);
    expect(writer.dropped).toBe(0);
  });

  it('an output that will not pause is cut at twice the bound: the rest is dropped, and the log says how many', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-42.log');
    const { writer, stdout, close } = pipedWriter(file, { maxPendingBytes: 10_000 });
    // Emitted past pause(), as a stream that ignores it would.
    for (let i = 0; i < 1000; i++) stdout.emit('data', Buffer.from(`line ${i} ${'x'.repeat(60)}\n`));
    await writer.flushed();
    stdout.emit('data', Buffer.from('after the burst\n'));
    await close();
    const lines = messages(await readVersionLogs(logDir, { ...query, limit: 5000 }));
    const kept = lines.length - 2;
    expect(kept).toBeGreaterThan(50);
    expect(kept).toBeLessThan(300);
    expect(lines).toEqual([
      ...Array.from({ length: kept }, (_, i) => `line ${i} ${'x'.repeat(60)}`),
      `${1000 - kept} lines dropped: the output kept coming while 20 KB waited for the disk`,
      'after the burst',
    ]);
    expect(writer.dropped).toBe(1000 - kept);
  });

  it('rotates by size: never more than the live file and the rotated ones, each within the size, the newest lines kept and readable in order', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-42.log');
    const { writer, stdout, close } = pipedWriter(file, { maxFileBytes: 10_000, rotatedFiles: 2, maxPendingBytes: 2_000 });
    // 2000 lines of about 120 bytes, 10 per turn (no drop): 240 KB through a 30 KB bound.
    for (let i = 0; i < 2000; i++) {
      stdout.write(`line ${String(i).padStart(4, '0')}\n`);
      if (i % 10 === 9) await writer.flushed();
    }
    await close();
    expect(writer.dropped).toBe(0);
    const files = await filesIn(join(logDir, 'shop'));
    expect(Object.keys(files)).toEqual(['v1-0-42.errors', 'v1-0-42.log', 'v1-0-42.log.1', 'v1-0-42.log.2']);
    for (const name of ['v1-0-42.log', 'v1-0-42.log.1', 'v1-0-42.log.2']) expect(files[name]).toBeLessThanOrEqual(10_000);
    const lines = messages(await readVersionLogs(logDir, { ...query, limit: 5000 }));
    // What is kept is the newest run of lines, in order, ending with the last one written.
    expect(lines.length).toBeGreaterThan(150);
    expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => `line ${String(2000 - lines.length + i).padStart(4, '0')}`));
  });

  it('the approval’s error lines come from the writer’s index: still there after their file was rotated away', async () => {
    const logDir = tempDir();
    const file = join(logDir, 'shop', 'v1-0-42.log');
    const { writer, stdout, stderr, close } = pipedWriter(file, { maxFileBytes: 10_000, rotatedFiles: 1, maxPendingBytes: 2_000 });
    stderr.write('Error: payment declined\n');
    for (let i = 0; i < 500; i++) {
      stdout.write(`chatter ${i}\n`);
      if (i % 10 === 9) await writer.flushed();
    }
    await close();
    const everything = messages(await readVersionLogs(logDir, { ...query, limit: 5000 }));
    expect(everything).not.toContain('Error: payment declined');
    const approval = await readVersionLogs(logDir, { ...query, grep: 'error', limit: 5 });
    expect(approval.map((l) => [l.stream, l.message])).toEqual([['stderr', 'Error: payment declined']]);
  });
});

describe('switchyard.log', () => {
  it('rotates by size, and the release’s lines are read across its rotated files, in order', async () => {
    const dir = tempDir();
    const file = join(dir, 'switchyard.log');
    const log = new FileLog(file, { maxFileBytes: 4_000, rotatedFiles: 2 });
    for (let i = 0; i < 300; i++) log.info(`step ${i}`, { releaseId: i % 2 === 0 ? 'r-even' : 'r-odd' });
    await log.close();
    const files = await filesIn(dir);
    expect(Object.keys(files)).toEqual(['switchyard.log', 'switchyard.log.1', 'switchyard.log.2']);
    for (const size of Object.values(files)) expect(size).toBeLessThanOrEqual(4_000);
    const lines = await readSwitchyardLog(file, 'r-even', { service: 'shop', version: 'switchyard', limit: 5000 });
    const steps = lines.map((l) => Number((JSON.parse(l.message) as { message: string }).message.split(' ')[1]));
    expect(steps.at(-1)).toBe(298);
    expect(steps.length).toBeGreaterThan(30);
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => 298 - 2 * (steps.length - 1 - i)));
    expect(lines[0]).toMatchObject({ version: 'switchyard', source: 'switchyard' });
    const recent = await readSwitchyardLog(file, 'r-odd', { service: 'shop', version: 'switchyard', grep: 'STEP 29', limit: 3 });
    expect(recent.map((l) => (JSON.parse(l.message) as { message: string }).message)).toEqual(['step 293', 'step 295', 'step 297', 'step 299'].slice(-3));
  });
});
