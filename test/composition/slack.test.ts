import { afterEach, describe, expect, it } from 'vitest';
import type { SlackNotifier } from '../../src/adapters/slack/slack-notifier.js';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { mountSlackInteractions } from '../../src/api/slack.js';
import { withSlack } from '../../src/composition/slack.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { signedSlackRequest, slackClick, SlackStandIn } from '../support/slack.js';
import { silentLog } from '../../src/ports/log.js';

const SECRET = 'slack-signing-secret';
const TOKEN = 'xoxb-test-token';

let h: Harness | undefined;
let slack: SlackStandIn | undefined;
let notifier: SlackNotifier | undefined;
afterEach(async () => {
  await h?.engine.stop();
  await notifier?.idle();
  await h?.close();
  await slack?.close();
  h = undefined;
  slack = undefined;
});

async function setup(overrides: Record<string, unknown> = {}) {
  slack = new SlackStandIn();
  await slack.start();
  const standIn = slack;
  h = await startHarness(
    [
      serviceConfig('checkout', {
        notifications: { slack: { channel: 'C0RELEASES' } },
        approvals: { at: ['after-first-step'], approvers: ['bob', 'ann'], fourEyes: true, authority: { start: 'anyone' } },
        ...overrides,
      }),
    ],
    {
      config: {
        environment: 'production',
        people: [
          { name: 'bob', slack: 'U0BOB' },
          { name: 'ann', slack: 'U0AAA' },
        ],
      },
      wrapStore: (store, services) => {
        const wired = withSlack(store, {
          secrets: { signingSecret: SECRET, botToken: TOKEN },
          services,
          environment: 'production',
          apiUrl: `${standIn.url}/api/`,
          log: silentLog,
        });
        notifier = wired.notifier;
        return wired.store;
      },
    },
  );
  const harness = h;
  const app = createApp({
    releases: h.releases,
    store: h.store,
    services: h.services,
    clock: { now: () => Date.now() },
    authenticate: bearerAuthenticator('t'),
    extend: (a) =>
      mountSlackInteractions(a, {
        signingSecret: async () => SECRET,
        releases: harness.releases,
        clock: { now: () => Date.now() },
        log: silentLog,
        people: harness.people,
      }),
  });
  const click = async (
    user: string,
    action: string,
    value: string,
    { secret = SECRET, timestamp, raw }: { secret?: string; timestamp?: number; raw?: string } = {},
  ) => {
    const signed =
      raw === undefined
        ? slackClick(secret, user, action, value, { responseUrl: `${standIn.url}/response`, ...(timestamp !== undefined ? { timestamp } : {}) })
        : signedSlackRequest(secret, raw, timestamp);
    const res = await app.request('/slack/interactions', { method: 'POST', headers: signed.headers, body: signed.body });
    return { status: res.status, body: (await res.json()) as { ok?: boolean; message?: string; error?: { code: string; message: string } } };
  };
  return { h: harness, slack: standIn, click, app };
}

const buttons = (call: { args: Record<string, string> } | undefined) =>
  (JSON.parse(call?.args['blocks'] ?? '[]') as { type: string; elements?: { action_id: string; value: string; confirm?: unknown }[] }[]).find(
    (b) => b.type === 'actions',
  )?.elements ?? [];

