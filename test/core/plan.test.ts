import { describe, expect, it } from 'vitest';
import { expeditePlan, longestHoldSeconds, compilePlan, PlanError, shiftShape, type Step, type StrategySpec } from '../../src/core/plan.js';

const w = (percent: number): Step => ({ type: 'setWeight', percent });
const bake = (seconds: number): Step => ({ type: 'bake', seconds });
const fin: Step = { type: 'finalize' };
const appr = (label: string): Step => ({ type: 'approval', timeoutSeconds: 600, onTimeout: 'rollback', label });

describe('compilePlan', () => {
  it.each<[string, StrategySpec, Step[]]>([
    ['blue-green', { type: 'blue-green', bakeSeconds: 300 }, [w(100), bake(300), fin]],
    ['blue-green without bake', { type: 'blue-green', bakeSeconds: 0 }, [w(100), fin]],
    ['canary, one step', { type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 300 }, [w(10), bake(300), w(100), bake(300), fin]],
    ['canary, 1% step', { type: 'canary', steps: [{ percent: 1, bakeSeconds: 1 }], finalBakeSeconds: 0 }, [w(1), bake(1), w(100), fin]],
    [
      'canary, three steps',
      {
        type: 'canary',
        steps: [
          { percent: 5, bakeSeconds: 60 },
          { percent: 25, bakeSeconds: 60 },
          { percent: 50, bakeSeconds: 0 },
        ],
        finalBakeSeconds: 60,
      },
      [w(5), bake(60), w(25), bake(60), w(50), w(100), bake(60), fin],
    ],
    [
      'linear 25%',
      { type: 'linear', stepPercent: 25, intervalSeconds: 60, finalBakeSeconds: 120 },
      [w(25), bake(60), w(50), bake(60), w(75), bake(60), w(100), bake(120), fin],
    ],
    [
      'linear 30% stops below 100',
      { type: 'linear', stepPercent: 30, intervalSeconds: 60, finalBakeSeconds: 0 },
      [w(30), bake(60), w(60), bake(60), w(90), bake(60), w(100), fin],
    ],
    ['steps without finalize gets one', { type: 'steps', steps: [w(0), w(100)] }, [w(0), w(100), fin]],
    ['steps: one step to 100', { type: 'steps', steps: [w(100), fin] }, [w(100), fin]],
    ['steps: 24h bake is the limit', { type: 'steps', steps: [w(50), bake(86400), w(100)] }, [w(50), bake(86400), w(100), fin]],
  ])('%s', (_name, strategy, steps) => {
    expect(compilePlan(strategy).steps).toEqual(steps);
  });

  it('linear with 1% steps has 99 traffic steps before 100%', () => {
    const plan = compilePlan({ type: 'linear', stepPercent: 1, intervalSeconds: 1, finalBakeSeconds: 0 });
    const weights = plan.steps.flatMap((s) => (s.type === 'setWeight' ? [s.percent] : []));
    expect(weights).toHaveLength(100);
    expect(weights[0]).toBe(1);
    expect(weights.at(-1)).toBe(100);
  });

  it('places approvals where the policy says', () => {
    const plan = compilePlan(
      {
        type: 'canary',
        steps: [
          { percent: 10, bakeSeconds: 60 },
          { percent: 50, bakeSeconds: 60 },
        ],
        finalBakeSeconds: 60,
      },
      { at: ['before-traffic', 'after-first-step', 'before-finalize'], timeoutSeconds: 600, onTimeout: 'rollback' },
    );
    expect(plan.steps).toEqual([
      appr('before-traffic'),
      w(10),
      bake(60),
      appr('after-first-step'),
      w(50),
      bake(60),
      w(100),
      bake(60),
      appr('before-finalize'),
      fin,
    ]);
  });

  it.each<[string, StrategySpec, string]>([
    ['a decreasing step', { type: 'steps', steps: [w(50), w(20), w(100)] }, 'steps[1].percent: is 20, below the 50% set before'],
    ['over 100%', { type: 'steps', steps: [w(150), w(100)] }, 'steps[0].percent: must be a percentage from 0 to 100, got 150'],
    ['never 100%', { type: 'steps', steps: [w(50), fin] }, 'steps[1]: finalize needs 100% on the new version first'],
    ['finalize in the middle', { type: 'steps', steps: [w(100), fin, bake(5)] }, 'steps[1]: finalize removes the old version and must be the last step'],
    ['a bake over a day', { type: 'steps', steps: [w(10), bake(86401), w(100)] }, 'steps[1].duration: must be between 1s and 86400s, got 86401s'],
    ['a zero bake', { type: 'steps', steps: [w(10), bake(0), w(100)] }, 'steps[1].duration: must be between 1s and 86400s, got 0s'],
    [
      'a bake of a fraction of a second more than whole seconds (it would be waited as a rounded number)',
      { type: 'steps', steps: [w(10), bake(1.5), w(100)] },
      'steps[1].duration: must be a whole number of seconds, got 1.5s, which would be waited as 2s; use 1s or 2s',
    ],
    [
      'an approval timeout in fractions of a second',
      { type: 'steps', steps: [{ type: 'approval', timeoutSeconds: 600.25, onTimeout: 'rollback', label: 'ship?' }, w(100)] },
      'steps[0].timeout: must be a whole number of seconds, got 600.25s',
    ],
    [
      'a linear interval in fractions of a second',
      { type: 'linear', stepPercent: 50, intervalSeconds: 30.5, finalBakeSeconds: 0 },
      'interval: must be a whole number of seconds, got 30.5s',
    ],
    [
      'a canary at 100%',
      { type: 'canary', steps: [{ percent: 100, bakeSeconds: 60 }], finalBakeSeconds: 0 },
      'steps[0].percent: a canary step must be above 0 and below 100, got 100',
    ],
    [
      'a canary at 0%',
      { type: 'canary', steps: [{ percent: 0, bakeSeconds: 60 }], finalBakeSeconds: 0 },
      'steps[0].percent: a canary step must be above 0 and below 100, got 0',
    ],
    [
      'canary steps not growing',
      {
        type: 'canary',
        steps: [
          { percent: 20, bakeSeconds: 60 },
          { percent: 10, bakeSeconds: 60 },
        ],
        finalBakeSeconds: 0,
      },
      'steps[1].percent: must be greater than the step before (20), got 10',
    ],
    ['linear 0%', { type: 'linear', stepPercent: 0, intervalSeconds: 60, finalBakeSeconds: 0 }, 'stepPercent: must be a percent above 0 and below 100, got 0'],
    [
      'linear 100%',
      { type: 'linear', stepPercent: 100, intervalSeconds: 60, finalBakeSeconds: 0 },
      'stepPercent: must be a percent above 0 and below 100, got 100',
    ],
  ])('refuses %s', (_name, strategy, message) => {
    expect(() => compilePlan(strategy)).toThrow(PlanError);
    expect(() => compilePlan(strategy)).toThrow(message);
  });
});

