import type { Release } from '../core/release.js';
import type { Notifier } from '../ports/notifier.js';
import type { ReleaseChanges, Store } from '../ports/release-store.js';

/**
 * The release store, telling after every change of a release: its listeners at once (the API's
 * event streams, see {@link ReleaseChanges}), then the notifier (Slack), if any. Whoever changes a
 * release (the workflow, the API, Slack, recovery), people see it. Both are best effort: one that
 * throws never fails the write, which has happened.
 *
 * @example
 * const store = notifyingStore(new DynamoReleaseStore(client, table), slack);
 * const stop = store.watchReleases((release) => console.log(release.id, release.phase));
 */
export function notifyingStore(store: Store, notifier?: Notifier): Store & ReleaseChanges {
  const listeners = new Set<(release: Release) => void>();
  const tell = async (release: Release) => {
    for (const listener of listeners) {
      try {
        listener(release);
      } catch {
        // A listener must not throw; if one does anyway, the others and the release still move on.
      }
    }
    try {
      await notifier?.releaseChanged(release);
    } catch {
      // A notifier must not throw; if one does anyway, the release still moves on.
    }
  };
  return Object.assign(Object.create(store) as Store, {
    async create(release: Release) {
      await store.create(release);
      await tell(release);
    },
    async update<T>(id: string, change: (release: Release) => { release: Release; result: T }, current?: Release) {
      let input: Release | undefined;
      const out = await store.update(
        id,
        (r) => {
          input = r;
          return change(r);
        },
        current,
      );
      // `change` returns the very object it was given when nothing changed: nothing to tell then.
      if (out.release !== input) await tell(out.release);
      return out;
    },
    watchReleases(listener: (release: Release) => void) {
      // Each subscription is its own entry, so the same function subscribed twice is stopped once each.
      const entry = (release: Release) => listener(release);
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
  });
}
