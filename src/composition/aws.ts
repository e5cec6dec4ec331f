import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoReleaseStore } from '../adapters/dynamodb/dynamo-store.js';
import { StepFunctionsWorkflow } from '../adapters/stepfunctions/sfn-workflow.js';
import type { ServiceConfig, SwitchyardConfig } from '../config/config.js';
import type { EngineDeps } from '../engine/deps.js';
import { createWorkflowHandlers } from '../engine/handlers.js';
import { createReleaseService } from '../engine/releases.js';
import type { MetricsSource } from '../ports/metrics-source.js';
import type { TrafficDriver } from '../ports/traffic-driver.js';
import type { SlackSecrets } from '../ports/notifier.js';
import { withSlack } from './slack.js';
import type { LogQuery, VersionLogs } from '../ports/logs.js';
import { cloudWatchVersionLogs } from '../adapters/cloudwatch/version-logs.js';
import type { Log } from '../ports/log.js';
import { systemClock, type Clock } from '../ports/clock.js';

import { loadSlackSecrets } from '../adapters/secrets-manager/slack-secrets.js';
import type { EcsTaskReads } from '../adapters/aws/ecs-sdk.js';

/** Entry points read the Slack secret through composition, like every other adapter. */
export { loadSlackSecrets };

/** Set at bundle time by the CDK stack (esbuild `define`): the config the stack was deployed with, resolved at synth. */
declare const __SWITCHYARD_CONFIG__: string | undefined;

/**
 * The config compiled into the bundle, or SWITCHYARD_CONFIG_JSON when run unbundled (tests): in both,
 * a config already validated and resolved (what `resolveConfig` returns), read as it is. Validating it
 * again here would load the config's schema (zod) into every cold start.
 */
export function bundledConfig(): SwitchyardConfig {
  const resolved = typeof __SWITCHYARD_CONFIG__ !== 'undefined' ? __SWITCHYARD_CONFIG__ : process.env['SWITCHYARD_CONFIG_JSON'];
  if (!resolved) throw new Error('no Switchyard config in this bundle: deploy with `cdk deploy`, or set SWITCHYARD_CONFIG_JSON to a resolved config');
  return JSON.parse(resolved) as SwitchyardConfig;
}

/** The clients every function needs. The workflow function adds the drivers' (see ./drivers.ts). */
export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly sfn: SFNClient;
}

/** The SDK's adaptive retry mode backs off on throttling before the workflow's own retries take over. */
export const CLIENT_DEFAULTS = { retryMode: 'adaptive', maxAttempts: 5 } as const;

export function defaultClients(): AwsClients {
  return { dynamodb: new DynamoDBClient(CLIENT_DEFAULTS), sfn: new SFNClient(CLIENT_DEFAULTS) };
}

/** Chooses the traffic driver and metrics source of a service (only the workflow function moves traffic). */
export type AdapterRegistry = (svc: ServiceConfig) => { driver: TrafficDriver; metrics: MetricsSource };

/** For functions that never move traffic (API, ECR trigger): asking for a driver is a wiring bug. */
export const noDrivers: AdapterRegistry = (svc) => {
  throw new Error(`service ${svc.name}: traffic drivers run only in the workflow function`);
};

export interface AwsRuntimeOptions {
  readonly config: SwitchyardConfig;
  readonly tableName: string;
  readonly stateMachineArn: string;
  readonly clients: AwsClients;
  readonly log: Log;
  readonly clock?: Clock;
  /** @default noDrivers */
  readonly adapters?: AdapterRegistry;
  /** The versions' logs (CloudWatch Logs), for the logs API and the error lines that go with approvals. */
  readonly logs?: VersionLogs;
  /** A link to the full view of a version's logs (a Logs Insights query). */
  readonly logsLink?: (query: LogQuery) => Promise<string | undefined>;
  /** Slack secrets; with them (and channels in the config) every release change updates its message. */
  readonly slack?: Partial<SlackSecrets>;
}

/** The wiring on AWS: DynamoDB store and Step Functions workflow; drivers from the given registry. */
export function createAwsRuntime(options: AwsRuntimeOptions) {
  const { config, clients, log } = options;
  const { store } = withSlack(new DynamoReleaseStore(clients.dynamodb, options.tableName), {
    secrets: options.slack,
    services: config.services,
    environment: config.environment,
    log,
    ...(config.slack?.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
  });
  const workflow = new StepFunctionsWorkflow(clients.sfn, options.stateMachineArn, log);
  const registry = options.adapters ?? noDrivers;
  const cache = new Map<string, ReturnType<AdapterRegistry>>();
  const adapters = (svc: ServiceConfig) => {
    let a = cache.get(svc.name);
    if (!a) {
      a = registry(svc);
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
    ...(options.logs ? { logs: options.logs } : {}),
    ...(options.logsLink ? { logsLink: options.logsLink } : {}),
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

/** ECS's SDK as the Lambda runtime has it: enough for reading versions' tasks (functions that do not bundle ECS's). */
export const runtimeEcsSdk = (): Promise<EcsTaskReads> => import('@aws-sdk/client-ecs');

/**
 * CloudWatch Logs for the logs API and approvals' error lines (clients made on first use), with ECS's
 * commands from `ecsSdk`: the runtime's ({@link runtimeEcsSdk}) or a bundled copy.
 */
export function awsVersionLogs(config: SwitchyardConfig, ecsSdk: () => Promise<EcsTaskReads>) {
  const region = process.env['AWS_REGION'] ?? 'us-east-1';
  const group = process.env['SWITCHYARD_LOG_GROUP'];
  return cloudWatchVersionLogs({
    services: config.services,
    region,
    ...(group ? { switchyardLogGroup: group } : {}),
    logs: async () => new (await import('@aws-sdk/client-cloudwatch-logs')).CloudWatchLogsClient(CLIENT_DEFAULTS),
    ecs: async () => new (await ecsSdk()).ECSClient(CLIENT_DEFAULTS),
    ecsSdk,
  });
}

/** What a Lambda entry point chooses; everything else every Switchyard function shares. */
export interface LambdaRuntimeOptions {
  readonly log: Log;
  /** The drivers (the workflow function's), made from the bundled config. @default noDrivers */
  readonly adapters?: (config: SwitchyardConfig) => AdapterRegistry;
  /**
   * ECS's SDK for reading versions' logs (the logs API, approvals' error lines): the runtime's
   * ({@link runtimeEcsSdk}) or the bundled subset. @default no version logs
   */
  readonly versionLogs?: () => Promise<EcsTaskReads>;
}

/**
 * The runtime of every Switchyard Lambda: the config compiled into the bundle, the store and the
 * workflow named by the stack's environment, the SDK clients every function needs, Slack when its
 * secret is configured. Entry points add only what is theirs (drivers, version logs) and their handler.
 */
export async function createLambdaRuntime({ log, adapters, versionLogs }: LambdaRuntimeOptions) {
  const config = bundledConfig();
  const slack = await loadSlackSecrets(process.env['SLACK_SECRET_ARN']);
  const logs = versionLogs ? awsVersionLogs(config, versionLogs) : undefined;
  const runtime = createAwsRuntime({
    config,
    tableName: env('TABLE_NAME'),
    stateMachineArn: env('STATE_MACHINE_ARN'),
    clients: defaultClients(),
    log,
    slack,
    ...(adapters ? { adapters: adapters(config) } : {}),
    ...(logs ? { logs, logsLink: (query: LogQuery) => logs.insights(query) } : {}),
  });
  return { ...runtime, config, slack, logs };
}
