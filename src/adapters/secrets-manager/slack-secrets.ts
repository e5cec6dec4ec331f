import type { SlackSecrets } from '../../ports/notifier.js';

/**
 * Reads the Slack secret (`{"signingSecret", "botToken"}`) from Secrets Manager once per container.
 * The client is imported on demand so functions without Slack never load it.
 */
export async function loadSlackSecrets(secretArn: string | undefined): Promise<Partial<SlackSecrets> | undefined> {
  if (!secretArn) return undefined;
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!SecretString) return undefined;
  const parsed = JSON.parse(SecretString) as Partial<SlackSecrets>;
  return { ...(parsed.signingSecret ? { signingSecret: parsed.signingSecret } : {}), ...(parsed.botToken ? { botToken: parsed.botToken } : {}) };
}
