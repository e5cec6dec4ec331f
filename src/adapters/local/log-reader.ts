import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogLine, LogQuery } from '../../ports/logs.js';

/**
 * Switchyard's own lines about one release (local mode's switchyard.log, JSON lines naming it),
 * read as a version called `switchyard`.
 */
export function readSwitchyardLog(file: string, releaseId: string, query: LogQuery): LogLine[] {
  if (!existsSync(file)) return [];
  const needle = query.grep?.toLowerCase();
  const lines: LogLine[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    if (!raw.includes(releaseId)) continue;
    let parsed: { time?: string; timestamp?: string; message?: string };
    try {
      parsed = JSON.parse(raw) as typeof parsed;
    } catch {
      continue;
    }
    const time = parsed.time ?? parsed.timestamp ?? '';
    if (query.since && time <= query.since) continue;
    if (needle && !raw.toLowerCase().includes(needle)) continue;
    lines.push({ time, service: query.service, version: 'switchyard', replica: 0, pid: process.pid, stream: 'stdout', message: raw, source: 'switchyard' });
  }
  return lines.slice(-(query.limit ?? 500));
}

/** The file-name form of a version (as processes.ts writes it). */
const fileVersion = (version: string) => version.replace(/[^A-Za-z0-9._-]/g, '_');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every process of one version of a service, merged into one stream in time order, each line with
 * its version and replica: `<logDir>/<service>/<version>-<replica>-<pid>.log`.
 */
export function readVersionLogs(logDir: string, query: LogQuery): LogLine[] {
  const dir = join(logDir, query.service);
  if (!existsSync(dir)) return [];
  const name = new RegExp(`^${escape(fileVersion(query.version))}-(\\d+)-(\\d+)\\.log$`);
  const needle = query.grep?.toLowerCase();
  const lines: LogLine[] = [];
  for (const file of readdirSync(dir)) {
    const match = name.exec(file);
    if (!match) continue;
    const replica = Number(match[1]);
    for (const raw of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (raw === '') continue;
      let parsed: Partial<LogLine>;
      try {
        parsed = JSON.parse(raw) as Partial<LogLine>;
      } catch {
        continue; // a line cut short by a crash
      }
      if (typeof parsed.time !== 'string' || typeof parsed.message !== 'string') continue;
      if (query.since !== undefined && parsed.time <= query.since) continue;
      if (needle !== undefined && !parsed.message.toLowerCase().includes(needle)) continue;
      lines.push({
        time: parsed.time,
        service: query.service,
        version: query.version,
        replica,
        pid: Number(parsed.pid ?? match[2]),
        stream: parsed.stream === 'stderr' ? 'stderr' : 'stdout',
        message: parsed.message,
      });
    }
  }
  lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.replica - b.replica));
  return lines.slice(-(query.limit ?? 500));
}
