import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../../src/adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore, PHASE_INDEX_MIGRATION } from '../../../src/adapters/dynamodb/dynamo-store.js';
import { ensureTable } from '../../../src/adapters/dynamodb/table.js';
import type { Phase } from '../../../src/core/phases.js';
import { eventually } from '../../support/poll.js';
import { ConflictError, NotFoundError } from '../../../src/core/errors.js';
import type { Release } from '../../../src/core/release.js';
import { requestRollback } from '../../../src/core/transitions.js';
import { canary, release, T0 } from '../../support/releases.js';

let dynamo: LocalDynamo;
let requests: string[] = [];
/** Every command with its input, as the SDK sends it (the document client's, before marshalling). */
let sent: { command: string; input: Record<string, unknown> }[] = [];
beforeAll(async () => {
  dynamo = await startLocalDynamo();
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push(String(context.commandName));
      sent.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'record' },
  );
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

describe('lists by phase', () => {
  /** A table of its own, with releases of two services in the given phases, oldest first. */
  async function table(phases: readonly (readonly [service: string, phase: Phase])[], name = `lists-${++n}`) {
    await ensureTable(dynamo.client, name);
    const store = new DynamoReleaseStore(dynamo.client, name);
    const releases = phases.map(([service, phase], i) => ({
      ...release(canary, { id: `r-${name}-${i}` }),
      service,
      phase,
      createdAt: new Date(T0 + i * 1000).toISOString(),
    }));
    for (const r of releases) await store.create(r);
    return { store, releases, name };
  }
  const ids = (page: { releases: readonly Release[] }) => page.releases.map((r) => r.id);

  it('one phase is one Query on the byPhase index, newest first, reading no release of another phase', async () => {
    const { store, releases, name } = await table([
      ['a', 'succeeded'],
      ['a', 'awaiting_approval'],
      ['b', 'succeeded'],
      ['b', 'awaiting_approval'],
      ['a', 'rolled_back'],
    ]);
    const query = {
      command: 'QueryCommand',
      input: {
        TableName: name,
        IndexName: 'byPhase',
        KeyConditionExpression: 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': 'PHASE#awaiting_approval' },
        ScanIndexForward: false,
        Limit: 20,
      },
    };
    sent = [];
    const page = await store.list({ phase: 'awaiting_approval', limit: 20 });
    expect(ids(page)).toEqual([releases[3]?.id, releases[1]?.id]);
    // The store's first list by phase reads the marker that says the index is complete (see the next tests).
    expect(sent).toEqual([{ command: 'GetItemCommand', input: { TableName: name, Key: PHASE_INDEX_MIGRATION, ConsistentRead: true } }, query]);
    sent = [];
    await store.list({ phase: 'awaiting_approval', limit: 20 });
    expect(sent).toEqual([query]);
  });

  it('pages through one phase with the cursor it hands out, and refuses a cursor of another phase', async () => {
    const { store, releases } = await table([
      ['a', 'failed'],
      ['b', 'failed'],
      ['a', 'succeeded'],
      ['a', 'failed'],
    ]);
    const first = await store.list({ phase: 'failed', limit: 2 });
    expect(ids(first)).toEqual([releases[3]?.id, releases[1]?.id]);
    const second = await store.list({ phase: 'failed', limit: 2, ...(first.cursor ? { cursor: first.cursor } : {}) });
    expect(ids(second)).toEqual([releases[0]?.id]);
    expect(second.cursor).toBeUndefined();
    await expect(store.list({ phase: 'succeeded', limit: 2, ...(first.cursor ? { cursor: first.cursor } : {}) })).rejects.toThrow(/cursor is not one/);
  });

  it.each([
    ['an active phase: the byPhase partition (a few releases per service at most), filtered by service', 'baking', 'byPhase', 'gsi1pk = :filter', 'SERVICE#a'],
    ['a finished phase: the service’s own releases, filtered by phase', 'rolled_back', 'byService', 'phase = :filter', 'rolled_back'],
  ] as const)('service and phase together, %s', async (_, phase, index, filter, value) => {
    const { store, releases } = await table([
      ['a', phase],
      ['b', phase],
      ['a', 'succeeded'],
      ['a', phase],
      ['b', phase],
    ]);
    sent = [];
    expect(ids(await store.list({ service: 'a', phase, limit: 20 }))).toEqual([releases[3]?.id, releases[0]?.id]);
    expect(
      sent
        .filter((c) => c.command === 'QueryCommand')
        .map((c) => [
          c.command,
          c.input['IndexName'],
          c.input['FilterExpression'],
          (c.input['ExpressionAttributeValues'] as Record<string, string>)[':filter'],
        ]),
    ).toEqual([['QueryCommand', index, filter, value]]);
  });

  it('releases written before the index existed are listed: the first list by phase gives them its keys, once per table', async () => {
    const name = `old-${++n}`;
    await ensureTable(dynamo.client, name);
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    // As an older Switchyard wrote them: no byPhase keys, and no marker saying they were added.
    await doc.send(new DeleteCommand({ TableName: name, Key: PHASE_INDEX_MIGRATION }));
    const old = ['succeeded', 'rolled_back', 'succeeded'].map((phase, i) => ({
      ...release(canary, { id: `r-old-${n}-${i}` }),
      phase: phase as Phase,
      createdAt: new Date(T0 + i).toISOString(),
    }));
    for (const r of old) {
      await doc.send(
        new PutCommand({
          TableName: name,
          Item: {
            pk: `RELEASE#${r.id}`,
            sk: 'RELEASE',
            gsi1pk: `SERVICE#${r.service}`,
            gsi1sk: `${r.createdAt}#${r.id}`,
            gsi2pk: 'RELEASES',
            gsi2sk: `${r.createdAt}#${r.id}`,
            phase: r.phase,
            version: 1,
            release: r,
          },
        }),
      );
    }
    const store = new DynamoReleaseStore(dynamo.client, name);
    const fresh = { ...release(canary, { id: `r-new-${n}` }), phase: 'succeeded' as Phase, createdAt: new Date(T0 + 10).toISOString() };
    await store.create(fresh);
    expect(ids(await store.list({ phase: 'succeeded', limit: 10 }))).toEqual([fresh.id, old[2]?.id, old[0]?.id]);
    expect(ids(await store.list({ phase: 'rolled_back', limit: 10 }))).toEqual([old[1]?.id]);
    // Another store (another Lambda) finds the marker and migrates nothing; this one asks nothing more.
    const other = new DynamoReleaseStore(dynamo.client, name);
    sent = [];
    await store.list({ phase: 'succeeded', limit: 10 });
    await other.list({ phase: 'succeeded', limit: 10 });
    expect(sent.map((c) => `${c.command} ${String(c.input['IndexName'] ?? '')}`.trim())).toEqual([
      'QueryCommand byPhase',
      'GetItemCommand',
      'QueryCommand byPhase',
    ]);
    // The migrated release still updates as any other (its version was kept).
    await store.update(old[0]?.id ?? '', (r) => ({ release: { ...r, phase: 'failed' as Phase }, result: undefined }));
    expect(ids(await store.list({ phase: 'failed', limit: 10 }))).toEqual([old[0]?.id]);
  });
});

