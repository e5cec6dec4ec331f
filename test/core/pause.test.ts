import { describe, expect, it } from 'vitest';
import { checkDecision, offeredDecisions } from '../../src/core/approvals.js';
import { CODEDEPLOY_CAPABILITIES, ECS_CAPABILITIES, ECS_ROLLING_CAPABILITIES, LOCAL_CAPABILITIES } from '../../src/core/capabilities.js';
import { decide, gatesToObserve, type Action } from '../../src/core/decide.js';
import type { Observation } from '../../src/core/gates.js';
import { MIN_PAUSE_SECONDS, pauseRefusal, pauseRelease, resumeRelease } from '../../src/core/pause.js';
import type { Release } from '../../src/core/release.js';
import { createRelease, markDeployed, markRolledBack, markShifted, requestPromote, requestRollback } from '../../src/core/transitions.js';
import { ecsHookTimeoutMinutes, holdSupport, resolveConfig } from '../../src/config/config.js';
import { FAKE_ECS_TARGET } from '../support/fake-ecs.js';
import { toReleaseView } from '../../src/contract/release-view.js';
import { releaseMessage } from '../../src/adapters/slack/message.js';
import { T0, canary, release } from '../support/releases.js';

/**
 * Pause and resume on virtual time: a person holds a release at its bake, nothing moves however long,
 * the gates are still watched, and resume continues with the bake time that was left.
 */

const alice = { id: 'alice', channel: 'api' as const, person: 'alice' };
const bob = { id: 'bob', channel: 'api' as const, person: 'bob' };
const DAY = 86_400_000;

/** One decide -> act step of the workflow, with the gate reading `value` (error rate %). */
function step(r: Release, now: number, value = 0): { r: Release; action: Action; next: number } {
  const observations: Observation[] = gatesToObserve(r, now).map((g) => ({
    gate: g.name,
    kind: 'metric',
    datapoints: [{ timestamp: new Date(now - 30_000).toISOString(), value, samples: 100 }],
  }));
  const { action, release } = decide(r, observations, now);
  let next = release;
  if (action.type === 'deploy') next = markDeployed(next, now);
  if (action.type === 'shift') next = markShifted(next, action.percent, action.nextStep, now);
  if (action.type === 'rollback') next = markRolledBack(next, now);
  return { r: next, action, next: action.type === 'wait' ? Date.parse(action.until) : now + 1000 };
}

/** Runs the loop from `now` until `until` (virtual ms) or the predicate holds; returns the release, the time and the actions. */
function runUntil(start: Release, from: number, stop: (r: Release, now: number) => boolean, value = 0) {
  let r = start;
  let now = from;
  const actions: Action[] = [];
  for (let n = 0; n < 50_000 && !stop(r, now); n++) {
    const s = step(r, now, value);
    r = s.r;
    actions.push(s.action);
    now = s.next;
  }
  return { r, now, actions };
}

const holds = { hold: { can: true } as const };
/** A canary at 10%, 120 s into its 300 s bake, on a driver that holds indefinitely. */
function bakingAt10(settings: Parameters<typeof release>[1] = { settings: holds }) {
  const begun = runUntil(release(canary, settings), T0, (r) => r.weight === 10 && r.phase === 'baking');
  // Paused 120 s into the bake: nothing but waits happens before then, so the release is as it was.
  return { r: begun.r, now: Date.parse(begun.r.stepStartedAt ?? '') + 120_000 };
}

