import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../../src/api/slack-signature.js';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { mountSlackInteractions } from '../../src/api/slack.js';
import { handleEcrEvent } from '../../src/engine/ecr-trigger.js';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import type { ReleaseService } from '../../src/engine/releases.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';
import { silentLog } from '../../src/ports/log.js';

/** How many inputs each fuzzer tries; the README's figures come from these numbers. */
export const RUNS = { body: 1500, routes: 1500, slack: 1000, ecr: 1500, config: 1500 } as const;

const SECRET = 'fuzz-secret';
let h: Harness;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  h = await startHarness([
    serviceConfig('api', { approvals: { at: ['after-first-step'] } }),
    serviceConfig('ops', { approvals: { at: ['after-first-step'] } }, 9001),
  ]);
  app = createApp({
    releases: h.releases,
    store: h.store,
    services: h.services,
    clock: h.clock,
    authenticate: bearerAuthenticator('t'),
    extend: (a) => mountSlackInteractions(a, { signingSecret: async () => SECRET, releases: h.releases, clock: { now: () => Date.now() }, log: silentLog }),
  });
});
afterAll(async () => {
  await h.close();
  const total = Object.values(RUNS).reduce((a, b) => a + b, 0);
  console.log(
    `fuzz inputs tried: ${total} (${Object.entries(RUNS)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
});

const count = async () => (await h.store.list({ limit: 100 })).releases.length;
type Body = { error?: { code?: string; message?: string } };

async function call(method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) {
  const res = await app.request(path, { method, headers: { authorization: 'Bearer t', ...headers }, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: Body | undefined;
  try {
    json = JSON.parse(text) as Body;
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

/** Every refusal is a 4xx with a JSON error that says what was wrong. */
function expectClearRefusal(r: { status: number; json: Body | undefined }) {
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.status).toBeLessThan(500);
  expect(typeof r.json?.error?.code).toBe('string');
  expect((r.json?.error?.message ?? '').length).toBeGreaterThan(10);
}

const jsonish = fc.oneof(
  fc.json(),
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        service: fc.oneof(fc.string(), fc.constant('api'), fc.integer(), fc.constant(null)),
        image: fc.oneof(fc.string(), fc.constant('Api:1'), fc.constant('api:1 '), fc.integer()),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.record({ service: fc.constant('api'), image: fc.string({ maxLength: 600 }), extra: fc.anything() }).map((v) => JSON.stringify(v)),
);

describe('fuzzing the HTTP API', () => {
  it(`POST /releases with ${RUNS.body} random bodies: no 5xx, no crash; a clear 400 creates nothing`, async () => {
    const before = await count();
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(jsonish, fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'), async (body, type) => {
        const r = await call('POST', '/releases', body, { 'content-type': type });
        // A random body can be valid ({"service":"api","image":"0"} is a real image reference).
        if (r.status === 201) {
          accepted++;
          return;
        }
        expectClearRefusal(r);
      }),
      { numRuns: RUNS.body },
    );
    expect(await count()).toBe(before + accepted);
  });

  it(`${RUNS.routes} random routes, queries, ids and actions: no 5xx, nothing changes`, async () => {
    const { release } = await h.releases.startRelease({ service: 'ops', image: 'ops:1', actor: { id: 'a', channel: 'api' } });
    await h.until(release.id, (r) => r.phase === 'awaiting_approval');
    const snapshot = JSON.stringify(await h.store.get(release.id));
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('releases', 'services', release.id, 'approve', '..', '%00', '%2F', 'r-' + 'x'.repeat(90)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.dictionary(fc.constantFrom('service', 'phase', 'limit', 'cursor', 'x'), fc.string({ maxLength: 30 })),
        fc.option(jsonish, { nil: undefined }),
        fc.boolean(),
        async (method, parts, query, body, authed) => {
          const path = `/${parts.map((p) => encodeURIComponent(p)).join('/')}?${new URLSearchParams(query).toString()}`;
          // Mutations are left out only for the real release id with a valid action, which may legitimately apply.
          if (method === 'POST' && parts[0] === 'releases' && parts[1] === release.id && ['approve', 'reject', 'promote', 'rollback'].includes(parts[2] ?? ''))
            return;
          // A POST /releases that happens to be valid starts a release of another service; also fine.
          if (method === 'POST' && parts.length === 1 && parts[0] === 'releases') return;
          const r = await call(method, path, method === 'GET' ? undefined : body, authed ? {} : { authorization: 'Bearer wrong' });
          expect(r.status, `${method} ${path}`).toBeLessThan(500);
          if (r.status >= 400) expectClearRefusal(r);
        },
      ),
      { numRuns: RUNS.routes },
    );
    expect(JSON.stringify(await h.store.get(release.id))).toBe(snapshot);
  });
});

describe('fuzzing the Slack endpoint', () => {
  it(`${RUNS.slack} random or tampered requests: 400/401 only, nothing changes`, async () => {
    const before = JSON.stringify((await h.store.list({ limit: 100 })).releases);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        fc.boolean(),
        fc.integer({ min: -1000, max: 1000 }),
        async (body, sig, signIt, skew) => {
          const ts = Math.floor(Date.now() / 1000) + skew;
          const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts) };
          if (signIt) headers['x-slack-signature'] = signSlackRequest(SECRET, ts, body);
          else if (sig !== undefined) headers['x-slack-signature'] = sig;
          const r = await call('POST', '/slack/interactions', body, headers);
          expect([400, 401]).toContain(r.status);
          expectClearRefusal(r);
        },
      ),
      { numRuns: RUNS.slack },
    );
    expect(JSON.stringify((await h.store.list({ limit: 100 })).releases)).toBe(before);
  });
});

describe('fuzzing the ECR trigger', () => {
  const fixture = JSON.parse(readFileSync('test/fixtures/ecr-push-event.json', 'utf8')) as Record<string, unknown>;
  it(`${RUNS.ecr} random and mutated events: never throws, starts nothing unless valid, says why`, async () => {
    let starts = 0;
    const releases = { startRelease: async () => (starts++, { release: { id: 'r' }, created: true }) } as unknown as ReleaseService;
    const mutated = fc
      .record({ key: fc.constantFrom('source', 'detail-type', 'account', 'region', 'detail'), value: fc.anything() })
      .map(({ key, value }) => ({ ...fixture, [key]: value }));
    const detailMutated = fc
      .record({ key: fc.constantFrom('result', 'action-type', 'repository-name', 'image-digest', 'image-tag'), value: fc.anything() })
      .map(({ key, value }) => ({ ...fixture, detail: { ...(fixture['detail'] as object), [key]: value } }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), mutated, detailMutated), async (event) => {
        const before = starts;
        const out = await handleEcrEvent(event, { services: h.services, releases, log: silentLog });
        if (out.outcome !== 'started') {
          expect(starts).toBe(before);
          expect(out.reason.length).toBeGreaterThan(10);
        }
      }),
      { numRuns: RUNS.ecr },
    );
  });
});

describe('fuzzing the config loader', () => {
  const valid = {
    services: [serviceConfig('api', { trigger: { repository: 'api', tagPattern: 'v*' }, approvals: { at: ['before-finalize'], approvers: ['U1'] } })],
  };
  const paths = [
    'name',
    'target',
    'target.port',
    'target.command',
    'target.replicas',
    'strategy',
    'strategy.type',
    'strategy.steps',
    'gates',
    'gates.metrics',
    'gates.checkInterval',
    'approvals',
    'approvals.at',
    'approvals.timeout',
    'trigger.repository',
    'onActiveRelease',
    'notifications',
  ];
  const set = (obj: Record<string, unknown>, path: string, value: unknown) => {
    const copy = structuredClone(obj);
    const keys = path.split('.');
    let cur: Record<string, unknown> = copy;
    for (const k of keys.slice(0, -1)) {
      if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
      cur = cur[k] as Record<string, unknown>;
    }
    cur[keys.at(-1) ?? ''] = value;
    return copy;
  };
  it(`${RUNS.config} random mutations: valid, or a ConfigError whose every issue has a path and a reason`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ path: fc.constantFrom(...paths), value: fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.constant(undefined)) }), {
          maxLength: 4,
        }),
        fc.boolean(),
        (mutations, wrapGarbage) => {
          let service = valid.services[0] as Record<string, unknown>;
          for (const m of mutations) service = set(service, m.path, m.value);
          const raw = wrapGarbage ? { services: [service], [String(mutations.length)]: 1 } : { services: [service] };
          try {
            resolveConfig(raw);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            for (const issue of (error as ConfigError).issues) {
              expect(issue.path.length).toBeGreaterThan(0);
              expect(issue.message.length).toBeGreaterThan(5);
            }
          }
        },
      ),
      { numRuns: RUNS.config },
    );
  });
});