describe('Slack: one live message per release', () => {
  it('posts one message, updates it in place, threads the timeline, and shows the final state', async () => {
    const { h, slack, click } = await setup();
    const { release } = await h.releases.startRelease({
      service: 'checkout',
      image: `checkout:1.8.2@sha256:${'c'.repeat(64)}`,
      actor: { id: 'alice', channel: 'api' },
    });
    const waiting = await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    await new Promise((r) => setTimeout(r, 50));
    expect(slack.top()).toHaveLength(1);
    expect(slack.top()[0]?.args).toMatchObject({ channel: 'C0RELEASES', auth: `Bearer ${TOKEN}` });
    const latest = slack.updates().at(-1);
    expect(latest?.args['text']).toContain('checkout (production): checkout:1.8.2 is awaiting approval, 10% on the new version');
    const blocksText = latest?.args['blocks'] ?? '';
    expect(blocksText).toContain('cccccccccccc'); // short digest
    expect(blocksText).toContain('██░░░░░░░░░░░░░░░░░░');
    expect(blocksText).toContain('Step*\\n3 of 6');
    // Buttons carry short ids, never a task token, and each asks for confirmation.
    const els = buttons(latest);
    expect(els.map((b) => b.action_id)).toEqual(['approve', 'reject', 'promote', 'rollback']);
    expect(els[0]?.value).toBe(`${release.id}|${waiting.pendingApproval?.id}`);
    expect(els.every((b) => b.confirm !== undefined && b.value.length < 100 && !b.value.includes('local:'))).toBe(true);

    const answer = await click('U0BOB', 'approve', `${release.id}|${waiting.pendingApproval?.id}`);
    expect(answer).toEqual({ status: 200, body: { ok: true, message: `approve of ${release.id} applied by <@U0BOB> (bob)` } });
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 100));
    expect(slack.top()).toHaveLength(1);
    const final = slack.updates().at(-1);
    expect(final?.args['text']).toContain('is succeeded, 100% on the new version');
    expect(final?.args['blocks']).toMatch(/succeeded\* in \d+/);
    expect(final?.args['blocks']).toContain('approved by bob (<@U0BOB>)');
    // Finished and shipped: the only button left undoes it.
    expect(buttons(final).map((b) => b.action_id)).toEqual(['undo']);
    // The timeline, in order, as thread replies under the one message.
    const replies = slack.replies();
    expect(new Set(replies.map((r) => r.args['thread_ts']))).toEqual(new Set(['1700000000.000001']));
    // As Slack shows them: it decodes the three entities the text is escaped with (&amp; &lt; &gt;).
    const shown = (text: string | undefined) => text?.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    expect(replies.map((r) => shown(r.args['text'])?.replace(/^`[\d:]+` /, ''))).toEqual(done.timeline.map((e) => expect.stringContaining(e.message)));
    expect(ephemeralTexts(slack)).toEqual([expect.stringContaining('approve of')]);
  });

  it('a rollback button rolls back, and Slack being down or rate limited never fails the release', async () => {
    const { h, slack, click } = await setup();
    slack.failNext = { status: 429, count: 1 };
    const { release } = await h.releases.startRelease({ service: 'checkout', image: 'checkout:2', actor: { id: 'alice', channel: 'api' } });
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    expect(slack.top()).toHaveLength(1); // posted after honouring Retry-After
    slack.failNext = { status: 500, count: 1000 };
    expect((await click('U0AAA', 'rollback', release.id)).body.ok).toBe(true);
    const done = await h.finish(release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toBe('rollback requested by ann');
  });
});

function ephemeralTexts(s: SlackStandIn): string[] {
  return s.ephemeral.map((e) => e.text);
}

describe('Slack: the interactions endpoint refuses what it must, and changes nothing', () => {
  it.each([
    ['a bad signature', { secret: 'wrong' }, 'signature does not match'],
    ['a stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 301 }, 'stale request'],
  ])('%s -> 401', async (_name, opts, reason) => {
    const { h, click } = await setup();
    const { release } = await h.releases.startRelease({ service: 'checkout', image: 'checkout:2', actor: { id: 'alice', channel: 'api' } });
    const waiting = await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    const res = await click('U0BOB', 'approve', `${release.id}|${waiting.pendingApproval?.id}`, opts);
    expect(res.status).toBe(401);
    expect(res.body.error?.message).toContain(reason);
    expect((await h.store.get(release.id))?.phase).toBe('awaiting_approval');
  });

  it('a tampered body (signed for rollback, sent as promote) is refused', async () => {
    const { h, app } = await setup();
    const { release } = await h.releases.startRelease({ service: 'checkout', image: 'checkout:2', actor: { id: 'alice', channel: 'api' } });
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    const signed = slackClick(SECRET, 'U0BOB', 'rollback', release.id);
    const res = await app.request('/slack/interactions', { method: 'POST', headers: signed.headers, body: signed.body.replace('rollback', 'promote') });
    expect(res.status).toBe(401);
    expect((await h.store.get(release.id))?.requests).toEqual({});
  });

  it('an error nobody expected still gets the clicker an answer (not an escaped 500), and its details stay in the log', async () => {
    const { h, slack, click } = await setup();
    const { release } = await h.releases.startRelease({ service: 'checkout', image: 'checkout:2', actor: { id: 'alice', channel: 'api' } });
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    const releases = h.releases as { act: typeof h.releases.act };
    const act = releases.act;
    releases.act = async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:8000 (secret internals)');
    };
    try {
      const res = await click('U0BOB', 'rollback', release.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: false, code: 'internal', message: 'internal error; the server log has the details' });
      expect(ephemeralTexts(slack).at(-1)).toContain('internal error');
    } finally {
      releases.act = act;
    }
  });

  it('an unknown user, an unknown release, an action not valid in the phase and a replayed click each get a clear answer', async () => {
    const { h, slack, click } = await setup();
    const { release } = await h.releases.startRelease({ service: 'checkout', image: 'checkout:2', actor: { id: 'ann', channel: 'slack', person: 'ann' } });
    const waiting = await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    const value = `${release.id}|${waiting.pendingApproval?.id}`;
    expect((await click('U0EVE', 'approve', value)).body).toEqual({
      ok: false,
      code: 'forbidden',
      message: 'U0EVE is not an approver: approve needs one of bob, ann; an approver proves who they are as one of people in the config (service checkout)',
    });
    expect((await click('U0AAA', 'approve', value)).body.message).toContain('four-eyes rule: ann started this release');
    expect((await click('U0BOB', 'approve', 'r-nope|r-nope-a1')).body).toEqual({ ok: false, code: 'not_found', message: 'no release with id "r-nope"' });
    expect((await h.store.get(release.id))?.phase).toBe('awaiting_approval');
    // Pause from Slack: the same rule as the API's, in its words (an approval already holds the release).
    expect((await click('U0BOB', 'pause', release.id)).body).toMatchObject({
      ok: false,
      code: 'invalid_action',
      message: expect.stringContaining('it already waits for a person (approve or reject it)'),
    });
    expect((await click('U0BOB', 'approve', value)).body.ok).toBe(true);
    const replay = await click('U0BOB', 'approve', value);
    expect(replay.body.ok).toBe(false);
    expect(replay.body.message).toMatch(/no longer waiting|already decided|no approval is waiting/);
    const done = await h.finish(release.id);
    expect(done.approvals).toHaveLength(1);
    expect(done.timeline.filter((e) => e.type === 'approved')).toHaveLength(1);
    expect((await click('U0BOB', 'rollback', release.id)).body).toEqual({
      ok: false,
      code: 'invalid_action',
      message: `release ${release.id} is succeeded; only an active release can be rolled back`,
    });
    expect(ephemeralTexts(slack).filter((t) => t.startsWith(':warning:')).length).toBeGreaterThanOrEqual(6);
  });

  it('malformed payloads get 400', async () => {
    const { click } = await setup();
    expect((await click('U0BOB', 'approve', 'x', { raw: 'payload=%7Bnot-json' })).status).toBe(400);
    expect((await click('U0BOB', 'explode', 'x')).status).toBe(400);
  });
});

