import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/config.js';
import { decide } from '../../src/core/decide.js';
import type { Release } from '../../src/core/release.js';
import { beginRollback, markDeployed, markShiftInProgress, markWaitingOnTarget, RECOVER_ASKS, recoverWaitSeconds, start } from '../../src/core/transitions.js';
import { AWS_DEFAULT_CLOCKS, TARGET_POLL_SECONDS, targetDeadlines } from '../../src/core/target-waits.js';
import { compilePlan } from '../../src/core/plan.js';
import { canary, release, T0 } from '../support/releases.js';

const S = 1000;
const deploying = (): Release => {
  const r = start(release(canary, { settings: { gates: [], deadlines: { deploy: 600, shift: 900, finalize: 600, rollback: 600 } } }), T0);
  return decide(r, [], T0).release;
};

describe('the deadlines of a release’s waits on its target, from the service’s clocks', () => {
  it('start from AWS’s defaults: a task starts (90 s), passes 5 health checks 30 s apart, the old one drains 300 s', () => {
    const blueGreen = targetDeadlines(AWS_DEFAULT_CLOCKS, compilePlan({ type: 'blue-green', bakeSeconds: 300 }));
    // Room for what the clocks do not count: twice what they and three asks say, at least five minutes more.
    const asks = 3 * TARGET_POLL_SECONDS;
    expect(blueGreen.deploy).toBe(2 * (90 + 150 + asks));
    expect(blueGreen.finalize).toBe(2 * (300 + asks));
    // Rolling 25%: five batches at most (ECS rounds a batch down), each start + health checks + drain, then ECS's alarm bake.
    const rolling = targetDeadlines(AWS_DEFAULT_CLOCKS, compilePlan({ type: 'rolling', batchPercent: 25, batchBakeSeconds: 0, finalBakeSeconds: 0 }));
    expect(rolling.shift).toBe(2 * (5 * (90 + 150 + 300) + 600 + asks));
    expect(targetDeadlines(AWS_DEFAULT_CLOCKS, compilePlan({ type: 'blue-green', bakeSeconds: 300 }), { deploy: 1800 }).deploy).toBe(1800);
  });

  it('a service states its own clocks and deadlines in its target; nonsense is refused with the field and what to write', () => {
    const [svc] = resolveConfig({
      services: [
        {
          name: 'api',
          target: {
            driver: 'ecs',
            cluster: 'c',
            service: 's',
            containerName: 'app',
            clocks: { healthCheckInterval: '10s', healthyThreshold: 2, deregistrationDelay: '30s' },
            deadlines: { finalize: '20m' },
          },
          strategy: { type: 'blue-green' },
        },
      ],
    }).services;
    expect(svc?.settings.deadlines).toMatchObject({ deploy: 90 + 20 + 3 * TARGET_POLL_SECONDS + 300, finalize: 1200 });
    expect(() =>
      resolveConfig({
        services: [
          {
            name: 'api',
            target: { driver: 'ecs', cluster: 'c', service: 's', containerName: 'app', clocks: { healthyThreshold: 20 } },
            strategy: { type: 'blue-green' },
          },
        ],
      }),
    ).toThrow(/services\[0\]\.target\.clocks\.healthyThreshold/);
    // Local targets answer within the call: no deadlines.
    const [local] = resolveConfig({
      services: [{ name: 'web', target: { driver: 'local', command: 'node app.js', port: 3000 }, strategy: { type: 'blue-green' } }],
    }).services;
    expect(local?.settings.deadlines).toBeUndefined();
  });
});

