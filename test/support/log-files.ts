import { appendFile, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A line as local mode writes it (processes.ts through log-writer.ts). */
export interface WrittenLine {
  readonly time: string;
  readonly message: string;
  readonly stream?: 'stdout' | 'stderr' | 'switchyard';
  readonly pid?: number;
}

/** The exact JSON line of `line`, field order as the writer's (and the old `JSON.stringify({ time, ...fields })`). */
export function jsonLine(line: WrittenLine, service = 'shop', version = 'v1'): string {
  return `${JSON.stringify({ time: line.time, service, version, pid: line.pid ?? 1, stream: line.stream ?? 'stdout', message: line.message })}\n`;
}

/** Writes `lines` to `file` as local mode would have (appending). */
export async function writeLog(file: string, lines: readonly WrittenLine[], service = 'shop', version = 'v1'): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, lines.map((l) => jsonLine(l, service, version)).join(''));
}

/** ISO time `ms` milliseconds after 2026-01-01T00:00:00Z. */
export const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

/**
 * A big log, fast: `count` lines a millisecond apart from `startMs`, written in blocks of about
 * 1 MB (one append per block, so 100 MB take a second or two, not a minute).
 */
export async function fillLog(
  file: string,
  { count, startMs = 0, message }: { count: number; startMs?: number; message: (i: number) => string },
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  let block: string[] = [];
  let size = 0;
  for (let i = 0; i < count; i++) {
    const line = jsonLine({ time: at(startMs + i), message: message(i) });
    block.push(line);
    size += line.length;
    if (size >= 1 << 20) {
      await appendFile(file, block.join(''));
      block = [];
      size = 0;
    }
  }
  if (block.length > 0) await appendFile(file, block.join(''));
}

/** Every file in `dir` with its size. */
export async function filesIn(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await stat(join(dir, name))).size;
  return out;
}
