import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { ERROR_LINE_MATCH, MAX_ERROR_LINES } from '../../core/evidence.js';

/**
 * One replica's log file grows to this size before it is rotated. 10 MB × 3 files is the bound most
 * Docker hosts give a container's json-file log (`max-size=10m`, `max-file=3`): enough for a day of a
 * quiet service, and the most a read ever has to look through for one replica (the findings had a
 * never-rotated 143 MB file that froze Switchyard on every read).
 */
export const VERSION_LOG_FILE_BYTES = 10 * 1024 * 1024;
/** Rotated files kept besides the live one (`<name>.log.1`, `<name>.log.2`): 30 MB per replica in all. */
export const VERSION_LOG_ROTATED_FILES = 2;
/**
 * Lines waiting for the disk, per replica, before the writer stops reading the process's output
 * (until half of it is written). A burst comes in whole within one turn of the event loop (a 1 MB
 * dump of state arrives as 1.7 MB of JSON lines before the first write can start), so 4 MB takes
 * such a burst without pausing on a healthy disk; more would only grow the memory of the service's
 * data plane (4 MB a replica, plus the batch being written) with a backlog no disk catches up on.
 */
export const VERSION_LOG_PENDING_BYTES = 4 * 1024 * 1024;
/**
 * A line longer than this is kept in pieces of this size (Docker's json-file splits at 16 KiB; a
 * stack trace on one line fits here whole). Without a bound, a child that never prints a newline
 * would grow the line buffer without end.
 */
export const VERSION_LOG_LINE_CHARS = 64 * 1024;
/**
 * Error lines each replica keeps in its side index (`<name>.errors`), newest last: what an approval
 * shows (MAX_ERROR_LINES) and the dashboard's release page (8 lines) are answered from it without
 * reading the log. 50 lines of at most 64 KiB stay under 4 MB even in the worst case.
 */
export const ERROR_INDEX_LINES = Math.max(50, MAX_ERROR_LINES);

/** How long Switchyard's line about a process (its exit) waits for the process's outputs to end. */
const NOTE_WAIT_MS = 2000;

/** Which output a line came from; `switchyard` for what Switchyard itself says about the process. */
export type LogStream = 'stdout' | 'stderr' | 'switchyard';

/** What the writer says in the log itself, so a reader knows what is missing and why. */
export const LogNotes = {
  dropped: (count: number, waitingBytes: number) =>
    `${count} line${count === 1 ? '' : 's'} dropped: the output kept coming while ${waitingBytes >= 1 << 20 ? `${Math.round(waitingBytes / (1 << 20))} MB` : `${Math.round(waitingBytes / 1024)} KB`} waited for the disk`,
  notSaved: (count: number, why: string) => `${count} line${count === 1 ? '' : 's'} dropped: the log could not be written (${why})`,
} as const;

/** `<file>.<n>`: the n-th newest rotated file of a log (n = 0 is the live file itself). */
export const rotatedFile = (file: string, n: number) => (n === 0 ? file : `${file}.${n}`);
/** The side index of a replica's recent error lines: `<dir>/<version>-<replica>-<pid>.errors`. */
export const errorIndexFile = (file: string) => `${file.replace(/\.log$/, '')}.errors`;

/**
 * The test a line passes to be an error line: the approval's `grep` (ERROR_LINE_MATCH, matched as the
 * reader does, case-insensitively). A regular expression tests a line without the lower-cased copy
 * `toLowerCase().includes()` would make of every line; for the letters of "error" both agree.
 */
const errorLine = new RegExp(ERROR_LINE_MATCH.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');

/**
 * What JSON must escape in a string (quotes, backslashes, control characters; lone surrogates too,
 * which JSON.stringify writes as \\u escapes). A newline is not here: it ends a line.
 */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u0009\u000b-\u001f\ud800-\udfff]/;

export interface ReplicaLogOptions {
  /** The live file, `<dir>/<version>-<replica>-<pid>.log`; rotated files and the error index sit beside it. */
  readonly file: string;
  readonly service: string;
  readonly version: string;
  readonly pid: number;
  /** @default VERSION_LOG_FILE_BYTES */
  readonly maxFileBytes?: number;
  /** @default VERSION_LOG_ROTATED_FILES */
  readonly rotatedFiles?: number;
  /** @default VERSION_LOG_PENDING_BYTES */
  readonly maxPendingBytes?: number;
}