describe('pause: the release holds at its bake', () => {
  it('paused for 7 (virtual) days nothing moves; resume continues with the 180 s of bake that were left', () => {
    const { r: baking, now } = bakingAt10();
    const paused = pauseRelease(baking, alice, now, 'checking a customer report');
    expect(paused.paused).toMatchObject({ by: alice, comment: 'checking a customer report' });
    expect(paused.timeline.at(-1)).toMatchObject({ type: 'paused', actor: alice, comment: 'checking a customer report' });
    expect(paused.timeline.at(-1)?.message).toMatch(/^paused by alice: held at this step with 180s of the bake left/);

    const held = runUntil(paused, now, (_r, t) => t >= now + 7 * DAY);
    expect(held.actions.every((a) => a.type === 'wait')).toBe(true);
    expect(held.r).toMatchObject({ phase: 'baking', weight: 10, stepIndex: baking.stepIndex });
    // Gates are checked at their interval the whole time, never faster.
    expect(held.actions.length).toBeGreaterThanOrEqual((7 * DAY) / 30_000 - 1);
    expect(toReleaseView(held.r, { now: held.now }).paused?.bakeLeftSeconds).toBe(180);

    const resumed = resumeRelease(held.r, bob, held.now, 'all clear');
    expect(resumed.paused).toBeUndefined();
    expect(resumed.timeline.at(-1)).toMatchObject({ type: 'resumed', actor: bob, comment: 'all clear' });
    const moved = runUntil(resumed, held.now, (r) => r.weight === 100);
    // The next shift comes when the 180 s left have passed, not at once and not after a whole new bake.
    const shiftedAt = Date.parse(moved.r.timeline.findLast((e) => e.weight === 100)?.at ?? '');
    expect(shiftedAt - held.now).toBe(180_000);
  });

  it('a gate that trips while paused still rolls back (safety first)', () => {
    const { r: baking, now } = bakingAt10();
    const paused = pauseRelease(baking, alice, now);
    const tripped = runUntil(paused, now, (r) => r.phase === 'rolled_back', 40);
    expect(tripped.r.weight).toBe(0);
    expect(tripped.r.reason).toMatch(/^gate failed: error-rate/);
    expect(tripped.r.paused).toBeUndefined();
    expect(tripped.now - now).toBeLessThanOrEqual(30_000);
  });

  it('a paused release without gates waits long between looks, and a rollback request still wins', () => {
    const { r: baking, now } = bakingAt10({ settings: { ...holds, gates: [] } });
    const paused = pauseRelease(baking, alice, now);
    const first = step(paused, now);
    expect(first.action).toMatchObject({ type: 'wait', seconds: 3600 });
    const rolled = runUntil(requestRollback(first.r, bob, now + 1000), now + 1000, (r) => r.phase === 'rolled_back');
    expect(rolled.r.timeline.some((e) => e.type === 'rollback_started')).toBe(true);
  });

  it("a driver's hold limit (ECS's PAUSE hook) ends the pause with a rollback, never by the target's own timeout", () => {
    const limited = { hold: { can: true as const, limitSeconds: 900, limitWhy: 'ECS rolls back when the hook times out' } };
    const { r: baking, now } = bakingAt10({ settings: limited });
    const paused = pauseRelease(baking, alice, now);
    // Shifted to 10% 120 s ago; 180 s of bake still to come and 60 s of extension it may take: 900 - 120 - 180 - 60 = 540 s of pause.
    expect(Date.parse(paused.paused?.until ?? '') - now).toBe(540_000);
    expect(paused.timeline.at(-1)?.message).toContain('the target holds at most until');
    expect(toReleaseView(paused, { now }).countdown).toMatchObject({ kind: 'hold', remainingSeconds: 540 });
    const ended = runUntil(paused, now, (r) => r.phase === 'rolled_back');
    expect(Date.parse(ended.r.finishedAt ?? '') - now).toBe(540_000);
    expect(ended.r.reason).toMatch(/paused past the target's hold limit .*ECS rolls back when the hook times out/);
  });

  it('promote ends a pause: it skips the remaining steps, the hold included', () => {
    const { r: baking, now } = bakingAt10();
    const paused = pauseRelease(baking, alice, now);
    expect(checkDecision(paused, 'promote', bob, now)).toEqual({ ok: true });
  });
});

describe('pause: refused with the reason where there is nothing to hold', () => {
  it('offers pause while baking and resume while paused, never both', () => {
    const { r: baking, now } = bakingAt10();
    expect(offeredDecisions(baking, now)).toContain('pause');
    expect(offeredDecisions(baking, now)).not.toContain('resume');
    const paused = pauseRelease(baking, alice, now);
    expect(offeredDecisions(paused, now)).toEqual(expect.arrayContaining(['resume', 'rollback']));
    expect(offeredDecisions(paused, now)).not.toContain('pause');
    expect(checkDecision(paused, 'pause', bob, now)).toMatchObject({
      ok: false,
      code: 'conflict',
      message: expect.stringContaining('already paused by alice'),
    });
    expect(pauseRelease(paused, bob, now + 1)).toBe(paused);
  });

  it.each([
    ['preparing', (r: Release) => r],
    ['deploying', (r: Release) => decide(r, [], T0).release],
  ])('a %s release has nothing to hold', (_phase, at) => {
    const r = at(release(canary, { settings: holds }));
    expect(pauseRefusal(r, T0)).toMatch(/it has nothing to hold while it is queued, deploying, shifting or finalizing/);
  });

  it('a release awaiting approval is already held by the approval', () => {
    const approvals = { at: ['before-traffic'] as const, timeoutSeconds: 600, onTimeout: 'rollback' as const };
    const r = runUntil(release(canary, { approvals, settings: holds }), T0, (x) => x.phase === 'awaiting_approval').r;
    expect(checkDecision(r, 'pause', alice, T0)).toMatchObject({ ok: false, code: 'conflict', message: expect.stringContaining('already waits for a person') });
  });

  it('resume of a release that is not paused is refused', () => {
    const { r: baking, now } = bakingAt10();
    expect(checkDecision(baking, 'resume', alice, now)).toMatchObject({ ok: false, code: 'conflict', message: expect.stringContaining('not paused') });
  });

  it.each([
    ['codedeploy', CODEDEPLOY_CAPABILITIES, /CodeDeploy moves through its traffic steps on its own timer/],
    ['ecs rolling', ECS_ROLLING_CAPABILITIES, /ECS replaces the tasks of a rolling update on its own/],
  ])('the %s driver cannot hold: refused with why and what to do instead', (_name, caps, why) => {
    const base = release(canary);
    const hold = holdSupport(caps, base.plan, base.settings);
    expect(hold).toMatchObject({ can: false });
    const { r: baking, now } = bakingAt10({ settings: { hold } });
    expect(offeredDecisions(baking, now)).not.toContain('pause');
    const check = checkDecision(baking, 'pause', alice, now);
    expect(check).toMatchObject({ ok: false, code: 'conflict' });
    expect(!check.ok && check.message).toMatch(why);
  });

  it('local holds indefinitely; ecs holds up to its PAUSE hook timeout, less the margin', () => {
    const base = release(canary);
    expect(holdSupport(LOCAL_CAPABILITIES, base.plan, base.settings)).toEqual({ can: true });
    // canary 10% bake 300 s + 60 s extension: the hook times out after 6 + 15 minutes; pause may use 6 of them.
    expect(holdSupport(ECS_CAPABILITIES, base.plan, base.settings)).toMatchObject({ can: true, limitSeconds: 360 });
  });

  it('a release stored before pause existed says so', () => {
    const { r: baking, now } = bakingAt10({ settings: {} });
    expect(pauseRefusal(baking, now)).toMatch(/created before pause existed/);
  });
});

describe('pause: what a hold does not do', () => {
  it('resume is refused once a rollback or a promote was requested, with the reason', () => {
    const { r: baking, now } = bakingAt10();
    const paused = pauseRelease(baking, alice, now);
    for (const [request, word] of [
      [requestRollback, 'rollback'],
      [requestPromote, 'promote'],
    ] as const) {
      const requested = request(paused, bob, now + 1000);
      expect(checkDecision(requested, 'resume', bob, now + 2000)).toMatchObject({
        ok: false,
        message: expect.stringContaining(`${word} was already requested, so there is nothing to resume`),
      });
      expect(offeredDecisions(requested, now + 2000)).not.toContain('resume');
    }
  });

  it('a before-traffic webhook is not called while the check before traffic is paused; it runs once after resume', () => {
    const svc = resolveConfig({
      services: [
        {
          name: 'api',
          target: { driver: 'local', command: 'true', port: 9000 },
          strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
          gates: { webhooks: [{ name: 'load-test', url: 'https://ci.example.com/load', secretEnv: 'S', when: 'before-traffic' }] },
        },
      ],
    }).services[0]!;
    const r0 = createRelease({ id: 'r1', service: 'api', artifact: { image: 'api:2' }, plan: svc.plan, settings: svc.settings, actor: alice }, T0);
    const at0 = runUntil(r0, T0, (x) => x.phase === 'baking');
    expect(at0.r.weight).toBe(0);
    const webhookRuns = (from: Release, start: number, end: number) => {
      let calls = 0;
      let r = from;
      let now = start;
      while (now < end && r.weight === 0 && r.phase !== 'rolled_back') {
        const gates = gatesToObserve(r, now);
        calls += gates.filter((g) => g.name === 'load-test').length;
        const observations = gates.map((g) => ({ gate: g.name, kind: 'webhook', verdict: 'pass', status: 200, durationMs: 5 }) as unknown as Observation);
        const d = decide(r, observations, now);
        r = d.action.type === 'shift' ? markShifted(d.release, d.action.percent, d.action.nextStep, now) : d.release;
        now = d.action.type === 'wait' ? Date.parse(d.action.until) : now + 1000;
      }
      return { calls, r, now };
    };
    const held = webhookRuns(pauseRelease(at0.r, alice, at0.now), at0.now, at0.now + 3_600_000);
    expect(held.calls).toBe(0);
    expect(held.r).toMatchObject({ phase: 'baking', weight: 0 });
    const after = webhookRuns(resumeRelease(held.r, bob, held.now), held.now, held.now + 3_600_000);
    expect(after.calls).toBe(1);
    expect(after.r.weight).toBe(10);
  });
});

describe('approvals.maxPause: room for a pause on ECS', () => {
  const ecs = (
    approvals: Record<string, unknown>,
    strategy: Record<string, unknown> = { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
  ) => resolveConfig({ services: [{ name: 'api', target: FAKE_ECS_TARGET, strategy, approvals }] }).services[0]!;

  const ecsRelease = (svc: ReturnType<typeof ecs>) =>
    createRelease({ id: 'r1', service: 'api', artifact: { image: 'api:2' }, plan: svc.plan, settings: svc.settings, actor: alice }, T0);

  it('is added to the PAUSE hooks’ timeout, and a pause may use it', () => {
    const plain = ecs({});
    const roomy = ecs({ maxPause: '4h' });
    expect(ecsHookTimeoutMinutes(roomy.plan, roomy.settings) - ecsHookTimeoutMinutes(plain.plan, plain.settings)).toBe(240);
    expect(roomy.settings.hold).toMatchObject({ can: true, limitSeconds: (plain.settings.hold as { limitSeconds: number }).limitSeconds + 4 * 3600 });
  });

  it('is refused where the driver cannot hold, and beyond the 14 days ECS allows at one hook', () => {
    expect(() => ecs({ maxPause: '1h' }, { type: 'rolling', batch: 50 })).toThrow(/approvals\.maxPause.*cannot be paused; leave maxPause out/s);
    expect(() => ecs({ maxPause: '14d' })).toThrow(/ECS holds a deployment at one pause hook for at most 20160 minutes/);
  });

  it('a pause leaves the hook the time the rest of the step holds: an approval after the bake expires before ECS would roll back', () => {
    const svc = ecs({ at: ['after-first-step'], timeout: '1h', maxPause: '1h' });
    const hookMinutes = ecsHookTimeoutMinutes(svc.plan, svc.settings);
    const r0 = ecsRelease(svc);
    const at10 = runUntil(r0, T0, (r) => r.weight === 10 && r.phase === 'baking');
    const shiftedAt = Date.parse(at10.r.timeline.findLast((e) => e.type === 'shifted')?.at ?? '');
    const paused = pauseRelease(at10.r, alice, at10.now);
    const until = Date.parse(paused.paused?.until ?? '');
    // Resumed a second before the limit: the bake runs out, then the approval waits its whole hour.
    const asking = runUntil(resumeRelease(paused, bob, until - 1000), until - 1000, (r) => r.phase === 'awaiting_approval');
    const expires = Date.parse(asking.r.pendingApproval?.expiresAt ?? '');
    // ECS's hook (started at the shift at the latest) times out hookMinutes later: the approval's own clock decides first.
    expect(expires).toBeLessThanOrEqual(shiftedAt + (hookMinutes - 15) * 60_000);
    // The pause had the hour of maxPause, no more: the approval's hour is not its to take.
    expect(until - at10.now).toBe(3600_000);
  });

  it(`a pause with less than ${MIN_PAUSE_SECONDS / 60} minutes of room is refused, with how to make room; one that fits says when it ends`, () => {
    const tight = ecs({});
    const at10 = runUntil(ecsRelease(tight), T0, (r) => r.weight === 10 && r.phase === 'baking');
    const now = at10.now + 30_000;
    expect(pauseRefusal(at10.r, now)).toMatch(
      /cannot be paused: .*at least 5 minutes are needed, or the pause would end in a rollback.*Set approvals\.maxPause/,
    );
    expect(checkDecision(at10.r, 'pause', alice, now).ok).toBe(false);
    expect(offeredDecisions(at10.r, now)).not.toContain('pause');

    const roomy = ecs({ maxPause: '1h' });
    const r = runUntil(ecsRelease(roomy), T0, (x) => x.weight === 10 && x.phase === 'baking');
    expect(pauseRefusal(r.r, r.now + 30_000)).toBeUndefined();
    const paused = pauseRelease(r.r, alice, r.now + 30_000);
    // The view, Slack's confirm and the dashboard say how long a pause may last before it rolls back.
    const offered = { ...r.r, updatedAt: new Date(r.now + 30_000).toISOString() };
    expect(toReleaseView(offered, { now: r.now + 30_000, viewer: 'everyone' }).pauseUntil).toBe(paused.paused?.until);
    const confirm = JSON.stringify(releaseMessage(offered, 'prod').blocks);
    expect(confirm).toMatch(
      /at 10% for at most 59m 30s \(until 01:05 UTC\)\? The target holds this step no longer: unless someone resumes it by then, the release rolls back/,
    );
    expect(toReleaseView(bakingAt10().r, { now: bakingAt10().now, viewer: 'everyone' }).pauseUntil).toBeUndefined();
    // maxPause's hour, less the 30 s the step has already held.
    expect(Date.parse(paused.paused?.until ?? '') - (r.now + 30_000)).toBe(3570_000);
  });
});
