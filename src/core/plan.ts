import { ValidationError } from './errors.js';
/**
 * The plan: the expanded list of steps a release walks through, and the compiler that turns a
 * strategy (blue-green, canary, linear, explicit steps) into one. Every release starts by deploying
 * the new version with 0% of production traffic; the plan says what happens after that.
 */

/** What to do when an approval is not answered in time. */
export type TimeoutAction = 'rollback' | 'approve';

/** One step of a plan (a discriminated union on `type`, like Argo Rollouts' canary steps). */
export type Step =
  | { readonly type: 'setWeight'; readonly percent: number }
  | { readonly type: 'bake'; readonly seconds: number }
  | {
      readonly type: 'approval';
      readonly timeoutSeconds: number;
      readonly onTimeout: TimeoutAction;
      readonly label: string;
    }
  | { readonly type: 'analysis'; readonly seconds: number; readonly gates?: readonly string[] }
  | { readonly type: 'finalize' };

export type StepType = Step['type'];
export type ApprovalStep = Extract<Step, { readonly type: 'approval' }>;

/**
 * The longest a plan can take: every bake and analysis extended to its limit, every approval
 * waiting until it expires. A release lasting longer holds its service for longer than that.
 */
export function worstCaseSeconds(plan: Plan, maxExtensionSeconds: number): number {
  return plan.steps.reduce((sum, step) => {
    if (step.type === 'bake' || step.type === 'analysis') return sum + step.seconds + maxExtensionSeconds;
    if (step.type === 'approval') return sum + step.timeoutSeconds;
    return sum;
  }, 0);
}

/** Where configured approvals are placed in a compiled plan. */
export const ApprovalPoint = {
  /** After the new version is deployed (blue-green: serving test traffic only), before any production traffic. */
  beforeTraffic: 'before-traffic',
  /** After the first traffic step and its bake (canary, linear). */
  afterFirstStep: 'after-first-step',
  /** With 100% on the new version and the final bake passed, before the old version is removed. */
  beforeFinalize: 'before-finalize',
} as const;
export type ApprovalPoint = (typeof ApprovalPoint)[keyof typeof ApprovalPoint];

export interface ApprovalPolicy {
  readonly at: readonly ApprovalPoint[];
  readonly timeoutSeconds: number;
  readonly onTimeout: TimeoutAction;
}

export type StrategySpec =
  | { readonly type: 'blue-green'; readonly bakeSeconds: number }
  | {
      readonly type: 'canary';
      readonly steps: readonly { readonly percent: number; readonly bakeSeconds: number }[];
      readonly finalBakeSeconds: number;
    }
  | {
      readonly type: 'linear';
      readonly stepPercent: number;
      readonly intervalSeconds: number;
      readonly finalBakeSeconds: number;
    }
  | {
      /**
       * Replace the old version's replicas in batches of `batchPercent` of them (new ones ready before
       * old ones drain); the new version's share of traffic follows its ready replicas.
       */
      readonly type: 'rolling';
      readonly batchPercent: number;
      /** Gates watched after each batch before the next (0: straight on, gates still watched while replacing). */
      readonly batchBakeSeconds: number;
      readonly finalBakeSeconds: number;
    }
  | { readonly type: 'steps'; readonly steps: readonly Step[] };

export interface Plan {
  readonly strategy: StrategySpec['type'];
  readonly steps: readonly Step[];
}

/** One problem found in a strategy or plan: where (relative path) and what is wrong. */
export interface PlanIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** What the issue is about when the path cannot say it: `interval`, the wait between traffic steps (a canary step's bake, a linear interval). */
  readonly subject?: 'interval';
}

