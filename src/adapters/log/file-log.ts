import { createWriteStream, existsSync, mkdirSync, openSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Log } from '../../ports/log.js';

/**
 * switchyard.log grows to this size before it is rotated: the same 10 MB × 3 bound as a service
 * replica's log (adapters/local/log-writer.ts; Docker's usual json-file `max-size=10m`, `max-file=3`).
 * Switchyard writes a few lines per release step, so this is weeks of releases.
 */
export const FILE_LOG_BYTES = 10 * 1024 * 1024;
/** Rotated files kept besides the live one: `switchyard.log.1`, `switchyard.log.2`. */
export const FILE_LOG_ROTATED_FILES = 2;

export interface FileLogOptions {
  /** @default FILE_LOG_BYTES */
  readonly maxFileBytes?: number;
  /** @default FILE_LOG_ROTATED_FILES */
  readonly rotatedFiles?: number;
}

/**
 * JSON-lines log for local mode, so the terminal stays free for progress; rotated by size
 * (`<file>.1` is the newest rotated file, the naming the version logs use and the reader lists).
 */
export class FileLog implements Log {
  private stream: WriteStream;
  private size: number;
  private readonly maxFileBytes: number;
  private readonly rotatedFiles: number;
  constructor(
    readonly file: string,
    { maxFileBytes = FILE_LOG_BYTES, rotatedFiles = FILE_LOG_ROTATED_FILES }: FileLogOptions = {},
  ) {
    this.maxFileBytes = maxFileBytes;
    this.rotatedFiles = rotatedFiles;
    mkdirSync(dirname(file), { recursive: true });
    this.size = existsSync(file) ? statSync(file).size : 0;
    this.stream = this.openStream();
  }
  /**
   * Opened at once (not when the stream gets to it), so a rotation right after renames the file
   * this stream writes to: its queued lines land in `<file>.1`, in order.
   */
  private openStream(flags: 'a' | 'w' = 'a'): WriteStream {
    return createWriteStream(this.file, { fd: openSync(this.file, flags) });
  }
  private rotate(): void {
    this.stream.end();
    // Renames only (no copy): a few microseconds, once per 10 MB of lines.
    for (let n = this.rotatedFiles; n >= 1; n--) {
      const from = n === 1 ? this.file : `${this.file}.${n - 1}`;
      if (existsSync(from)) renameSync(from, `${this.file}.${n}`);
    }
    // With no rotated file to keep, the live one starts over.
    this.stream = this.openStream(this.rotatedFiles === 0 ? 'w' : 'a');
    this.size = 0;
  }
  private write(level: string, message: string, extra?: Record<string, unknown>): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), level, message, ...extra })}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxFileBytes) this.rotate();
    this.size += bytes;
    this.stream.write(line);
  }
  info(message: string, extra?: Record<string, unknown>): void {
    this.write('INFO', message, extra);
  }
  warn(message: string, extra?: Record<string, unknown>): void {
    this.write('WARN', message, extra);
  }
  error(message: string, extra?: Record<string, unknown>): void {
    this.write('ERROR', message, extra);
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
