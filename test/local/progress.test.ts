import { describe, expect, it } from 'vitest';
import type { Release } from '../../src/core/release.js';
import { watchReleases } from '../../src/local/progress.js';
import type { Store } from '../../src/ports/release-store.js';
import { canary, release as newRelease, T0 } from '../support/releases.js';

describe("local mode's terminal progress", () => {
  it('prints what others named (image, actor label, timeline text) without a control character or a line break of theirs', async () => {
    const base = newRelease(canary);
    let current: Release = { ...base, timeline: [] };
    const store = { list: async () => ({ releases: [current] }) } as unknown as Store;
    const lines: string[] = [];
    const stop = watchReleases(store, (line) => lines.push(line), { intervalMs: 5 });
    await new Promise((r) => setTimeout(r, 30));
    current = {
      ...base,
      artifact: { image: 'web:2\u001b[2J\u009b2J' },
      timeline: [
        {
          at: new Date(T0 + 1000).toISOString(),
          type: 'rollback_requested',
          message: 'rollback requested\r\u001b[32mrelease succeeded\nfake',
          actor: { id: 'ops\u001b]0;title\u0007', channel: 'api' },
        },
      ],
    };
    await new Promise((r) => setTimeout(r, 50));
    await stop();
    expect(lines.length).toBeGreaterThan(0);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point here
    for (const line of lines) expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(lines.join('\n')).toContain('rollback requestedrelease succeeded↵fake (ops via api)');
    expect(lines.join('\n')).toContain('web:2');
  });
});
