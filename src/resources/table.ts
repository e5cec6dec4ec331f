/**
 * The single table's key schema, shared by the store, the local setup and the CDK stack.
 * pk/sk for every item; `byService` lists a service's releases newest first; `byTime` all releases.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [
    { name: 'byService', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'byTime', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ],
} as const;
