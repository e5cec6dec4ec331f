import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ERROR_LINE_MATCH } from '../../core/evidence.js';
import type { LogLine, LogLines, LogQuery } from '../../ports/logs.js';
import { ERROR_INDEX_LINES, errorIndexFile, rotatedFile } from './log-writer.js';

/** Lines a read gives when the query names no `limit` (the API's default too). */
export const LOG_READ_DEFAULT_LINES = 500;
/** The most lines one read gives, whatever it asks (the API's own bound, LogQuerySchema). */
export const LOG_READ_MAX_LINES = 5000;
/**
 * The most bytes one read looks through. A grep that matches nothing would otherwise read every
 * replica's 30 MB (and every earlier process's); 8 MB took 30–60 ms here (`npm run bench:logs`, a
 * scan with no index), in 128 turns of the event loop, and holds about 40 000 lines of a typical
 * service: far more than a person scrolls. A read that stops here says so (`truncated`).
 */
export const LOG_READ_MAX_BYTES = 8 * 1024 * 1024;
/** Read from the end in chunks of this size: each costs well under a millisecond of the event loop. */
export const LOG_READ_CHUNK_BYTES = 64 * 1024;
/** A line longer than this (not one the writer wrote: it splits at 64 KiB) is skipped, not buffered. */
const MAX_LINE_BYTES = 1024 * 1024;
/**
 * A file's modification time bounds the time of its newest line (the line is timed, then written).
 * Two seconds of slack cover file systems that keep coarse times.
 */
const MTIME_SLACK_MS = 2000;

export interface LogReadOptions {
  /** @default LOG_READ_MAX_BYTES */
  readonly maxBytes?: number;
  /** @default LOG_READ_CHUNK_BYTES */
  readonly chunkBytes?: number;
}

const SKIP = Symbol('skip');
const OLDER = Symbol('older');
/** What a line is to a read: kept, skipped, or at or before `since` (nothing further back is wanted). */
type Verdict = LogLine | typeof SKIP | typeof OLDER;
type Judge = (raw: string) => Verdict;

/** The time of a line as the writers write it (`{"time":"<24 chars>",…`), without parsing the line. */
function timeOf(raw: string): string | undefined {
  return raw.startsWith('{"time":"') && raw.charCodeAt(33) === 34 ? raw.slice(9, 33) : undefined;
}

/**
 * A cheap first test on the raw line before it is parsed: a plain needle appears in the raw JSON
 * whenever it appears in the message (JSON escapes only quotes, backslashes and control characters).
 */
