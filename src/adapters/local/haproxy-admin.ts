import { connect, type Socket } from 'node:net';
import { TransientError } from '../../core/errors.js';

/**
 * HAProxy's runtime API refused a command or could not be reached (HAProxy restarting): the message says
 * which command and HAProxy's answer. Transient: the data plane's supervision brings HAProxy back and a
 * retried call applies the whole state again.
 */
export class HaproxyCommandError extends TransientError {
  override readonly name: string = 'HaproxyCommandError';
}

/**
 * How often a followed ring is read: halves the data plane's CPU per request at 5,000 requests/s (measured
 * with bench/proxy-peers.ts); a line is counted at most this late, well within its one-second bucket's reads.
 */
const FOLLOW_BATCH_MS = 100;
/** What one read of a followed ring takes at most: 10,000 log lines. */
const FOLLOW_BUFFER_BYTES = 512 * 1024;
/** How long one runtime API command may take: they are answered in microseconds when HAProxy runs. */
const COMMAND_TIMEOUT_MS = 5000;

/**
 * HAProxy's runtime API on its admin socket (the "stats socket ... level admin" of the configuration):
 * one connection per command, as `socat` uses it; HAProxy answers and closes.
 */
export class HaproxyAdmin {
  constructor(readonly socketPath: string) {}

  /** Sends one command and returns HAProxy's answer (text; empty for most `set` commands). */
  run(command: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
    if (/[\n;]/.test(command)) return Promise.reject(new HaproxyCommandError(`one runtime API command at a time: ${JSON.stringify(command)}`));
    return new Promise((resolve, reject) => {
      const socket = connect(this.socketPath);
      let answer = '';
      const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(new HaproxyCommandError(`HAProxy's admin socket ${this.socketPath}: ${error.message} (${command})`, { cause: error }));
      });
      socket.on('close', (hadError) => {
        clearTimeout(timer);
        if (!hadError) resolve(answer);
      });
      socket.end(`${command}\n`);
    });
  }

  /** Sends a command whose success HAProxy answers with nothing (or `expect`); anything else is its refusal. */
  async expect(command: string, expect: RegExp = /^$/): Promise<void> {
    const answer = (await this.run(command)).trim();
    if (!expect.test(answer)) throw new HaproxyCommandError(`HAProxy refused "${command}": ${answer || 'no answer'}`);
  }

  /** Whether HAProxy answers on the socket now. */
  async answers(timeoutMs?: number): Promise<boolean> {
    try {
      return (await this.run('show info', timeoutMs)).includes('Pid:');
    } catch {
      return false;
    }
  }

  /** HAProxy's pid, from `show info`. */
  async pid(timeoutMs?: number): Promise<number> {
    return (await this.process(timeoutMs)).pid;
  }

  /**
   * HAProxy's pid and how long it has run (`show info`): a process started again shows a shorter uptime,
   * also with the same pid (pid 1 in a container's pid namespace).
   */
  async process(timeoutMs?: number): Promise<{ pid: number; uptimeSeconds: number }> {
    const info = await this.run('show info', timeoutMs);
    const pid = Number(/^Pid: (\d+)$/m.exec(info)?.[1]);
    const uptimeSeconds = Number(/^Uptime_sec: (\d+)$/m.exec(info)?.[1] ?? Number.NaN);
    if (!(pid > 0)) throw new HaproxyCommandError(`show info did not say HAProxy's pid: ${info.slice(0, 120)}`);
    return { pid, uptimeSeconds };
  }

  /** Per-server counters (`show stat`, servers only), one record per backend and server. */
  async serverStats(timeoutMs?: number): Promise<ServerStat[]> {
    return parseServerStats(await this.run('show stat -1 4 -1', timeoutMs));
  }

  /** Per-server runtime state (`show servers state`), one record per backend and server. */
  async serversState(timeoutMs?: number): Promise<ServerState[]> {
    return parseServersState(await this.run('show servers state', timeoutMs));
  }

  /**
   * Follows a ring's events as they come (`show events <ring> -w -n`: new ones only), handing over the
   * bytes as they arrive (lines may span chunks: see haproxy-log.ts), until the returned stop is called or
   * HAProxy closes the session; `onEnd` says it ended.
   */
  follow(ring: string, onChunk: (chunk: Buffer) => void, onEnd: () => void): () => void {
    // Read in batches: the socket is not read for FOLLOW_BATCH_MS after each read, so the next read takes
    // every line logged meanwhile (the kernel's socket buffer and HAProxy's ring hold them), where reading
    // as lines come takes one or two per wake-up: one system call and one callback per request at high
    // rates. Read into one buffer (no allocation per read); a read that fills it is followed at once.
    let timer: NodeJS.Timeout | undefined;
    const socket: Socket = connect({
      path: this.socketPath,
      onread: {
        buffer: Buffer.allocUnsafe(FOLLOW_BUFFER_BYTES),
        callback: (bytes: number, buffer: Uint8Array) => {
          onChunk(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
          if (bytes < buffer.length && timer === undefined && !socket.destroyed) {
            socket.pause();
            timer = setTimeout(() => {
              timer = undefined;
              socket.resume();
            }, FOLLOW_BATCH_MS).unref();
          }
          return true;
        },
      },
    });
    socket.on('connect', () => socket.write(`show events ${ring} -w -n\n`));
    socket.on('error', () => undefined);
    socket.on('close', () => clearTimeout(timer));
    socket.on('close', onEnd);
    return () => {
      socket.removeListener('close', onEnd);
      socket.destroy();
    };
  }
}

