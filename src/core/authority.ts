import type { Actor } from './actor.js';

/**
 * Who may take each decision about a service's releases: one rule for every channel (API token,
 * a person's token, SigV4, JWT, Slack). A channel resolves the caller to a person (core/people.ts)
 * or leaves them unproven; this table then says what each may do. The README shows it as a table.
 */

/** Every decision a caller can take about a service's releases. */
export const VERBS = ['start', 'expedite', 'approve', 'reject', 'promote', 'rollback', 'pause', 'resume', 'undo', 'retry'] as const;
export type Verb = (typeof VERBS)[number];

/**
 * Who may take a decision: any authenticated caller (proven or not: the shared token, a label, an
 * IAM principal or Slack user that is no configured person), any proven person, or an approver of
 * the service. A service without approvers is unguarded: there "approvers" means anyone.
 */
export const WHO = ['anyone', 'people', 'approvers'] as const;
export type Who = (typeof WHO)[number];

export type AuthorityTable = Readonly<Record<Verb, Who>>;

/** The rules people must satisfy to decide for a release (core/authority.ts applies them). */
export interface ApprovalRules {
  /** The people (names from `people`) who may take an approver's decisions; empty means every authenticated caller. */
  readonly approvers: readonly string[];
  /** The person who started a release may not approve or promote it; expedite and undo keep one approval. */
  readonly fourEyes: boolean;
  /** Who may take each decision, where the service's config changes the defaults. */
  readonly authority?: Partial<AuthorityTable>;
}

/**
 * The defaults. Starting goes through the plan (its bakes and approvals guard it), and rolling back
 * is the safety action: anyone may. Pausing is a safety action too (it only stops the plan moving,
 * with the gates still watched): anyone may, as long as anyone may roll back (authorityOf). Resuming lets the plan ship the version on, as an
 * approval does: an approver's. Everything that decides for the plan, skips it or repeats a
 * release is an approver's.
 */
export const DEFAULT_AUTHORITY: AuthorityTable = {
  start: 'anyone',
  expedite: 'approvers',
  approve: 'approvers',
  reject: 'approvers',
  promote: 'approvers',
  rollback: 'anyone',
  pause: 'anyone',
  resume: 'approvers',
  undo: 'approvers',
  retry: 'approvers',
};

/**
 * Decisions no config may grant below an approver on a guarded service: approving is what approvers
 * are for; expedite, promote and undo ship a version without the plan's approvals, retry ships again
 * one that did not pass.
 */
export const APPROVERS_ONLY: ReadonlySet<Verb> = new Set(['approve', 'expedite', 'promote', 'undo', 'retry']);

/**
 * Decisions the person who started the release may not take under four-eyes: approving it, and
 * promoting it (which skips its remaining approvals). Expedite and undo keep one approval under
 * four-eyes instead (core/plan.ts), and retry and undo start a release of their own, so the same
 * rule binds their approvals.
 */
const FOUR_EYES: ReadonlySet<Verb> = new Set(['approve', 'promote']);

/** Channels only Switchyard itself speaks on: the image push trigger and the workflow. */
const SYSTEM_CHANNELS: ReadonlySet<Actor['channel']> = new Set(['ecr', 'system']);

export type Authority = { readonly ok: true } | { readonly ok: false; readonly message: string };

/**
 * The table a service's rules give, the defaults filled in. Under four-eyes a release is started by
 * a proven person (or an image push) by default: one started with the shared token could be approved
 * by the same human under their own name, and four-eyes could not tell.
 */
export function authorityOf(rules: ApprovalRules): AuthorityTable {
  const table = { ...DEFAULT_AUTHORITY, ...(rules.fourEyes ? { start: 'people' as const } : {}), ...(rules.authority ?? {}) };
  return { ...table, pause: stricter(rules.authority?.pause ?? table.rollback, table.rollback) };
}

/**
 * The stricter of two rules. Pause is never easier than rollback: on ECS a pause ends in Switchyard's
 * own rollback at the target's hold limit, and locally it freezes the release (and its service) for as
 * long as nobody resumes it. So pause follows rollback by default, and is at least rollback's.
 */
export function stricter(a: Who, b: Who): Who {
  return WHO.indexOf(a) >= WHO.indexOf(b) ? a : b;
}

/** Whether the service has approvers: an unguarded one lets anyone take an approver's decisions. */
export function guarded(rules: ApprovalRules): boolean {
  return rules.approvers.length > 0;
}

/** How the caller is named in a refusal: the person, else what proved them (or did not). */
function named(actor: Actor): string {
  if (actor.person !== undefined) return actor.person;
  if (actor.proof?.by === 'shared-token') return `the shared token${actor.id !== 'api' ? ` (labelled "${actor.id}")` : ''}`;
  return actor.id;
}

/**
 * Checks whether `actor` may take `verb` for a service with `rules`. `startedBy` is who started the
 * release the decision is about (four-eyes). Pure: the engine calls it on the freshest state.
 * @example mayTake(rules, 'approve', alice, release.createdBy)
 */
export function mayTake(rules: ApprovalRules, verb: Verb, actor: Actor, startedBy?: Actor): Authority {
  if (SYSTEM_CHANNELS.has(actor.channel)) {
    // The ECR trigger and the workflow start releases through the plan; they take no person's decision.
    return verb === 'start' ? { ok: true } : { ok: false, message: `${actor.id} acts for Switchyard and cannot ${verb} a release` };
  }
  const who = authorityOf(rules)[verb];
  const person = actor.person;
  if (who === 'people' && person === undefined) {
    return { ok: false, message: `${named(actor)} cannot ${verb}: it needs a proven person (${PROOFS}); see people in the config` };
  }
  if (who === 'approvers' && guarded(rules) && (person === undefined || !rules.approvers.includes(person))) {
    const how = person === undefined ? '; an approver proves who they are as one of people in the config' : '';
    return { ok: false, message: `${named(actor)} is not an approver: ${verb} needs one of ${rules.approvers.join(', ')}${how}` };
  }
  if (FOUR_EYES.has(verb) && rules.fourEyes) {
    if (person === undefined)
      return { ok: false, message: `four-eyes rule: ${named(actor)} is not a proven person, so it cannot be told apart from who started the release` };
    if (startedBy?.person === person)
      return { ok: false, message: `four-eyes rule: ${person} started this release and cannot ${verb} it; ask another approver` };
  }
  return { ok: true };
}

const PROOFS = 'their own token (people[].localToken), their Slack user, an IAM principal or a JWT subject listed in people';
