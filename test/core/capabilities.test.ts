import { describe, expect, it } from 'vitest';
import { CODEDEPLOY_CAPABILITIES, LOCAL_CAPABILITIES, capabilitiesFor, landsExactly, validatePlan } from '../../src/core/capabilities.js';
import { compilePlan, type ApprovalPolicy, type StrategySpec } from '../../src/core/plan.js';

const approvals = (at: ApprovalPolicy['at']): ApprovalPolicy => ({ at, timeoutSeconds: 600, onTimeout: 'rollback' });

describe('validatePlan against CodeDeploy', () => {
  it.each<[string, StrategySpec, ApprovalPolicy | undefined]>([
    ['blue-green with both approvals', { type: 'blue-green', bakeSeconds: 300 }, approvals(['before-traffic', 'before-finalize'])],
    ['canary 10% for 5m', { type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 300 }, undefined],
    ['linear 10% every minute', { type: 'linear', stepPercent: 10, intervalSeconds: 60, finalBakeSeconds: 0 }, undefined],
  ])('accepts %s', (_name, strategy, policy) => {
    expect(validatePlan(compilePlan(strategy, policy), CODEDEPLOY_CAPABILITIES)).toEqual([]);
  });

  it('refuses an approval between its own linear steps, saying what to use instead', () => {
    const plan = compilePlan({ type: 'linear', stepPercent: 10, intervalSeconds: 60, finalBakeSeconds: 0 }, approvals(['after-first-step']));
    const issues = validatePlan(plan, CODEDEPLOY_CAPABILITIES);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/cannot pause between its own steps/);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/approvals.at: \["before-traffic"\] or \["before-finalize"\]/);
  });

  it('refuses a bake that is not whole minutes', () => {
    const issues = validatePlan(compilePlan({ type: 'canary', steps: [{ percent: 10, bakeSeconds: 90 }], finalBakeSeconds: 0 }), CODEDEPLOY_CAPABILITIES);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toContain('whole multiples of 60s');
    expect(issues[0]?.message).toContain('plan waits 90s');
    expect(issues[0]?.message).toContain('which it would make 120s; write "1m" or "2m"');
    expect(issues[0]?.subject).toBe('interval');
  });

  it('refuses a wait between traffic steps that CodeDeploy would round to nothing, saying what to write', () => {
    const linear = (intervalSeconds: number) => compilePlan({ type: 'linear', stepPercent: 50, intervalSeconds, finalBakeSeconds: 0 });
    expect(validatePlan(linear(20), CODEDEPLOY_CAPABILITIES).map((i) => i.message)).toEqual([
      'the codedeploy driver waits in whole multiples of 60s between traffic steps, but the plan waits 20s, which it would make 0s (no wait at all); write "1m"',
    ]);
    const canary = compilePlan({ type: 'canary', steps: [{ percent: 10, bakeSeconds: 0 }], finalBakeSeconds: 0 });
    expect(validatePlan(canary, CODEDEPLOY_CAPABILITIES).map((i) => i.message)).toEqual([
      'the codedeploy driver needs a bake of at least 60s after each traffic step, but the plan waits 0s; write "1m" or more',
    ]);
    // The same waits are exact on a driver that counts in seconds.
    expect(validatePlan(linear(20), LOCAL_CAPABILITIES)).toEqual([]);
  });

  it('refuses uneven steps', () => {
    const plan = compilePlan({
      type: 'steps',
      steps: [
        { type: 'setWeight', percent: 10 },
        { type: 'bake', seconds: 60 },
        { type: 'setWeight', percent: 60 },
        { type: 'bake', seconds: 60 },
        { type: 'setWeight', percent: 100 },
      ],
    });
    expect(validatePlan(plan, CODEDEPLOY_CAPABILITIES)[0]?.message).toMatch(/neither one canary step nor equal linear increments/);
  });

  it('the local driver runs any valid plan', () => {
    const plan = compilePlan({
      type: 'steps',
      steps: [
        { type: 'setWeight', percent: 10 },
        { type: 'approval', timeoutSeconds: 60, onTimeout: 'rollback', label: 'x' },
        { type: 'setWeight', percent: 100 },
      ],
    });
    expect(validatePlan(plan, LOCAL_CAPABILITIES)).toEqual([]);
  });
});

describe('landsExactly: when a shift that reads back another weight did not take', () => {
  it('a driver that holds any weight lands on it; one that moves on its own, or a rolling release (whole replicas), reaches at least it', () => {
    expect(landsExactly(LOCAL_CAPABILITIES, { strategy: 'canary' })).toBe(true);
    expect(landsExactly(LOCAL_CAPABILITIES, { strategy: 'rolling' })).toBe(false);
    expect(landsExactly(CODEDEPLOY_CAPABILITIES, { strategy: 'canary' })).toBe(false);
    expect(landsExactly(capabilitiesFor('ecs', 'linear'), { strategy: 'linear' })).toBe(false);
  });
});
