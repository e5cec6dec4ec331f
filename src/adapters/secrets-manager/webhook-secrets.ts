import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { WebhookGate } from '../../core/gates.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';

/** How long a secret read from Secrets Manager is reused: a rotated secret is picked up within this. */
export const WEBHOOK_SECRET_TTL_MS = 5 * 60_000;

/**
 * Webhook gates' shared secrets from Secrets Manager (the secret's whole SecretString), read on first
 * use and kept for WEBHOOK_SECRET_TTL_MS, so a check every few seconds is not a read every few seconds.
 * The client's SDK is imported on demand: services without webhooks never load it.
 */
export function secretsManagerWebhookSecrets(
  client: Lazy<SecretsManagerClient> = async () => new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({}),
  now: () => number = Date.now,
): (gate: WebhookGate) => Promise<string> {
  const cache = new Map<string, { value: string; at: number }>();
  return async (gate) => {
    if (!('secretArn' in gate.secret)) throw new Error(`gate ${gate.name} names no secretArn, which the workflow on AWS reads its secret from`);
    const arn = gate.secret.secretArn;
    const kept = cache.get(arn);
    if (kept && now() - kept.at < WEBHOOK_SECRET_TTL_MS) return kept.value;
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const { SecretString } = await (await resolveLazy(client)).send(new GetSecretValueCommand({ SecretId: arn }));
    if (!SecretString) throw new Error(`secret ${arn} holds no text (SecretString)`);
    cache.set(arn, { value: SecretString, at: now() });
    return SecretString;
  };
}