describe('decide while the target is on its way (no task waits: the workflow does)', () => {
  it('asks again after the poll interval, waits until then, and keeps what the driver returned at once', () => {
    const r = markWaitingOnTarget(deploying(), 'deploy', 'SCALE_UP', { serviceDeploymentArn: 'sd1' }, T0 + 5 * S);
    expect(r.driverState).toEqual({ serviceDeploymentArn: 'sd1' });
    expect(decide(r, [], T0 + 6 * S).action).toEqual({
      type: 'wait',
      until: new Date(T0 + (5 + TARGET_POLL_SECONDS) * S).toISOString(),
      seconds: TARGET_POLL_SECONDS - 1,
    });
    expect(decide(r, [], T0 + (5 + TARGET_POLL_SECONDS) * S).action).toEqual({ type: 'deploy' });
    // The timeline says what the target does each time that changes, never more.
    const again = markWaitingOnTarget(r, 'deploy', 'SCALE_UP', undefined, T0 + 30 * S);
    expect(again.timeline.filter((e) => e.type === 'waiting')).toHaveLength(1);
    expect(markWaitingOnTarget(again, 'deploy', 'TEST_TRAFFIC_SHIFT', undefined, T0 + 45 * S).timeline.filter((e) => e.type === 'waiting')).toHaveLength(2);
  });

  it('a new version never ready by the deploy deadline fails the release with what the target last showed', () => {
    const r = markWaitingOnTarget(deploying(), 'deploy', 'ECS service deployment sd1 is IN_PROGRESS (SCALE_UP)', undefined, T0);
    const late = decide(markWaitingOnTarget(r, 'deploy', 'ECS service deployment sd1 is IN_PROGRESS (SCALE_UP)', undefined, T0 + 590 * S), [], T0 + 600 * S);
    expect(late.action.type).toBe('rollback');
    expect(late.release.endAs).toBe('failed');
    expect(late.release.reason).toContain('did not finish the deploy within 600s (last seen: ECS service deployment sd1 is IN_PROGRESS (SCALE_UP))');
  });

  it('a shift that makes no progress (ECS rounding a batch to no task) rolls back at its deadline instead of holding the service for ever', () => {
    const deployed = markDeployed(deploying(), T0 + 60 * S);
    const stuck = markShiftInProgress(deployed, 10, 2, 0, T0 + 60 * S);
    expect(decide(stuck, [], T0 + 600 * S).action.type).not.toBe('rollback');
    const late = decide(markShiftInProgress(stuck, 10, 2, 0, T0 + 950 * S), [], T0 + 961 * S);
    expect(late.action.type).toBe('rollback');
    expect(late.release.reason).toContain('did not finish the shift within 900s');
  });

  it('a rollback the target never confirms ends the release failed at its deadline, saying so (never rolled back)', () => {
    const rolling = beginRollback(markDeployed(deploying(), T0), 'gate failed', T0);
    const waiting = markWaitingOnTarget(rolling, 'rollback', 'ROLLBACK_IN_PROGRESS', undefined, T0);
    expect(decide(waiting, [], T0 + 30 * S).action.type).toBe('rollback');
    const late = decide(waiting, [], T0 + 600 * S);
    expect(late.action).toEqual({ type: 'done', phase: 'failed' });
    expect(late.release.timeline.map((e) => e.type)).not.toContain('rolled_back');
    expect(late.release.reason).toContain('did not finish the rollback within 600s');
  });
});

describe('the deadline runs from the target’s latest accepted request', () => {
  it('a new request (new driver state) restarts it; reads and refusals never do, so a target that never accepts one still ends', () => {
    const first = markWaitingOnTarget(deploying(), 'deploy', 'could not be read', undefined, T0);
    const stillRefused = markWaitingOnTarget(first, 'deploy', 'could not be read', undefined, T0 + 500 * S);
    expect(stillRefused.targetWait?.deadline).toBe(first.targetWait?.deadline);
    const started = markWaitingOnTarget(stillRefused, 'deploy', 'sd1 started', { serviceDeploymentArn: 'sd1' }, T0 + 550 * S);
    expect(started.targetWait?.deadline).toBe(new Date(T0 + (550 + 600) * S).toISOString());
    // The same state again is a read, not a request.
    const read = markWaitingOnTarget(started, 'deploy', 'SCALE_UP', { serviceDeploymentArn: 'sd1' }, T0 + 700 * S);
    expect(read.targetWait?.deadline).toBe(started.targetWait?.deadline);
  });
});

describe('Recover’s own wait loop', () => {
  it('asks every poll interval, spread so a rollback deadline of any length holds at most RECOVER_ASKS asks', () => {
    const short = markWaitingOnTarget(beginRollback(markDeployed(deploying(), T0), 'x', T0), 'rollback', 'ROLLBACK_IN_PROGRESS', undefined, T0);
    expect(recoverWaitSeconds(short, T0)).toBe(TARGET_POLL_SECONDS);
    const week = { ...short, settings: { ...short.settings, deadlines: { deploy: 600, shift: 900, finalize: 600, rollback: 7 * 24 * 3600 } } };
    expect(recoverWaitSeconds(week, T0)).toBe(Math.ceil((7 * 24 * 3600) / RECOVER_ASKS));
    // A driver's "ask again at once" never bypasses the spread.
    expect(recoverWaitSeconds({ ...week, targetWait: { ...week.targetWait!, askAgainSeconds: 1 } }, T0)).toBe(Math.ceil((7 * 24 * 3600) / RECOVER_ASKS));
  });
});
