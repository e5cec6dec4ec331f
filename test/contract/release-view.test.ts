import { describe, expect, it } from 'vitest';
import { countdownOf, stepLabel, toReleaseView, trafficSeries, ReleaseViewSchema, type Viewer } from '../../src/contract/index.js';
import type { Actor } from '../../src/core/actor.js';
import { ALL_PHASES, isTerminal, type Phase } from '../../src/core/phases.js';
import { type Release } from '../../src/core/release.js';
import { evolve } from '../../src/core/timeline.js';
import { markDeployed, markRolledBack, markShifted, markWaitingOnTarget, beginRollback } from '../../src/core/transitions.js';
import { canary, release, T0 } from '../support/releases.js';

const alice: Actor = { id: 'alice', channel: 'api', person: 'alice', proof: { by: 'person-token', subject: 'alice' } };
const bob: Actor = { id: 'bob', channel: 'api', person: 'bob', proof: { by: 'person-token', subject: 'bob' } };
const shared: Actor = { id: 'api', channel: 'api', proof: { by: 'shared-token' } };

/** A canary (10% for 5m, 100% for 5m, finalize) deployed, shifted to 10% at T0+2s, and baking. */
function baking(rules = { approvers: [] as string[], fourEyes: false }): Release {
  const r0 = release(canary, { settings: { approvalRules: rules } });
  const deployed = markDeployed(evolve(r0, T0, { phase: 'deploying' }), T0 + 1000);
  const shifted = markShifted(evolve(deployed, T0 + 2000, { phase: 'shifting' }), 10, 1, T0 + 2000);
  return evolve(shifted, T0 + 2000, { phase: 'baking' });
}

const pending = (r: Release, now = T0 + 3000): Release =>
  evolve(r, now, {
    phase: 'awaiting_approval',
    pendingApproval: {
      id: 'a1',
      stepIndex: r.stepIndex,
      reason: 'step',
      label: 'after-first-step',
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 600_000).toISOString(),
      onTimeout: 'rollback',
    },
  });

const inPhase = (phase: Phase): Release => {
  const base = baking();
  if (phase === 'awaiting_approval') return pending(base);
  if (phase === 'promoting') return { ...base, phase, stepIndex: base.plan.steps.length - 1 };
  return { ...base, phase, ...(isTerminal(phase) ? { finishedAt: base.updatedAt } : {}) };
};

describe('the decisions a view offers', () => {
  // What the dashboard offered before the contract: Promote and Roll back in every phase that is not final.
  const offers: [Phase, string[], string[]][] = [
    ['queued', ['rollback'], []],
    ['preparing', ['rollback'], []],
    ['deploying', ['promote', 'rollback'], []],
    ['shifting', ['promote', 'rollback'], []],
    ['baking', ['promote', 'rollback'], []],
    ['awaiting_approval', ['approve', 'reject', 'promote', 'rollback'], []],
    ['promoting', [], []],
    ['rolling_back', [], []],
    ['succeeded', [], ['undo']],
    ['rolled_back', [], ['retry']],
    ['failed', [], ['retry']],
    ['superseded', [], ['retry']],
    ['cancelled', [], ['retry']],
  ];
  it.each(offers)('%s: offers %j and follow-ups %j to an approver', (phase, decisions, followUps) => {
    const view = toReleaseView(inPhase(phase), { now: T0 + 5000, viewer: alice });
    expect(view.decisions).toEqual(decisions);
    expect(view.followUps).toEqual(followUps);
    expect(view.final).toBe(isTerminal(phase));
    expect(ReleaseViewSchema.safeParse(view).success).toBe(true);
  });

  it('the table covers every phase of the core', () => {
    expect(offers.map(([phase]) => phase).sort()).toEqual([...ALL_PHASES].sort());
  });

  it('offers a caller only what they may take, and says why the rest is withheld (guarded service)', () => {
    const r = pending(baking({ approvers: ['alice'], fourEyes: false }));
    expect(toReleaseView(r, { now: T0 + 5000, viewer: alice }).decisions).toEqual(['approve', 'reject', 'promote', 'rollback']);
    const forBob = toReleaseView(r, { now: T0 + 5000, viewer: bob });
    expect(forBob.decisions).toEqual(['rollback']);
    expect(forBob.withheld.map((w) => w.action)).toEqual(['approve', 'reject', 'promote']);
    expect(forBob.withheld[0]?.why).toBe('bob is not an approver: approve needs one of alice (service checkout-api)');
    // The shared token is no person: it may still roll back, the safety action.
    expect(toReleaseView(r, { now: T0 + 5000, viewer: shared }).decisions).toEqual(['rollback']);
  });

  it('under four-eyes the person who started the release is not offered approve or promote', () => {
    const r = pending(baking({ approvers: ['alice', 'bob'], fourEyes: true }));
    const forAlice = toReleaseView(r, { now: T0 + 5000, viewer: alice });
    expect(forAlice.decisions).toEqual(['reject', 'rollback']);
    expect(forAlice.withheld.map((w) => w.action)).toEqual(['approve', 'promote']);
    expect(toReleaseView(r, { now: T0 + 5000, viewer: bob }).decisions).toEqual(['approve', 'reject', 'promote', 'rollback']);
  });

  it('follow-ups follow authority too: a non-approver is not offered undo or retry', () => {
    const rules = { approvers: ['alice'], fourEyes: false };
    const done = { ...baking(rules), phase: 'succeeded' as const };
    expect(toReleaseView(done, { now: T0, viewer: alice }).followUps).toEqual(['undo']);
    expect(toReleaseView(done, { now: T0, viewer: bob }).followUps).toEqual([]);
  });

  it.each<[Viewer, string[]]>([
    ['nobody', []],
    ['everyone', ['approve', 'reject', 'promote', 'rollback']],
  ])('%s is offered %j', (viewer, decisions) => {
    expect(toReleaseView(pending(baking({ approvers: ['alice'], fourEyes: false })), { now: T0 + 5000, viewer }).decisions).toEqual(decisions);
  });

  it('an approval that has expired is offered to nobody', () => {
    const r = pending(baking());
    expect(toReleaseView(r, { now: T0 + 3000 + 600_001, viewer: alice }).decisions).toEqual(['promote', 'rollback']);
  });
});

