import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CloudWatchMetrics } from '../adapters/cloudwatch/cloudwatch-metrics.js';
import { CodeDeployDriver } from '../adapters/codedeploy/codedeploy-driver.js';
import { DynamoReleaseStore } from '../adapters/dynamodb/dynamo-store.js';
import { StepFunctionsWorkflow } from '../adapters/stepfunctions/sfn-workflow.js';
import { resolveConfig, type ServiceConfig, type SwitchyardConfig } from '../config/config.js';
import type { EngineDeps, Log } from '../engine/deps.js';
import { createWorkflowHandlers } from '../engine/handlers.js';
import { createReleaseService } from '../engine/releases.js';
import type { MetricsSource } from '../ports/metrics-source.js';
import type { TrafficDriver } from '../ports/traffic-driver.js';
import { systemClock, type Clock } from '../ports/workflow.js';

/** Set at bundle time by the CDK stack (esbuild `define`): the config the stack was deployed with. */
declare const __SWITCHYARD_CONFIG__: string | undefined;

/** The config compiled into the bundle, or SWITCHYARD_CONFIG_JSON when run unbundled (tests). */
export function bundledConfig(): SwitchyardConfig {
  const raw = typeof __SWITCHYARD_CONFIG__ !== 'undefined' ? __SWITCHYARD_CONFIG__ : process.env['SWITCHYARD_CONFIG_JSON'];
  if (!raw) throw new Error('no Switchyard config in this bundle: deploy with `cdk deploy`, or set SWITCHYARD_CONFIG_JSON');
  return resolveConfig(JSON.parse(raw), 'bundled config');
}

export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly sfn: SFNClient;
  readonly ecs: ECSClient;
  readonly codedeploy: CodeDeployClient;
  readonly cloudwatch: CloudWatchClient;
}

export function defaultClients(): AwsClients {
  // The SDK's adaptive retry mode backs off on throttling before our own retries take over.
  const common = { retryMode: 'adaptive', maxAttempts: 5 } as const;
  return {
    dynamodb: new DynamoDBClient(common),
    sfn: new SFNClient(common),
    ecs: new ECSClient(common),
    codedeploy: new CodeDeployClient(common),
    cloudwatch: new CloudWatchClient(common),
  };
}

export interface AwsRuntimeOptions {
  readonly config: SwitchyardConfig;
  readonly tableName: string;
  readonly stateMachineArn: string;
  readonly clients: AwsClients;
  readonly log: Log;
  readonly clock?: Clock;
  /** CodeDeploy poll interval (tests use 0). */
  readonly pollMs?: number;
}

type Adapters = { driver: TrafficDriver; metrics: MetricsSource };

/** The wiring on AWS: DynamoDB store, Step Functions workflow, CodeDeploy driver, CloudWatch gates. */
export function createAwsRuntime(options: AwsRuntimeOptions) {
  const { config, clients, log } = options;
  const store = new DynamoReleaseStore(clients.dynamodb, options.tableName);
  const workflow = new StepFunctionsWorkflow(clients.sfn, options.stateMachineArn, log);
  const cache = new Map<string, Adapters>();
  // One adapter per driver kind, chosen from this map (not an if-chain).
  const registry: Record<ServiceConfig['target']['driver'], (svc: ServiceConfig) => Adapters> = {
    codedeploy: (svc) => {
      if (svc.target.driver !== 'codedeploy') throw new Error('unreachable');
      const driver = new CodeDeployDriver({ service: svc.name, target: svc.target, plan: svc.plan, ecs: clients.ecs, codedeploy: clients.codedeploy, log, ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}) });
      const metrics = new CloudWatchMetrics({ client: clients.cloudwatch, target: svc.target, greenTargetGroup: (r) => driver.greenTargetGroup(r) });
      return { driver, metrics };
    },
    local: (svc) => {
      throw new Error(`service ${svc.name} uses the local driver, which runs only in local mode (switchyard local)`);
    },
  };
  const adapters = (svc: ServiceConfig): Adapters => {
    let a = cache.get(svc.name);
    if (!a) {
      a = registry[svc.target.driver](svc);
      cache.set(svc.name, a);
    }
    return a;
  };
  const deps: EngineDeps = {
    services: config.services,
    store,
    workflow,
    clock: options.clock ?? systemClock,
    driverFor: (svc) => adapters(svc).driver,
    metricsFor: (svc) => adapters(svc).metrics,
    log,
  };
  const releases = createReleaseService(deps);
  const handlers = createWorkflowHandlers(deps, releases);
  return { deps, store, releases, handlers, services: config.services };
}

/** Reads a required environment variable, saying which and why when it is missing. */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the CDK stack sets it on every Switchyard function`);
  return value;
}
