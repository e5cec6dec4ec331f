import { expect, it } from 'vitest';
import { decide, gatesToObserve, type Action } from '/work/main/src/core/decide.js';
import type { Observation } from '/work/main/src/core/gates.js';
import { pauseRefusal, pauseRelease, resumeRelease } from '/work/main/src/core/pause.js';
import type { Release } from '/work/main/src/core/release.js';
import { createRelease, markDeployed, markRolledBack, markShifted } from '/work/main/src/core/transitions.js';
import { ecsHookTimeoutMinutes, resolveConfig } from '/work/main/src/config/config.js';
import { FAKE_ECS_TARGET } from '/work/main/test/support/fake-ecs.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const alice = { id: 'alice', channel: 'api' as const, person: 'alice' };
const bob = { id: 'bob', channel: 'api' as const, person: 'bob' };

function step(r: Release, now: number, value = 0) {
  const observations: Observation[] = gatesToObserve(r, now).map((g) => ({
    gate: g.name, kind: 'metric', datapoints: [{ timestamp: new Date(now - 30_000).toISOString(), value, samples: 100 }],
  }));
  const { action, release } = decide(r, observations, now);
  let next = release;
  if (action.type === 'deploy') next = markDeployed(next, now);
  if (action.type === 'shift') next = markShifted(next, action.percent, action.nextStep, now);
  if (action.type === 'rollback') next = markRolledBack(next, now);
  return { r: next, action, next: action.type === 'wait' ? Date.parse(action.until) : now + 1000 };
}
function runUntil(start: Release, from: number, stop: (r: Release, now: number) => boolean) {
  let r = start; let now = from; const actions: Action[] = [];
  for (let n = 0; n < 50_000 && !stop(r, now); n++) { const s = step(r, now); r = s.r; actions.push(s.action); now = s.next; }
  return { r, now, actions };
}

it('ECS: a pause eats the slack budgeted for the approval that follows the bake; ECS times out while the timeline says awaiting_approval', () => {
  const svc = resolveConfig({
    services: [{
      name: 'api', target: FAKE_ECS_TARGET,
      strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
      approvals: { at: ['after-first-step'], timeout: '1h' },
    }],
  }).services[0]!;
  const hookMinutes = ecsHookTimeoutMinutes(svc.plan, svc.settings);
  let r = createRelease({ id: 'r1', service: 'api', artifact: { image: 'api:2' }, plan: svc.plan, settings: svc.settings, actor: alice }, T0);
  const at10 = runUntil(r, T0, (x) => x.weight === 10 && x.phase === 'baking');
  const shiftedAt = Date.parse(at10.r.timeline.findLast((e) => e.type === 'shifted')!.at);
  // ECS's PAUSE hook after the 10% step started (at the latest) when Switchyard saw the shift:
  const ecsTimesOutAt = shiftedAt + hookMinutes * 60_000;
  const now = at10.now;
  expect(pauseRefusal(at10.r, now)).toBeUndefined();
  const paused = pauseRelease(at10.r, alice, now);
  const until = Date.parse(paused.paused!.until!);
  console.log({ hookMinutes, pauseMinutes: (until - now) / 60_000 });
  // resume a second before the hold limit
  const resumed = resumeRelease(paused, bob, until - 1000);
  const asking = runUntil(resumed, until - 1000, (x) => x.phase === 'awaiting_approval');
  const expires = Date.parse(asking.r.pendingApproval!.expiresAt);
  console.log({ approvalRequestedMin: (asking.now - shiftedAt) / 60_000, approvalExpiresMin: (expires - shiftedAt) / 60_000, ecsTimesOutMin: hookMinutes });
  // What should hold: the release's own clocks end its wait at this traffic step before ECS's hook times out.
  expect(expires).toBeLessThanOrEqual(ecsTimesOutAt);
});
