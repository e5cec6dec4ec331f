import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { apiGatewayAuthenticator, bearerAuthenticator } from '../../src/api/auth.js';
import { mountSlackInteractions } from '../../src/api/slack.js';
import { resolveConfig } from '../../src/config/config.js';
import { actorFor, personFor, type Person } from '../../src/core/people.js';
import { silentLog } from '../../src/ports/log.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { slackClick } from '../support/slack.js';

const people: Person[] = [
  {
    name: 'alice',
    slack: 'U0ALICE01',
    iam: ['arn:aws:iam::123456789012:user/alice', 'arn:aws:sts::123456789012:assumed-role/Deployer/alice'],
    jwt: ['alice@example.com'],
  },
  { name: 'bob', slack: 'U0BOB0001', iam: ['arn:aws:sts::*:assumed-role/*/bob'], jwt: ['auth0|bob'] },
];

describe('one person across Slack, IAM and JWT', () => {
  it('resolves each channel’s identity to the person, with IAM patterns and verified emails only', () => {
    expect(personFor(people, { slack: 'U0ALICE01' })?.name).toBe('alice');
    expect(personFor(people, { iam: 'arn:aws:sts::123456789012:assumed-role/Deployer/alice' })?.name).toBe('alice');
    expect(personFor(people, { iam: 'arn:aws:sts::999999999999:assumed-role/Ops/bob' })?.name).toBe('bob');
    expect(personFor(people, { iam: 'arn:aws:sts::123456789012:assumed-role/Deployer/alice2' })).toBeUndefined();
    expect(personFor(people, { jwt: { email: 'alice@example.com', emailVerified: true } })?.name).toBe('alice');
    // An unverified email proves nothing.
    expect(personFor(people, { jwt: { email: 'alice@example.com', emailVerified: false } })).toBeUndefined();
    expect(personFor(people, { jwt: { sub: 'auth0|bob' } })?.name).toBe('bob');
    // A subject that spells a listed email proves nothing (some providers let users choose it); an email entry needs a verified email claim.
    expect(personFor(people, { jwt: { sub: 'alice@example.com' } })).toBeUndefined();
    expect(personFor(people, { jwt: { sub: 'alice@example.com', email: 'alice@example.com', emailVerified: false } })).toBeUndefined();
    // In an IAM pattern, * stays within one part of the ARN: alice* is not alice-contractor's role session.
    const star: Person[] = [{ name: 'alice', iam: ['arn:aws:sts::123456789012:assumed-role/Deployer/alice*'], jwt: [] }];
    expect(personFor(star, { iam: 'arn:aws:sts::123456789012:assumed-role/Deployer/alice-2' })?.name).toBe('alice');
    expect(personFor(star, { iam: 'arn:aws:sts::123456789012:assumed-role/Deployer/alice/x' })).toBeUndefined();
  });

  it('an unproven identity that spells a person’s name does not pass for them', () => {
    expect(actorFor(people, { jwt: { sub: 'alice' } }, 'api', 'alice')).toEqual({ id: 'api:alice', channel: 'api', proof: { by: 'jwt', subject: 'alice' } });
  });
});

