import { DeployError, messageOf } from '../../core/errors.js';
import type { ManagedProcess } from './processes.js';
import { poll } from '../../ports/clock.js';

export interface ReadinessProbe {
  readonly path: string;
  /** Seconds between probes; 0 probes every 100 ms. */
  readonly interval: number;
  /** Seconds to wait in all before giving up. */
  readonly timeout: number;
  /** Consecutive successful probes needed. */
  readonly successThreshold: number;
}

/** Raised when a process never gets ready; the message carries the probe's last error. */
export class NotReadyError extends DeployError {
  override readonly name: string = 'NotReadyError';
}

/** The first pause between probes of a process that is not up yet; it doubles up to the interval. */
const FIRST_PAUSE_MS = 25;

/**
 * Probes GET http://127.0.0.1:<port><path> until it answers 2xx `successThreshold` times in a row.
 * A process that is not up yet is probed soon and then less often (25 ms doubling up to the
 * interval), so a fast service is ready in milliseconds, not after a whole interval.
 */
export async function waitReady(proc: ManagedProcess, probe: ReadinessProbe): Promise<void> {
  const pause = probe.interval > 0 ? probe.interval * 1000 : 100;
  let successes = 0;
  let backoff = Math.min(FIRST_PAUSE_MS, pause);
  let lastError = 'no probe answered yet';
  const probeOnce = async (leftMs: number): Promise<true | undefined> => {
    if (proc.exit) {
      throw new NotReadyError(
        `process ${proc.pid} of ${proc.version} exited with ${proc.exit.signal ?? `code ${proc.exit.code}`} before it was ready (log: ${proc.logFile})`,
      );
    }
    try {
      const res = await fetch(`http://127.0.0.1:${proc.port}${probe.path}`, { signal: AbortSignal.timeout(Math.min(2000, Math.max(100, leftMs))) });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) {
        if (++successes >= probe.successThreshold) return true;
      } else {
        successes = 0;
        lastError = `HTTP ${res.status}`;
      }
    } catch (error) {
      successes = 0;
      const cause = (error as { cause?: { code?: string } }).cause;
      lastError = cause?.code ?? messageOf(error);
    }
    return undefined;
  };
  // Consecutive successes are spaced by the interval; failures back off from a short first pause.
  const next = () => {
    const wait = successes > 0 ? pause : backoff;
    if (successes === 0) backoff = Math.min(backoff * 2, pause);
    return wait;
  };
  if (await poll(probeOnce, { withinMs: probe.timeout * 1000, everyMs: next })) return;
  throw new NotReadyError(
    `readiness probe GET ${probe.path} on port ${proc.port} never succeeded within ${probe.timeout}s; last error: ${lastError} (log: ${proc.logFile})`,
  );
}
