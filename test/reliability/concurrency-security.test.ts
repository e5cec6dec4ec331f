import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SlackNotifier } from '../../src/adapters/slack/slack-notifier.js';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { mountSlackInteractions } from '../../src/api/slack.js';
import { handleEcrEvent } from '../../src/engine/ecr-trigger.js';
import { withSlack } from '../../src/composition/slack.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { slackClick } from '../support/slack.js';
import { type Log, silentLog } from '../../src/ports/log.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('concurrency', () => {
  it('50 duplicate ECR events for one digest start exactly one release', async () => {
    h = await startHarness([serviceConfig('api', { trigger: { repository: 'my-repository-name' } })]);
    const harness = h;
    const event = JSON.parse(readFileSync('test/fixtures/ecr-push-event.json', 'utf8')) as unknown;
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => handleEcrEvent(event, { services: harness.services, releases: harness.releases, log: silentLog })),
    );
    const ids = new Set(outcomes.flatMap((o) => (o.outcome === 'started' ? o.releases.map((r) => r.releaseId) : [])));
    expect(ids.size).toBe(1);
    expect(outcomes.filter((o) => o.outcome === 'started' && o.releases[0]?.created)).toHaveLength(1);
    const [id] = [...ids];
    expect((await harness.store.list({ service: 'api', limit: 100 })).releases).toHaveLength(1);
    expect((await harness.finish(id ?? '')).phase).toBe('succeeded');
    expect(harness.driver.calls.filter((c) => c.method === 'deploy')).toHaveLength(1);
  });

  it('20 services releasing at once stay isolated: each ends by its own gates, locks freed', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `svc${i}`);
    h = await startHarness(names.map((name, i) => serviceConfig(name, {}, 9100 + i)));
    const harness = h;
    names.forEach((name, i) => {
      if (i % 4 === 0) harness.metrics.errorRate.set(`${name}:v2`, 50);
    });
    const started = await Promise.all(
      names.map((name) => harness.releases.startRelease({ service: name, image: `${name}:v2`, actor: { id: 'ci', channel: 'api' } })),
    );
    const done = await Promise.all(started.map((s) => harness.finish(s.release.id)));
    done.forEach((r, i) => {
      const name = names[i] ?? '';
      expect(r.service).toBe(name);
      expect(r.phase).toBe(i % 4 === 0 ? 'rolled_back' : 'succeeded');
      expect(harness.driver.state(name)).toEqual({ stable: i % 4 === 0 ? 'v0' : `${name}:v2`, weight: 0 });
    });
    for (const name of names) expect(await harness.store.lockOwner(name, harness.clock.now())).toBeUndefined();
    // Every driver call was made for the service of the release that made it.
    for (const c of harness.driver.calls) expect(done.find((r) => r.id === c.releaseId)?.service).toBe(c.service);
  });
});

