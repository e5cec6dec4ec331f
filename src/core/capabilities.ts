import { shiftShape, trafficStops, type Plan, type PlanIssue, ApprovalPoint } from './plan.js';

/**
 * What a traffic driver can do. The plan validator checks a plan against this before anything
 * moves, so a release is refused up front instead of failing half-way.
 */
export interface DriverCapabilities {
  readonly driver: string;
  /** The driver can hold traffic at any weight and pause between steps as long as the plan says. */
  readonly arbitrarySteps: boolean;
  /**
   * Traffic shapes the driver can run when `arbitrarySteps` is false. `rolling`: the target replaces
   * the old version's tasks in batches on its own (nothing may pause it between batches).
   */
  readonly shapes: readonly ('all-at-once' | 'canary' | 'linear' | 'rolling')[];
  /**
   * The driver pauses its own shift before every traffic step until told to go on (ECS's PAUSE
   * hooks), so bakes of any length, analyses and approvals may stand at any step: only the traffic
   * percentages have to fit its shapes.
   */
  readonly pausesBetweenSteps?: boolean;
  /** Traffic percentages must be multiples of this (ECS: 0.1). */
  readonly percentStep?: number;
  /** The canary step's allowed percentages, inclusive. */
  readonly canaryPercent?: readonly [number, number];
  /** A linear step's allowed percentages, inclusive. */
  readonly linearPercent?: readonly [number, number];
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
  /** Why a person cannot pause a release on this driver (when `holds` is false): what holds it, and what to do instead. */
  readonly noHoldWhy?: string;
  /** Traffic percentages must be whole numbers (CodeDeploy's canaryPercentage and linearPercentage are integers). */
  readonly wholePercentages: boolean;
  /**
   * What the gates read: `target`, the driver's own measure of the traffic it serves (local mode's
   * proxy: no CloudWatch alarm, only its metrics); `cloudwatch`, alarms and CloudWatch metrics, with
   * CloudWatch's periods and the load balancer's dimensions.
   */
  readonly gatesRead: 'target' | 'cloudwatch';
  /** What the canary judge can do on this driver (or why it cannot run). */
  readonly judge: JudgeSupport;
  /**
   * Each step waits for the target up to a deadline from the target's clocks (an AWS target answers a
   * call at once and gets there on its own; a local one answers within the call).
   */
  readonly waitsForTarget: boolean;
  /** The release's revision is a task definition the driver registers (a template is checked up front). */
  readonly taskDefinitions: boolean;
  /** The longest the target holds one step for Switchyard, in minutes (ECS's pause hook: 14 days); none: no limit. */
  readonly maxHoldMinutes?: number;
}

/** What the canary judge can do on a driver. */
export interface JudgeSupport {
  /** The signals it can compare. */
  readonly signals: readonly ('errors' | 'latency')[];
  /** Why the other signals cannot be compared, when some cannot. */
  readonly signalsWhy?: string;
  /** Why a bake cannot end early on this driver, when it cannot. */
  readonly noEarlyPass?: string;
  /** It compares the blue and the green target group side by side: both must be listed. */
  readonly bothTargetGroups: boolean;
  /** Why the judge cannot run on this driver at all, when it cannot. */
  readonly unavailable?: string;
}

/** CloudWatch publishes the load balancer's latency as per-period statistics: only errors can be judged. */
const CLOUDWATCH_JUDGE: JudgeSupport = {
  signals: ['errors'],
  signalsWhy:
    'CloudWatch publishes the load balancer\'s latency as per-period statistics, not the distributions the latency signal compares; use signals: ["errors"] (and a metric gate on TargetResponseTime)',
  bothTargetGroups: true,
};

/** A rolling update has no second target group: its judge has no stable side to compare with. */
const NO_ROLLING_JUDGE: JudgeSupport = {
  ...CLOUDWATCH_JUDGE,
  unavailable:
    'a rolling update has no second target group: old and new tasks sit behind the same one, so CloudWatch cannot tell their requests apart and the judge has no stable side to compare with. Use strategy "canary" or "linear" on the ecs driver (two target groups), or metric gates',
};

/** ECS holds a deployment at one pause hook for at most 14 days (ECS API reference, hook timeoutConfiguration). */
export const ECS_MAX_HOLD_MINUTES = 20_160;

export const LOCAL_CAPABILITIES: DriverCapabilities = {
  driver: 'local',
  arbitrarySteps: true,
  shapes: ['all-at-once', 'canary', 'linear'],
  approvalPoints: Object.values(ApprovalPoint),
  durationGranularitySeconds: 1,
  testTraffic: true,
  holds: true,
  wholePercentages: false,
  gatesRead: 'target',
  judge: { signals: ['errors', 'latency'], bothTargetGroups: false },
  waitsForTarget: false,
  taskDefinitions: false,
};

