import { shiftShape, type Plan, type PlanIssue, ApprovalPoint } from './plan.js';

/**
 * What a traffic driver can do. The plan validator checks a plan against this before anything
 * moves, so a release is refused up front instead of failing half-way.
 */
export interface DriverCapabilities {
  readonly driver: string;
  /** The driver can hold traffic at any weight and pause between steps as long as the plan says. */
  readonly arbitrarySteps: boolean;
  /** Traffic shapes the driver can run when `arbitrarySteps` is false. */
  readonly shapes: readonly ('all-at-once' | 'canary' | 'linear')[];
  /** Where approvals may stand when `arbitrarySteps` is false. */
  readonly approvalPoints: readonly ApprovalPoint[];
  /** Durations must be whole multiples of this many seconds (CodeDeploy counts in minutes). */
  readonly durationGranularitySeconds: number;
  /** The driver can route test traffic to the new version before it takes production traffic. */
  readonly testTraffic: boolean;
  /**
   * The driver keeps traffic where it is for as long as asked: a bake can be extended, a person can
   * be asked mid-shift. CodeDeploy cannot: it moves to its next step on its own timer.
   */
  readonly holds: boolean;
  /** Traffic percentages must be whole numbers (CodeDeploy's canaryPercentage and linearPercentage are integers). */
  readonly wholePercentages: boolean;
}

export const LOCAL_CAPABILITIES: DriverCapabilities = {
  driver: 'local',
  arbitrarySteps: true,
  shapes: ['all-at-once', 'canary', 'linear'],
  approvalPoints: Object.values(ApprovalPoint),
  durationGranularitySeconds: 1,
  testTraffic: true,
  holds: true,
  wholePercentages: false,
};

export const CODEDEPLOY_CAPABILITIES: DriverCapabilities = {
  driver: 'codedeploy',
  arbitrarySteps: false,
  shapes: ['all-at-once', 'canary', 'linear'],
  approvalPoints: [ApprovalPoint.beforeTraffic, ApprovalPoint.beforeFinalize],
  durationGranularitySeconds: 60,
  testTraffic: true,
  holds: false,
  wholePercentages: true,
};

/**
 * Checks that a driver can execute a plan exactly as written.
 * @returns every problem, each saying why and what to use instead; empty when the plan runs as is.
 */
export function validatePlan(plan: Plan, caps: DriverCapabilities): PlanIssue[] {
  const issues: PlanIssue[] = [];
  if (caps.wholePercentages) {
    plan.steps.forEach((step, i) => {
      if (step.type !== 'setWeight' || Number.isInteger(step.percent)) return;
      issues.push({
        path: ['plan', i],
        message: `the ${caps.driver} driver takes whole percentages only (its traffic configs count in integer percent), but the plan shifts to ${step.percent}%; use ${Math.floor(step.percent)} or ${Math.ceil(step.percent)}`,
      });
    });
  }
  if (caps.arbitrarySteps) return issues;
  const shape = shiftShape(plan);
  if (shape.kind === 'custom') {
    issues.push({
      path: ['strategy'],
      message: `the ${caps.driver} driver cannot run this plan because ${shape.reason}; ${caps.driver} shifts traffic in one of its own patterns (${caps.shapes.join(', ')}) and cannot pause between its own steps. Use strategy "canary" with one step or "linear" with equal steps, and put approvals before traffic or before finalize`,
    });
  } else if (!caps.shapes.includes(shape.kind)) {
    issues.push({ path: ['strategy'], message: `the ${caps.driver} driver cannot run a ${shape.kind} shift; use one of ${caps.shapes.join(', ')}` });
  } else if (shape.kind !== 'all-at-once' && shape.intervalSeconds % caps.durationGranularitySeconds !== 0) {
    issues.push({
      path: ['strategy'],
      message: `the ${caps.driver} driver waits in whole multiples of ${caps.durationGranularitySeconds}s between traffic steps, but the plan waits ${shape.intervalSeconds}s; use for example "${Math.max(1, Math.round(shape.intervalSeconds / caps.durationGranularitySeconds))}m"`,
    });
  } else if (shape.kind !== 'all-at-once' && shape.intervalSeconds === 0) {
    issues.push({
      path: ['strategy'],
      message: `the ${caps.driver} driver needs a bake of at least ${caps.durationGranularitySeconds}s after each traffic step`,
    });
  }
  const first = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent > 0);
  const full = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent === 100);
  plan.steps.forEach((step, i) => {
    if (step.type !== 'approval') return;
    // Judge by position, not by label: what matters is whether traffic is split while we wait.
    const point = i < first ? ApprovalPoint.beforeTraffic : i > full ? ApprovalPoint.beforeFinalize : ApprovalPoint.afterFirstStep;
    if (!caps.approvalPoints.includes(point)) {
      issues.push({
        path: ['plan', i],
        message: `the ${caps.driver} driver can only wait for approval ${caps.approvalPoints.join(' or ')}, not while traffic is split: it cannot pause between its own traffic steps. Use approvals.at: ["before-traffic"] or ["before-finalize"] instead`,
      });
    }
  });
  return issues;
}
