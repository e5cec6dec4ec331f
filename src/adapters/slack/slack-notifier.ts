import { messageOf } from '../../core/errors.js';
import type { Release } from '../../core/release.js';
import type { NotificationState, Notifier } from '../../ports/notifier.js';
import { releaseMessage, threadReply } from './message.js';
import type { Log } from '../../ports/log.js';
import { SlackWebApi, type CallBudget } from './slack-web-api.js';

/**
 * Slack's automatic parsing stays off for every message (its documented default, said explicitly so a
 * later default cannot change it): a plain "@channel" or "#channel" in text Switchyard did not write
 * is not turned into a ping or a link. The text itself is escaped where it is built (message.ts).
 */
const NO_AUTOMATIC_PARSING = { parse: 'none', link_names: false } as const;

export interface SlackNotifierOptions {
  readonly token: string;
  /** Web API base URL (tests and teams behind a proxy point it elsewhere). @default https://slack.com/api/ */
  readonly apiUrl?: string;
  readonly environment: string;
  /** The Slack channel of each service (services without one are not notified). */
  readonly channels: ReadonlyMap<string, string>;
  readonly state: NotificationState;
  readonly log: Log;
  /** Longest a notification may take before the release moves on without it. @default 2500 */
  readonly budgetMs?: number;
}

/**
 * One Slack message per release, posted once and then updated in place (chat.update), with the
 * timeline as thread replies. Rate limits (429 + Retry-After) are honoured by {@link SlackWebApi};
 * any failure is logged and swallowed, and a slow Slack is abandoned after the budget.
 */
export class SlackNotifier implements Notifier {
  readonly client: SlackWebApi;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: SlackNotifierOptions) {
    this.client = new SlackWebApi({ token: options.token, ...(options.apiUrl ? { apiUrl: options.apiUrl } : {}), timeoutMs: options.budgetMs ?? 2500 });
  }

  async releaseChanged(release: Release): Promise<void> {
    const channel = this.options.channels.get(release.service);
    if (!channel) return;
    const budget = this.options.budgetMs ?? 2500;
    let timer: NodeJS.Timeout | undefined;
    // The budget bounds the work itself, not only the wait for it: no call starts, and no Retry-After
    // is waited, once it is spent (an abandoned notification does not go on in the background).
    const sync = this.sync(release, channel, { deadline: Date.now() + budget });
    this.pending.add(sync);
    void sync.finally(() => this.pending.delete(sync)).catch(() => undefined);
    try {
      await Promise.race([
        sync,
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.options.log.warn('slack notification abandoned after its time budget', { releaseId: release.id, budgetMs: budget });
            resolve();
          }, budget);
        }),
      ]);
    } catch (error) {
      // Slack failing never fails a release: log (never the token) and move on.
      this.options.log.warn('slack notification failed', { releaseId: release.id, service: release.service, error: messageOf(error) });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when every notification, abandoned ones included, has finished (for shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async sync(release: Release, channel: string, budget: CallBudget): Promise<void> {
    const { state } = this.options;
    const { text, blocks } = releaseMessage(release, this.options.environment);
    let ref = await state.getMessage(release.id);
    if (!ref) {
      if (!(await state.claimMessage(release.id))) return; // another writer is posting it
      let posted;
      try {
        posted = await this.client.chat.postMessage({ channel, text, blocks, unfurl_links: false, ...NO_AUTOMATIC_PARSING }, budget);
        if (!posted.ts || !posted.channel) throw new Error('chat.postMessage returned no ts');
      } catch (error) {
        await state.unclaimMessage(release.id);
        throw error;
      }
      await state.saveMessage(release.id, posted.channel, posted.ts);
      ref = { channel: posted.channel, ts: posted.ts, posted: 0 };
    } else {
      await this.client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks, ...NO_AUTOMATIC_PARSING }, budget);
    }
    const fresh = release.timeline.slice(ref.posted);
    if (fresh.length > 0 && (await state.advanceThread(release.id, ref.posted, release.timeline.length))) {
      for (const event of fresh)
        await this.client.chat.postMessage(
          { channel: ref.channel, thread_ts: ref.ts, text: threadReply(event), unfurl_links: false, ...NO_AUTOMATIC_PARSING },
          budget,
        );
    }
  }
}
