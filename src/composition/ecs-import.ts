import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { Lazy } from '../adapters/aws/lazy.js';
import { importEcsService, type ImportedService } from '../adapters/ecs/service-import.js';
import { ecsScaffold } from '../config/init-ecs.js';
import type { Scaffold } from '../config/scaffold.js';
import { ValidationError } from '../core/errors.js';
import { CLIENT_DEFAULTS } from './aws.js';
import { bundledEcsSdk } from './aws-drivers.js';

/** The clients init and diff read with: made on first use, in `region` (else the SDK's chain: AWS_REGION, the profile). */
export interface ImportClients {
  readonly ecs: Lazy<ECSClient>;
  readonly cloudwatch: Lazy<CloudWatchClient>;
}

export function importClients(region?: string): ImportClients {
  const options = { ...CLIENT_DEFAULTS, ...(region ? { region } : {}) };
  return {
    ecs: async () => new (await bundledEcsSdk()).ECSClient(options),
    cloudwatch: async () => new (await import('@aws-sdk/client-cloudwatch')).CloudWatchClient(options),
  };
}

/**
 * `<cluster>/<service>`, or a service ARN (`arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`,
 * whose region is used when none is given).
 * @throws {ValidationError} with the forms it takes.
 */
export function parseServiceRef(text: string): { cluster: string; service: string; region?: string } {
  const arn = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):\d{12}:service\/([^/]+)\/([^/]+)$/.exec(text);
  if (arn) return { cluster: arn[2] ?? '', service: arn[3] ?? '', region: arn[1] ?? '' };
  const old = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service\/([^/]+)$/.exec(text);
  if (old)
    throw new ValidationError(
      `--from-ecs "${text}" is a service ARN in ECS's old format, which names no cluster: write <cluster>/<service> (for example prod/${old[1]}; \`aws ecs list-clusters\` lists the clusters) or the new-format ARN (arn:aws:ecs:<region>:<account>:service/<cluster>/<service>)`,
    );
  const [cluster, service, ...rest] = text.split('/');
  if (!cluster || !service || rest.length > 0)
    throw new ValidationError(
      `--from-ecs "${text}": write <cluster>/<service> (for example prod/checkout-api) or the service ARN (arn:aws:ecs:<region>:<account>:service/<cluster>/<service>)`,
    );
  return { cluster, service };
}

/** Reads one ECS service (the same reads as `switchyard diff`), in the region given or the SDK's. */
export async function readEcsService(
  ref: { cluster: string; service: string; region?: string },
  { clients, alarms = true }: { clients?: ImportClients; alarms?: boolean } = {},
): Promise<ImportedService> {
  const used = clients ?? importClients(ref.region);
  return importEcsService({
    ecs: used.ecs,
    ...(alarms ? { cloudwatch: used.cloudwatch } : {}),
    cluster: ref.cluster,
    service: ref.service,
    ...(ref.region ? { region: ref.region } : {}),
  });
}

/**
 * `switchyard init --from-ecs`: the commented config of one ECS service, read (only) from ECS and CloudWatch.
 * @example await initFromEcs({ from: 'prod/checkout-api', region: 'eu-west-1' })
 */
export async function initFromEcs({
  from,
  region,
  name,
  clients,
}: {
  from: string;
  region?: string;
  name?: string;
  clients?: ImportClients;
}): Promise<Scaffold> {
  const parsed = parseServiceRef(from);
  const ref = { ...parsed, ...(region ? { region } : {}) };
  const imported = await readEcsService(ref, clients ? { clients } : {});
  return ecsScaffold(imported.facts, name ? { name } : {});
}