export class PlanError extends ValidationError {
  override readonly name: string = 'PlanError';
  constructor(
    readonly issues: readonly PlanIssue[],
    options?: { cause?: unknown },
  ) {
    super(issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '), options);
  }
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out === '' ? '(root)' : out;
}

/** Limits shared by the config schema and the plan checks. */
export const LIMITS = {
  /** Shortest bake, analysis or approval timeout. */
  minDurationSeconds: 1,
  /** Longest single bake or analysis: one day. */
  maxBakeSeconds: 24 * 60 * 60,
  /** Longest approval wait: seven days. */
  maxApprovalSeconds: 7 * 24 * 60 * 60,
  /** Most steps in one plan, which keeps a release well inside Step Functions' history limit. */
  maxSteps: 200,
} as const;

function approval(policy: ApprovalPolicy, label: string): Step {
  return { type: 'approval', timeoutSeconds: policy.timeoutSeconds, onTimeout: policy.onTimeout, label };
}

function wants(policy: ApprovalPolicy | undefined, point: ApprovalPoint): policy is ApprovalPolicy {
  return policy !== undefined && policy.at.includes(point);
}

/** Steps shared by every generated strategy once the new version carries all traffic. */
function tail(finalBakeSeconds: number, policy: ApprovalPolicy | undefined): Step[] {
  const steps: Step[] = [{ type: 'setWeight', percent: 100 }];
  if (finalBakeSeconds > 0) steps.push({ type: 'bake', seconds: finalBakeSeconds });
  if (wants(policy, ApprovalPoint.beforeFinalize)) steps.push(approval(policy, ApprovalPoint.beforeFinalize));
  steps.push({ type: 'finalize' });
  return steps;
}

/**
 * Compiles a strategy into a plan and checks it.
 *
 * @throws {PlanError} listing every problem, with the path inside the strategy.
 * @example
 * compilePlan({ type: 'canary', steps: [{ percent: 10, bakeSeconds: 300 }], finalBakeSeconds: 300 })
 * // steps: setWeight 10, bake 300, setWeight 100, bake 300, finalize
 */
export function compilePlan(strategy: StrategySpec, approvals?: ApprovalPolicy): Plan {
  const steps: Step[] = [];
  if (wants(approvals, ApprovalPoint.beforeTraffic)) steps.push(approval(approvals, ApprovalPoint.beforeTraffic));
  switch (strategy.type) {
    case 'blue-green':
      steps.push(...tail(strategy.bakeSeconds, approvals));
      break;
    case 'canary':
      strategy.steps.forEach((s, i) => {
        steps.push({ type: 'setWeight', percent: s.percent });
        if (s.bakeSeconds > 0) steps.push({ type: 'bake', seconds: s.bakeSeconds });
        if (i === 0 && wants(approvals, ApprovalPoint.afterFirstStep)) {
          steps.push(approval(approvals, ApprovalPoint.afterFirstStep));
        }
      });
      steps.push(...tail(strategy.finalBakeSeconds, approvals));
      break;
    case 'linear': {
      const issues = checkLinear(strategy);
      if (issues.length > 0) throw new PlanError(issues);
      // Multiplied, not summed, and rounded to 0.001: 0.1 steps must not drift (0.30000000000000004).
      const at = (i: number) => Math.round((i + 1) * strategy.stepPercent * 1000) / 1000;
      for (let i = 0; at(i) < 100; i++) {
        steps.push({ type: 'setWeight', percent: at(i) }, { type: 'bake', seconds: strategy.intervalSeconds });
        if (i === 0 && wants(approvals, ApprovalPoint.afterFirstStep)) {
          steps.push(approval(approvals, ApprovalPoint.afterFirstStep));
        }
      }
      steps.push(...tail(strategy.finalBakeSeconds, approvals));
      break;
    }
    case 'rolling': {
      if (!Number.isInteger(strategy.batchPercent) || strategy.batchPercent < 1 || strategy.batchPercent > 100) {
        throw new PlanError([
          { path: ['batch'], message: `must be a whole percent of the replicas from 1 to 100, got ${strategy.batchPercent} (for example 25)` },
        ]);
      }
      for (let p = strategy.batchPercent, i = 0; p < 100; p += strategy.batchPercent, i++) {
        steps.push({ type: 'setWeight', percent: p });
        if (strategy.batchBakeSeconds > 0) steps.push({ type: 'bake', seconds: strategy.batchBakeSeconds });
        if (i === 0 && wants(approvals, ApprovalPoint.afterFirstStep)) steps.push(approval(approvals, ApprovalPoint.afterFirstStep));
      }
      steps.push(...tail(strategy.finalBakeSeconds, approvals));
      break;
    }
    case 'steps': {
      steps.push(...strategy.steps);
      if (strategy.steps.at(-1)?.type !== 'finalize') steps.push({ type: 'finalize' });
      break;
    }
  }
  const issues = strategy.type === 'canary' ? checkCanary(strategy) : [];
  const plan: Plan = { strategy: strategy.type, steps };
  issues.push(...checkPlan(plan, strategy.type === 'steps' ? ['steps'] : null));
  if (issues.length > 0) throw new PlanError(issues);
  return plan;
}

function checkLinear(s: Extract<StrategySpec, { type: 'linear' }>): PlanIssue[] {
  const issues: PlanIssue[] = [];
  if (!(s.stepPercent > 0 && s.stepPercent < 100)) {
    issues.push({ path: ['stepPercent'], message: `must be a percent above 0 and below 100, got ${s.stepPercent} (for example 10)` });
  }
  if (!durationOk(s.intervalSeconds, LIMITS.maxBakeSeconds)) {
    issues.push({ path: ['interval'], message: durationMessage(s.intervalSeconds, LIMITS.maxBakeSeconds) });
  }
  return issues;
}

function checkCanary(s: Extract<StrategySpec, { type: 'canary' }>): PlanIssue[] {
  const issues: PlanIssue[] = [];
  if (s.steps.length === 0) issues.push({ path: ['steps'], message: 'needs at least one canary step, for example [{ percent: 10, bake: "5m" }]' });
  let previous = 0;
  s.steps.forEach((step, i) => {
    if (!(step.percent > 0 && step.percent < 100)) {
      issues.push({
        path: ['steps', i, 'percent'],
        message: `a canary step must be above 0 and below 100, got ${step.percent} (100% comes after the last step by itself)`,
      });
    } else if (step.percent <= previous) {
      issues.push({
        path: ['steps', i, 'percent'],
        message: `must be greater than the step before (${previous}), got ${step.percent}: traffic to the new version only grows`,
      });
    }
    previous = Math.max(previous, step.percent);
  });
  return issues;
}

/** A duration the plan can wait exactly: whole seconds (what Step Functions and every driver count in), within limits. */
function durationOk(seconds: number, max: number): boolean {
  return Number.isInteger(seconds) && seconds >= LIMITS.minDurationSeconds && seconds <= max;
}

function durationMessage(seconds: number, max: number): string {
  if (Number.isFinite(seconds) && seconds >= LIMITS.minDurationSeconds && seconds <= max)
    return `must be a whole number of seconds, got ${seconds}s, which would be waited as ${Math.round(seconds)}s; use ${Math.floor(seconds)}s or ${Math.ceil(seconds)}s`;
  return `must be between ${LIMITS.minDurationSeconds}s and ${max}s, got ${seconds}s (for example "5m")`;
}

/**
 * Checks the invariants of a plan: percentages within 0..100 and never decreasing, durations
 * within limits, 100% reached before `finalize`, `finalize` last and only once.
 * `stepPath` prefixes issue paths when the steps came from the user (`strategy.steps`).
 */
export function checkPlan(plan: Plan, stepPath: readonly (string | number)[] | null = null): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const at = (i: number, field?: string): (string | number)[] =>
    stepPath ? [...stepPath, i, ...(field ? [field] : [])] : ['plan', i, ...(field ? [field] : [])];
  if (plan.steps.length > LIMITS.maxSteps) {
    issues.push({ path: stepPath ?? ['plan'], message: `has ${plan.steps.length} steps; at most ${LIMITS.maxSteps} are allowed` });
  }
  let weight = 0;
  let reachedFull = false;
  plan.steps.forEach((step, i) => {
    switch (step.type) {
      case 'setWeight':
        if (!Number.isFinite(step.percent) || step.percent < 0 || step.percent > 100) {
          issues.push({ path: at(i, 'percent'), message: `must be a percentage from 0 to 100, got ${step.percent}` });
        } else if (step.percent < weight) {
          issues.push({
            path: at(i, 'percent'),
            message: `is ${step.percent}, below the ${weight}% set before: traffic to the new version never decreases except by rolling back`,
          });
        } else {
          weight = step.percent;
          reachedFull ||= weight === 100;
        }
        break;
      case 'bake':
      case 'analysis':
        if (!durationOk(step.seconds, LIMITS.maxBakeSeconds)) {
          issues.push({ path: at(i, 'duration'), message: durationMessage(step.seconds, LIMITS.maxBakeSeconds) });
        }
        break;
      case 'approval':
        if (!durationOk(step.timeoutSeconds, LIMITS.maxApprovalSeconds)) {
          issues.push({ path: at(i, 'timeout'), message: durationMessage(step.timeoutSeconds, LIMITS.maxApprovalSeconds) });
        }
        break;
      case 'finalize':
        if (i !== plan.steps.length - 1) {
          issues.push({ path: at(i), message: 'finalize removes the old version and must be the last step' });
        } else if (!reachedFull) {
          issues.push({ path: at(i), message: 'finalize needs 100% on the new version first: add { type: "setWeight", percent: 100 } before it' });
        }
        break;
    }
  });
  return issues;
}

