import { describe, expect, it } from 'vitest';
import { offeredStarts, type Viewer } from '../../src/contract/index.js';
import type { ApprovalRules } from '../../src/core/authority.js';

const shared: Viewer = { id: 'api', channel: 'api', proof: { by: 'shared-token' } };
const alice: Viewer = { id: 'alice', channel: 'api', person: 'alice' };
const bob: Viewer = { id: 'bob', channel: 'api', person: 'bob' };
const unguarded: ApprovalRules = { approvers: [], fourEyes: false };
const guarded: ApprovalRules = { approvers: ['alice'], fourEyes: false };
const fourEyes: ApprovalRules = { approvers: ['alice'], fourEyes: true };
const startsOnlyByApprovers: ApprovalRules = { approvers: ['alice'], fourEyes: false, authority: { start: 'approvers' } };

describe('offeredStarts: what a caller may start on a service, by the core’s authority table', () => {
  it.each([
    ['an unguarded service, the shared token', unguarded, shared, ['start', 'expedite'], []],
    ['a guarded service, its approver', guarded, alice, ['start', 'expedite'], []],
    ['a guarded service, another person', guarded, bob, ['start'], ['expedite']],
    ['four-eyes, the shared token (not a proven person)', fourEyes, shared, [], ['start']],
    ['four-eyes, a person who is no approver', fourEyes, bob, ['start'], ['expedite']],
    ['start reserved to approvers, another person', startsOnlyByApprovers, bob, [], ['start']],
    ['no credentials', unguarded, 'nobody', [], []],
    ['a view shown to many (each click checked)', fourEyes, 'everyone', ['start'], []],
  ] as const)('%s', (_, rules, viewer, starts, withheld) => {
    const offer = offeredStarts('checkout-api', rules, viewer);
    expect(offer.starts).toEqual(starts);
    expect(offer.withheld.map((w) => w.action)).toEqual(withheld);
    for (const w of offer.withheld) expect(w.why).toMatch(/\(service checkout-api\)$/);
  });
});
