import type { WebhookGate } from '../core/gates.js';
import type { Release } from '../core/release.js';
import type { ServiceConfig } from '../config/config.js';
import type { MetricsSource } from '../ports/metrics-source.js';
import { WebhookGates } from '../adapters/webhook/webhook-gates.js';

export { secretsManagerWebhookSecrets } from '../adapters/secrets-manager/webhook-secrets.js';

/** Where a webhook's shared secret is read in local mode: the environment variable its config names. */
export function envWebhookSecrets(env: Readonly<Record<string, string | undefined>> = process.env): (gate: WebhookGate) => Promise<string> {
  return async (gate) => {
    if (!('env' in gate.secret)) throw new Error(`gate ${gate.name} names no secretEnv, which local mode reads its secret from`);
    const value = env[gate.secret.env];
    if (!value) throw new Error(`environment variable ${gate.secret.env} is not set (gates.webhooks "${gate.name}" secretEnv)`);
    return value;
  };
}

/** The webhook gates of a service whose secret local mode cannot read: said at start, not at the first release. */
export function missingWebhookSecrets(services: readonly ServiceConfig[], env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return services.flatMap((svc) =>
    svc.settings.gates.flatMap((g) =>
      g.kind === 'webhook' && 'env' in g.secret && !env[g.secret.env]
        ? [`service ${svc.name}: webhook gate "${g.name}" reads its secret from ${g.secret.env}, which is not set: the gate will count as an error until it is`]
        : [],
    ),
  );
}

export interface WebhookWiring {
  readonly secretOf: (gate: WebhookGate) => Promise<string>;
  readonly environment: string;
  readonly testUrl?: (release: Release) => string | undefined;
  readonly fetch?: typeof fetch;
}

/** The service's metrics source, with its webhook gates called beside it; unchanged when it has none. */
export function withWebhookGates(svc: ServiceConfig, inner: MetricsSource, wiring: WebhookWiring): MetricsSource {
  if (!svc.settings.gates.some((g) => g.kind === 'webhook')) return inner;
  return new WebhookGates({ inner, ...wiring });
}
