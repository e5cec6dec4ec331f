import { describe, expect, it } from 'vitest';
import { ReleaseStreams, type ReleaseWatch, type StreamMessage } from '../../src/api/event-streams.js';
import type { Phase } from '../../src/core/phases.js';
import type { Release } from '../../src/core/release.js';
import type { ReleaseChanges } from '../../src/ports/release-store.js';
import { canary, release } from '../support/releases.js';

/** The next release message of a watch (heartbeats, which a slow machine may interleave, are skipped). */
async function nextRelease(watch: ReleaseWatch): Promise<StreamMessage | undefined> {
  for (;;) {
    const message = await watch.next();
    if (message?.kind !== 'heartbeat') return message;
  }
}

describe('the streams of a release', () => {
  it.each([
    ['with a change feed', true],
    ['without one (one read per interval)', false],
  ])('a change that keeps its updatedAt (two writes in one millisecond) still reaches them, the release’s end included: %s', async (_, fed) => {
    const baking = { ...release(canary, { id: 'r-same-ms' }), phase: 'baking' as Phase };
    // The same updatedAt: written in the same millisecond, or by a workflow on a virtual clock.
    const ended: Release = { ...baking, phase: 'succeeded' as Phase };
    let stored: Release = baking;
    const listeners = new Set<(r: Release) => void>();
    const changes: ReleaseChanges = {
      watchReleases: (listener) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
    const streams = new ReleaseStreams({ read: async () => stored, ...(fed ? { changes } : {}), options: { pollMs: 1, heartbeatMs: 1000 } });
    const watch = await streams.watch(baking.id, 'client');
    expect(await nextRelease(watch)).toMatchObject({ kind: 'release', final: false });
    stored = ended;
    for (const listener of listeners) listener(ended);
    const last = await nextRelease(watch);
    expect(last).toMatchObject({ kind: 'release', final: true, id: baking.updatedAt });
    expect(JSON.parse(last?.kind === 'release' ? last.data : '{}')).toMatchObject({ phase: 'succeeded' });
    watch.close();
    expect(await watch.next()).toBeUndefined();
  });

  it('a write reported late, older than what the streams have, is not sent over the newer one', async () => {
    const first = { ...release(canary, { id: 'r-late' }), phase: 'baking' as Phase, updatedAt: '2026-01-01T00:00:02.000Z' };
    const older = { ...first, phase: 'shifting' as Phase, updatedAt: '2026-01-01T00:00:01.000Z' };
    const newer = { ...first, phase: 'succeeded' as Phase, updatedAt: '2026-01-01T00:00:03.000Z' };
    let tell: (r: Release) => void = () => undefined;
    const streams = new ReleaseStreams({
      read: async () => first,
      changes: { watchReleases: (listener) => ((tell = listener), () => undefined) },
    });
    const watch = await streams.watch(first.id, 'client');
    expect(await nextRelease(watch)).toMatchObject({ id: first.updatedAt });
    tell(older);
    tell(newer);
    expect(await nextRelease(watch)).toMatchObject({ id: newer.updatedAt, final: true });
    watch.close();
  });
});
