import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDecision, offeredDecisions } from '../../src/core/approvals.js';
import { decide } from '../../src/core/decide.js';
import { endAfterFailure, markDeployed, markShifted, recordApproval, requestPromote } from '../../src/core/transitions.js';
import { isTerminal } from '../../src/core/phases.js';
import type { Release } from '../../src/core/release.js';
import type { StrategySpec } from '../../src/core/plan.js';
import { T0, canary, release } from '../support/releases.js';
import { simulate } from '../support/simulate.js';

const strategies: [string, StrategySpec][] = [
  ['blue-green', { type: 'blue-green', bakeSeconds: 120 }],
  ['canary', canary],
  ['linear', { type: 'linear', stepPercent: 20, intervalSeconds: 60, finalBakeSeconds: 60 }],
  [
    'steps',
    {
      type: 'steps',
      steps: [
        { type: 'setWeight', percent: 0 },
        { type: 'analysis', seconds: 30 },
        { type: 'setWeight', percent: 50 },
        { type: 'bake', seconds: 60 },
        { type: 'setWeight', percent: 100 },
      ],
    },
  ],
];

describe('decide: happy paths', () => {
  it.each(strategies)('%s ends succeeded with 100%% on the new version', (_name, strategy) => {
    const trace = simulate(release(strategy));
    expect(trace.release.phase).toBe('succeeded');
    expect(trace.release.weight).toBe(100);
    expect(trace.actions.filter((a) => a.type === 'finalize')).toHaveLength(1);
    expect(trace.actions.at(-1)).toEqual({ type: 'done', phase: 'succeeded' });
  });

  it('canary: deploy, 10%, bake with gate checks every 30s, 100%, bake, finalize', () => {
    const trace = simulate(release(canary));
    const kinds = trace.actions.map((a) => (a.type === 'shift' ? `shift ${a.percent}` : a.type));
    expect(kinds.filter((k) => k !== 'wait')).toEqual(['deploy', 'shift 10', 'shift 100', 'finalize', 'done']);
    // 300s bake checked every 30s: 10 waits per bake.
    expect(kinds.filter((k) => k === 'wait')).toHaveLength(20);
    expect(trace.release.timeline.map((e) => e.type)).toEqual(
      expect.arrayContaining(['created', 'deploying', 'deployed', 'shifting', 'shifted', 'baking', 'finalizing', 'succeeded']),
    );
  });

  it('a bake with no gates is one wait, not a polling loop', () => {
    const trace = simulate(release(canary, { settings: { gates: [] } }));
    expect(trace.actions.filter((a) => a.type === 'wait')).toHaveLength(2);
  });

  it('starts by deploying with 0% of production traffic', () => {
    const { action, release: next } = decide(release(canary), [], T0);
    expect(action).toEqual({ type: 'deploy' });
    expect(next.phase).toBe('deploying');
    expect(next.weight).toBe(0);
  });
});

describe('decide: gates', () => {
  it.each([0, 1, 5, 8])('a gate failing at check %d rolls back with the evidence in the reason', (failAt) => {
    const trace = simulate(release({ type: 'linear', stepPercent: 25, intervalSeconds: 60, finalBakeSeconds: 60 }), {
      gateValue: (n) => (n >= failAt ? 40 : 0),
    });
    expect(trace.release.phase).toBe('rolled_back');
    expect(trace.release.weight).toBe(0);
    expect(trace.release.reason).toMatch(/^gate failed: error-rate: Average of ErrorRate = 40 \(breaches > 5\)/);
  });

  it('inconclusive data extends the bake up to the limit, then fails by default', () => {
    const trace = simulate(release(canary), { gateValue: () => 'nodata' });
    expect(trace.release.phase).toBe('rolled_back');
    expect(trace.release.reason).toMatch(/gates stayed inconclusive past the extension limit/);
    expect(trace.release.timeline.filter((e) => e.type === 'bake_extended')).toHaveLength(2);
  });

  it('inconclusive with the pause policy asks a person, and an approval continues the release', () => {
    const trace = simulate(
      release(canary, { settings: { gatePolicy: { checkIntervalSeconds: 30, onInconclusive: 'pause', maxExtensionSeconds: 30, maxErrors: 2 } } }),
      { gateValue: () => 'nodata' },
    );
    expect(trace.actions.filter((a) => a.type === 'approval').map((a) => a.type === 'approval' && a.label)).toEqual(['inconclusive', 'inconclusive']);
    expect(trace.release.phase).toBe('succeeded');
  });

  it('query errors are retried, then the policy applies', () => {
    const flaky = simulate(release(canary), { gateValue: (n) => (n % 3 === 0 ? 'error' : 0) });
    expect(flaky.release.phase).toBe('succeeded');
    const broken = simulate(release(canary), { gateValue: () => 'error' });
    expect(broken.release.phase).toBe('rolled_back');
    expect(broken.release.reason).toMatch(/^gate could not be evaluated: error-rate: could not be read: throttled/);
  });
});