describe('security', () => {
  const SECRET = 'slack-signing-secret-value-123';
  const BOT = 'xoxb-bot-token-value-456';
  const BEARER = 'bearer-token-value-789';

  it('secrets and task tokens never appear in logs or API responses', async () => {
    const lines: string[] = [];
    const capture: Log = {
      info: (m, e) => lines.push(JSON.stringify({ m, ...e })),
      warn: (m, e) => lines.push(JSON.stringify({ m, ...e })),
      error: (m, e) => lines.push(JSON.stringify({ m, ...e })),
    };
    let notifier: SlackNotifier | undefined;
    h = await startHarness(
      [serviceConfig('api', { approvals: { at: ['after-first-step'], approvers: ['bob'] }, notifications: { slack: { channel: 'C1' } } })],
      {
        config: { people: [{ name: 'bob', slack: 'U0BOB' }] },
        // Slack points at a closed port: its errors get logged, and must not carry the token.
        wrapStore: (store, services) => {
          const wired = withSlack(store, {
            secrets: { signingSecret: SECRET, botToken: BOT },
            services,
            environment: 'test',
            apiUrl: 'http://127.0.0.1:9/api/',
            log: capture,
          });
          notifier = wired.notifier;
          return wired.store;
        },
      },
    );
    const harness = h;
    const app = createApp({
      releases: harness.releases,
      store: harness.store,
      services: harness.services,
      clock: harness.clock,
      authenticate: bearerAuthenticator(BEARER),
      log: capture,
      extend: (a) =>
        mountSlackInteractions(a, {
          signingSecret: async () => SECRET,
          releases: harness.releases,
          clock: { now: () => Date.now() },
          log: capture,
          people: harness.people,
        }),
    });
    const bodies: string[] = [];
    const call = async (method: string, path: string, init: RequestInit = {}) => {
      const res = await app.request(path, { method, ...init });
      bodies.push(await res.text());
      return res;
    };
    await call('POST', '/releases', {
      headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'api', image: 'api:2' }),
    });
    const { releases } = await harness.store.list({ limit: 1 });
    const id = releases[0]?.id ?? '';
    const waiting = await harness.until(id, (r) => r.phase === 'awaiting_approval');
    let approval = await harness.store.getApproval(waiting.pendingApproval?.id ?? '');
    for (let i = 0; i < 100 && !approval?.taskToken; i++) {
      await new Promise((r) => setTimeout(r, 10));
      approval = await harness.store.getApproval(waiting.pendingApproval?.id ?? '');
    }
    const taskToken = approval?.taskToken ?? '';
    expect(taskToken).toContain('local:');
    const signed = slackClick(SECRET, 'U0BOB', 'approve', `${id}|${waiting.pendingApproval?.id}`);
    await call('POST', '/slack/interactions', { headers: signed.headers, body: signed.body });
    await call('POST', '/slack/interactions', { headers: { ...signed.headers, 'x-slack-signature': 'v0=bad' }, body: signed.body });
    await harness.finish(id);
    for (const path of ['/services', '/releases', `/releases/${id}`, '/openapi.json', '/healthz']) await call('GET', path);
    await notifier?.idle();
    expect(lines.length).toBeGreaterThan(3);
    const everything = [...lines, ...bodies].join('\n');
    for (const secret of [SECRET, BOT, BEARER, taskToken]) expect(everything).not.toContain(secret);
  });

  it('every mutating route answers 401 without valid credentials, and changes nothing', async () => {
    h = await startHarness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })]);
    const harness = h;
    const { release } = await harness.releases.startRelease({ service: 'api', image: 'api:2', actor: { id: 'a', channel: 'api' } });
    const waiting = await harness.until(release.id, (r) => r.phase === 'awaiting_approval');
    const app = createApp({
      releases: harness.releases,
      store: harness.store,
      services: harness.services,
      clock: harness.clock,
      authenticate: bearerAuthenticator('right'),
    });
    for (const auth of [undefined, 'Bearer wrong', 'Basic cmlnaHQ=', 'Bearer', 'bearer  right x']) {
      for (const path of ['/releases', ...['approve', 'reject', 'promote', 'rollback'].map((a) => `/releases/${release.id}/${a}`)]) {
        const res = await app.request(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
          body: JSON.stringify({ service: 'api', image: 'api:3' }),
        });
        expect(res.status, `${auth} ${path}`).toBe(401);
      }
    }
    expect(await harness.store.get(release.id)).toEqual(waiting);
    expect((await harness.store.list({ limit: 10 })).releases).toHaveLength(1);
  });

  it('the timeline is append-only: no route edits or deletes it, and every change only adds to it', async () => {
    h = await startHarness([serviceConfig('api', { approvals: { at: ['after-first-step', 'before-finalize'] } })]);
    const harness = h;
    const app = createApp({
      releases: harness.releases,
      store: harness.store,
      services: harness.services,
      clock: harness.clock,
      authenticate: bearerAuthenticator('t'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('approve', 'reject', 'promote', 'rollback', 'PUT', 'PATCH', 'DELETE'), { minLength: 1, maxLength: 6 }),
        async (actions) => {
          const { release } = await harness.releases.startRelease({
            service: 'api',
            image: `api:${Math.random().toString(36).slice(2, 8)}`,
            actor: { id: 'a', channel: 'api' },
          });
          let seen = (await harness.until(release.id, (r) => r.phase === 'awaiting_approval' || r.phase === 'queued')).timeline;
          for (const action of actions) {
            const isMutation = ['PUT', 'PATCH', 'DELETE'].includes(action);
            const res = isMutation
              ? await app.request(`/releases/${release.id}${action === 'DELETE' ? '' : '/timeline'}`, {
                  method: action,
                  headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
                  body: action === 'DELETE' ? null : '[]',
                })
              : await app.request(`/releases/${release.id}/${action}`, { method: 'POST', headers: { authorization: 'Bearer t', 'X-Switchyard-Actor': 'bob' } });
            if (isMutation) expect(res.status).toBe(action === 'DELETE' ? 405 : 404);
            const now = (await harness.store.get(release.id))?.timeline ?? [];
            expect(now.slice(0, seen.length)).toEqual(seen);
            seen = now;
          }
          await harness.releases.act(release.id, 'rollback', { id: 'cleanup', channel: 'api' }).catch(() => undefined);
          await harness.finish(release.id);
        },
      ),
      { numRuns: 15 },
    );
  });
});
