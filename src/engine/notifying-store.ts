import type { Release } from '../core/release.js';
import type { Notifier } from '../ports/notifier.js';
import type { Store } from '../ports/release-store.js';

/**
 * The release store, telling the notifier after every change: whoever changes a release (the
 * workflow, the API, Slack, recovery), people see it. The notifier is best effort by contract.
 */
export function notifyingStore(store: Store, notifier: Notifier): Store {
  const tell = async (release: Release) => {
    try {
      await notifier.releaseChanged(release);
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
  });
}