const prefilterable = (needle: string) => /^[\x20-\x7e]*$/.test(needle) && !/["\\]/.test(needle);

interface Budget {
  left: number;
}

interface BackwardLogOptions {
  readonly replica: number;
  /** The live file; its rotated files are `<file>.<n>`. */
  readonly file: string;
  /** Which of its files exist: 0 for the live one, n for `<file>.<n>`, ascending (newest first). */
  readonly segments: readonly number[];
  /** When its newest file was last written. */
  readonly newestWrite: Date;
  readonly judge: Judge;
  /** Bytes left to read, shared by every log of one read. */
  readonly budget: Budget;
  readonly chunkBytes: number;
  /** The writer's side index of the log's recent error lines, when the query is the one it answers. */
  readonly index?: string | undefined;
  readonly since?: string | undefined;
}

/**
 * One log (a live file and its rotated files, newest first), read from its newest line backwards,
 * a chunk at a time, never further than the shared budget or the first line at or before `since`.
 * It assumes each file is in time order, as the writers write it.
 */
class BackwardLog {
  /** Lines read and kept, newest first; `next` is the first not yet taken. */
  private lines: LogLine[] = [];
  private next = 0;
  private done = false;
  /** Stopped by the budget with lines left unread. */
  cut = false;
  /** No line still to come is newer than this (the file's time, then each line taken). */
  bound: string;
  private segment = -1;
  private handle: FileHandle | undefined;
  private position = 0;
  private leftover: Buffer = Buffer.alloc(0);
  /** Inside a line longer than MAX_LINE_BYTES, reading back to where it starts. */
  private skipping = false;
  private readonly seen = new Set<number>();

  readonly replica: number;
  private readonly file: string;
  private readonly segments: readonly number[];
  private readonly judge: Judge;
  private readonly budget: Budget;
  private readonly chunkBytes: number;
  private readonly index: string | undefined;

  constructor({ replica, file, segments, newestWrite, judge, budget, chunkBytes, index, since }: BackwardLogOptions) {
    this.replica = replica;
    this.file = file;
    this.segments = segments;
    this.judge = judge;
    this.budget = budget;
    this.chunkBytes = chunkBytes;
    this.index = index;
    this.bound = new Date(newestWrite.getTime() + MTIME_SLACK_MS).toISOString();
    // Nothing written after `since`: nothing to read.
    if (since !== undefined && this.bound <= since) this.done = true;
  }

  /** The newest line not taken yet; `undefined` when none is left, `'more'` when it must be read first. */
  head(): LogLine | undefined | 'more' {
    if (this.next < this.lines.length) return this.lines[this.next];
    return this.done ? undefined : 'more';
  }

  take(): void {
    const line = this.lines[this.next++];
    if (line) this.bound = line.time;
    if (this.next === this.lines.length) {
      this.lines = [];
      this.next = 0;
    }
  }

  /** Reads further back until a line is kept or nothing is left to read. */
  async fill(): Promise<void> {
    if (this.index !== undefined && this.segment === -1 && (await this.fromIndex(this.index))) return;
    while (this.next >= this.lines.length && !this.done) await this.readChunk();
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  /** The writer's side index of recent error lines, when it has one: read whole (it is small). */
  private async fromIndex(file: string): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return false;
    }
    this.budget.left -= text.length;
    const raws = text.split('\n');
    for (let i = raws.length - 1; i >= 0; i--) {
      const raw = raws[i];
      if (!raw) continue;
      const verdict = this.judge(raw);
      if (verdict === OLDER) break;
      if (verdict !== SKIP) this.lines.push(verdict);
    }
    this.done = true;
    return true;
  }

  /** Opens the next older file not read yet (a rotation while reading renames files: each is read once). */
  private async openNext(): Promise<boolean> {
    await this.close();
    while (++this.segment < this.segments.length) {
      const name = rotatedFile(this.file, this.segments[this.segment] ?? 0);
      try {
        const handle = await open(name, 'r');
        const { ino, size } = await handle.stat();
        if (this.seen.has(ino)) {
          await handle.close();
          continue;
        }
        this.seen.add(ino);
        this.handle = handle;
        this.position = size;
        this.leftover = Buffer.alloc(0);
        this.skipping = false;
        return true;
      } catch {
        continue; // rotated away since the folder was listed
      }
    }
    return false;
  }

  private async readChunk(): Promise<void> {
    if (!this.handle || this.position === 0) {
      if (!(await this.openNext())) {
        this.done = true;
        return;
      }
      if (this.position === 0) return;
    }
    if (this.budget.left <= 0) {
      this.done = true;
      this.cut = true;
      await this.close();
      return;
    }
    const length = Math.min(this.chunkBytes, this.position, this.budget.left);
    this.position -= length;
    this.budget.left -= length;
    const chunk = Buffer.allocUnsafe(length);
    const handle = this.handle;
    if (!handle) return;
    const { bytesRead } = await handle.read(chunk, 0, length, this.position);
    let data = chunk.subarray(0, bytesRead);
    if (this.skipping) {
      const end = data.lastIndexOf(10);
      if (end < 0) return; // still inside the long line
      this.skipping = false;
      data = data.subarray(0, end + 1);
    } else if (this.leftover.length > 0) {
      data = Buffer.concat([data, this.leftover]);
    }
    let complete = data;
    this.leftover = Buffer.alloc(0);
    if (this.position > 0) {
      // The bytes before the first newline end a line that starts further back.
      const first = data.indexOf(10);
      if (first < 0) {
        this.leftover = data;
        if (data.length > MAX_LINE_BYTES) {
          this.leftover = Buffer.alloc(0);
          this.skipping = true;
        }
        return;
      }
      this.leftover = data.subarray(0, first);
      complete = data.subarray(first + 1);
    }
    const raws = complete.toString('utf8').split('\n');
    for (let i = raws.length - 1; i >= 0; i--) {
      const raw = raws[i];
      if (!raw) continue;
      const verdict = this.judge(raw);
      if (verdict === OLDER) {
        this.done = true;
        await this.close();
        return;
      }
      if (verdict !== SKIP) this.lines.push(verdict);
    }
  }
}

