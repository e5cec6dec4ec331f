import { afterEach, describe, expect, it } from 'vitest';
import { releaseMessage } from '../../src/adapters/slack/message.js';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { mountSlackInteractions } from '../../src/api/slack.js';
import { silentLog } from '../../src/ports/log.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { slackClick } from '../support/slack.js';

let h: Harness | undefined;
afterEach(async () => h?.close());

const ci = { id: 'ci', channel: 'api' } as const;
type Answer = { ok: boolean; code?: string; message: string };
const buttonsOf = (message: ReturnType<typeof releaseMessage>) =>
  message.blocks.filter((b) => b['type'] === 'actions').flatMap((b) => (b['elements'] as { action_id: string; value: string }[]).map((e) => e.action_id));

describe('Slack: a finished release offers what may follow it', () => {
  it('Retry on a rolled-back release starts it again; Undo on a succeeded one goes back, and only from the latest', async () => {
    h = await startHarness([serviceConfig('web')]);
    const harness = h;
    const app = createApp({
      releases: harness.releases,
      store: harness.store,
      services: harness.services,
      clock: harness.clock,
      authenticate: bearerAuthenticator('t'),
      extend: (a) => mountSlackInteractions(a, { signingSecret: async () => 'secret', releases: harness.releases, clock: harness.clock, log: silentLog }),
    });
    const click = async (action: string, releaseId: string): Promise<Answer> => {
      const req = slackClick('secret', 'U0CAROL01', action, releaseId, { timestamp: Math.floor(harness.clock.now() / 1000) });
      return (await app.request('/slack/interactions', { method: 'POST', headers: req.headers, body: req.body })).json() as Promise<Answer>;
    };

    // A bad version rolls back; its message offers Retry.
    harness.metrics.errorRate.set('web:2', 60);
    const bad = await harness.finish((await harness.releases.startRelease({ service: 'web', image: 'web:2', actor: ci })).release.id);
    expect(bad.phase).toBe('rolled_back');
    expect(buttonsOf(releaseMessage(bad, 'prod'))).toEqual(['retry']);

    harness.metrics.errorRate.set('web:2', 0);
    const retried = await click('retry', bad.id);
    expect(retried).toMatchObject({ ok: true });
    const [again] = (await harness.store.list({ service: 'web', limit: 1 })).releases;
    expect(again?.origin).toEqual({ kind: 'retry', of: bad.id });
    const shipped = await harness.finish(again!.id);
    expect(shipped.phase).toBe('succeeded');
    expect(buttonsOf(releaseMessage(shipped, 'prod'))).toEqual(['undo']);

    // A newer release ships; Undo on the older message refuses instead of undoing the newer one.
    const newer = await harness.finish((await harness.releases.startRelease({ service: 'web', image: 'web:3', actor: ci })).release.id);
    const stale = await click('undo', shipped.id);
    expect(stale).toMatchObject({ ok: false, code: 'invalid_action' });
    expect(stale.message).toContain(`release ${newer.id} succeeded since`);

    const undone = await click('undo', newer.id);
    expect(undone).toMatchObject({ ok: true });
    const [undo] = (await harness.store.list({ service: 'web', limit: 1 })).releases;
    expect(undo).toMatchObject({ artifact: { image: 'web:2' }, origin: { kind: 'undo', of: newer.id } });
    expect((await harness.finish(undo!.id)).phase).toBe('succeeded');
    expect(harness.driver.state('web').stable).toBe('web:2');
  });
});
