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
