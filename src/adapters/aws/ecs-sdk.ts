import type * as EcsSdk from '@aws-sdk/client-ecs';

/**
 * The ECS API calls Switchyard makes, and nothing else. Every adapter loads ECS's SDK through this
 * module (imported dynamically, on first use), so a bundle that carries
 * `@aws-sdk/client-ecs` (the workflow function: the Lambda runtime's copy may predate ECS native
 * deployments) keeps these commands and leaves the rest of the client out. A dynamic import of the
 * package itself would keep all of it.
 */
export {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';

/** What a caller that only reads versions' tasks needs of ECS's SDK (the runtime's copy has it). */
export type EcsTaskReads = Pick<typeof EcsSdk, 'ECSClient' | 'ListTasksCommand' | 'DescribeTasksCommand' | 'DescribeTaskDefinitionCommand'>;