describe('decide: approvals and requests', () => {
  const withApproval = () => release(canary, { approvals: { at: ['after-first-step'], timeoutSeconds: 600, onTimeout: 'rollback' } });

  it.each([
    ['approved', 'succeeded', undefined],
    ['rejected', 'rolled_back', 'rejected by carol'],
    ['expired', 'rolled_back', 'approval expired; timeout action: rollback'],
  ] as const)('an approval %s -> %s', (answer, phase, reason) => {
    const trace = simulate(withApproval(), { approval: () => answer });
    expect(trace.release.phase).toBe(phase);
    if (reason) expect(trace.release.reason).toBe(reason);
  });

  it('an expired approval with onTimeout approve continues', () => {
    const r = release(canary, { approvals: { at: ['before-finalize'], timeoutSeconds: 60, onTimeout: 'approve' } });
    expect(simulate(r, { approval: () => 'expired' }).release.phase).toBe('succeeded');
  });

  it('the approval action carries the timeout from the plan and a short id', () => {
    let r: Release = release(canary, { approvals: { at: ['after-first-step'], timeoutSeconds: 600, onTimeout: 'rollback' }, settings: { gates: [] } });
    r = markDeployed(decide(r, [], T0).release, T0);
    r = markShifted(decide(r, [], T0).release, 10, 1, T0);
    expect(decide(r, [], T0 + 1000).action).toEqual({ type: 'wait', until: new Date(T0 + 300_000).toISOString(), seconds: 299 });
    const { action, release: next } = decide(r, [], T0 + 301_000);
    expect(action).toEqual({ type: 'approval', approvalId: 'r1-a2', label: 'after-first-step', timeoutSeconds: expect.any(Number) });
    expect(next.phase).toBe('awaiting_approval');
    expect(next.pendingApproval?.expiresAt).toBe(new Date(T0 + 301_000 + 600_000).toISOString());
    expect(action.type === 'approval' && action.timeoutSeconds).toBe(600);
  });

  it('promote skips the remaining steps straight to 100% and finalize', () => {
    const trace = simulate(withApproval(), { request: (n) => (n === 4 ? 'promote' : undefined) });
    expect(trace.release.phase).toBe('succeeded');
    expect(trace.actions.filter((a) => a.type === 'approval')).toHaveLength(0);
  });

  it('rollback requested before deploy cancels; after deploy rolls back', () => {
    expect(simulate(release(canary), { request: (n) => (n === 0 ? 'rollback' : undefined) }).release.phase).toBe('cancelled');
    const later = simulate(release(canary), { request: (n) => (n === 5 ? 'rollback' : undefined) });
    expect(later.release.phase).toBe('rolled_back');
    expect(later.release.reason).toBe('rollback requested by bob');
  });
});