/**
 * The plan's traffic steps between 0% and 100%, in order: a canary's one step, a linear plan's equal
 * steps, a rolling plan's batches. What a driver that runs its own shift pattern is configured with.
 */
export function trafficStops(plan: Plan): number[] {
  return plan.steps.flatMap((s) => (s.type === 'setWeight' && s.percent > 0 && s.percent < 100 ? [s.percent] : []));
}

/** The traffic shape of a plan, as a driver with fixed shift patterns (CodeDeploy) sees it. */
export type ShiftShape =
  | { readonly kind: 'all-at-once' }
  | { readonly kind: 'canary'; readonly percent: number; readonly intervalSeconds: number }
  | { readonly kind: 'linear'; readonly percent: number; readonly intervalSeconds: number }
  | { readonly kind: 'custom'; readonly reason: string };

/**
 * Describes how a plan moves traffic between the first production traffic and 100%.
 * Approvals before the first shift and after 100% are not part of the shape.
 */
export function shiftShape(plan: Plan): ShiftShape {
  const first = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent > 0);
  const full = plan.steps.findIndex((s) => s.type === 'setWeight' && s.percent === 100);
  if (first === -1 || full === -1) return { kind: 'custom', reason: 'the plan never reaches 100%' };
  const middle = plan.steps.slice(first, full);
  if (middle.length === 0) return { kind: 'all-at-once' };
  const stops: { percent: number; seconds: number }[] = [];
  for (const step of middle) {
    if (step.type === 'setWeight') stops.push({ percent: step.percent, seconds: 0 });
    else if (step.type === 'bake' || step.type === 'analysis') {
      const last = stops.at(-1);
      if (last) last.seconds += step.seconds;
    } else {
      return { kind: 'custom', reason: `it has a ${step.type} step while traffic is split` };
    }
  }
  const [head] = stops;
  if (!head) return { kind: 'all-at-once' };
  if (stops.length === 1) return { kind: 'canary', percent: head.percent, intervalSeconds: head.seconds };
  const equal = stops.every((s, i) => s.seconds === head.seconds && s.percent === head.percent * (i + 1));
  if (equal && head.percent * (stops.length + 1) >= 100) {
    return { kind: 'linear', percent: head.percent, intervalSeconds: head.seconds };
  }
  return { kind: 'custom', reason: 'its steps are neither one canary step nor equal linear increments with equal waits' };
}

