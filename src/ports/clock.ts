/** Where time comes from outside the pure core. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock for tests and benchmarks: time moves only when the engine waits, jumping straight to
 * the end of the wait, so a release with hours of bakes runs in milliseconds with the real workflow.
 */
export class VirtualClock implements Clock {
  constructor(private current: number = Date.parse('2026-01-01T00:00:00.000Z')) {}
  now(): number {
    return this.current;
  }
  advanceTo(time: number): void {
    this.current = Math.max(this.current, time);
  }
  advanceBy(ms: number): void {
    this.current += ms;
  }
}

/** How {@link poll} looks again. */
export interface PollOptions {
  /** How long to keep looking, in ms: no look starts after it. */
  readonly withinMs: number;
  /** The pause before the next look, in ms: fixed, or from the number of looks so far (a backoff). */
  readonly everyMs: number | ((looks: number) => number);
  /** Where the deadline's time comes from. @default systemClock */
  readonly clock?: Clock;
  /** How a pause is waited; one may end early when what is awaited happens. @default a timer */
  readonly pause?: (ms: number) => Promise<void>;
}

const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The one polling helper: asks `look` (given the ms left) until it answers something other than
 * undefined, pausing between looks, for at most `withinMs`. Only what waits for a local process or
 * socket polls: no driver task waits for AWS (the workflow waits between its asks, core/target-waits.ts).
 * @returns what `look` answered, or undefined when time ran out.
 * @example
 * const socket = await poll(() => tryConnect(path), { withinMs: 5000, everyMs: 50 });
 */
export async function poll<T>(
  look: (leftMs: number) => T | undefined | Promise<T | undefined>,
  { withinMs, everyMs, clock = systemClock, pause = timer }: PollOptions,
): Promise<T | undefined> {
  const deadline = clock.now() + withinMs;
  for (let looks = 1; ; looks++) {
    const answer = await look(Math.max(0, deadline - clock.now()));
    if (answer !== undefined) return answer;
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    await pause(Math.min(typeof everyMs === 'number' ? everyMs : everyMs(looks), left));
  }
}
