import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDecision, offeredDecisions } from '../../src/core/approvals.js';
import { decide, gatesToObserve, SHIFT_POLL_SECONDS } from '../../src/core/decide.js';
import { Phase } from '../../src/core/phases.js';
import type { Release } from '../../src/core/release.js';
import { GATE_HISTORY_POINTS, withGateResults } from '../../src/core/evidence.js';
import {
  beginRollback,
  markDeployed,
  markFinalized,
  markRolledBack,
  markShifted,
  markShiftInProgress,
  recordApproval,
  recordShift,
  requestPromote,
  requestRollback,
} from '../../src/core/transitions.js';
import { leaseRenewalDue, markLeaseRenewed } from '../../src/core/lease.js';
import { holdWith, takeWake } from '../../src/core/wake.js';
import { canary, release, T0 } from '../support/releases.js';
import { simulate } from '../support/simulate.js';

const later = T0 + 60_000;
const deploying = () => decide(release(canary), [], T0).release;
const deployed = () => markDeployed(deploying(), T0, { deploymentId: 'd-1' });
const shifted = () => markShifted(decide(deployed(), [], T0).release, 10, 1, T0);
const finalized = () => simulate(release(canary)).release;

describe('the core transitions are idempotent: a retried task changes nothing', () => {
  it.each<[string, () => Release, (r: Release) => Release]>([
    ['markDeployed on a deployed release', deployed, (r) => markDeployed(r, later, { deploymentId: 'd-2' })],
    ['markShifted to the weight and step it already has', shifted, (r) => markShifted(r, 10, 1, later)],
    ['markShifted to a step it is already past', () => markShifted(shifted(), 10, 2, T0), (r) => markShifted(r, 10, 1, later)],
    ['markFinalized on a succeeded release', finalized, (r) => markFinalized(r, later)],
    ['markRolledBack on a rolled-back release', () => markRolledBack(beginRollback(shifted(), 'gate failed', T0), T0), (r) => markRolledBack(r, later)],
    ['beginRollback on a release already rolling back', () => beginRollback(shifted(), 'gate failed', T0), (r) => beginRollback(r, 'again', later)],
    ['beginRollback on a finished release', finalized, (r) => beginRollback(r, 'too late', later)],
  ])('%s returns the very same release', (_name, make, again) => {
    const r = make();
    expect(again(r)).toBe(r);
  });

  it('markDeployed records the driver state once and the timeline says so once', () => {
    const r = deployed();
    expect(r.driverState).toEqual({ deploymentId: 'd-1' });
    expect(r.timeline.filter((e) => e.type === 'deployed')).toHaveLength(1);
  });

  it('markRolledBack on a release that was not rolling back begins the rollback with its reason, then ends it', () => {
    const r = markRolledBack(shifted(), later);
    expect(r.phase).toBe(Phase.rolledBack);
    expect(r.weight).toBe(0);
    expect(r.timeline.map((e) => e.type).slice(-2)).toEqual(['rollback_started', 'rolled_back']);
  });

  it('recordApproval applies only to the approval it names', () => {
    let r = decide(
      release(canary, { approvals: { at: ['after-first-step'], timeoutSeconds: 600, onTimeout: 'rollback' }, settings: { gates: [] } }),
      [],
      T0,
    ).release;
    r = markDeployed(r, T0);
    r = markShifted(decide(r, [], T0).release, 10, 1, T0);
    r = decide(r, [], T0 + 301_000).release;
    const pending = r.pendingApproval;
    expect(pending?.reason).toBe('step');
    expect(recordApproval(r, 'an-older-approval', 'approved', later)).toBe(r);
    const approved = recordApproval(r, pending?.id ?? '', 'approved', later, { id: 'bob', channel: 'api' });
    expect(approved.approvals).toEqual([expect.objectContaining({ id: pending?.id, reason: 'step', decision: 'approved' })]);
    expect(recordApproval(approved, pending?.id ?? '', 'rejected', later)).toBe(approved);
  });

  it('property: applying any of the mark transitions twice is the same as once', () => {
    const steps: ((r: Release, now: number) => Release)[] = [
      (r, now) => markDeployed(r, now),
      (r, now) => markShifted(r, r.weight === 100 ? 100 : r.weight + 10, r.stepIndex + 1, now),
      (r, now) => markRolledBack(r, now),
      (r, now) => markFinalized(r, now),
    ];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: steps.length - 1 }), { maxLength: 6 }), fc.integer({ min: 0, max: steps.length - 1 }), (prefix, last) => {
        let r = deploying();
        try {
          for (const i of prefix) r = steps[i]!(r, T0);
          const once = steps[last]!(r, T0);
          if (last === 1) return; // markShifted moves on by design when asked for the next step
          expect(steps[last]!(once, later)).toBe(once);
        } catch (error) {
          // An illegal sequence (say, shifting a finished release) is refused, never half-applied.
          expect((error as Error).name).toBe('IllegalTransitionError');
        }
      }),
    );
  });
});