describe('countdowns, under a virtual clock', () => {
  it('a bake counts down to its end from the time of the view, and an extension moves the end', () => {
    const r = baking();
    const end = new Date(T0 + 2000 + 300_000).toISOString();
    expect(countdownOf(r, T0 + 2000)).toEqual({ kind: 'bake', label: 'bake 5m', since: new Date(T0 + 2000).toISOString(), endsAt: end, remainingSeconds: 300 });
    expect(countdownOf(r, T0 + 62_000)).toMatchObject({ endsAt: end, remainingSeconds: 240 });
    expect(countdownOf(r, T0 + 400_000)).toMatchObject({ remainingSeconds: 0 });
    const extended = evolve(r, T0 + 302_000, { bake: { extendedSeconds: 60, errors: 0 } });
    expect(countdownOf(extended, T0 + 302_000)).toMatchObject({ endsAt: new Date(T0 + 362_000).toISOString(), remainingSeconds: 60 });
  });

  it('an approval counts down to its expiry; the target’s step to its deadline; a finished release has none', () => {
    expect(countdownOf(pending(baking()), T0 + 63_000)).toMatchObject({ kind: 'approval', label: 'approval (after-first-step)', remainingSeconds: 540 });
    const waiting = markWaitingOnTarget(evolve(release(canary), T0, { phase: 'deploying' }), 'deploy', 'scaling up', undefined, T0 + 1000);
    const countdown = countdownOf(waiting, T0 + 1000);
    expect(countdown).toMatchObject({ kind: 'target', label: 'deploy', endsAt: waiting.targetWait?.deadline });
    expect(countdown?.remainingSeconds).toBe((Date.parse(waiting.targetWait!.deadline) - (T0 + 1000)) / 1000);
    expect(countdownOf(markRolledBack(beginRollback(baking(), 'gate failed', T0 + 5000), T0 + 6000), T0 + 7000)).toBeUndefined();
  });

  it('the view says when it was made and how long the release has run', () => {
    const view = toReleaseView(baking(), { now: T0 + 90_000 });
    expect(view.at).toBe(new Date(T0 + 90_000).toISOString());
    expect(view.durationSeconds).toBe(90);
    expect(view.countdown?.remainingSeconds).toBe(212);
  });
});

describe('numbers travel as numbers', () => {
  it('the traffic series comes from the weights the core recorded, not from its sentences', () => {
    const r = baking();
    const reworded = { ...r, timeline: r.timeline.map((e) => ({ ...e, message: 'anything at all' })) };
    expect(trafficSeries(reworded, T0 + 10_000)).toEqual([
      { at: new Date(T0).toISOString(), candidate: 0 },
      { at: new Date(T0 + 2000).toISOString(), candidate: 10 },
      { at: new Date(T0 + 10_000).toISOString(), candidate: 10 },
    ]);
    const back = markRolledBack(beginRollback(r, 'gate failed', T0 + 20_000), T0 + 21_000);
    expect(trafficSeries(back, T0 + 99_000).at(-1)).toEqual({ at: new Date(T0 + 21_000).toISOString(), candidate: 0 });
  });

  it('labels each step once, with its state', () => {
    expect(toReleaseView(baking(), { now: T0 }).steps).toEqual([
      { type: 'setWeight', label: '10%', status: 'done' },
      { type: 'bake', label: 'bake 5m', status: 'current' },
      { type: 'setWeight', label: '100%', status: 'next' },
      { type: 'bake', label: 'bake 5m', status: 'next' },
      { type: 'finalize', label: 'finalize', status: 'next' },
    ]);
    expect(stepLabel({ type: 'approval', label: 'before-finalize', timeoutSeconds: 60, onTimeout: 'rollback' })).toBe('approval (before-finalize)');
    expect(stepLabel({ type: 'analysis', seconds: 90 })).toBe('analysis 1m 30s');
  });
});
