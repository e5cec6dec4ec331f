import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Keeps the CloudFormation logical id a resource had before the stack was split into constructs,
 * so upgrading an installed Switchyard replaces nothing that holds state or a name (logs, the
 * dead-letter queue). Resources that are a construct's `Default` child keep their id without this.
 */
export function keepLogicalId(construct: IConstruct, logicalId: string): void {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) throw new Error(`${construct.node.path} has no CloudFormation resource to keep the id of`);
  resource.overrideLogicalId(logicalId);
}
