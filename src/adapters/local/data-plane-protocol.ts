import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { ServiceHealth } from '../../ports/traffic-driver.js';
import type { LocalTarget as LocalTargetConfig } from '../../config/schema.js';

/**
 * The data plane's protocol: JSON lines over a local socket, one request or answer per line.
 * A request names a method and its parameters; its answer carries the same id. The data plane also
 * sends `state` events, always before the answer of the call that changed it, so a caller that has
 * its answer also has the state that answer produced.
 */
export type DataPlaneRequest = { readonly id: number; readonly method: DataPlaneMethod; readonly params: readonly unknown[] };
export type DataPlaneAnswer =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { readonly name: string; readonly message: string } };
export type DataPlaneEvent = { readonly event: 'state'; readonly state: PlaneState };
export type DataPlaneMessage = DataPlaneAnswer | DataPlaneEvent;

export const DATA_PLANE_METHODS = [
  'hello',
  'configure',
  'deploy',
  'setWeight',
  'verify',
  'rollback',
  'finalize',
  'observe',
  'holdStable',
  'restartProxy',
  'shutdown',
] as const;
export type DataPlaneMethod = (typeof DATA_PLANE_METHODS)[number];

/** What the data plane is given to serve one service. */
export interface PlaneSetup {
  readonly service: string;
  readonly config: LocalTargetConfig;
  readonly logDir: string;
  /** Where its processes are recorded, so the next data plane reaps what a killed one left. */
  readonly recordsDir: string;
  readonly ephemeralPorts: boolean;
  /** The version to serve when it starts: the store's stable version. */
  readonly stableVersion: string;
  /** Numeric user and group the replicas run as (set when the data plane runs as root). */
  readonly runAs?: { readonly uid: number; readonly gid: number; readonly name: string };
  /** Identifies the setup: a re-attaching control plane with another config restarts the data plane. */
  readonly fingerprint: string;
}

/** The data plane as it serves now: what the control plane's synchronous views read. */
export interface PlaneState {
  readonly pid: number;
  readonly fingerprint?: string;
  readonly stable?: string;
  readonly candidate?: string;
  /** Production traffic per version, in percent. */
  readonly traffic: Readonly<Record<string, number>>;
  readonly productionPort: number;
  readonly testPort?: number;
  readonly pids: readonly number[];
  readonly candidatePids: readonly number[];
  readonly backends: readonly { readonly version: string; readonly port: number }[];
  readonly health?: ServiceHealth;
  /** HAProxy's admin socket (its runtime API), when HAProxy is the data plane. */
  readonly adminSocket?: string;
}

/** Where a data plane writes who it is (pid, start time, boot): beside its socket. */
export function planePidFile(socketPath: string): string {
  return `${socketPath}.pid`;
}

/**
 * The same, in the service's records folder: found even when the socket's folder was removed whole.
 * Not a `.json` name: the records folder's `.json` files are replicas to reap.
 */
export function planePidRecord(recordsDir: string): string {
  return join(recordsDir, 'data-plane.pid');
}

/** Longest line accepted (a gate observation with many periods is the largest): 16 MiB. */
const MAX_LINE = 16 * 1024 * 1024;

/** Calls `onMessage` with each JSON line read from the socket; a line that is not JSON or too long closes it. */
export function readLines(socket: Socket, onMessage: (message: unknown) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.length > 0) {
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          socket.destroy(new Error('the data plane protocol carries JSON lines'));
          return;
        }
        onMessage(message);
      }
      newline = buffered.indexOf('\n');
    }
    if (buffered.length > MAX_LINE) socket.destroy(new Error(`a data plane message is longer than ${MAX_LINE} bytes`));
  });
}

export function writeLine(socket: Socket, message: DataPlaneRequest | DataPlaneMessage): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}
