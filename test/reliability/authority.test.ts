import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { mountSlackInteractions } from '../../src/api/slack.js';
import { releaseDetail, paint, type ReleaseView } from '../../src/cli/render.js';
import { silentLog } from '../../src/ports/log.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { slackClick } from '../support/slack.js';

/**
 * The attacker's cases of issue 24: each decision taken by someone who should not, through the
 * API and Slack as they are served. Every case here started a release, approved or retried on the
 * main before the authority rule (src/core/authority.ts).
 */
const SHARED = 'shared-token-0123456789';
const SECRET = 'slack-signing-secret';
const people = [
  { name: 'alice', slack: 'U0ALICE01', localToken: 'ALICE_TOKEN' },
  { name: 'bob', slack: 'U0BOB0001', localToken: 'BOB_TOKEN' },
  // A configured person who is not an approver.
  { name: 'carol', slack: 'U0CAROL01', localToken: 'CAROL_TOKEN' },
];
const TOKENS: Record<string, string> = { alice: 'alice-token-0123456789', bob: 'bob-token-0123456789ab', carol: 'carol-token-0123456789' };

let dynamo: LocalDynamo;
let h: Harness | undefined;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => dynamo.close());
afterEach(async () => {
  await h?.close();
  h = undefined;
});

let n = 0;
async function world(approvals: Record<string, unknown> = { at: ['after-first-step'], approvers: ['alice', 'bob'], fourEyes: true }) {
  n++;
  h = await startHarness([serviceConfig(`pay-${n}`, { approvals })], { dynamo, config: { people } });
  const harness = h;
  const service = harness.services[0]?.name ?? '';
  const app = createApp({
    releases: harness.releases,
    store: harness.store,
    services: harness.services,
    clock: harness.clock,
    authenticate: bearerAuthenticator(SHARED, { people: harness.people, personTokens: new Map(Object.entries(TOKENS).map(([name, t]) => [t, name])) }),
    extend: (a) =>
      mountSlackInteractions(a, {
        signingSecret: async () => SECRET,
        releases: harness.releases,
        clock: { now: () => Date.now() },
        log: silentLog,
        people: harness.people,
      }),
  });
  /** A call as a person (their own token), as the shared token (`shared`), or the shared token with a label. */
  const call = async (method: string, path: string, as: string, body?: unknown, headers: Record<string, string> = {}) => {
    const [who, label] = as.split(':');
    const token = who === 'shared' ? SHARED : (TOKENS[who ?? ''] ?? '');
    const res = await app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(label ? { 'x-switchyard-actor': label } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const click = async (user: string, action: string, value: string, options: { triggerId?: string; actionTs?: string } = {}) => {
    const { body, headers } = slackClick(SECRET, user, action, value, options);
    const res = await app.request('/slack/interactions', { method: 'POST', headers, body });
    return (await res.json()) as { ok: boolean; code?: string; message: string };
  };
  const releases = async () => (await harness.store.list({ service, limit: 100 })).releases;
  /** A release of `image` that succeeded: started by carol (a person, not an approver), approved by bob. */
  const succeeded = async (image: string) => {
    const started = await call('POST', '/releases', 'carol', { service, image });
    const id = String(started.body['id']);
    await harness.until(id, (r) => r.phase === 'awaiting_approval');
    expect((await call('POST', `/releases/${id}/approve`, 'bob')).status).toBe(200);
    expect((await harness.finish(id)).phase).toBe('succeeded');
    return id;
  };
  return { harness, service, call, click, releases, succeeded };
}

describe('authority: expedite', () => {
  it('a non-approver, the shared token and the shared token with any label cannot expedite a guarded service; nothing starts', async () => {
    const { service, call, releases } = await world();
    for (const as of ['carol', 'shared', 'shared:release-bot', 'shared:root']) {
      const res = await call('POST', '/releases', as, { service, image: 'pay:hotfix', expedite: true, reason: 'pager' });
      expect(res.status, as).toBe(403);
      // Under four-eyes the shared token may not even start; carol may start, not expedite.
      expect(res.body['error']['message']).toMatch(as === 'carol' ? /expedite needs one of alice, bob/ : /start: it needs a proven person/);
    }
    expect(await releases()).toEqual([]);
  });

  it('an approver expedites; under four-eyes the plan keeps one approval, which another approver must give', async () => {
    const { harness, service, call } = await world();
    const res = await call('POST', '/releases', 'alice', { service, image: 'pay:hotfix', expedite: true, reason: 'pager' });
    expect(res.status).toBe(201);
    const id = String(res.body['id']);
    const waiting = await harness.until(id, (r) => r.phase === 'awaiting_approval');
    expect(waiting.plan.steps.filter((s) => s.type === 'approval')).toHaveLength(1);
    expect((await call('POST', `/releases/${id}/approve`, 'alice')).body['error']['message']).toContain('four-eyes rule: alice started this release');
    expect((await call('POST', `/releases/${id}/approve`, 'bob')).status).toBe(200);
    expect((await harness.finish(id)).phase).toBe('succeeded');
  });
});

describe('authority: labels and unproven callers', () => {
  it('a label never passes an approver list, whatever it spells; an unknown Slack user neither', async () => {
    const { harness, service, call, click } = await world({ at: ['after-first-step'], approvers: ['alice', 'bob'] });
    const started = await call('POST', '/releases', 'shared:deployer', { service, image: 'pay:2' });
    const id = String(started.body['id']);
    const waiting = await harness.until(id, (r) => r.phase === 'awaiting_approval');
    expect((await call('POST', `/releases/${id}/approve`, 'shared:reviewer')).status).toBe(403);
    expect((await call('POST', `/releases/${id}/approve`, 'shared')).status).toBe(403);
    // A label that spells a person or a reserved name is refused outright.
    expect((await call('POST', `/releases/${id}/approve`, 'shared:bob')).status).toBe(403);
    expect((await call('POST', `/releases/${id}/approve`, 'shared:switchyard')).status).toBe(403);
    expect(await click('U0EVE0001', 'approve', `${id}|${waiting.pendingApproval?.id}`)).toMatchObject({ ok: false, code: 'forbidden' });
    expect((await harness.store.get(id))?.phase).toBe('awaiting_approval');
    // Anyone may still roll back: the safety action.
    expect((await call('POST', `/releases/${id}/rollback`, 'shared:oncall')).status).toBe(200);
    expect((await harness.finish(id)).phase).toBe('rolled_back');
  });
});

describe('authority: undo and retry', () => {
  it('undo needs an approver; an undo of an undo goes through the plan, approvals and bakes included', async () => {
    const { harness, service, call, succeeded } = await world();
    await succeeded('pay:1');
    const second = await succeeded('pay:2');
    for (const as of ['carol', 'shared', 'shared:oncall']) expect((await call('POST', `/services/${service}/undo`, as)).status, as).toBe(403);
    const undo = await call('POST', `/services/${service}/undo`, 'alice');
    expect(undo.status).toBe(201);
    const undoId = String(undo.body['id']);
    // Under four-eyes the quick undo keeps the plan's first approval, given by another approver.
    const undoWaiting = await harness.until(undoId, (r) => r.phase === 'awaiting_approval');
    expect(undoWaiting.origin).toEqual({ kind: 'undo', of: second });
    expect(undoWaiting.plan.steps.some((s) => s.type === 'bake' && s.seconds > 0)).toBe(false);
    expect((await call('POST', `/releases/${undoId}/approve`, 'bob')).status).toBe(200);
    expect((await harness.finish(undoId)).artifact.image).toBe('pay:1');
    // The undo of the undo re-ships pay:2: through the service's plan, not the quick one.
    const again = await call('POST', `/services/${service}/undo`, 'bob');
    expect(again.status).toBe(201);
    const againRelease = await harness.until(String(again.body['id']), (r) => r.phase === 'awaiting_approval');
    expect(againRelease.artifact.image).toBe('pay:2');
    expect(againRelease.plan).toEqual(harness.services[0]?.plan);
  });

  it('retry needs an approver; two retries at once and a Slack retry click delivered twice start one release', async () => {
    const { harness, service, call, click, releases } = await world();
    const started = await call('POST', '/releases', 'carol', { service, image: 'pay:3' });
    const id = String(started.body['id']);
    await harness.until(id, (r) => r.phase === 'awaiting_approval');
    await call('POST', `/releases/${id}/rollback`, 'shared');
    await harness.finish(id);
    for (const as of ['carol', 'shared', 'shared:oncall']) expect((await call('POST', `/releases/${id}/retry`, as)).status, as).toBe(403);
    const [a, b] = await Promise.all([call('POST', `/releases/${id}/retry`, 'alice'), call('POST', `/releases/${id}/retry`, 'bob')]);
    expect(a.body['id']).toBe(b.body['id']);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    const click1 = await click('U0BOB0001', 'retry', id, { triggerId: '111.222.abc', actionTs: '1700000001.000100' });
    const click2 = await click('U0BOB0001', 'retry', id, { triggerId: '111.222.abc', actionTs: '1700000001.000100' });
    expect(click1.ok && click2.ok).toBe(true);
    expect((await releases()).filter((r) => r.origin?.kind === 'retry')).toHaveLength(1);
  });
});

describe('authority: every decision applies once, and a replay answers as the first', () => {
  it('an approve click Slack delivers twice, and an API call replayed with its Idempotency-Key, both answer ok and decide once', async () => {
    const { harness, service, call, click } = await world();
    const started = await call('POST', '/releases', 'carol', { service, image: 'pay:4' });
    const id = String(started.body['id']);
    const waiting = await harness.until(id, (r) => r.phase === 'awaiting_approval');
    const value = `${id}|${waiting.pendingApproval?.id}`;
    const first = await click('U0BOB0001', 'approve', value, { triggerId: '9.9.x', actionTs: '1700000002.000200' });
    const replay = await click('U0BOB0001', 'approve', value, { triggerId: '9.9.x', actionTs: '1700000002.000200' });
    expect(first).toMatchObject({ ok: true });
    expect(replay).toEqual(first);
    const done = await harness.finish(id);
    expect(done.approvals.filter((a) => a.decision === 'approved')).toHaveLength(1);

    const next = await call('POST', '/releases', 'carol', { service, image: 'pay:5' });
    const nextId = String(next.body['id']);
    await harness.until(nextId, (r) => r.phase === 'awaiting_approval');
    const key = { 'idempotency-key': 'cli-0b8f6d' };
    expect((await call('POST', `/releases/${nextId}/rollback`, 'shared', {}, key)).status).toBe(200);
    expect((await call('POST', `/releases/${nextId}/rollback`, 'shared', {}, key)).status).toBe(200);
    // Without the key, the second rollback is the conflict it always was; the key reused for another decision is refused.
    expect((await call('POST', `/releases/${nextId}/rollback`, 'shared', {})).status).toBe(409);
    expect((await call('POST', `/releases/${nextId}/promote`, 'shared', {}, key)).body['error']['code']).toBe('idempotency_key_reused');
  });
});

describe('authority: the audit trail', () => {
  it('each decision records the person, the channel and how they were proven, in the timeline and in switchyard get', async () => {
    const { harness, service, call, click } = await world({ at: ['after-first-step'], approvers: ['alice', 'bob'] });
    const started = await call('POST', '/releases', 'shared:ci', { service, image: 'pay:6' });
    const id = String(started.body['id']);
    const waiting = await harness.until(id, (r) => r.phase === 'awaiting_approval');
    await click('U0BOB0001', 'approve', `${id}|${waiting.pendingApproval?.id}`);
    await harness.finish(id);
    const view = (await call('GET', `/releases/${id}`, 'alice')).body as unknown as ReleaseView;
    expect(view.timeline.find((e) => e.type === 'created')?.actor).toEqual({ id: 'ci', channel: 'api', proof: { by: 'shared-token' } });
    expect(view.timeline.find((e) => e.type === 'approved')?.actor).toEqual({
      id: 'bob',
      channel: 'slack',
      person: 'bob',
      proof: { by: 'slack-signature', subject: 'U0BOB0001' },
    });
    const printed = releaseDetail(view, paint(false));
    expect(printed).toContain('(ci via api, shared token, unproven)');
    expect(printed).toContain('approved by bob (bob via slack, Slack U0BOB0001)');
  });
});

describe('authority: found by the attacker’s review', () => {
  it('a client’s key cannot block or answer the rule’s own keys, nor another caller’s request', async () => {
    const { harness, service, call, releases, succeeded } = await world({ at: ['after-first-step'], approvers: ['alice', 'bob'] });
    await succeeded('pay:1');
    const last = await succeeded('pay:2');
    // The shared token plants the undo's key on a release of its own, then rolls it back.
    const planted = await call('POST', '/releases', 'shared', { service, image: 'pay:1' }, { 'idempotency-key': `undo-of:${last}` });
    await harness.until(String(planted.body['id']), (r) => r.phase === 'awaiting_approval');
    await call('POST', `/releases/${String(planted.body['id'])}/rollback`, 'shared');
    await harness.finish(String(planted.body['id']));
    const undo = await call('POST', `/services/${service}/undo`, 'alice');
    expect(undo.status).toBe(201);
    expect(undo.body['id']).not.toBe(planted.body['id']);
    expect(undo.body['origin']).toEqual({ kind: 'undo', of: last });
    // Bob's key, replayed by the shared token, is the shared token's own first request, not bob's answer.
    await harness.finish(String(undo.body['id']));
    expect((await releases()).filter((r) => r.origin?.kind === 'undo')).toHaveLength(1);
  });

  it('an undo that was rolled back does not block the next undo of the same release', async () => {
    const { harness, service, call, succeeded } = await world({ at: ['after-first-step'], approvers: ['alice', 'bob'], fourEyes: true });
    await succeeded('pay:1');
    const last = await succeeded('pay:2');
    const first = await call('POST', `/services/${service}/undo`, 'alice');
    await harness.until(String(first.body['id']), (r) => r.phase === 'awaiting_approval');
    await call('POST', `/releases/${String(first.body['id'])}/rollback`, 'shared:oncall');
    expect((await harness.finish(String(first.body['id']))).phase).toBe('rolled_back');
    const second = await call('POST', `/services/${service}/undo`, 'bob');
    expect(second.status).toBe(201);
    expect(second.body['id']).not.toBe(first.body['id']);
    expect(second.body['origin']).toEqual({ kind: 'undo', of: last });
  });

  it('the second of two simultaneous undos, replayed with its key after the undo succeeded, answers with that undo', async () => {
    const { harness, service, call, releases, succeeded } = await world({ at: ['after-first-step'], approvers: ['alice', 'bob'] });
    await succeeded('pay:1');
    await succeeded('pay:2');
    const [a, b] = await Promise.all([
      call('POST', `/services/${service}/undo`, 'alice', undefined, { 'idempotency-key': 'ka' }),
      call('POST', `/services/${service}/undo`, 'bob', undefined, { 'idempotency-key': 'kb' }),
    ]);
    expect(a.body['id']).toBe(b.body['id']);
    expect((await harness.finish(String(a.body['id']))).phase).toBe('succeeded');
    const replay = await call('POST', `/services/${service}/undo`, 'bob', undefined, { 'idempotency-key': 'kb' });
    expect(replay).toMatchObject({ status: 200, body: { id: a.body['id'] } });
    expect((await releases()).filter((r) => r.origin?.kind === 'undo')).toHaveLength(1);
  });

  it('a key replayed by another caller is that caller’s own request; one still being applied is a 409, never a false 200', async () => {
    const { harness, service, call } = await world();
    const started = await call('POST', '/releases', 'alice', { service, image: 'pay:7' });
    const id = String(started.body['id']);
    await harness.until(id, (r) => r.phase === 'awaiting_approval');
    const key = { 'idempotency-key': 'k-approve' };
    // Carol may not approve: both of her requests are refused, however they race.
    const both = await Promise.all([call('POST', `/releases/${id}/approve`, 'carol', {}, key), call('POST', `/releases/${id}/approve`, 'carol', {}, key)]);
    for (const res of both) expect([403, 409]).toContain(res.status);
    expect(both.some((r) => r.status === 403)).toBe(true);
    expect((await call('POST', `/releases/${id}/approve`, 'bob', {}, key)).status).toBe(200);
    // The shared token with bob's key is not bob's replay (no 200 with bob's answer): it is its own request.
    const stranger = await call('POST', `/releases/${id}/approve`, 'shared', {}, key);
    expect(stranger.status).toBe(409);
    expect(stranger.body['error']['message']).toContain('no approval is waiting');
  });

  it('under four-eyes the shared token cannot start a release its holder could then approve under their own name', async () => {
    const { service, call, releases } = await world();
    const res = await call('POST', '/releases', 'shared', { service, image: 'pay:8' });
    expect(res.status).toBe(403);
    expect(res.body['error']['message']).toContain('start: it needs a proven person');
    expect(await releases()).toEqual([]);
  });
});