export const CODEDEPLOY_CAPABILITIES: DriverCapabilities = {
  driver: 'codedeploy',
  arbitrarySteps: false,
  shapes: ['all-at-once', 'canary', 'linear'],
  approvalPoints: [ApprovalPoint.beforeTraffic, ApprovalPoint.beforeFinalize],
  durationGranularitySeconds: 60,
  testTraffic: true,
  holds: false,
  noHoldWhy:
    'CodeDeploy moves through its traffic steps on its own timer and no API holds or skips an interval, so the codedeploy driver cannot hold a bake; roll it back, or use the ecs driver (ECS deployments with PAUSE hooks) to pause at any step',
  wholePercentages: true,
  gatesRead: 'cloudwatch',
  judge: {
    ...CLOUDWATCH_JUDGE,
    noEarlyPass: 'CodeDeploy moves to its next traffic step on its own timer, so a bake cannot end early on the codedeploy driver; remove earlyPass',
  },
  waitsForTarget: true,
  taskDefinitions: true,
};

/**
 * ECS native deployments with Switchyard's PAUSE hooks (blue/green, canary, linear): ECS pauses
 * before every production traffic step and after the last, so Switchyard owns every bake and may ask
 * a person anywhere. Shapes are ECS's own: canaryPercent 0.1..100 and linear stepPercent 3..100, both
 * in multiples of 0.1 (ECS API reference: CanaryConfiguration, LinearConfiguration).
 */
export const ECS_CAPABILITIES: DriverCapabilities = {
  driver: 'ecs',
  arbitrarySteps: false,
  shapes: ['all-at-once', 'canary', 'linear'],
  pausesBetweenSteps: true,
  approvalPoints: Object.values(ApprovalPoint),
  durationGranularitySeconds: 1,
  testTraffic: true,
  holds: true,
  wholePercentages: false,
  percentStep: 0.1,
  canaryPercent: [0.1, 99.9],
  linearPercent: [3, 99.9],
  gatesRead: 'cloudwatch',
  judge: CLOUDWATCH_JUDGE,
  waitsForTarget: true,
  taskDefinitions: true,
  maxHoldMinutes: ECS_MAX_HOLD_MINUTES,
};

/**
 * ECS rolling updates: ECS replaces tasks in batches on its own and has no hook to pause between
 * them; Switchyard watches the gates while it does, and can wait for a person before it starts.
 */
export const ECS_ROLLING_CAPABILITIES: DriverCapabilities = {
  driver: 'ecs',
  arbitrarySteps: false,
  shapes: ['rolling'],
  approvalPoints: [ApprovalPoint.beforeTraffic, ApprovalPoint.beforeFinalize],
  durationGranularitySeconds: 1,
  testTraffic: false,
  holds: false,
  noHoldWhy:
    'ECS replaces the tasks of a rolling update on its own, with no hook to hold it between batches; roll it back, or use strategy "canary" or "linear" on the ecs driver (PAUSE hooks) to pause at any step',
  wholePercentages: false,
  gatesRead: 'cloudwatch',
  judge: NO_ROLLING_JUDGE,
  waitsForTarget: true,
  taskDefinitions: true,
};

/** What a driver can do for a plan of this strategy (the ecs driver runs rolling plans differently). */
export function capabilitiesFor(driver: 'local' | 'codedeploy' | 'ecs', strategy: Plan['strategy']): DriverCapabilities {
  if (driver === 'local') return LOCAL_CAPABILITIES;
  if (driver === 'codedeploy') return CODEDEPLOY_CAPABILITIES;
  return strategy === 'rolling' ? ECS_ROLLING_CAPABILITIES : ECS_CAPABILITIES;
}

/**
 * Whether a shift must land exactly on the weight asked for (anything else: it did not take), or
 * reach at least it (the target moves on its own). A rolling release's share follows whole
 * replicas, so it may land above the batch asked for, whatever the driver.
 */
