import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Log } from '../../ports/log.js';

/** JSON-lines log for local mode, so the terminal stays free for progress. */
export class FileLog implements Log {
  private readonly stream: WriteStream;
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.stream = createWriteStream(file, { flags: 'a' });
  }
  private write(level: string, message: string, extra?: Record<string, unknown>): void {
    this.stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...extra })}\n`);
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
