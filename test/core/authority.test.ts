import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTHORITY, mayTake, VERBS, WHO, type Verb } from '../../src/core/authority.js';
import type { Actor } from '../../src/core/actor.js';
import type { ApprovalRules } from '../../src/core/authority.js';

const alice: Actor = { id: 'alice', channel: 'api', person: 'alice', proof: { by: 'person-token', subject: 'alice' } };
const bob: Actor = { id: 'bob', channel: 'slack', person: 'bob', proof: { by: 'slack-signature', subject: 'U0BOB' } };
const carol: Actor = { id: 'carol', channel: 'api', person: 'carol', proof: { by: 'sigv4', subject: 'arn:aws:iam::123456789012:user/carol' } };
const shared: Actor = { id: 'api', channel: 'api', proof: { by: 'shared-token' } };
/** The shared token with a label that spells an approver's name: a label proves nothing. */
const labelled: Actor = { id: 'bob', channel: 'api', proof: { by: 'shared-token' } };
const stranger: Actor = { id: 'U0EVE', channel: 'slack', proof: { by: 'slack-signature', subject: 'U0EVE' } };
const ecr: Actor = { id: 'ecr:web', channel: 'ecr', proof: { by: 'ecr-event' } };

const guarded: ApprovalRules = { approvers: ['alice', 'bob'], fourEyes: false };
const ok = { ok: true };

describe('authority: who may take each decision', () => {
  it('on a guarded service: anyone starts and rolls back; only approvers expedite, approve, reject, promote, undo and retry', () => {
    for (const who of [shared, labelled, stranger, carol]) {
      expect(mayTake(guarded, 'start', who)).toEqual(ok);
      expect(mayTake(guarded, 'rollback', who)).toEqual(ok);
      for (const verb of ['expedite', 'approve', 'reject', 'promote', 'undo', 'retry'] as const) {
        expect(mayTake(guarded, verb, who)).toMatchObject({ ok: false, message: expect.stringContaining(`${verb} needs one of alice, bob`) });
      }
    }
    for (const verb of VERBS) expect(mayTake(guarded, verb, alice)).toEqual(ok);
  });

  it('a refusal names the caller as what proved them, and says how an approver proves who they are', () => {
    expect(mayTake(guarded, 'expedite', labelled)).toEqual({
      ok: false,
      message:
        'the shared token (labelled "bob") is not an approver: expedite needs one of alice, bob; an approver proves who they are as one of people in the config',
    });
    expect(mayTake(guarded, 'approve', carol)).toEqual({ ok: false, message: 'carol is not an approver: approve needs one of alice, bob' });
  });

  it('an unguarded service lets any authenticated caller take every decision; "people" needs a proven person', () => {
    const open: ApprovalRules = { approvers: [], fourEyes: false };
    for (const verb of VERBS) expect(mayTake(open, verb, shared)).toEqual(ok);
    const people: ApprovalRules = { approvers: [], fourEyes: false, authority: { start: 'people', rollback: 'people' } };
    expect(mayTake(people, 'start', shared)).toMatchObject({ ok: false, message: expect.stringContaining('needs a proven person') });
    expect(mayTake(people, 'rollback', stranger)).toMatchObject({ ok: false });
    expect(mayTake(people, 'start', carol)).toEqual(ok);
  });

  it('four-eyes: the person who started a release may not approve or promote it; an unproven caller cannot be told apart', () => {
    const rules: ApprovalRules = { ...guarded, fourEyes: true };
    // Started by a proven person (or a push) by default: the shared token's holder could approve under their own name.
    expect(mayTake(rules, 'start', shared)).toMatchObject({ ok: false, message: expect.stringContaining('needs a proven person') });
    expect(mayTake(rules, 'start', carol)).toEqual(ok);
    expect(mayTake(rules, 'approve', alice, alice)).toMatchObject({
      ok: false,
      message: expect.stringContaining('four-eyes rule: alice started this release'),
    });
    expect(mayTake(rules, 'promote', alice, alice)).toMatchObject({ ok: false });
    expect(mayTake(rules, 'reject', alice, alice)).toEqual(ok);
    expect(mayTake(rules, 'approve', bob, alice)).toEqual(ok);
    // Started from the shared token or an ECR push: any approver is a second pair of eyes.
    expect(mayTake(rules, 'approve', bob, shared)).toEqual(ok);
    const open: ApprovalRules = { approvers: [], fourEyes: true };
    expect(mayTake(open, 'approve', shared, alice)).toMatchObject({ ok: false, message: expect.stringContaining('not a proven person') });
  });

  it('Switchyard’s own channels start releases and take no person’s decision', () => {
    expect(mayTake(guarded, 'start', ecr)).toEqual(ok);
    for (const verb of VERBS.filter((v) => v !== 'start')) expect(mayTake({ approvers: [], fourEyes: false }, verb, ecr)).toMatchObject({ ok: false });
  });

  it('property: an unproven caller takes only what the table grants to anyone, whatever the config', () => {
    const table = fc.record(Object.fromEntries(VERBS.map((v) => [v, fc.constantFrom(...WHO)])) as Record<Verb, fc.Arbitrary<(typeof WHO)[number]>>);
    const unproven = fc.record({
      id: fc.string({ minLength: 1, maxLength: 12 }),
      channel: fc.constantFrom('api' as const, 'slack' as const),
      proof: fc.constantFrom({ by: 'shared-token' as const }, { by: 'slack-signature' as const, subject: 'U0X' }, { by: 'sigv4' as const, subject: 'arn' }),
    });
    fc.assert(
      fc.property(
        table,
        fc.subarray(['alice', 'bob', 'carol'], { minLength: 1 }),
        fc.boolean(),
        fc.constantFrom(...VERBS),
        unproven,
        (authority, approvers, fourEyes, verb, actor) => {
          const rules: ApprovalRules = { approvers, fourEyes, authority };
          // Pause is never easier than rollback: it is anyone's only where both are.
          const anyone = verb === 'pause' ? authority.pause === 'anyone' && authority.rollback === 'anyone' : authority[verb] === 'anyone';
          const granted = anyone && !(fourEyes && (verb === 'approve' || verb === 'promote'));
          expect(mayTake(rules, verb, actor).ok).toBe(granted);
        },
      ),
    );
  });

  it('pause is never easier than rollback: where only approvers roll back, only they pause (a pause can end in a rollback)', () => {
    const strict: ApprovalRules = { ...guarded, authority: { rollback: 'approvers' } };
    for (const who of [shared, stranger, carol]) {
      expect(mayTake(strict, 'rollback', who).ok).toBe(false);
      expect(mayTake(strict, 'pause', who)).toMatchObject({ ok: false, message: expect.stringContaining('pause needs one of alice, bob') });
    }
    expect(mayTake(strict, 'pause', alice)).toEqual(ok);
    // Stricter than rollback stays stricter; people-only rollback makes pause people-only too.
    expect(mayTake({ ...guarded, authority: { pause: 'approvers' } }, 'pause', carol).ok).toBe(false);
    expect(mayTake({ ...guarded, authority: { rollback: 'people' } }, 'pause', shared).ok).toBe(false);
    expect(mayTake({ ...guarded, authority: { rollback: 'people' } }, 'pause', carol)).toEqual(ok);
  });

  it('the defaults are the README’s table', () => {
    expect(DEFAULT_AUTHORITY).toEqual({
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
    });
  });
});
