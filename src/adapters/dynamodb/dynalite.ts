import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ensureTable } from './table.js';

export interface LocalDynamo {
  readonly client: DynamoDBClient;
  readonly endpoint: string;
  readonly tableName: string;
  close(): Promise<void>;
}

/**
 * Runs dynalite (a DynamoDB-compatible server) in this process, in memory or on disk under
 * `path`, and creates the table. The same store adapter talks to it as to DynamoDB.
 */
export async function startLocalDynamo({ path, tableName = 'switchyard' }: { path?: string; tableName?: string } = {}): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
    // A request dynalite never answers (its disk failed mid-write) must fail, not hang the caller.
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 2_000, throwOnRequestTimeout: true },
  });
  // A table an older Switchyard wrote on disk is rebuilt with the indexes added since (see ensureTable).
  await ensureTable(client, tableName, path ? { backupFile: `${path}.rebuild.json` } : {});
  return {
    client,
    endpoint,
    tableName,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