/** The counters of one server in one backend, as `show stat` gives them. */
export interface ServerStat {
  readonly backend: string;
  readonly server: string;
  /** UP, DOWN, MAINT, DRAIN, NOLB, ... (with a check's progress, e.g. "UP 1/3", cut off; "no check" is UP). */
  readonly status: string;
  readonly weight: number;
  /** Its address, `127.0.0.1:<port>`. */
  readonly address: string;
  /** Requests (streams) on it now, and waiting in its queue. */
  readonly current: number;
  readonly queued: number;
  /** Requests it was given, since it was added. */
  readonly total: number;
  readonly http5xx: number;
  /** Responses that failed (HAProxy answered 502 or 504 in its name). */
  readonly responseErrors: number;
  readonly connectionErrors: number;
  /** Attempts on it that failed and were tried again on it (`wretr`; an L7 retry counts twice). */
  readonly retries: number;
  /** Attempts on it that failed and were sent to another server (`wredis`). */
  readonly redispatches: number;
  /** Transfers the client aborted. */
  readonly clientAborts: number;
  /** A `backup` server: it serves only when no other server of its backend can. */
  readonly backup: boolean;
}

/** HAProxy's admin-state bit of a server declared `disabled` in the configuration (SRV_ADMF_CMAINT): it stays set when the server is made ready at run time. */
const ADMIN_CONFIGURED_MAINT = 0x04;

/** A server's runtime state, as `show servers state` gives it. */
export interface ServerState {
  readonly backend: string;
  readonly server: string;
  /** Declared `disabled` in the configuration (a slot of the documented snippet), whatever its state now. */
  readonly disabledInConfig: boolean;
}

/** Parses `show servers state` (version 1: a line of space-separated fields per server, named by the header). */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').filter((line) => line.length > 0);
  const header = lines.find((line) => line.startsWith('# '));
  if (!header) throw new HaproxyCommandError(`show servers state did not answer with its table: ${text.slice(0, 200)}`);
  const columns = header.slice(2).split(' ');
  const [be, sv, admin] = ['be_name', 'srv_name', 'srv_admin_state'].map((name) => columns.indexOf(name)) as [number, number, number];
  return lines
    .filter((line) => !line.startsWith('#') && line.includes(' '))
    .map((line) => line.split(' '))
    .map((cells) => ({
      backend: cells[be] ?? '',
      server: cells[sv] ?? '',
      disabledInConfig: (Number(cells[admin]) & ADMIN_CONFIGURED_MAINT) !== 0,
    }));
}

/** Parses `show stat`'s CSV by its header, so a column HAProxy adds in a later version changes nothing. */
export function parseServerStats(csv: string): ServerStat[] {
  const [header, ...rows] = csv.split('\n').filter((line) => line.length > 0);
  if (!header?.startsWith('# ')) throw new HaproxyCommandError(`show stat did not answer with its CSV: ${csv.slice(0, 200)}`);
  const columns = header.slice(2).split(',');
  const at = (name: string) => columns.indexOf(name);
  const ix = {
    px: at('pxname'),
    sv: at('svname'),
    status: at('status'),
    weight: at('weight'),
    scur: at('scur'),
    qcur: at('qcur'),
    stot: at('stot'),
    h5: at('hrsp_5xx'),
    eresp: at('eresp'),
    econ: at('econ'),
    wretr: at('wretr'),
    wredis: at('wredis'),
    cli: at('cli_abrt'),
    addr: at('addr'),
    bck: at('bck'),
  };
  const num = (cells: string[], i: number) => (i >= 0 ? Number(cells[i]) || 0 : 0);
  return rows
    .map((row) => row.split(','))
    .filter((cells) => cells[ix.sv] !== 'BACKEND' && cells[ix.sv] !== 'FRONTEND')
    .map((cells) => ({
      backend: cells[ix.px] ?? '',
      server: cells[ix.sv] ?? '',
      // A server with no health check (Switchyard's) serves when not in maintenance or draining: "no check" is UP.
      status: cells[ix.status] === 'no check' ? 'UP' : ((cells[ix.status] ?? '').split(' ')[0] ?? ''),
      weight: num(cells, ix.weight),
      address: cells[ix.addr] ?? '',
      current: num(cells, ix.scur),
      queued: num(cells, ix.qcur),
      total: num(cells, ix.stot),
      http5xx: num(cells, ix.h5),
      responseErrors: num(cells, ix.eresp),
      connectionErrors: num(cells, ix.econ),
      retries: num(cells, ix.wretr),
      redispatches: num(cells, ix.wredis),
      clientAborts: num(cells, ix.cli),
      backup: num(cells, ix.bck) === 1,
    }));
}
