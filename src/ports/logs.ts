import type { Release } from '../core/release.js';
/** A release's logs: what a version's processes wrote, merged (local mode keeps them; see adapters/local/log-reader.ts). */

/** One line a service process wrote, as local mode keeps it (JSON lines, one file per process). */
export interface LogLine {
  readonly time: string;
  readonly service: string;
  readonly version: string;
  /** Which replica of the version (0, 1, …), from the file the line is in. */
  readonly replica: number;
  readonly pid: number;
  readonly stream: 'stdout' | 'stderr';
  readonly message: string;
  /** Where the line comes from when that is not a local process (on AWS: the task id of its log stream). */
  readonly source?: string;
}

export interface LogQuery {
  readonly service: string;
  readonly version: string;
  /** Only lines after this time (ISO 8601), for following. */
  readonly since?: string;
  /** Only lines whose message contains this text (case-insensitive; plain text, not a pattern). */
  readonly grep?: string;
  /** At most this many lines, the most recent. @default 500 */
  readonly limit?: number;
  /** The release the version belongs to (on AWS its task definitions say where the logs are). */
  readonly release?: Release;
}

/**
 * A read's answer: the lines, oldest first. `truncated` is set when the read stopped at its bound on
 * bytes read before it found `limit` lines (older matching lines may exist; narrow with `since` or
 * `grep`). An adapter that always reads everything leaves it out.
 */
export type LogLines = readonly LogLine[] & { readonly truncated?: boolean };

/** Reads a version's logs. */
export type VersionLogs = (query: LogQuery) => Promise<LogLines>;
