import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { TABLE } from '../../resources/table.js';
import { PHASE_INDEX_MIGRATION } from './dynamo-store.js';

type Item = Record<string, AttributeValue>;

export interface EnsureTableOptions {
  /**
   * Where the items of a table made by an older Switchyard are kept while the table is made again
   * with the indexes added since (local mode on disk). Without it such a table is an error.
   */
  readonly backupFile?: string;
}

async function waitFor(client: DynamoDBClient, tableName: string, wanted: 'ACTIVE' | 'GONE'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (wanted === 'ACTIVE' && Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      if (wanted === 'GONE') return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`table ${tableName} did not become ${wanted === 'ACTIVE' ? 'active' : 'deleted'}`);
}

/** Creates the table with every index of TABLE; false when a table of that name exists already. */
async function createTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [TABLE.partitionKey, TABLE.sortKey, ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey])].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: TABLE.indexes.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: 'HASH' },
            { AttributeName: i.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      }),
    );
  } catch (error) {
    if (error instanceof ResourceInUseException) return false;
    throw error;
  }
  await waitFor(client, tableName, 'ACTIVE');
  return true;
}

async function scanAll(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function writeAll(client: DynamoDBClient, tableName: string, items: readonly Item[]): Promise<void> {
  // BatchWriteItem takes at most 25 items; what it leaves unprocessed is written again.
  for (let i = 0; i < items.length; i += 25) {
    let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      requests = (UnprocessedItems?.[tableName] ?? []).flatMap((r) => (r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : []));
    }
  }
}

/** Makes the table again with every index, from the items in `backupFile`, and then removes the file. */
async function rebuildFrom(client: DynamoDBClient, tableName: string, backupFile: string): Promise<void> {
  const items = JSON.parse(readFileSync(backupFile, 'utf8')) as Item[];
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await waitFor(client, tableName, 'GONE');
  await createTable(client, tableName);
  await writeAll(client, tableName, items);
  rmSync(backupFile);
}

/**
 * Creates the table if it does not exist (local mode and tests; AWS creates it through CDK, and
 * CloudFormation adds a new index to an existing table). A new table holds no release written
 * before its indexes, so it is marked as such (the byPhase index needs no migration on read).
 *
 * A table an older Switchyard made on disk lacks the indexes added since, and dynalite cannot add an
 * index to a table: its items are saved to `backupFile` (written whole, then renamed into place), the
 * table is made again with every index and the items written back. A start interrupted midway finds
 * the backup and finishes from it, so no item is lost.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, { backupFile }: EnsureTableOptions = {}): Promise<void> {
  if (backupFile && existsSync(backupFile)) return rebuildFrom(client, tableName, backupFile);
  if (await createTable(client, tableName)) {
    await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: PHASE_INDEX_MIGRATION.pk }, sk: { S: PHASE_INDEX_MIGRATION.sk } } }));
    return;
  }
  await waitFor(client, tableName, 'ACTIVE');
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  const missing = TABLE.indexes.filter((i) => !present.has(i.name)).map((i) => i.name);
  if (missing.length === 0) return;
  if (!backupFile) throw new Error(`table ${tableName} lacks the index(es) ${missing.join(', ')}; create it again, or pass a backup file to rebuild it`);
  // On disk before the table is deleted: a crash at any point after leaves the backup to finish from.
  const partial = `${backupFile}.partial`;
  const fd = openSync(partial, 'w');
  try {
    writeSync(fd, JSON.stringify(await scanAll(client, tableName)));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, backupFile);
  await rebuildFrom(client, tableName, backupFile);
}
