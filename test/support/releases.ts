import type { CodeDeployTarget } from '../../src/config/schema.js';
import { compilePlan, type ApprovalPolicy, type StrategySpec } from '../../src/core/plan.js';
import { createRelease } from '../../src/core/transitions.js';
import type { MetricGate } from '../../src/core/gates.js';
import type { Release, ReleaseSettings } from '../../src/core/release.js';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

export const errorRateGate: MetricGate = {
  kind: 'metric',
  name: 'error-rate',
  metric: 'ErrorRate',
  statistic: 'Average',
  comparison: 'GreaterThanThreshold',
  threshold: 5,
  periodSeconds: 60,
  evaluationPeriods: 1,
  minSamples: 10,
};

export function settings(overrides: Partial<ReleaseSettings> = {}): ReleaseSettings {
  return {
    gates: [errorRateGate],
    gatePolicy: { checkIntervalSeconds: 30, onInconclusive: 'fail', maxExtensionSeconds: 60, maxErrors: 2 },
    approvalRules: { approvers: [], fourEyes: false },
    pauseTimeoutSeconds: 600,
    ...overrides,
  };
}

export function release(strategy: StrategySpec, opts: { approvals?: ApprovalPolicy; settings?: Partial<ReleaseSettings>; id?: string } = {}): Release {
  return createRelease(
    {
      id: opts.id ?? 'r1',
      service: 'checkout-api',
      artifact: { image: 'checkout-api:1.8.2' },
      plan: compilePlan(strategy, opts.approvals),
      settings: settings(opts.settings),
      actor: { id: 'alice', channel: 'api', person: 'alice' },
    },
    T0,
  );
}

export const canary: StrategySpec = { type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 300 };

/** An ECS service deployed by CodeDeploy behind an ALB, with its blue and green target groups. */
export const codedeployTarget: CodeDeployTarget = {
  driver: 'codedeploy',
  cluster: 'prod',
  service: 'api',
  application: 'a',
  deploymentGroup: 'g',
  containerName: 'app',
  containerPort: 80,
  targetGroups: [
    { targetGroup: 'targetgroup/api-blue/111', loadBalancer: 'app/prod/999' },
    { targetGroup: 'targetgroup/api-green/222', loadBalancer: 'app/prod/999' },
  ],
};