describe('approval rules', () => {
  const pending = (overrides: Parameters<typeof release>[1] = {}) => {
    let r = release(
      { type: 'blue-green', bakeSeconds: 60 },
      { approvals: { at: ['before-traffic'], timeoutSeconds: 600, onTimeout: 'rollback' }, ...overrides },
    );
    r = markDeployed(decide(r, [], T0).release, T0);
    return decide(r, [], T0).release;
  };
  const bob = { id: 'bob', channel: 'slack', person: 'bob' } as const;
  const alice = { id: 'alice', channel: 'api', person: 'alice' } as const;

  it('anyone may approve when no allowlist is set', () => {
    expect(checkDecision(pending(), 'approve', bob, T0)).toEqual({ ok: true });
  });
  it('the allowlist is enforced', () => {
    const r = pending({ settings: { approvalRules: { approvers: ['carol'], fourEyes: false } } });
    expect(checkDecision(r, 'approve', bob, T0)).toEqual({
      ok: false,
      code: 'forbidden',
      message: 'bob is not an approver: approve needs one of carol (service checkout-api)',
    });
    expect(checkDecision(r, 'approve', { id: 'carol', channel: 'api', person: 'carol' }, T0)).toEqual({ ok: true });
    // A label that spells an approver's name proves nothing.
    expect(checkDecision(r, 'approve', { id: 'carol', channel: 'api', proof: { by: 'shared-token' } }, T0)).toMatchObject({ ok: false, code: 'forbidden' });
  });
  it('four-eyes: the person who started a release cannot approve or promote it, but may reject', () => {
    const r = pending({ settings: { approvalRules: { approvers: [], fourEyes: true } } });
    expect(checkDecision(r, 'approve', alice, T0)).toMatchObject({
      ok: false,
      code: 'forbidden',
      message: expect.stringContaining('four-eyes rule: alice started this release'),
    });
    expect(checkDecision(r, 'promote', alice, T0)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(checkDecision(r, 'reject', alice, T0)).toEqual({ ok: true });
  });
  it('an expired approval cannot be approved', () => {
    expect(checkDecision(pending(), 'approve', bob, T0 + 601_000)).toMatchObject({
      ok: false,
      code: 'conflict',
      message: expect.stringContaining('expired at'),
    });
  });
  it('nothing to approve when no approval waits; promote twice is refused', () => {
    const r = release(canary);
    expect(checkDecision(r, 'approve', bob, T0)).toMatchObject({
      ok: false,
      code: 'conflict',
      message: 'release r1 is preparing; no approval is waiting, so there is nothing to approve',
    });
    const promoted = requestPromote(markDeployed(decide(r, [], T0).release, T0), bob, T0);
    expect(checkDecision(promoted, 'promote', bob, T0)).toMatchObject({ ok: false, code: 'conflict' });
  });
  it('a finished release cannot be rolled back', () => {
    const done = simulate(release(canary)).release;
    expect(checkDecision(done, 'rollback', bob, T0)).toMatchObject({
      ok: false,
      code: 'conflict',
      message: 'release r1 is succeeded; only an active release can be rolled back',
    });
  });
  it('recording a decision twice changes nothing the second time', () => {
    const waiting = pending();
    const id = waiting.pendingApproval?.id ?? '';
    const r = recordApproval(waiting, id, 'approved', T0, bob);
    expect(r.approvals).toHaveLength(1);
    expect(recordApproval(r, id, 'approved', T0, bob)).toBe(r);
    expect(recordApproval(waiting, 'some-older-approval', 'approved', T0, bob)).toBe(waiting);
  });
});

describe('decide: invariants (property-based)', () => {
  const strategy = fc.oneof(
    fc.record({ type: fc.constant('blue-green' as const), bakeSeconds: fc.integer({ min: 0, max: 600 }) }),
    fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 4 }).chain((ps) =>
      fc.record({
        type: fc.constant('canary' as const),
        steps: fc.constant(ps.sort((a, b) => a - b).map((percent) => ({ percent, bakeSeconds: 60 }))),
        finalBakeSeconds: fc.integer({ min: 0, max: 300 }),
      }),
    ),
    fc.record({
      type: fc.constant('linear' as const),
      stepPercent: fc.integer({ min: 10, max: 99 }),
      intervalSeconds: fc.integer({ min: 1, max: 120 }),
      finalBakeSeconds: fc.integer({ min: 0, max: 120 }),
    }),
  );
  const approvalsAt = fc.subarray(['before-traffic', 'after-first-step', 'before-finalize'] as const);
  const script = fc.record({
    gateValues: fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.constant(50), fc.constant('error' as const), fc.constant('nodata' as const)), {
      minLength: 1,
      maxLength: 40,
    }),
    answers: fc.array(fc.constantFrom('approved' as const, 'rejected' as const, 'expired' as const), { minLength: 1, maxLength: 5 }),
    requestAt: fc.integer({ min: 0, max: 60 }),
    request: fc.constantFrom(undefined, 'promote' as const, 'rollback' as const),
    crashAt: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
    pause: fc.boolean(),
  });

  type ScriptInput = typeof script extends fc.Arbitrary<infer T> ? T : never;
  const run = (s: StrategySpec, at: readonly ('before-traffic' | 'after-first-step' | 'before-finalize')[], sc: ScriptInput) =>
    simulate(
      release(s, {
        approvals: { at, timeoutSeconds: 120, onTimeout: 'rollback' },
        settings: { gatePolicy: { checkIntervalSeconds: 30, onInconclusive: sc.pause ? 'pause' : 'fail', maxExtensionSeconds: 60, maxErrors: 1 } },
      }),
      {
        gateValue: (n) => sc.gateValues[n % sc.gateValues.length] ?? 0,
        approval: (n) => sc.answers[n % sc.answers.length] ?? 'approved',
        request: (n) => (n === sc.requestAt ? sc.request : undefined),
        ...(sc.crashAt ? { crashAt: sc.crashAt } : {}),
      },
    );

  it('traffic to the new version never decreases except by rolling back, and every release ends unsplit', () => {
    fc.assert(
      fc.property(strategy, approvalsAt, script, (s, at, sc) => {
        const trace = run(s, at, sc);
        const final = trace.release;
        expect(isTerminal(final.phase)).toBe(true);
        if (final.phase === 'succeeded') {
          expect(final.weight).toBe(100);
          expect(trace.weights.every((w, i) => i === 0 || w >= (trace.weights[i - 1] ?? 0))).toBe(true);
          expect(trace.actions.filter((a) => a.type === 'finalize')).toHaveLength(1);
        } else {
          // Every rollback path ends with 0% on the new version.
          expect(['rolled_back', 'cancelled', 'failed']).toContain(final.phase);
          expect(final.weight).toBe(0);
          expect(final.reason).toBeTruthy();
          // Weight only fell when the release was rolling back.
          trace.weights.forEach((w, i) => {
            if (i > 0 && w < (trace.weights[i - 1] ?? 0)) expect(trace.actions[i - 1]?.type).toBe('rollback');
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('decide is deterministic', () => {
    fc.assert(
      fc.property(strategy, script, fc.integer({ min: 0, max: 3_600_000 }), (s, sc, dt) => {
        const trace = run(s, [], sc);
        // Replay decide on every intermediate state seen: same input, same output.
        const r = trace.release;
        expect(decide(r, [], T0 + dt)).toEqual(decide(r, [], T0 + dt));
        const fresh = release(s);
        expect(decide(fresh, [], T0 + dt)).toEqual(decide(structuredClone(fresh), [], T0 + dt));
      }),
      { numRuns: 100 },
    );
  });

  it('nothing follows a terminal phase: decide only says done', () => {
    fc.assert(
      fc.property(strategy, script, fc.integer({ min: 0, max: 10 ** 9 }), (s, sc, dt) => {
        const final = run(s, [], sc).release;
        const again = decide(final, [], T0 + dt);
        expect(again.action).toEqual({ type: 'done', phase: final.phase });
        expect(again.release).toBe(final);
      }),
      { numRuns: 100 },
    );
  });
});

describe('offeredDecisions and endAfterFailure', () => {
  it('offers only what the state allows', () => {
    const r = release(canary, { approvals: { at: ['before-traffic'], timeoutSeconds: 60, onTimeout: 'rollback' } });
    expect(offeredDecisions(r)).toEqual(['rollback']);
    const deployed = markDeployed(decide(r, [], T0).release, T0);
    const waiting = decide(deployed, [], T0).release;
    expect(offeredDecisions(waiting)).toEqual(['approve', 'reject', 'promote', 'rollback']);
    expect(offeredDecisions(requestPromote(waiting, { id: 'b', channel: 'api' }, T0))).toEqual(['approve', 'reject', 'rollback']);
    expect(offeredDecisions(simulate(release(canary)).release)).toEqual([]);
  });

  it.each([
    ['restored, deployed', { kind: 'restored' } as const, true, 'rolled_back'],
    ['restored, nothing deployed', { kind: 'restored' } as const, false, 'failed'],
    ['unrestored', { kind: 'unrestored', why: 'ECS said no' } as const, true, 'failed'],
  ])('%s -> %s, with the reason recorded', (_name, outcome, deployed, phase) => {
    let r = decide(release(canary), [], T0).release;
    if (deployed) r = markDeployed(r, T0);
    const ended = endAfterFailure(r, 'unexpected error in Shift: boom', outcome, T0);
    expect(ended.phase).toBe(phase);
    expect(ended.weight).toBe(0);
    expect(ended.timeline.map((e) => e.message).join('\n')).toContain('unexpected error in Shift: boom');
    if (outcome.kind === 'unrestored') expect(ended.reason).toContain('the stable version could not be restored: ECS said no');
  });

  it('finalized by the driver before the error: succeeded; a finished release is left alone', () => {
    let r = release({ type: 'blue-green', bakeSeconds: 0 }, { settings: { gates: [] } });
    r = markDeployed(decide(r, [], T0).release, T0);
    r = markShifted(decide(r, [], T0).release, 100, 1, T0);
    r = decide(r, [], T0).release; // finalize: promoting
    const ended = endAfterFailure(r, 'unexpected error in Finalize: store down', { kind: 'finalized' }, T0);
    expect(ended.phase).toBe('succeeded');
    expect(endAfterFailure(ended, 'again', { kind: 'restored' }, T0)).toBe(ended);
  });
});
