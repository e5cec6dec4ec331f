import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../src/adapters/dynamodb/dynalite.js';
import { createApp } from '../src/api/app.js';
import { bearerAuthenticator } from '../src/api/auth.js';
import type { MetricsSource } from '../src/ports/metrics-source.js';
import { serviceConfig, startHarness, type Harness } from './support/harness.js';

const TOKEN = 'test-token-123';
/** People of the config, each with their own token (`<name>-token`). */
const PEOPLE = ['alice', 'bob', 'carol'];
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
async function api(
  services: Record<string, unknown>[] = [
    // Started by the shared token in most cases here: four-eyes would have starts proven by default.
    serviceConfig('api', { approvals: { at: ['after-first-step'], approvers: ['bob'], fourEyes: true, authority: { start: 'anyone' } } }),
  ],
  wrapMetrics?: (metrics: MetricsSource) => MetricsSource,
) {
  n++;
  h = await startHarness(
    services.map((s) => ({ ...s, name: `${String(s['name'])}-${n}` })),
    { dynamo, config: { people: PEOPLE.map((name) => ({ name })) }, ...(wrapMetrics ? { wrapMetrics } : {}) },
  );
  const harness = h;
  const personTokens = new Map(PEOPLE.map((name) => [`${name}-token`, name]));
  const authenticate = bearerAuthenticator(TOKEN, { people: harness.people, personTokens });
  const app = createApp({ releases: h.releases, store: h.store, services: h.services, clock: h.clock, authenticate });
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    { actor, token = TOKEN, headers = {} }: { actor?: string; token?: string | null; headers?: Record<string, string> } = {},
  ) => {
    // A configured person acts with their own token; any other actor is a label on the shared token.
    if (actor !== undefined && PEOPLE.includes(actor) && token === TOKEN) {
      token = `${actor}-token`;
      actor = undefined;
    }
    const res = await app.request(path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(actor ? { 'x-switchyard-actor': actor } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    // Response bodies are asserted field by field; `any` keeps those assertions short.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  return { app, call, h: harness, service: harness.services[0]?.name ?? '' };
}


const D = (c: string) => `sha256:${c.repeat(64)}`;
const guardedService = () => [serviceConfig('api', { approvals: { approvers: ['bob'] } })];

async function shipped(call: Awaited<ReturnType<typeof api>>['call'], hh: Harness, service: string, image: string) {
  const id = (await call('POST', '/releases', { service, image }, { actor: 'alice' })).body['id'] as string;
  expect((await hh.finish(id)).phase).toBe('succeeded');
  return id;
}

describe('review: undo --to', () => {
  it('U1: the same Idempotency-Key with a different "to" starts a second release (start refuses key reuse with 422)', async () => {
    const { call, h, service } = await api(guardedService());
    for (const image of ['api:1', 'api:2', 'api:3']) await shipped(call, h, service, image);
    const key = { 'idempotency-key': 'undo-k1' };
    const first = await call('POST', `/services/${service}/undo`, { to: 'api:1' }, { actor: 'bob', headers: key });
    expect(first.status).toBe(201);
    await call('POST', `/releases/${first.body['id']}/rollback`, undefined, { actor: 'bob' });
    await h.finish(first.body['id'] as string);
    const second = await call('POST', `/services/${service}/undo`, { to: 'api:2' }, { actor: 'bob', headers: key });
    console.log('U1 second', second.status, second.body['id'] ?? second.body['error']);
    // start's own rule for a key reused for another release:
    expect(second.status).toBe(422);
  }, 90_000);

  it('U2: a plain undo while an undo --to is running answers 200 with that release, as if it were a replay', async () => {
    const { call, h, service } = await api(guardedService());
    for (const image of ['api:1', 'api:2', 'api:3']) await shipped(call, h, service, image);
    const to1 = await call('POST', `/services/${service}/undo`, { to: 'api:1' }, { actor: 'bob' });
    expect(to1.status).toBe(201);
    const plain = await call('POST', `/services/${service}/undo`, { comment: 'back to api:2 please' }, { actor: 'bob' });
    console.log('U2 plain', plain.status, plain.body['image'] ?? plain.body['error']);
    // asked: go back to api:2 (the previous); told: OK, here is a release going to api:1
    expect(plain.status).toBe(409);
  }, 90_000);

  it('U3: undo --to X --expedite while a non-expedited undo --to X runs answers 200 with the slow one', async () => {
    const { call, h, service } = await api(guardedService());
    for (const image of ['api:1', 'api:2']) await shipped(call, h, service, image);
    const slow = await call('POST', `/services/${service}/undo`, { to: 'api:1' }, { actor: 'bob' });
    expect(slow.status).toBe(201);
    const fast = await call('POST', `/services/${service}/undo`, { to: 'api:1', expedite: true, comment: 'incident 7' }, { actor: 'bob' });
    console.log('U3 fast', fast.status, fast.body['expedited'], fast.body['id'] === slow.body['id']);
    expect(fast.status === 200 && fast.body['expedited'] === undefined).toBe(false);
  }, 90_000);

  it('U4: a version pinned by digest is not found by its tag', async () => {
    const { call, h, service } = await api(guardedService());
    await shipped(call, h, service, `api:1@${D('a')}`);
    await shipped(call, h, service, `api:2@${D('b')}`);
    const byTag = await call('POST', `/services/${service}/undo`, { to: 'api:1' }, { actor: 'bob' });
    console.log('U4 byTag', byTag.status, byTag.body['error']?.['message'] ?? byTag.body['image']);
    const byDigest = await call('POST', `/services/${service}/undo`, { to: `api@${D('a')}` }, { actor: 'bob' });
    console.log('U4 byDigest', byDigest.status, byDigest.body['error']?.['message'] ?? byDigest.body['image']);
    expect(byTag.status).toBe(201);
  }, 90_000);
});
