/**
 * HAProxy's per-request log lines as the data plane reads them: one compact line per request, parsed
 * straight from the bytes the admin socket delivers, with no string or object made per line. At the
 * request rates HAProxy serves, a regex and a split per line cost the data plane more CPU than HAProxy
 * spends on the request (measured: bench/proxy-peers.ts), and both share the server's cores.
 */

/**
 * One line per request, comma-separated: the server's port (`-` when HAProxy found no server: `<NOSRV>`),
 * the status, the active time (ms, request received to response ended), the last attempt's response and
 * transfer times (`%Tr`, `%Td`: the latency of a retried request's final attempt alone), the retries
 * (`%rc`, `+N` when the request was sent to another server), the termination state and the backend.
 * The port names the replica (each has its own), so a slot's late lines (a request that ended after its
 * replica was removed) count against that replica's version, not the next one given the slot.
 */
export const LOG_FORMAT = '%sp,%ST,%Ta,%Tr,%Td,%rc,%ts,%b';

/** One parsed line. The reader hands the same record to every call: copy what outlives the call. */
export interface LogRecord {
  /** The server's port; -1 when HAProxy found no server (`<NOSRV>`). */
  port: number;
  status: number;
  /** Active time in ms; -1 when HAProxy has none (an aborted request). */
  active: number;
  response: number;
  transfer: number;
  /** Whether the request was tried on a server before (`%rc` not 0). */
  retried: boolean;
  /** The termination state's two first letters as char codes (`CD` = 67, 68; `--` for a normal end). */
  termination0: number;
  termination1: number;
  /** The backend is the production one (compared with the name given to the reader). */
  production: boolean;
  /** The backend is the test route's (the name given to the reader); a line of neither is another backend's. */
  test: boolean;
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const ZERO = 0x30;

/**
 * Reads log lines from the chunks a stream delivers (a line can span two chunks) and hands each one's
 * fields to `onRecord`; a line that does not have the format's fields is skipped.
 */
export class LogLineReader {
  private pending: Buffer | undefined;
  private readonly record: LogRecord = {
    port: -1,
    status: 0,
    active: -1,
    response: -1,
    transfer: -1,
    retried: false,
    termination0: 0,
    termination1: 0,
    production: false,
    test: false,
  };
  private readonly production: Buffer;
  private readonly test: Buffer | undefined;
  /** The rest of a line too long to be one of ours was dropped: what comes up to the next newline is its tail. */
  private skipping = false;

  constructor(
    productionBackend: string,
    private readonly onRecord: (record: LogRecord) => void,
    testBackend?: string,
  ) {
    this.production = Buffer.from(productionBackend);
    this.test = testBackend !== undefined ? Buffer.from(testBackend) : undefined;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let start = 0;
    if (this.skipping) {
      const tail = lineEnd(data, 0);
      if (tail < 0) return;
      this.skipping = false;
      start = tail + 1;
    }
    let end = lineEnd(data, start);
    while (end >= 0) {
      if (this.parse(data, start, end)) this.onRecord(this.record);
      start = end + 1;
      end = lineEnd(data, start);
    }
    // A line longer than any this format writes is not a log line: dropped rather than kept growing.
    if (start < data.length) {
      if (data.length - start < 4096) this.pending = Buffer.from(data.subarray(start));
      else this.skipping = true;
    }
  }

  /** Where parsing is in the current line, and where the line ends. */
  private at = 0;
  private end = 0;

  /** Parses the line in data[start, end) into the record; false when it is not one of ours. */
  private parse(data: Buffer, start: number, end: number): boolean {
    this.at = start;
    this.end = end;
    const port = this.integer(data);
    const status = this.integer(data);
    const active = this.integer(data);
    const response = this.integer(data);
    const transfer = this.integer(data);
    const retries = this.integer(data);
    const i = this.at;
    if (port === undefined || status === undefined || active === undefined || response === undefined || transfer === undefined || retries === undefined)
      return false;
    if (i + 2 > end) return false;
    const r = this.record;
    r.port = port;
    r.status = status;
    r.active = active;
    r.response = response;
    r.transfer = transfer;
    r.retried = retries !== 0;
    r.termination0 = data[i]!;
    r.termination1 = data[i + 1]!;
    // The backend's name: from the comma after the termination state to the end of the line.
    let comma = i;
    while (comma < end && data[comma] !== COMMA) comma++;
    r.production = comma < end && sameBytes(data, comma + 1, end, this.production);
    r.test = !r.production && comma < end && this.test !== undefined && sameBytes(data, comma + 1, end, this.test);
    return true;
  }

  /** The signed integer field at the cursor ('-' alone: none, -1), the cursor left past its comma; undefined if it is not one. */
  private integer(data: Buffer): number | undefined {
    const end = this.end;
    let i = this.at;
    if (i >= end) return undefined;
    let sign = 1;
    let c = data[i]!;
    if (c === MINUS) {
      sign = -1;
      i++;
      if (i >= end || data[i] === COMMA) {
        this.at = i + 1;
        return -1;
      }
    } else if (c === PLUS) i++;
    let value = 0;
    let digits = 0;
    while (i < end && (c = data[i]!) !== COMMA) {
      const digit = c - ZERO;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
      digits++;
      i++;
    }
    this.at = i + 1;
    return digits === 0 ? undefined : sign * value;
  }
}

/**
 * Where the line starting at `from` ends (its newline), or -1. A loop over the bytes for Switchyard's
 * own 30-odd-byte lines, where Buffer's indexOf or compare, calls into native code, cost more than the
 * line (640 ns per line with them, 90 ns without: `npx tsx bench/support/haproxy-log-speed.ts`); past
 * LOOP_BYTES (another frontend's line in an attached site's ring) indexOf is the faster again.
 */
function lineEnd(data: Buffer, from: number): number {
  const until = Math.min(data.length, from + LOOP_BYTES);
  for (let i = from; i < until; i++) if (data[i] === NEWLINE) return i;
  return until < data.length ? data.indexOf(NEWLINE, until) : -1;
}

/** How far lineEnd looks byte by byte before it asks indexOf (an httplog line of 180 bytes took 176 ns by the loop, 60 by indexOf). */
const LOOP_BYTES = 64;

/** Whether data[start, end) holds exactly `name`'s bytes. */
function sameBytes(data: Buffer, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) if (data[start + k] !== name[k]) return false;
  return true;
}