/**
 * The longest the target may be held between two traffic moves (from deploy to the first shift,
 * between shifts, from 100% to finalize): every bake and analysis extended to its limit, every
 * approval (and, with `inconclusivePauseSeconds`, every inconclusive bake's question to a person)
 * waiting until it expires. A driver that pauses its target at each step (ECS's PAUSE hooks) must
 * let the pause outlast this, or the pause's own timeout would decide the release.
 */
export function longestHoldSeconds(plan: Plan, maxExtensionSeconds: number, inconclusivePauseSeconds = 0): number {
  const stretches = [0, ...plan.steps.flatMap((s, i) => (s.type === 'setWeight' ? [i + 1] : []))];
  return Math.max(...stretches.map((from) => holdFromSeconds(plan, from, maxExtensionSeconds, inconclusivePauseSeconds)));
}

/**
 * The longest the target may be held from step `from` up to the next traffic move (a shift or
 * finalize): each bake and analysis extended to its limit (and asking a person, with
 * `inconclusivePauseSeconds`), each approval waiting until it expires.
 */
export function holdFromSeconds(plan: Plan, from: number, maxExtensionSeconds: number, inconclusivePauseSeconds = 0): number {
  let total = 0;
  for (const step of plan.steps.slice(from)) {
    if (step.type === 'setWeight' || step.type === 'finalize') break;
    total += step.type === 'approval' ? step.timeoutSeconds : step.seconds + maxExtensionSeconds + inconclusivePauseSeconds;
  }
  return total;
}

