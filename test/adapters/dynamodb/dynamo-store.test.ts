import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../../src/adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore } from '../../../src/adapters/dynamodb/dynamo-store.js';
import { ConflictError, NotFoundError } from '../../../src/core/errors.js';
import { requestRollback, type Release } from '../../../src/core/release.js';
import { canary, release, T0 } from '../../support/releases.js';

let dynamo: LocalDynamo;
let requests: string[] = [];
beforeAll(async () => {
  dynamo = await startLocalDynamo();
  dynamo.client.middlewareStack.add((next, context) => async (args) => (requests.push(String(context.commandName)), next(args)), {
    step: 'initialize',
    name: 'record',
  });
});
afterAll(async () => dynamo.close());

let n = 0;
async function stored(): Promise<{ store: DynamoReleaseStore; other: DynamoReleaseStore; r: Release }> {
  const store = new DynamoReleaseStore(dynamo.client, dynamo.tableName);
  // A second store instance: another Lambda, or the API process, writing the same table.
  const other = new DynamoReleaseStore(dynamo.client, dynamo.tableName);
  const r = release(canary, { id: `r-store-${++n}` });
  await store.create(r);
  return { store, other, r };
}
const bob = { id: 'bob', channel: 'api' } as const;
const touch = (r: Release) => ({ release: { ...r, reason: `touched ${r.timeline.length}` }, result: undefined });

describe('the DynamoDB release store', () => {
  it('a missing release is NotFoundError, never a conflict the workflow would retry', async () => {
    const { store } = await stored();
    const error = await store.update('r-nobody', touch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).not.toBeInstanceOf(ConflictError);
    expect(await store.get('r-nobody')).toBeUndefined();
  });

  it('starting from a release it handed out, a change costs one conditional write and no read', async () => {
    const { store, r } = await stored();
    const current = await store.get(r.id);
    requests = [];
    await store.update(r.id, touch, current);
    expect(requests).toEqual(['PutItemCommand']);
    expect((await store.recent(r.id))?.reason).toBe(`touched ${r.timeline.length}`);
  });

  it('a stale current loses the conditional write, and the change is applied to the fresh release', async () => {
    const { store, other, r } = await stored();
    const stale = await store.get(r.id);
    await other.update(r.id, (x) => ({ release: requestRollback(x, bob, T0), result: undefined }));
    const { release: out } = await store.update(r.id, touch, stale);
    expect(out.requests.rollback?.actor).toEqual(bob);
    expect((await store.get(r.id))?.requests.rollback?.actor).toEqual(bob);
  });

  it('a no-op on a stale current is confirmed by a fresh read, so another writer’s change is never missed', async () => {
    const { store, other, r } = await stored();
    const stale = await store.recent(r.id);
    await other.update(r.id, (x) => ({ release: requestRollback(x, bob, T0), result: undefined }));
    const { result } = await store.update(r.id, (x) => ({ release: x, result: x.requests.rollback?.actor.id }), stale);
    expect(result).toBe('bob');
  });

  it('recent answers without a request, and only for what this store has seen', async () => {
    const { store, other, r } = await stored();
    requests = [];
    expect(await other.recent(r.id)).toBeUndefined();
    expect((await store.recent(r.id))?.id).toBe(r.id);
    expect(requests).toEqual([]);
  });
});
