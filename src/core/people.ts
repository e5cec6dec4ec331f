import type { Actor, Proof } from './actor.js';

/**
 * People, not channel-specific strings: one person is one Slack user, one or more IAM principals,
 * JWT subjects and verified emails. The approver allowlist and four-eyes compare people, so
 * starting a release from the API and approving it from Slack is the same person and is caught.
 */
export interface Person {
  /** How the timeline and the approver list name them, for example "alice". */
  readonly name: string;
  /** Their Slack user id, for example "U012ABCDEF". */
  readonly slack?: string;
  /**
   * IAM principals that are this person: ARNs, where `*` matches any run of characters within the
   * pattern (for a role session: `arn:aws:sts::123456789012:assumed-role/Deployer/alice`).
   */
  readonly iam: readonly string[];
  /** JWT subjects (`sub`) or emails; an email counts only when the token says it is verified. */
  readonly jwt: readonly string[];
}

/** What a caller proved about themselves, by channel. */
export type Claim =
  | { readonly slack: string }
  | { readonly iam: string }
  | { readonly jwt: { readonly sub?: string; readonly email?: string; readonly emailVerified?: boolean } }
  /** A person's own local-mode token. */
  | { readonly person: string };

/** `*` matches any run of characters within one part of the ARN: never across a `/` or a `:`. */
function globMatches(pattern: string, value: string): boolean {
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/:]*')}$`).test(value);
}

const isEmail = (entry: string): boolean => entry.includes('@');

/** The person a claim proves, if any. */
export function personFor(people: readonly Person[], claim: Claim): Person | undefined {
  if ('person' in claim) return people.find((p) => p.name === claim.person);
  if ('slack' in claim) return people.find((p) => p.slack === claim.slack);
  if ('iam' in claim) return people.find((p) => p.iam.some((pattern) => globMatches(pattern, claim.iam)));
  // An entry with an @ is an email, matched only by a verified email claim; any other is a subject.
  // A subject that looks like an email (some providers let users choose it) proves nothing.
  const { sub, email, emailVerified } = claim.jwt;
  return people.find(
    (p) =>
      (sub !== undefined && !sub.includes('@') && p.jwt.includes(sub)) ||
      (email !== undefined && emailVerified === true && isEmail(email) && p.jwt.includes(email)),
  );
}

/** Names no person may take: they are Switchyard's own actors and the shared token's. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['api', 'switchyard', 'system', 'ecr', 'anyone', 'people', 'approvers']);

/** What a claim proves, for the audit trail. */
function proofOf(claim: Claim): Proof {
  if ('person' in claim) return { by: 'person-token', subject: claim.person };
  if ('slack' in claim) return { by: 'slack-signature', subject: claim.slack };
  if ('iam' in claim) return { by: 'sigv4', subject: claim.iam };
  const { sub, email, emailVerified } = claim.jwt;
  return {
    by: 'jwt',
    subject: [sub, email !== undefined ? `${email} (${emailVerified === true ? 'verified' : 'unverified'})` : undefined].filter(Boolean).join(' '),
  };
}

/**
 * The actor for a caller: the person when the claim proves one (their name becomes the id), else
 * the raw identity as given by the channel (an IAM ARN, a JWT subject, a Slack user id), unproven:
 * it may take only what the config grants to anyone (core/authority.ts).
 */
export function actorFor(people: readonly Person[], claim: Claim, channel: Actor['channel'], raw: string): Actor {
  const person = personFor(people, claim);
  const proof = proofOf(claim);
  if (person) return { id: person.name, channel, person: person.name, proof };
  // An unproven identity that happens to spell a person's (or a reserved) name must not pass for them.
  const taken = people.some((p) => p.name === raw) || RESERVED_NAMES.has(raw);
  return { id: taken ? `${channel}:${raw}` : raw, channel, proof };
}