export function landsExactly(caps: DriverCapabilities, plan: Pick<Plan, 'strategy'>): boolean {
  return caps.arbitrarySteps && plan.strategy !== 'rolling';
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** The plan's traffic steps against a driver that pauses at each one: only their percentages matter. */
function percentIssues(plan: Plan, caps: DriverCapabilities): PlanIssue[] {
  const stops = trafficStops(plan);
  const [head] = stops;
  if (head === undefined) return [];
  const [min, max] = (stops.length === 1 ? caps.canaryPercent : caps.linearPercent) ?? [0, 100];
  const shape = stops.length === 1 ? 'canary step' : 'linear step';
  if (head < min || head > max) {
    return [{ path: ['strategy'], message: `the ${caps.driver} driver takes a ${shape} of ${min}% to ${max}% (its own limits), but the plan's is ${head}%` }];
  }
  const equal = stops.every((p, i) => Math.abs(p - head * (i + 1)) < 1e-9);
  if (!equal) {
    return [
      {
        path: ['strategy'],
        message: `the ${caps.driver} driver shifts traffic in one canary step or in equal linear steps (ECS's own patterns), but the plan moves to ${stops.join('%, ')}%; use strategy "canary" with one step, or "linear" with stepPercent ${head}`,
      },
    ];
  }
  return [];
}

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
  if (caps.percentStep !== undefined) {
    const step = caps.percentStep;
    plan.steps.forEach((s, i) => {
      if (s.type !== 'setWeight' || Math.abs(s.percent / step - Math.round(s.percent / step)) < 1e-9) return;
      issues.push({
        path: ['plan', i],
        message: `the ${caps.driver} driver takes percentages in steps of ${step}, but the plan shifts to ${s.percent}%; use ${round1(Math.floor(s.percent / step) * step)} or ${round1(Math.ceil(s.percent / step) * step)}`,
      });
    });
  }
  if (caps.arbitrarySteps) return issues;
  if (plan.strategy === 'rolling' || caps.shapes.includes('rolling')) return [...issues, ...rollingIssues(plan, caps)];
  if (caps.pausesBetweenSteps) return [...issues, ...percentIssues(plan, caps)];
  const shape = shiftShape(plan);
  if (shape.kind === 'custom') {
    issues.push({
      path: ['strategy'],
      message: `the ${caps.driver} driver cannot run this plan because ${shape.reason}; ${caps.driver} shifts traffic in one of its own patterns (${caps.shapes.join(', ')}) and cannot pause between its own steps. Use strategy "canary" with one step or "linear" with equal steps, and put approvals before traffic or before finalize`,
    });
  } else if (!caps.shapes.includes(shape.kind)) {
    issues.push({ path: ['strategy'], message: `the ${caps.driver} driver cannot run a ${shape.kind} shift; use one of ${caps.shapes.join(', ')}` });
  } else if (shape.kind !== 'all-at-once' && (shape.intervalSeconds % caps.durationGranularitySeconds !== 0 || shape.intervalSeconds === 0)) {
    const g = caps.durationGranularitySeconds;
    const text = (n: number) => (g % 60 === 0 ? `"${(n * g) / 60}m"` : `"${n * g}s"`);
    const below = Math.floor(shape.intervalSeconds / g);
    const instead = below === 0 ? text(1) : `${text(below)} or ${text(below + 1)}`;
    const rounded = Math.round(shape.intervalSeconds / g) * g;
    issues.push({
      path: ['strategy'],
      subject: 'interval',
      message:
        shape.intervalSeconds === 0
          ? `the ${caps.driver} driver needs a bake of at least ${g}s after each traffic step, but the plan waits 0s; write ${instead} or more`
          : `the ${caps.driver} driver waits in whole multiples of ${g}s between traffic steps, but the plan waits ${shape.intervalSeconds}s, which it would make ${rounded}s${rounded === 0 ? ' (no wait at all)' : ''}; write ${instead}`,
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

/** A rolling plan on a driver that replaces tasks on its own: nothing may stand between its batches. */
function rollingIssues(plan: Plan, caps: DriverCapabilities): PlanIssue[] {
  if (!caps.shapes.includes('rolling')) {
    return [
      {
        path: ['strategy'],
        message: `the ${caps.driver} driver has no rolling deployments (it shifts traffic between two complete versions); use the ecs driver for rolling updates, or strategy "canary" or "linear" here`,
      },
    ];
  }
  if (plan.strategy !== 'rolling') {
    return [{ path: ['strategy'], message: `the ${caps.driver} driver runs only rolling plans with these capabilities` }];
  }
  const first = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent > 0);
  const full = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent === 100);
  const between = plan.steps.slice(first, full).findIndex((s) => s.type !== 'setWeight');
  if (first === -1 || between === -1) return [];
  const step = plan.steps[first + between];
  return [
    {
      path: ['plan', first + between],
      message: `the ${caps.driver} driver cannot hold a rolling update between batches (ECS replaces the tasks on its own, with no hook to pause it), so a ${step?.type} step cannot stand while tasks are replaced; Switchyard watches the gates the whole time anyway. Use batchBake "0s" and approvals before traffic or before finalize, or strategy "canary"/"linear" on the ecs driver to pause at every step`,
    },
  ];
}