describe('Slack in local mode', () => {
  it('posts to the configured Slack API base URL and serves the interactions endpoint', async () => {
    const { startLocalMode } = await import('../../src/composition/local-mode.js');
    const { resolveConfig } = await import('../../src/config/config.js');
    slack = new SlackStandIn();
    await slack.start();
    const config = resolveConfig({
      environment: 'local',
      services: [
        {
          name: 'demo',
          target: { driver: 'local', command: ['node', 'examples/demo-service/server.mjs'], port: 8080, readiness: { interval: 0 }, env: { STARTUP_MS: '50' } },
          strategy: { type: 'blue-green', bake: '1s' },
          approvals: { at: ['before-finalize'], approvers: ['bob'] },
          notifications: { slack: { channel: 'C0LOCAL' } },
        },
      ],
      people: [{ name: 'bob', slack: 'U0BOB' }],
    });
    const mode = await startLocalMode({
      config,
      port: 0,
      inMemory: true,
      ephemeralPorts: true,
      token: 't',
      slack: { signingSecret: SECRET, botToken: TOKEN, apiUrl: `${slack.url}/api` },
    });
    try {
      expect(mode.slack).toBe(true);
      const { release } = await mode.runtime.releases.startRelease({ service: 'demo', image: 'v2', actor: { id: 'alice', channel: 'api' } });
      let r = release;
      for (let i = 0; i < 200 && r.phase !== 'awaiting_approval'; i++) {
        await new Promise((res) => setTimeout(res, 50));
        r = (await mode.runtime.deps.store.get(release.id)) ?? r;
      }
      expect(r.phase).toBe('awaiting_approval');
      expect(slack.top()[0]?.args['channel']).toBe('C0LOCAL');
      const signed = slackClick(SECRET, 'U0BOB', 'approve', `${release.id}|${r.pendingApproval?.id}`);
      const res = await fetch(`${mode.apiUrl}/slack/interactions`, { method: 'POST', headers: signed.headers, body: signed.body });
      expect(await res.json()).toMatchObject({ ok: true });
      for (let i = 0; i < 200 && r.phase !== 'succeeded'; i++) {
        await new Promise((res2) => setTimeout(res2, 50));
        r = (await mode.runtime.deps.store.get(release.id)) ?? r;
      }
      expect(r.phase).toBe('succeeded');
    } finally {
      await mode.stop();
    }
  });
});