/** Is `a` (a line or, for a log not read yet, its bound) ahead of `b` in newest-first order? */
function ahead(a: { time: string; more: boolean; replica: number }, b: { time: string; more: boolean; replica: number }): boolean {
  if (a.time !== b.time) return a.time > b.time;
  // On a tie, read the unread log first: it may hold a line that comes before.
  if (a.more !== b.more) return a.more;
  return a.replica > b.replica;
}

/**
 * The newest `limit` lines of all the logs, oldest first: a merge from the newest end that reads a
 * log only when its next line could be the next one taken (a log whose file was last written before
 * the lines taken so far is never read).
 */
async function newestLines(logs: readonly BackwardLog[], limit: number): Promise<LogLines> {
  const picked: LogLine[] = [];
  try {
    while (picked.length < limit) {
      let best: { log: BackwardLog; line: LogLine | undefined; time: string; more: boolean; replica: number } | undefined;
      for (const log of logs) {
        const head = log.head();
        if (head === undefined) continue;
        const candidate =
          head === 'more'
            ? { log, line: undefined, time: log.bound, more: true, replica: log.replica }
            : { log, line: head, time: head.time, more: false, replica: log.replica };
        if (!best || ahead(candidate, best)) best = candidate;
      }
      if (!best) break;
      if (best.line) {
        picked.push(best.line);
        best.log.take();
      } else await best.log.fill();
    }
  } finally {
    await Promise.all(logs.map((log) => log.close()));
  }
  picked.reverse();
  return logs.some((log) => log.cut) ? Object.assign(picked, { truncated: true }) : picked;
}

const clampLimit = (limit: number | undefined) => Math.min(Math.max(1, Math.floor(limit ?? LOG_READ_DEFAULT_LINES)), LOG_READ_MAX_LINES);

/** The files of one log in a folder listing: `<name>` and its rotated `<name>.<n>`, newest first. */
function segmentsIn(names: readonly string[], name: string): number[] {
  const pattern = new RegExp(`^${escape(name)}(?:\\.(\\d+))?$`);
  return names
    .map((n) => pattern.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1] ?? 0))
    .sort((a, b) => a - b);
}

/** When the newest file of a log was last written. */
async function newestWrite(file: string, segments: readonly number[]): Promise<Date> {
  for (const n of segments) {
    const info = await stat(rotatedFile(file, n)).catch(() => undefined);
    if (info) return info.mtime;
  }
  return new Date(0);
}

/**
 * Switchyard's own lines about one release (local mode's switchyard.log and its rotated files,
 * JSON lines naming it), read as a version called `switchyard`.
 */
