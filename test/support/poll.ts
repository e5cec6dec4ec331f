import type { Release } from '../../src/core/release.js';
import type { Releases } from '../../src/ports/release-store.js';

export interface PollOptions {
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /** @default 5 */
  readonly intervalMs?: number;
}

/**
 * The one polling helper of the tests: reads `read()` until `predicate` holds, and fails with
 * what it last saw (`describe`) when time runs out.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  predicate: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 5 }: PollOptions = {},
  describe: (last: T) => string = (last) => JSON.stringify(last),
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last seen: ${describe(value)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls the store until the release satisfies `predicate`; the error says which phase it was stuck in. */
export async function releaseUntil(
  store: Pick<Releases, 'get'>,
  id: string,
  predicate: (release: Release) => boolean,
  options: PollOptions = {},
): Promise<Release> {
  const release = await eventually(
    () => store.get(id),
    (r) => r !== undefined && predicate(r),
    options,
    (r) => (r ? `release ${id} is ${r.phase}: ${JSON.stringify(r.timeline.at(-1))}` : `release ${id} is not in the store`),
  );
  if (!release) throw new Error(`release ${id} vanished`);
  return release;
}

/** A release's executions have ended (a long release continues in new ones): the stored release as it ended. */
export async function releaseFinished(
  store: Pick<Releases, 'get'>,
  engine: { executionOf(id: string): { done: Promise<void> } | undefined },
  id: string,
  options: PollOptions = {},
): Promise<Release> {
  for (;;) {
    const execution = await eventually(
      async () => engine.executionOf(id),
      (e) => e !== undefined,
      options,
    );
    await execution?.done;
    // An execution that handed over to its next generation started that one before it ended: follow it.
    if (engine.executionOf(id) !== execution) continue;
    const release = await store.get(id);
    if (!release) throw new Error(`release ${id} vanished`);
    return release;
  }
}