interface Input {
  readonly decoder: StringDecoder;
  /** `","service":…,"stream":"stdout","message":`: everything of a line after its time and before its message. */
  readonly middle: string;
  partial: string;
}

/**
 * A replica's JSON-lines log, rotated by size, written in batches.
 *
 * Each line is `{"time","service","version","pid","stream","message"}` (what log-reader.ts parses),
 * built from a template: the message is the only part serialised per line, and the time is read once
 * per chunk of output. Lines queue in memory and go to the disk in one write per turn of the event
 * loop, so a chatty process costs a few system calls a second, not one per line.
 *
 * Backpressure: once `maxPendingBytes` wait for the disk, the writer stops reading the process's
 * output until half of that is written; the pipe fills and the process's next write waits. That is
 * what its container gets on ECS, whose awslogs driver blocks by default (Docker's `mode=blocking`):
 * a version that logs faster than its logs can be kept is slowed down, in local mode as in
 * production, and the gates see it; no line is lost and the writer's memory stays bounded. Dropping
 * instead (Docker's `mode=non-blocking`) would keep the version fast but lose the lines a person
 * reads at the approval, silently in production terms. Lines are dropped, counted, and named in the
 * log ({@link LogNotes}) only when the disk refuses them, or when an output that cannot be paused
 * keeps coming past twice the bound.
 *
 * @example
 * const log = new ReplicaLogWriter({ file, service: 'shop', version: 'v2', pid: child.pid });
 * log.attach('stdout', child.stdout);
 * log.attach('stderr', child.stderr);
 * child.once('exit', () => { log.line('switchyard', 'exited'); void log.close(); });
 */
