import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { dryRunClient, type RecordedCall } from '../adapters/aws/dry-run.js';

export type { RecordedCall } from '../adapters/aws/dry-run.js';
import { resolveLazy } from '../adapters/aws/lazy.js';
import { serviceGrantChecks } from '../adapters/aws/service-grants.js';
import { CodeDeployDriver } from '../adapters/codedeploy/codedeploy-driver.js';
import type { ServiceConfig, SwitchyardConfig } from '../config/config.js';
import type { PreflightCheck } from '../core/preflight.js';
import { createRelease } from '../core/transitions.js';
import { parseArtifact } from '../core/artifact.js';
import { executionName } from '../engine/releases.js';
import { defaultDriverClients, ecsDriverFor, type DriverClients } from './aws-drivers.js';

export interface VerifyResult {
  readonly service: string;
  readonly driver: string;
  readonly checks: readonly PreflightCheck[];
}

const alarmsOf = (svc: ServiceConfig) => svc.settings.gates.flatMap((g) => (g.kind === 'alarm' ? [g.name] : []));

function codedeployDriver(svc: ServiceConfig, clients: DriverClients): CodeDeployDriver {
  if (svc.target.driver !== 'codedeploy') throw new Error(`service ${svc.name} is not a codedeploy service`);
  return new CodeDeployDriver({
    service: svc.name,
    target: svc.target,
    plan: svc.plan,
    ecs: clients.ecs,
    codedeploy: clients.codedeploy,
    preflight: { cloudwatch: clients.cloudwatch, ecr: clients.ecr, alarms: alarmsOf(svc) },
  });
}

/** Only the named service, or every service; a name no service has is an error that lists them. */
function selected(config: SwitchyardConfig, name: string | undefined): readonly ServiceConfig[] {
  if (name === undefined) return config.services;
  const found = config.services.filter((s) => s.name === name);
  if (found.length === 0) throw new Error(`unknown service "${name}"; configured services: ${config.services.map((s) => s.name).join(', ')}`);
  return found;
}

/**
 * `switchyard verify`: the pre-flight checks of every AWS service against live AWS, read-only.
 * With `dryRun`, nothing is sent: every call is recorded in `calls` with its exact input (calls
 * that need an earlier answer are not reached).
 */
export async function verifyTargets(
  config: SwitchyardConfig,
  {
    service,
    dryRun = false,
    clients = defaultDriverClients(),
    calls = [],
  }: { service?: string; dryRun?: boolean; clients?: DriverClients; calls?: RecordedCall[] } = {},
): Promise<VerifyResult[]> {
  const used: DriverClients = dryRun
    ? {
        ecs: dryRunClient('ecs', calls),
        codedeploy: dryRunClient('codedeploy', calls),
        cloudwatch: dryRunClient('cloudwatch', calls),
        ecr: dryRunClient('ecr', calls),
      }
    : clients;
  const results: VerifyResult[] = [];
  for (const svc of selected(config, service)) {
    const checks =
      svc.target.driver === 'codedeploy'
        ? await codedeployDriver(svc, used).preflight()
        : svc.target.driver === 'ecs'
          ? await ecsDriverFor(svc, used).preflight()
          : [];
    // What the stack's grants assume about the live service (hook roles passable, the family registered).
    const grants = await serviceGrantChecks(svc, config, used.ecs);
    results.push({ service: svc.name, driver: svc.target.driver, checks: [...checks, ...grants] });
  }
  return results;
}

/** Placeholders for what AWS would answer a mutating call with, so a dry run can go on. */
const WOULD_REGISTER = '<the task definition RegisterTaskDefinition would register>';
const WOULD_CREATE = '<the deployment CreateDeployment would create>';
const WOULD_START = '<the service deployment UpdateService would start>';

/**
 * `switchyard release --dry-run`: what starting a release of `image` would call on AWS, with each
 * call's exact input, sending none that changes anything. Reads are sent (they change nothing and
 * make the inputs exact, for example the task definition copied with the new image).
 */
export async function dryRunRelease(
  config: SwitchyardConfig,
  serviceName: string,
  image: string,
  { clients = defaultDriverClients(), stateMachineArn = '<the stack’s StateMachineArn output>' }: { clients?: DriverClients; stateMachineArn?: string } = {},
): Promise<RecordedCall[]> {
  const [svc] = selected(config, serviceName);
  if (!svc) throw new Error(`unknown service "${serviceName}"`);
  if (svc.target.driver === 'local') throw new Error(`service ${svc.name} uses the local driver; a dry run shows AWS calls, for ecs and codedeploy services`);
  const releaseId = '<release id>';
  const calls: RecordedCall[] = [
    {
      service: 'states',
      command: 'StartExecution',
      input: { stateMachineArn, name: executionName(svc.name, releaseId), input: JSON.stringify({ releaseId }) },
      sent: false,
    },
  ];
  const ecs = dryRunClient<ECSClient>('ecs', calls, await resolveLazy(clients.ecs), {
    RegisterTaskDefinition: { taskDefinition: { taskDefinitionArn: WOULD_REGISTER } },
    UpdateService: { service: { currentServiceDeployment: WOULD_START } },
  });
  const release = createRelease(
    { id: releaseId, service: svc.name, artifact: parseArtifact(image), plan: svc.plan, settings: svc.settings, actor: { id: 'dry-run', channel: 'api' } },
    0,
  );
  if (svc.target.driver === 'ecs') {
    await ecsDriverFor(svc, { ecs }).startDeployment(release);
    return calls;
  }
  const driver = codedeployDriver(svc, {
    ecs,
    codedeploy: dryRunClient<CodeDeployClient>('codedeploy', calls, await resolveLazy(clients.codedeploy), {
      CreateDeployment: { deploymentId: WOULD_CREATE },
    }),
    cloudwatch: clients.cloudwatch,
    ecr: clients.ecr,
  });
  await driver.createDeployment(release);
  return calls;
}
