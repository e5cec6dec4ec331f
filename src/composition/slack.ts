import { SlackNotifier } from '../adapters/slack/slack-notifier.js';
import type { ServiceConfig } from '../config/config.js';
import type { NotificationState, SlackSecrets } from '../ports/notifier.js';

import type { ReleaseChanges, Store } from '../ports/release-store.js';
import { notifyingStore } from '../engine/notifying-store.js';
import type { Log } from '../ports/log.js';

/** True when the secrets are real (the stack creates the secret with a placeholder token). */
export function slackConfigured(secrets: Partial<SlackSecrets> | undefined): secrets is SlackSecrets {
  return Boolean(secrets?.signingSecret && secrets.botToken && !secrets.botToken.includes('replace-me'));
}

/**
 * Wraps the store so every release change is told: to its watchers in this process (the API's event
 * streams subscribe with `watchReleases`), and to its Slack message when Slack is configured and some
 * service names a channel.
 */
export function withSlack(
  store: Store & NotificationState,
  options: { secrets: Partial<SlackSecrets> | undefined; services: readonly ServiceConfig[]; environment: string; apiUrl?: string; log: Log },
): { store: Store & ReleaseChanges; notifier?: SlackNotifier } {
  const channels = new Map(options.services.flatMap((s) => (s.slackChannel ? [[s.name, s.slackChannel] as const] : [])));
  if (!slackConfigured(options.secrets) || channels.size === 0) return { store: notifyingStore(store) };
  const notifier = new SlackNotifier({
    token: options.secrets.botToken,
    ...(options.apiUrl ? { apiUrl: options.apiUrl } : {}),
    environment: options.environment,
    channels,
    state: store,
    log: options.log,
  });
  return { store: notifyingStore(store, notifier), notifier };
}