describe('a table an older Switchyard wrote on disk', () => {
  it('is made again with the new index, every item kept, and a rebuild cut short is finished at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-table-'));
    const path = join(dir, 'db');
    try {
      // The older table: only byService and byTime (made beside the table start creates, not in its place).
      let local = await startLocalDynamo({ path, tableName: 'bootstrap' });
      await local.client.send(
        new CreateTableCommand({
          TableName: 'legacy',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: [
            ['byService', 'gsi1pk', 'gsi1sk'],
            ['byTime', 'gsi2pk', 'gsi2sk'],
          ].map(([IndexName, h, r]) => ({
            IndexName,
            KeySchema: [
              { AttributeName: h, KeyType: 'HASH' as const },
              { AttributeName: r, KeyType: 'RANGE' as const },
            ],
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }),
      );
      // dynalite makes a table active after its own timer: wait for it, as a caller of CreateTable must.
      await eventually(
        () => local.client.send(new DescribeTableCommand({ TableName: 'legacy' })),
        (d) => d.Table?.TableStatus === 'ACTIVE',
      );
      const old = { ...release(canary, { id: 'r-on-disk' }), phase: 'rolled_back' as Phase };
      await DynamoDBDocumentClient.from(local.client).send(
        new PutCommand({
          TableName: 'legacy',
          Item: {
            pk: `RELEASE#${old.id}`,
            sk: 'RELEASE',
            gsi1pk: `SERVICE#${old.service}`,
            gsi1sk: `${old.createdAt}#${old.id}`,
            gsi2pk: 'RELEASES',
            gsi2sk: `${old.createdAt}#${old.id}`,
            phase: old.phase,
            version: 3,
            release: old,
          },
        }),
      );
      await local.close();

      local = await startLocalDynamo({ path, tableName: 'legacy' });
      const { Table } = await local.client.send(new DescribeTableCommand({ TableName: 'legacy' }));
      expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['byPhase', 'byService', 'byTime']);
      const store = new DynamoReleaseStore(local.client, 'legacy');
      expect((await store.list({ phase: 'rolled_back', limit: 5 })).releases.map((r) => r.id)).toEqual([old.id]);
      expect(existsSync(`${path}.rebuild.json`)).toBe(false);
      await local.close();

      // A rebuild stopped after the table was deleted: the backup is all there is, and it is used.
      writeFileSync(`${path}.rebuild.json`, JSON.stringify([{ pk: { S: 'SERVICE#kept' }, sk: { S: 'SERVICE' }, stableImage: { S: 'kept:1' } }]));
      local = await startLocalDynamo({ path, tableName: 'legacy' });
      expect(await new DynamoReleaseStore(local.client, 'legacy').getStable('kept')).toBe('kept:1');
      expect(existsSync(`${path}.rebuild.json`)).toBe(false);
      await local.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