/**
 * The plan with a check before any production traffic: an analysis step at 0% as its first step
 * (before a `before-traffic` approval, so the person approving sees its verdict), watching the named
 * gates only. The new version is deployed and serves the test route, nothing else: a smoke test that
 * fails there rolls back a release no user has seen. It lasts one gate check (`seconds`); gates
 * that cannot decide are retried like any bake's (extended up to maxExtension, then onInconclusive).
 * @example
 * withPreTrafficCheck(compilePlan({ type: 'blue-green', bakeSeconds: 300 }), ['smoke'])
 * // steps: analysis 1s [smoke], setWeight 100, bake 300, finalize
 */
export function withPreTrafficCheck(plan: Plan, gates: readonly string[], seconds: number = LIMITS.minDurationSeconds): Plan {
  if (gates.length === 0) return plan;
  return { ...plan, steps: [{ type: 'analysis', seconds, gates: [...gates] }, ...plan.steps] };
}

/**
 * The plan of an undo: the previous version, ready, then all traffic at once; no bakes. Under
 * four-eyes (`keep`: the service plan's first approval), that approval is asked before any traffic
 * moves: the person who undoes is one pair of eyes, another approver the second.
 */
export function undoPlan(keep?: ApprovalStep): Plan {
  const plan = compilePlan({ type: 'blue-green', bakeSeconds: 0 });
  return keep ? { ...plan, steps: [keep, ...plan.steps] } : plan;
}

/** The first approval a plan asks, if any: the one expedite and undo keep under four-eyes. */
export function firstApproval(plan: Plan): ApprovalStep | undefined {
  return plan.steps.find((s): s is ApprovalStep => s.type === 'approval');
}

/**
 * The plan of an expedited release (a hotfix): approvals skipped, every bake or analysis cut to one
 * gate check (`checkSeconds`, in the driver's granularity; or shorter if it was), so the gates still see
 * each step before the next. Under four-eyes (`keepOneApproval`) the plan's first approval stays where
 * it was: a hotfix cuts the bakes, not the second pair of eyes.
 */
export function expeditePlan(plan: Plan, checkSeconds: number, granularitySeconds = 1, keepOneApproval = false): Plan {
  // A driver that waits in whole steps (CodeDeploy: minutes) gets the gate check rounded up to one.
  const oneCheck = Math.ceil(checkSeconds / granularitySeconds) * granularitySeconds;
  const kept = keepOneApproval ? firstApproval(plan) : undefined;
  return {
    strategy: plan.strategy,
    steps: plan.steps
      .filter((s) => s.type !== 'approval' || s === kept)
      .map((s) => (s.type === 'bake' || s.type === 'analysis' ? { ...s, seconds: Math.min(s.seconds, oneCheck) } : s)),
  };
}