export class ReplicaLogWriter {
  private readonly maxFileBytes: number;
  private readonly rotatedFiles: number;
  private readonly maxPendingBytes: number;
  private readonly indexFile: string;
  private readonly opened: Promise<FileHandle | undefined>;
  private handle: FileHandle | undefined;
  private size = 0;
  private pending: string[] = [];
  private pendingChars = 0;
  private droppedSinceNote = 0;
  /** Why the lines counted in droppedSinceNote were lost, when it was not the backlog. */
  private droppedBecause: string | undefined;
  private droppedTotal = 0;
  private readonly recentErrors: string[] = [];
  private indexDirty = false;
  private draining: Promise<void> | undefined;
  private readonly inputs = new Set<Readable>();
  private paused = false;
  /** Switchyard's lines about the process, waiting for its outputs to end. */
  private readonly notes: { readonly stream: LogStream; readonly message: string }[] = [];
  private notesTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: ReplicaLogOptions) {
    this.maxFileBytes = options.maxFileBytes ?? VERSION_LOG_FILE_BYTES;
    this.rotatedFiles = options.rotatedFiles ?? VERSION_LOG_ROTATED_FILES;
    // A batch never outgrows a file, so no file ever exceeds maxFileBytes.
    this.maxPendingBytes = Math.min(options.maxPendingBytes ?? VERSION_LOG_PENDING_BYTES, this.maxFileBytes);
    this.indexFile = errorIndexFile(options.file);
    this.opened = this.open().then((handle) => {
      this.flushSoon();
      return handle;
    });
  }

  /** Lines dropped so far: refused by the disk, or past twice the bound from an output that would not pause. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Keeps every line of `input` (a child's stdout or stderr) until it ends. */
  attach(stream: 'stdout' | 'stderr', input: Readable): void {
    const state: Input = { decoder: new StringDecoder('utf8'), middle: this.middle(stream), partial: '' };
    this.inputs.add(input);
    input.on('data', (chunk: Buffer | string) => this.chunk(state, chunk));
    const ended = () => {
      if (!this.inputs.delete(input)) return;
      const rest = state.partial + state.decoder.end();
      state.partial = '';
      if (rest !== '') {
        const time = new Date().toISOString();
        this.queue(time, `{"time":"${time}${state.middle}`, rest, false, true);
      }
      if (this.inputs.size === 0 && this.notes.length > 0) this.writeNotes();
      this.flushSoon();
    };
    input.once('end', ended);
    input.once('close', ended);
    input.once('error', ended);
  }

  /**
   * One line from Switchyard itself about the process (start failure, exit): never dropped. It goes
   * after the process's own last lines: those can still be in the pipe when its exit is seen (more so
   * while the writer is not reading it), so the line waits for its outputs to end, at most
   * NOTE_WAIT_MS (a child the process left behind may hold the pipe open).
   */
  line(stream: LogStream, message: string): void {
    this.notes.push({ stream, message });
    if (this.inputs.size === 0) this.writeNotes();
    else this.notesTimer ??= setTimeout(() => this.writeNotes(), NOTE_WAIT_MS);
  }

  private writeNotes(): void {
    clearTimeout(this.notesTimer);
    this.notesTimer = undefined;
    // Timed when written, so the file stays in time order (the reader relies on it).
    const time = new Date().toISOString();
    for (const { stream, message } of this.notes.splice(0)) this.queue(time, `{"time":"${time}${this.middle(stream)}`, message, false, true, true);
    this.flushSoon();
  }

  /** Resolves once every line queued so far is written (or counted as dropped). */
  async flushed(): Promise<void> {
    for (;;) {
      await this.draining;
      if (this.pending.length === 0 && !this.indexDirty) return;
      this.flushSoon();
    }
  }

  /**
   * Writes what is queued and closes the file, once the attached outputs have ended (a child's
   * last lines can arrive after its exit).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(
        [...this.inputs].map(
          (input) => new Promise<void>((resolve) => (input.readableEnded || input.destroyed ? resolve() : input.once('close', () => resolve()))),
        ),
      );
      if (this.notes.length > 0) this.writeNotes();
      await this.flushed();
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
    })();
    return this.closing;
  }

  private middle(stream: LogStream): string {
    const { service, version, pid } = this.options;
    return `","service":${JSON.stringify(service)},"version":${JSON.stringify(version)},"pid":${pid},"stream":"${stream}","message":`;
  }

  private chunk(state: Input, chunk: Buffer | string): void {
    const text = state.partial + (typeof chunk === 'string' ? chunk : state.decoder.write(chunk));
    // Once per chunk, not per line: every line in it arrived at the same moment, most chunks need
    // no escaping at all, and most hold no error line.
    const time = new Date().toISOString();
    const head = `{"time":"${time}${state.middle}`;
    const plain = !NEEDS_ESCAPE.test(text);
    const errors = errorLine.test(text);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.queue(time, head, text.slice(start, nl), plain, errors);
      start = nl + 1;
    }
    let rest = text.slice(start);
    while (rest.length > VERSION_LOG_LINE_CHARS) {
      this.queue(time, head, rest.slice(0, VERSION_LOG_LINE_CHARS), plain, errors);
      rest = rest.slice(VERSION_LOG_LINE_CHARS);
    }
    state.partial = rest;
    if (!this.paused && this.pendingChars >= this.maxPendingBytes) {
      this.paused = true;
      for (const input of this.inputs) input.pause();
    }
    this.flushSoon();
  }

  /** `head` is the line up to its message; `plain` says the message needs no escaping. */
  private queue(time: string, head: string, message: string, plain: boolean, mayBeError: boolean, always = false): void {
    if (!always && this.pendingChars >= 2 * this.maxPendingBytes) {
      this.droppedSinceNote++;
      this.droppedTotal++;
      return;
    }
    if (this.droppedSinceNote > 0) {
      const count = this.droppedSinceNote;
      const note = this.droppedBecause ? LogNotes.notSaved(count, this.droppedBecause) : LogNotes.dropped(count, 2 * this.maxPendingBytes);
      this.droppedSinceNote = 0;
      this.droppedBecause = undefined;
      this.push(`{"time":"${time}${this.middle('switchyard')}${JSON.stringify(note)}}\n`, false);
    }
    // A line ending in CRLF keeps no CR (the escape test above sends it here as not plain).
    const text = !plain && message.charCodeAt(message.length - 1) === 13 ? message.slice(0, -1) : message;
    this.push(`${head}${plain ? `"${text}"` : JSON.stringify(text)}}\n`, mayBeError && errorLine.test(text));
  }

  private push(line: string, error: boolean): void {
    this.pending.push(line);
    this.pendingChars += line.length;
    if (error) {
      this.recentErrors.push(line);
      if (this.recentErrors.length > ERROR_INDEX_LINES) this.recentErrors.shift();
      this.indexDirty = true;
    }
  }

  /** Everything queued in this turn of the event loop goes out in one write. */
  private flushSoon(): void {
    if (this.draining || (this.pending.length === 0 && !this.indexDirty)) return;
    this.draining = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => {
        this.draining = undefined;
        if (this.pending.length > 0) this.flushSoon();
      });
  }

  private async open(): Promise<FileHandle | undefined> {
    try {
      await mkdir(dirname(this.options.file), { recursive: true });
      this.handle = await open(this.options.file, 'a');
      this.size = (await this.handle.stat()).size;
      // The same file again (a reused pid): its earlier error lines stay in the index.
      const earlier = await readFile(this.indexFile, 'utf8').catch(() => '');
      for (const line of earlier.split('\n')) if (line !== '') this.recentErrors.unshift(`${line}\n`);
      this.recentErrors.splice(0, Math.max(0, this.recentErrors.length - ERROR_INDEX_LINES));
      // An index that exists says "this log is indexed", even with no error line yet.
      this.indexDirty = true;
      return this.handle;
    } catch {
      return undefined;
    }
  }

  private async drain(): Promise<void> {
    await this.opened;
    while (this.pending.length > 0) {
      const lines = this.pending;
      this.pending = [];
      this.pendingChars = 0;
      const batch = Buffer.from(lines.length === 1 ? (lines[0] ?? '') : lines.join(''));
      try {
        if (!this.handle) throw new Error(`${this.options.file} could not be opened`);
        if (this.size > 0 && this.size + batch.length > this.maxFileBytes) await this.rotate();
        for (let offset = 0; offset < batch.length;) offset += (await this.handle.write(batch, offset)).bytesWritten;
        this.size += batch.length;
        if (this.paused && this.pendingChars < this.maxPendingBytes / 2) {
          this.paused = false;
          for (const input of this.inputs) input.resume();
        }
      } catch (error) {
        // A full disk or a removed folder must not stop Switchyard or its service: the lines are
        // lost, counted, and the next line queued after them says so.
        this.droppedSinceNote += lines.length;
        this.droppedTotal += lines.length;
        this.droppedBecause = error instanceof Error ? error.message : String(error);
        if (this.paused) {
          this.paused = false;
          for (const input of this.inputs) input.resume();
        }
        break;
      }
    }
    if (this.indexDirty) {
      this.indexDirty = false;
      await this.writeIndex();
    }
  }

  /** `<name>.log` → `<name>.log.1` → … → dropped after `rotatedFiles`; a new live file is opened. */
  private async rotate(): Promise<void> {
    const file = this.options.file;
    await this.handle?.close();
    this.handle = undefined;
    if (this.rotatedFiles === 0) await unlink(file).catch(() => undefined);
    for (let n = this.rotatedFiles; n >= 1; n--) await rename(rotatedFile(file, n - 1), rotatedFile(file, n)).catch(() => undefined);
    this.handle = await open(file, 'a');
    this.size = 0;
  }

  /** Replaced whole (written aside, then renamed), so a reader never sees half of it. */
  private async writeIndex(): Promise<void> {
    const aside = `${this.indexFile}.${process.pid}.tmp`;
    try {
      const handle = await open(aside, 'w');
      try {
        await handle.writeFile(this.recentErrors.join(''));
      } finally {
        await handle.close();
      }
      await rename(aside, this.indexFile);
    } catch {
      // Without an index the reader scans the log instead: slower, never wrong.
      await unlink(this.indexFile).catch(() => undefined);
    }
  }
}
