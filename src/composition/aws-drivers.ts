import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { CloudWatchMetrics } from '../adapters/cloudwatch/cloudwatch-metrics.js';
import type { Lazy } from '../adapters/aws/lazy.js';
import { CodeDeployDriver } from '../adapters/codedeploy/codedeploy-driver.js';
import type { ServiceConfig } from '../config/config.js';
import { ecsHookTimeoutMinutes } from '../config/runtime.js';
import { EcsDriver } from '../adapters/ecs/ecs-driver.js';
import { CLIENT_DEFAULTS, type AdapterRegistry } from './aws.js';
import type { Log } from '../ports/log.js';
import { secretsManagerWebhookSecrets, withWebhookGates } from './webhooks.js';

export interface DriverClients {
  readonly ecs: Lazy<ECSClient>;
  readonly codedeploy: Lazy<CodeDeployClient>;
  readonly cloudwatch: Lazy<CloudWatchClient>;
  readonly ecr: Lazy<ECRClient>;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

/**
 * ECS's SDK as the workflow function bundles it: the commands Switchyard calls, nothing else (the Lambda
 * runtime's copy may predate ECS native deployments, so the stack bundles this one).
 */
export const bundledEcsSdk = () => import('../adapters/aws/ecs-sdk.js');

/** Clients made on first use: their SDKs load only when a release first needs them. */
export function defaultDriverClients(): DriverClients {
  return {
    ecs: once(async () => new (await bundledEcsSdk()).ECSClient(CLIENT_DEFAULTS)),
    codedeploy: once(async () => new (await import('@aws-sdk/client-codedeploy')).CodeDeployClient(CLIENT_DEFAULTS)),
    cloudwatch: once(async () => new (await import('@aws-sdk/client-cloudwatch')).CloudWatchClient(CLIENT_DEFAULTS)),
    ecr: once(async () => new (await import('@aws-sdk/client-ecr')).ECRClient(CLIENT_DEFAULTS)),
  };
}

/** The ecs driver of a service: its PAUSE hooks outlast the plan's longest hold; its alarm gates are ECS's second net. */
export function ecsDriverFor(svc: ServiceConfig, clients: Pick<DriverClients, 'ecs'>, log?: Log): EcsDriver {
  if (svc.target.driver !== 'ecs') throw new Error(`service ${svc.name} is not an ecs service`);
  return new EcsDriver({
    service: svc.name,
    target: svc.target,
    plan: svc.plan,
    hookTimeoutMinutes: ecsHookTimeoutMinutes(svc.plan, svc.settings),
    alarms: svc.settings.gates.flatMap((g) => (g.kind === 'alarm' ? [g.name] : [])),
    ecs: clients.ecs,
    ...(log ? { log } : {}),
  });
}

/** One adapter pair per driver kind, chosen from this map (not an if-chain). Used by the workflow function. */
export function awsAdapters(clients: DriverClients, log: Log, environment = 'production'): AdapterRegistry {
  const byDriver: Record<ServiceConfig['target']['driver'], AdapterRegistry> = {
    codedeploy: (svc) => {
      if (svc.target.driver !== 'codedeploy') throw new Error(`service ${svc.name} is not a codedeploy service`);
      const driver = new CodeDeployDriver({
        service: svc.name,
        target: svc.target,
        plan: svc.plan,
        ecs: clients.ecs,
        codedeploy: clients.codedeploy,
        preflight: { cloudwatch: clients.cloudwatch, ecr: clients.ecr, alarms: svc.settings.gates.flatMap((g) => (g.kind === 'alarm' ? [g.name] : [])) },
        log,
      });
      const metrics = new CloudWatchMetrics({ client: clients.cloudwatch, target: svc.target, greenTargetGroup: (r) => driver.greenTargetGroup(r) });
      return { driver, metrics };
    },
    ecs: (svc) => {
      const driver = ecsDriverFor(svc, clients, log);
      if (svc.target.driver !== 'ecs') throw new Error(`service ${svc.name} is not an ecs service`);
      const metrics = new CloudWatchMetrics({ client: clients.cloudwatch, target: svc.target, greenTargetGroup: async (r) => driver.greenTargetGroup(r) });
      return { driver, metrics };
    },
    local: (svc) => {
      throw new Error(`service ${svc.name} uses the local driver, which runs only in local mode (switchyard local)`);
    },
  };
  // Webhook gates are called from the workflow function (outgoing only), their secrets read from Secrets Manager.
  const secretOf = secretsManagerWebhookSecrets();
  return (svc) => {
    const { driver, metrics } = byDriver[svc.target.driver](svc);
    return { driver, metrics: withWebhookGates(svc, metrics, { secretOf, environment }) };
  };
}