describe('the service lock is renewed only when its lease needs it', () => {
  const lease = 8 * 24 * 3600;
  it.each([
    ['just created', 0, false],
    ['a day later', 24 * 3600_000, false],
    ['just under half the lease', (lease * 1000) / 2 - 1, false],
    ['half the lease later', (lease * 1000) / 2, true],
  ])('%s: renewal due is %s', (_name, elapsed, due) => {
    expect(leaseRenewalDue(shifted(), T0 + elapsed, lease)).toBe(due);
  });

  it('counts from the last renewal, and never for a finished release', () => {
    const renewed = markLeaseRenewed(shifted(), T0 + (lease * 1000) / 2);
    expect(leaseRenewalDue(renewed, T0 + (lease * 1000) / 2 + 1000, lease)).toBe(false);
    expect(leaseRenewalDue(finalized(), T0 + lease * 1000, lease)).toBe(false);
  });
});

describe('a shift the target carries out on its own timer', () => {
  it('records the live weight, waits SHIFT_POLL_SECONDS, then asks again; reaching it moves the plan on', () => {
    const asked = decide(deployed(), [], T0);
    expect(asked.action).toEqual({ type: 'shift', percent: 10, nextStep: 1 });
    const waiting = markShiftInProgress(asked.release, 10, 1, 0, T0);
    expect(waiting.weight).toBe(0);
    expect(decide(waiting, [], T0).action).toEqual({
      type: 'wait',
      until: new Date(T0 + SHIFT_POLL_SECONDS * 1000).toISOString(),
      seconds: SHIFT_POLL_SECONDS,
    });
    expect(decide(waiting, [], T0 + SHIFT_POLL_SECONDS * 1000).action).toEqual({ type: 'shift', percent: 10, nextStep: 1 });
    const partway = markShiftInProgress(waiting, 10, 1, 5, T0 + 30_000);
    expect(partway.weight).toBe(5);
    expect(partway.timeline.at(-1)?.message).toBe('5% of production traffic on the new version');
    expect(partway.shiftInProgress?.since).toBe(waiting.shiftInProgress?.since);
    const reached = markShifted(partway, 10, 1, T0 + 60_000);
    expect(reached.shiftInProgress).toBeUndefined();
    expect(reached.stepIndex).toBe(1);
  });

  it('the gates are watched while the target moves: a failing gate rolls back mid-shift, missing data does not', () => {
    const waiting = markShiftInProgress(decide(deployed(), [], T0).release, 100, 3, 40, T0);
    expect(gatesToObserve(waiting).map((g) => g.name)).toEqual(['error-rate']);
    const bad = { gate: 'error-rate', kind: 'metric' as const, datapoints: [{ timestamp: new Date(T0).toISOString(), value: 30, samples: 200 }] };
    const failed = decide(waiting, [bad], T0 + 10_000);
    expect(failed.action).toMatchObject({ type: 'rollback' });
    expect(failed.release.reason).toContain('error-rate');
    // No data yet: keep waiting for the shift (the bake that follows will judge), checking again at the gate interval.
    const quiet = decide(waiting, [], T0 + 10_000);
    expect(quiet.action).toEqual({ type: 'wait', until: new Date(T0 + 30_000).toISOString(), seconds: 20 });
  });

  it('a rollback request is not held up by a shift in progress', () => {
    const waiting = markShiftInProgress(decide(deployed(), [], T0).release, 10, 1, 0, T0);
    const asked = requestRollback(waiting, { id: 'bob', channel: 'api' }, T0);
    expect(decide(asked, [], T0).action.type).toBe('rollback');
  });
});

describe('rollback during finalize', () => {
  it('is refused with the reason (never accepted and then ignored), and no Rollback button is offered', () => {
    let r = release(canary, { settings: { gates: [] } });
    for (let i = 0; i < 20 && !(r.phase === 'promoting' && r.plan.steps[r.stepIndex]?.type === 'finalize'); i++) {
      const d = decide(r, [], T0 + i * 3600_000);
      r =
        d.action.type === 'deploy'
          ? markDeployed(d.release, T0)
          : d.action.type === 'shift'
            ? markShifted(d.release, d.action.percent, d.action.nextStep, T0)
            : d.release;
    }
    expect(r.plan.steps[r.stepIndex]?.type).toBe('finalize');
    const check = checkDecision(r, 'rollback', { id: 'bob', channel: 'api' }, T0);
    expect(check).toMatchObject({ ok: false, code: 'conflict' });
    expect(check.ok ? '' : check.message).toContain('is finalizing: the old version is being drained and removed');
    expect(offeredDecisions(r)).not.toContain('rollback');
  });
});

