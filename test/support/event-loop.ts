import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Stalls {
  /**
   * The longest time the event loop was kept busy in one go: how late a 1 ms timer fired, counting
   * only the CPU time the process spent meanwhile. On a loaded machine a timer also fires late because
   * the process was not scheduled at all; that is not a stall of ours and is left out.
   */
  readonly busyMs: number;
  /** The plain lateness of the timer (perf_hooks.monitorEventLoopDelay's max), scheduling included. */
  readonly delayMs: number;
}

/** Runs `work` and says how long it kept the event loop from running anything else. */
export async function stallsDuring<T>(work: () => Promise<T>): Promise<{ result: T; stalls: Stalls }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let busyMs = 0;
  let lastAt = performance.now();
  let lastCpu = process.cpuUsage();
  const tick = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    busyMs = Math.max(busyMs, Math.min(now - lastAt, (cpu.user + cpu.system) / 1000));
    lastAt = now;
    lastCpu = process.cpuUsage();
  }, 1);
  delay.enable();
  try {
    const result = await work();
    // Work that never yields (a readFileSync) is only seen by the first tick after it: wait for it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { result, stalls: { busyMs, delayMs: delay.max / 1e6 } };
  } finally {
    delay.disable();
    clearInterval(tick);
  }
}