describe('shiftShape', () => {
  it.each<[string, StrategySpec, ReturnType<typeof shiftShape>['kind']]>([
    ['blue-green', { type: 'blue-green', bakeSeconds: 60 }, 'all-at-once'],
    ['canary', { type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 60 }, 'canary'],
    ['linear', { type: 'linear', stepPercent: 10, intervalSeconds: 60, finalBakeSeconds: 60 }, 'linear'],
    [
      'two canary steps',
      {
        type: 'canary',
        steps: [
          { percent: 10, bakeSeconds: 60 },
          { percent: 50, bakeSeconds: 60 },
        ],
        finalBakeSeconds: 60,
      },
      'custom',
    ],
  ])('%s -> %s', (_name, strategy, kind) => {
    expect(shiftShape(compilePlan(strategy)).kind).toBe(kind);
  });

  it('reads the canary percent and interval', () => {
    expect(shiftShape(compilePlan({ type: 'canary', steps: [{ percent: 15, bakeSeconds: 600 }], finalBakeSeconds: 60 }))).toEqual({
      kind: 'canary',
      percent: 15,
      intervalSeconds: 600,
    });
  });
});

describe('expedited plans (hotfixes)', () => {
  const plan = compilePlan(
    { type: 'canary', steps: [{ percent: 10, bakeSeconds: 600 }], finalBakeSeconds: 20 },
    { at: ['before-finalize'], timeoutSeconds: 3600, onTimeout: 'rollback' },
  );

  it('skip approvals and cut each bake to one gate check, rounded up to what the driver can wait', () => {
    const local = expeditePlan(plan, 45);
    expect(local.steps.some((s) => s.type === 'approval')).toBe(false);
    expect(local.steps.filter((s) => s.type === 'bake').map((s) => (s.type === 'bake' ? s.seconds : 0))).toEqual([45, 20]);
    const codedeploy = expeditePlan(plan, 45, 60);
    expect(codedeploy.steps.filter((s) => s.type === 'bake').map((s) => (s.type === 'bake' ? s.seconds : 0))).toEqual([60, 20]);
  });
});

describe('rolling plans and holds', () => {
  it('rolling compiles to batches of the replicas, each watched, then 100% and the final bake', () => {
    const plan = compilePlan({ type: 'rolling', batchPercent: 40, batchBakeSeconds: 30, finalBakeSeconds: 60 });
    expect(plan.steps).toEqual([
      { type: 'setWeight', percent: 40 },
      { type: 'bake', seconds: 30 },
      { type: 'setWeight', percent: 80 },
      { type: 'bake', seconds: 30 },
      { type: 'setWeight', percent: 100 },
      { type: 'bake', seconds: 60 },
      { type: 'finalize' },
    ]);
    expect(() => compilePlan({ type: 'rolling', batchPercent: 0, batchBakeSeconds: 0, finalBakeSeconds: 0 })).toThrow(
      'batch: must be a whole percent of the replicas from 1 to 100',
    );
  });

  it('linear steps of 0.1% multiples do not drift', () => {
    const plan = compilePlan({ type: 'linear', stepPercent: 33.3, intervalSeconds: 60, finalBakeSeconds: 0 });
    expect(plan.steps.filter((s) => s.type === 'setWeight').map((s) => (s.type === 'setWeight' ? s.percent : 0))).toEqual([33.3, 66.6, 99.9, 100]);
  });

  it('longestHoldSeconds: the longest wait between two traffic moves, extensions, approvals and inconclusive pauses included', () => {
    const plan = compilePlan(
      { type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 600 },
      { at: ['after-first-step'], timeoutSeconds: 3600, onTimeout: 'rollback' },
    );
    // After 10%: bake 300 + extension 120 + approval 3600; after 100%: bake 600 + extension 120.
    expect(longestHoldSeconds(plan, 120)).toBe(300 + 120 + 3600);
    expect(longestHoldSeconds(plan, 120, 7200)).toBe(300 + 120 + 7200 + 3600);
    expect(longestHoldSeconds(compilePlan({ type: 'blue-green', bakeSeconds: 900 }), 0)).toBe(900);
  });
});