describe('the timeline stays in time order', () => {
  it('property: whatever order writers with skewed clocks apply changes in, event times never go backwards', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -600_000, max: 600_000 }), { minLength: 1, maxLength: 30 }), (offsets) => {
        let r = release(canary);
        for (const offset of offsets) r = requestPromote(r, { id: 'bob', channel: 'api' }, T0 + offset);
        const times = r.timeline.map((e) => Date.parse(e.at));
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }),
    );
  });
});

describe('what a read-back weight means for a shift (recordShift)', () => {
  const asked = () => decide(deployed(), [], T0).release;
  it.each([
    ['an exact driver at the weight', true, 10, 'shifted to 10'],
    ['an exact driver elsewhere', true, 5, 'not taken'],
    ['a driver on its own timer, already past', false, 100, 'shifted to 100'],
    ['a driver on its own timer, on its way', false, 0, 'in progress at 0'],
  ] as const)('%s', (_name, exact, live, outcome) => {
    const r = recordShift(asked(), 10, 1, live, exact, T0);
    const seen = r === undefined ? 'not taken' : r.shiftInProgress ? `in progress at ${r.weight}` : `shifted to ${r.weight}`;
    expect(seen).toBe(outcome);
  });
});

describe('a steer reaches a waiting workflow exactly once, whichever comes first', () => {
  it('a wait registered first: the steer takes its token, and leaves word in case that wait has just ended', () => {
    const held = holdWith(shifted(), 'token-1');
    expect(held.wakeNow).toBe(false);
    const taken = takeWake(requestRollback(held.release, { id: 'bob', channel: 'api' }, later));
    expect(taken.token).toBe('token-1');
    // Word is left too: had that wait just timed out, the next one still ends at once (once).
    expect(taken.release.wake).toEqual({ pending: true });
    expect(holdWith(taken.release, 'token-2').wakeNow).toBe(true);
  });

  it('a steer first: it leaves word, and the next wait ends as soon as it starts (once)', () => {
    const taken = takeWake(requestPromote(shifted(), { id: 'bob', channel: 'api' }, later));
    expect(taken.token).toBeUndefined();
    const held = holdWith(taken.release, 'token-2');
    expect(held.wakeNow).toBe(true);
    expect(held.release.wake).toBeUndefined();
    expect(holdWith(held.release, 'token-3').wakeNow).toBe(false);
  });

  it('a finished release never holds a wait', () => {
    expect(holdWith(finalized(), 'token-4').wakeNow).toBe(true);
  });
});

describe('gate history: what a chart draws', () => {
  it('keeps each gate’s readings in order, the judge as its ratio with its interval, at most GATE_HISTORY_POINTS', () => {
    let r = deployed();
    const reading = (i: number) => [
      {
        gate: 'error-rate',
        verdict: 'pass' as const,
        evidence: { value: i / 10, threshold: 5, samples: 100 },
        summary: '',
        at: new Date(T0 + i * 1000).toISOString(),
      },
      {
        gate: 'judge-errors',
        verdict: 'inconclusive' as const,
        evidence: { ratio: 1.2, interval: [0.8, null] as const },
        summary: '',
        at: new Date(T0 + i * 1000).toISOString(),
      },
      {
        gate: 'api-5xx',
        verdict: 'inconclusive' as const,
        evidence: { alarmState: 'INSUFFICIENT_DATA' as const },
        summary: '',
        at: new Date(T0 + i * 1000).toISOString(),
      },
    ];
    for (let i = 0; i < GATE_HISTORY_POINTS + 5; i++) r = { ...r, ...withGateResults(r, reading(i)) };
    const errors = r.gateHistory?.['error-rate'] ?? [];
    expect(errors).toHaveLength(GATE_HISTORY_POINTS);
    expect(errors[0]).toEqual({ at: new Date(T0 + 5000).toISOString(), value: 0.5, threshold: 5, verdict: 'pass' });
    expect(errors.map((p) => p.at)).toEqual([...errors.map((p) => p.at)].sort());
    expect(r.gateHistory?.['judge-errors']?.at(-1)).toMatchObject({ value: 1.2, lower: 0.8, upper: null });
    // An alarm with no data has no number to draw.
    expect(r.gateHistory?.['api-5xx']).toBeUndefined();
  });
});