describe('four-eyes and the allowlist compare people, across channels', () => {
  let h: Harness | undefined;
  afterEach(async () => h?.close());

  it('alice starts a release through the IAM-authorized API and cannot approve it from Slack; bob can', async () => {
    h = await startHarness([serviceConfig('pay', { approvals: { at: ['after-first-step'], fourEyes: true, approvers: ['alice', 'bob'] } })], {
      config: { people },
    });
    const app = createApp({
      releases: h.releases,
      store: h.store,
      services: h.services,
      clock: h.clock,
      authenticate: apiGatewayAuthenticator(people),
      extend: (a) => mountSlackInteractions(a, { signingSecret: async () => 'secret', releases: h!.releases, clock: h!.clock, log: silentLog, people }),
    });
    // API Gateway's IAM authorizer puts the caller's ARN in the request context (hono/aws-lambda passes the event as env).
    const asIam = (arn: string) => ({ event: { requestContext: { authorizer: { iam: { userArn: arn } } } } });
    const started = await app.request(
      '/releases',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'pay', image: 'pay:2' }) },
      asIam('arn:aws:sts::123456789012:assumed-role/Deployer/alice'),
    );
    expect(started.status).toBe(201);
    const release = (await started.json()) as { id: string; createdBy: { id: string; person?: string } };
    expect(release.createdBy).toMatchObject({ id: 'alice', person: 'alice' });
    const waiting = await h.until(release.id, (r) => r.phase === 'awaiting_approval');

    const click = (user: string) => {
      const req = slackClick('secret', user, 'approve', `${release.id}|${waiting.pendingApproval?.id}`, { timestamp: Math.floor(h!.clock.now() / 1000) });
      return app.request('/slack/interactions', { method: 'POST', headers: req.headers, body: req.body });
    };
    const own = (await (await click('U0ALICE01')).json()) as { ok: boolean; code?: string; message: string };
    expect(own).toMatchObject({ ok: false, code: 'forbidden' });
    expect(own.message).toContain('four-eyes rule: alice started this release');
    expect((await h.store.get(release.id))?.phase).toBe('awaiting_approval');

    // A Slack user who is nobody on the list is not an approver.
    const stranger = (await (await click('U0NOBODY1')).json()) as { ok: boolean; code?: string };
    expect(stranger).toMatchObject({ ok: false, code: 'forbidden' });

    const other = (await (await click('U0BOB0001')).json()) as { ok: boolean };
    expect(other.ok).toBe(true);
    const done = await h.finish(release.id);
    expect(done.phase).toBe('succeeded');
    expect(done.approvals[0]?.actor).toMatchObject({ id: 'bob', channel: 'slack', person: 'bob' });
  });
});

describe('local mode: a token acts only as the people it may', () => {
  let h: Harness | undefined;
  afterEach(async () => h?.close());

  it('the shared token cannot name a configured person; a person’s own token acts as them alone', async () => {
    h = await startHarness([serviceConfig('web', { approvals: { at: ['after-first-step'], fourEyes: true, approvers: ['alice', 'bob'] } })], {
      config: { people },
    });
    const app = createApp({
      releases: h.releases,
      store: h.store,
      services: h.services,
      clock: h.clock,
      authenticate: bearerAuthenticator('shared-token', {
        people,
        personTokens: new Map([
          ['alice-token-0123456789', 'alice'],
          ['bob-token-0123456789ab', 'bob'],
        ]),
      }),
    });
    const post = (path: string, token: string, actor?: string, body?: unknown) =>
      app.request(path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(actor ? { 'x-switchyard-actor': actor } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });

    const claimed = await post('/releases', 'shared-token', 'alice', { service: 'web', image: 'web:2' });
    expect(claimed.status).toBe(403);
    expect(((await claimed.json()) as { error: { message: string } }).error.message).toContain('the shared token cannot act as alice');

    const mismatched = await post('/releases', 'alice-token-0123456789', 'bob', { service: 'web', image: 'web:2' });
    expect(mismatched.status).toBe(403);
    expect(await h.store.list({ limit: 10 })).toMatchObject({ releases: [] });

    const started = await post('/releases', 'alice-token-0123456789', undefined, { service: 'web', image: 'web:2' });
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as { id: string };
    await h.until(id, (r) => r.phase === 'awaiting_approval');
    expect((await post(`/releases/${id}/approve`, 'alice-token-0123456789')).status).toBe(403);
    // A label on the shared token is nobody on the approver list.
    expect((await post(`/releases/${id}/approve`, 'shared-token', 'carol')).status).toBe(403);
    expect((await post(`/releases/${id}/approve`, 'bob-token-0123456789ab')).status).toBe(200);
    expect((await h.finish(id)).phase).toBe('succeeded');
  });

  it('a person whose token variable is unset stops local mode at start, saying which variable', async () => {
    const { personTokens } = await import('../../src/composition/local-mode.js');
    const config = resolveConfig({ services: [serviceConfig('x')], people: [{ name: 'alice', localToken: 'ALICE_SWITCHYARD_TOKEN' }] });
    expect(() => personTokens(config.people, {})).toThrow("alice's token is read from $ALICE_SWITCHYARD_TOKEN, which is not set");
  });
});
