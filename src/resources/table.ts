/**
 * The single table's key schema, shared by the store, the local setup and the CDK stack.
 * pk/sk for every item; `byService` lists a service's releases newest first; `byTime` all releases;
 * `byPhase` the releases in one phase, newest first (so `?phase=` reads the page it returns, not every
 * release). CloudFormation adds at most one index to an existing table per update: add one at a time.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [
    { name: 'byService', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'byTime', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { name: 'byPhase', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
} as const;
