import type { Release } from '../core/release.js';

/** Tells people about a release as it moves. Best effort: a notifier never fails or slows a release. */
export interface Notifier {
  releaseChanged(release: Release): Promise<void>;
}

/** Where a release's chat message lives, so it is posted once and then updated in place. */
export interface MessageRef {
  readonly channel: string;
  readonly ts: string;
  /** How many timeline events were already posted to the thread. */
  readonly posted: number;
}

/** Durable state of notifications, with single-item conditional writes like the rest of the store. */
export interface NotificationState {
  /** Claims the right to post the first message; false when someone already did. */
  claimMessage(releaseId: string): Promise<boolean>;
  /** Gives the claim back after a failed first post, so a later change posts the message. */
  unclaimMessage(releaseId: string): Promise<void>;
  saveMessage(releaseId: string, channel: string, ts: string): Promise<void>;
  getMessage(releaseId: string): Promise<MessageRef | undefined>;
  /** Moves the posted-events mark from `from` to `to`; false when another writer moved it first. */
  advanceThread(releaseId: string, from: number, to: number): Promise<boolean>;
}

/** The Slack app's secrets: the signing secret verifies clicks, the bot token posts messages. */
export interface SlackSecrets {
  readonly signingSecret: string;
  readonly botToken: string;
}