export async function readSwitchyardLog(file: string, releaseId: string, query: LogQuery, options: LogReadOptions = {}): Promise<LogLines> {
  const names = await readdir(dirname(file)).catch(() => []);
  const segments = segmentsIn(names, basename(file));
  if (segments.length === 0) return [];
  const needle = query.grep?.toLowerCase();
  const since = query.since;
  const judge: Judge = (raw) => {
    const fast = timeOf(raw);
    if (fast !== undefined && since !== undefined && fast <= since) return OLDER;
    if (!raw.includes(releaseId)) return SKIP;
    if (needle !== undefined && !raw.toLowerCase().includes(needle)) return SKIP;
    let parsed: { time?: string; timestamp?: string };
    try {
      parsed = JSON.parse(raw) as typeof parsed;
    } catch {
      return SKIP;
    }
    const time = parsed.time ?? parsed.timestamp ?? '';
    if (since !== undefined && time <= since) return time === '' ? SKIP : OLDER;
    return { time, service: query.service, version: 'switchyard', replica: 0, pid: process.pid, stream: 'stdout', message: raw, source: 'switchyard' };
  };
  const budget = { left: options.maxBytes ?? LOG_READ_MAX_BYTES };
  const chunkBytes = options.chunkBytes ?? LOG_READ_CHUNK_BYTES;
  const log = new BackwardLog({ replica: 0, file, segments, newestWrite: await newestWrite(file, segments), judge, budget, chunkBytes, since });
  return newestLines([log], clampLimit(query.limit));
}

/** The file-name form of a version (as processes.ts writes it). */
const fileVersion = (version: string) => version.replace(/[^A-Za-z0-9._-]/g, '_');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every process of one version of a service, merged into one stream in time order, each line with
 * its version and replica: `<logDir>/<service>/<version>-<replica>-<pid>.log` and its rotated files.
 *
 * Read from the end backwards, asynchronously, a chunk at a time, until `limit` lines match, a line
 * is at or before `since`, or LOG_READ_MAX_BYTES were read (then the answer is `truncated`). The
 * approval's question (`grep` ERROR_LINE_MATCH, a few lines) is answered from each process's side
 * index of its recent error lines (log-writer.ts) without reading its log.
 */
export async function readVersionLogs(logDir: string, query: LogQuery, options: LogReadOptions = {}): Promise<LogLines> {
  const dir = join(logDir, query.service);
  const names = await readdir(dir).catch(() => []);
  const pattern = new RegExp(`^(${escape(fileVersion(query.version))}-(\\d+)-(\\d+)\\.log)(?:\\.\\d+)?$`);
  const processes = new Map<string, { replica: number; pid: number }>();
  for (const name of names) {
    const match = pattern.exec(name);
    if (match?.[1]) processes.set(match[1], { replica: Number(match[2]), pid: Number(match[3]) });
  }
  const limit = clampLimit(query.limit);
  const needle = query.grep?.toLowerCase();
  const cheap = needle !== undefined && prefilterable(needle);
  const since = query.since;
  const fromIndex = needle === ERROR_LINE_MATCH && limit <= ERROR_INDEX_LINES;
  const budget = { left: options.maxBytes ?? LOG_READ_MAX_BYTES };
  const logs = await Promise.all(
    [...processes].map(async ([name, { replica, pid }]) => {
      const judge: Judge = (raw) => {
        const fast = timeOf(raw);
        if (fast !== undefined && since !== undefined && fast <= since) return OLDER;
        if (cheap && needle !== undefined && !raw.toLowerCase().includes(needle)) return SKIP;
        let parsed: Partial<LogLine>;
        try {
          parsed = JSON.parse(raw) as Partial<LogLine>;
        } catch {
          return SKIP; // a line cut short by a crash, or still being written
        }
        if (typeof parsed.time !== 'string' || typeof parsed.message !== 'string') return SKIP;
        if (since !== undefined && parsed.time <= since) return OLDER;
        if (needle !== undefined && !parsed.message.toLowerCase().includes(needle)) return SKIP;
        return {
          time: parsed.time,
          service: query.service,
          version: query.version,
          replica,
          pid: Number(parsed.pid ?? pid),
          stream: parsed.stream === 'stderr' ? 'stderr' : 'stdout',
          message: parsed.message,
        };
      };
      const file = join(dir, name);
      const segments = segmentsIn(names, name);
      const index = fromIndex ? errorIndexFile(file) : undefined;
      const chunkBytes = options.chunkBytes ?? LOG_READ_CHUNK_BYTES;
      return new BackwardLog({ replica, file, segments, newestWrite: await newestWrite(file, segments), judge, budget, chunkBytes, index, since });
    }),
  );
  return newestLines(logs, limit);
}
