import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE } from '../../src/resources/table.js';

export interface ReleaseTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The single DynamoDB table of releases, locks, queues, approvals and idempotency keys: on
 * demand, point-in-time recovery, TTL, and the indexes the store queries (src/resources/table.ts). CloudFormation
 * adds at most one index to an existing table per update, so a new index comes in a release of its own.
 */
export class ReleaseTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, { removalPolicy = RemovalPolicy.RETAIN }: ReleaseTableProps = {}) {
    super(scope, id);
    // `Default`: the table keeps the logical id it had as a direct child of the stack.
    this.table = new Table(this, 'Default', {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      });
    }
  }
}
