import { trafficStops, type Plan } from './plan.js';

/**
 * How long a release waits for its target before it gives up on a step, derived from the service's
 * own clocks. No task waits for AWS: a driver call starts something or reads its progress and
 * answers at once, and the workflow waits between reads (decide.ts). These are the deadlines of
 * those waits. Each clock starts from AWS's documented default; a service states its own where it
 * differs (`target.clocks` in the config), and may override a deadline outright (`target.deadlines`).
 */

/** What the target takes for the parts a release waits on, in seconds. */
export interface TargetClocks {
  /**
   * A task from launch to its container running (image pull, start). Fargate documents no figure;
   * 30-90 s is what ECS's own deployment guidance plans for. @default 90
   */
  readonly taskStartSeconds: number;
  /** ALB target group `HealthCheckIntervalSeconds`. @default 30 (ELBv2 CreateTargetGroup reference) */
  readonly healthCheckIntervalSeconds: number;
  /** ALB target group `HealthyThresholdCount`. @default 5 (ELBv2 CreateTargetGroup reference) */
  readonly healthyThreshold: number;
  /** ALB target group attribute `deregistration_delay.timeout_seconds`. @default 300 (ELBv2 target group attributes) */
  readonly deregistrationDelaySeconds: number;
  /**
   * ECS's own bake after a rolling deployment with deployment alarms: ECS computes it from the alarms'
   * configuration and it cannot be set (ECS developer guide, "deployment-alarm-failure"). @default 600
   */
  readonly alarmBakeSeconds: number;
}

export const AWS_DEFAULT_CLOCKS: TargetClocks = {
  taskStartSeconds: 90,
  healthCheckIntervalSeconds: 30,
  healthyThreshold: 5,
  deregistrationDelaySeconds: 300,
  alarmBakeSeconds: 600,
};

/** What a release waits on its target for. */
export const TargetStep = { deploy: 'deploy', shift: 'shift', finalize: 'finalize', rollback: 'rollback' } as const;
export type TargetStep = (typeof TargetStep)[keyof typeof TargetStep];

/** The most a release waits for each step, in seconds. */
export type TargetDeadlines = Readonly<Record<TargetStep, number>>;

/** The asks a step takes besides its clocks (start it, answer a hook, read the end, put the configuration back). */
const ASKS_PER_STEP = 3;

/**
 * Room for what the clocks do not count (API latency, throttled reads, a slow pull, a hook answered a
 * poll late): a step may take twice what its clocks and its asks say, and at least five minutes more.
 */
const withRoom = (seconds: number): number => {
  const expected = seconds + ASKS_PER_STEP * TARGET_POLL_SECONDS;
  return Math.max(2 * expected, expected + 300);
};

/**
 * How often the workflow asks a target that is on its way how far it got. Each ask is about five
 * state transitions (Decide, Route, the task, PrepareWait, Wait): every 30 s, a 5-minute ECS
 * scale-up costs about 50 of them, and a release waits at most 30 s longer than the target did.
 */
export const TARGET_POLL_SECONDS = 30;

/**
 * The deadlines of a service's waits, from its clocks and its plan.
 * - deploy: a new task starts and passes the health checks (interval x healthy threshold).
 * - shift: a rolling update replaces every batch (start, health checks, the old task's
 *   deregistration delay, one batch after another), then ECS's alarm bake; a target that shifts on
 *   its own timer (CodeDeploy's canary interval) also waits out the plan's longest bake.
 * - finalize and rollback: traffic moves and the other version's tasks are deregistered; a rolling
 *   service goes back batch by batch.
 * @example
 * targetDeadlines(AWS_DEFAULT_CLOCKS, plan).deploy // 540 s: 90 s start + 150 s health checks, then room (+300 s)
 */
export function targetDeadlines(clocks: TargetClocks, plan: Plan, overrides: Partial<TargetDeadlines> = {}): TargetDeadlines {
  const healthy = clocks.taskStartSeconds + clocks.healthCheckIntervalSeconds * clocks.healthyThreshold;
  const batch = healthy + clocks.deregistrationDelaySeconds;
  // ECS rounds a batch's task count down: one more batch than the percentages say, at most.
  const batches = plan.strategy === 'rolling' ? Math.ceil(100 / Math.max(1, trafficStops(plan)[0] ?? 100)) + 1 : 1;
  const longestBake = Math.max(0, ...plan.steps.map((s) => (s.type === 'bake' || s.type === 'analysis' ? s.seconds : 0)));
  const rolling = plan.strategy === 'rolling';
  return {
    deploy: overrides.deploy ?? withRoom(healthy),
    shift: overrides.shift ?? withRoom(rolling ? batches * batch + clocks.alarmBakeSeconds : longestBake + healthy),
    finalize: overrides.finalize ?? withRoom(clocks.deregistrationDelaySeconds + (rolling ? clocks.alarmBakeSeconds : 0)),
    rollback: overrides.rollback ?? withRoom(rolling ? batches * batch : clocks.deregistrationDelaySeconds + healthy),
  };
}
