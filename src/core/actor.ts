/** Who did something: a person through the API or Slack, or Switchyard itself. */
export interface Actor {
  readonly id: string;
  readonly channel: 'api' | 'slack' | 'ecr' | 'system';
  /** The configured person this actor proved to be (see core/people.ts); the approval rules compare people. */
  readonly person?: string;
  /** How the caller proved who they are, for the audit trail; absent on releases recorded before it was kept. */
  readonly proof?: Proof;
}

/** What proved a caller: the credential the channel checked and what it named. */
export interface Proof {
  readonly by: 'shared-token' | 'person-token' | 'slack-signature' | 'sigv4' | 'jwt' | 'ecr-event' | 'switchyard';
  /** What the proof names: the Slack user id, the IAM principal ARN, the JWT subject (and verified email). */
  readonly subject?: string;
}

/** Switchyard itself: the workflow's own decisions (an approval that expired). */
export const SYSTEM: Actor = { id: 'switchyard', channel: 'system', proof: { by: 'switchyard' } };
