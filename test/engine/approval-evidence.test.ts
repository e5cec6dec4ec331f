import { describe, expect, it } from 'vitest';
import { releaseMessage } from '../../src/adapters/slack/message.js';
import { releaseView } from '../../src/api/views.js';
import type { LogQuery } from '../../src/ports/logs.js';
import { startHarness } from '../support/harness.js';

const service = {
  name: 'shop',
  target: { driver: 'local', command: 'true', port: 9000 },
  strategy: { type: 'canary', steps: [{ percent: 10, bake: '1m' }], finalBake: '1m' },
  approvals: { at: ['after-first-step'] },
};
const actor = { id: 'ci', channel: 'api' } as const;

describe('an approval carries the new version’s latest error lines', () => {
  it('reads them when the person is asked, and shows them in the API view and the Slack message', async () => {
    const asked: LogQuery[] = [];
    const h = await startHarness([service], {
      logs: async (query) => {
        asked.push(query);
        return [
          {
            time: '2026-11-26T10:00:01.000Z',
            service: 'shop',
            version: 'shop:2',
            replica: 0,
            pid: 41,
            stream: 'stderr',
            message: '{"level":"error","message":"payment provider timed out"}',
          },
          {
            time: '2026-11-26T10:00:02.000Z',
            service: 'shop',
            version: 'shop:2',
            replica: 1,
            pid: 42,
            stream: 'stderr',
            message: 'TypeError: cart is undefined',
            source: 'task 1a2b',
          },
        ];
      },
      logsLink: async (query) => `https://logs.example/insights?release=${query.release?.id ?? ''}`,
    });
    try {
      const { release } = await h.releases.startRelease({ service: 'shop', image: 'shop:2', actor });
      const waiting = await h.until(release.id, (r) => r.phase === 'awaiting_approval' && r.recentErrors !== undefined);
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatchObject({ service: 'shop', version: 'shop:2', grep: 'error', limit: 5 });
      expect(asked[0]?.release?.id).toBe(release.id);
      expect(waiting.recentErrors).toEqual([
        { time: '2026-11-26T10:00:01.000Z', message: '{"level":"error","message":"payment provider timed out"}' },
        { time: '2026-11-26T10:00:02.000Z', message: 'TypeError: cart is undefined', source: 'task 1a2b' },
      ]);
      expect(releaseView(waiting).recentErrors).toEqual(waiting.recentErrors);
      const text = JSON.stringify(releaseMessage(waiting, 'production').blocks);
      expect(text).toContain("New version's latest errors");
      expect(text).toContain('[task 1a2b] TypeError: cart is undefined');
      // And where all of them are: the full view's link goes with the lines.
      expect(waiting.recentErrorsLink).toBe(`https://logs.example/insights?release=${release.id}`);
      expect(text).toContain(`<https://logs.example/insights?release=${release.id}|All of the new version's logs>`);
      await h.releases.act(release.id, 'reject', { id: 'lead', channel: 'api' });
      expect((await h.finish(release.id)).phase).toBe('rolled_back');
    } finally {
      await h.close();
    }
  });

  it.each([
    [
      'cannot be read',
      async () => {
        throw new Error('AccessDeniedException: logs:FilterLogEvents');
      },
    ],
    ['never answer', () => new Promise<never>(() => undefined)],
  ])('logs that %s never hold the approval up: it is asked without them, approved and finished', async (_name, logs) => {
    const h = await startHarness([service], { logs, logsWaitMs: 50 });
    try {
      const { release } = await h.releases.startRelease({ service: 'shop', image: 'shop:2', actor });
      const waiting = await h.until(release.id, (r) => r.phase === 'awaiting_approval');
      expect(waiting.recentErrors).toBeUndefined();
      await h.releases.act(release.id, 'approve', { id: 'lead', channel: 'api' });
      expect((await h.finish(release.id)).phase).toBe('succeeded');
    } finally {
      await h.close();
    }
  });
});
