import { RESERVED_NAMES, type Person } from '../core/people.js';
import { APPROVERS_ONLY, DEFAULT_AUTHORITY, stricter, type Verb, type Who } from '../core/authority.js';
import { ValidationError } from '../core/errors.js';
import type { z } from 'zod';
import { capabilitiesFor, landsExactly, validatePlan, type DriverCapabilities } from '../core/capabilities.js';
import { isBeforeTraffic, isTargetMetric, PROCESS_HEALTH_GATE, shareJudgeAlpha, TARGET_METRICS, type GateSpec, type MetricGate } from '../core/gates.js';
import {
  PlanError,
  compilePlan,
  formatPath,
  worstCaseSeconds,
  type ApprovalPolicy,
  type Plan,
  type Step,
  type StrategySpec,
  withPreTrafficCheck,
} from '../core/plan.js';
import type { HoldSupport, ReleaseSettings } from '../core/release.js';
import { AWS_DEFAULT_CLOCKS, targetDeadlines, type TargetDeadlines } from '../core/target-waits.js';
import {
  configSchema,
  type CodeDeployTarget,
  type EcsTarget,
  type LocalTarget,
  type ParsedConfig,
  type ParsedService,
  type SwitchyardConfigInput,
} from './schema.js';
import { ECS_HOOK_LIMITS, ecsHookTimeoutMinutes, IMAGE_PLACEHOLDER } from './runtime.js';

/**
 * Typed identity for `switchyard.config.ts`, so editors complete and check every field.
 * @example
 * export default defineConfig({
 *   services: [{ name: 'checkout-api', target: { driver: 'local', command: 'node server.js', port: 8080 },
 *     strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] } }],
 * });
 */
export function defineConfig(config: SwitchyardConfigInput): SwitchyardConfigInput {
  return config;
}

export interface ConfigIssue {
  /** Where, for example `services[2].strategy.steps[1].percent`. */
  readonly path: string;
  readonly message: string;
}

/** A config that cannot be used; lists every problem at once. */
export class ConfigError extends ValidationError {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source = 'config',
  ) {
    super(`${source} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
  }
}

export type TargetConfig = LocalTarget | CodeDeployTarget | EcsTarget;

/** A service ready to release: its plan compiled and checked against its driver. */
export interface ServiceConfig {
  readonly name: string;
  readonly target: TargetConfig;
  readonly trigger?: { readonly repository: string; readonly tagPattern: string; readonly untagged: boolean };
  readonly plan: Plan;
  readonly settings: ReleaseSettings;
  readonly slackChannel?: string;
  readonly onActiveRelease: 'queue' | 'reject';
}

export interface SwitchyardConfig {
  readonly environment: string;
  readonly api: ParsedConfig['api'];
  readonly slack?: ParsedConfig['slack'];
  readonly removalPolicy: ParsedConfig['removalPolicy'];
  readonly services: readonly ServiceConfig[];
  readonly people: readonly ConfiguredPerson[];
}

/** A person as configured: who they are on each channel, and (local mode) where their own token is. */
export interface ConfiguredPerson extends Person {
  readonly localToken?: string;
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)));
    if (issue.code === 'unrecognized_keys') {
      return {
        path,
        message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling`,
      };
    }
    if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined)
      return { path, message: `is required and ${issue.message}` };
    return { path, message: issue.message };
  });
}

function strategySpec(s: ParsedService['strategy']): StrategySpec {
  switch (s.type) {
    case 'blue-green':
      return { type: 'blue-green', bakeSeconds: s.bake };
    case 'canary':
      return { type: 'canary', steps: s.steps.map((c) => ({ percent: c.percent, bakeSeconds: c.bake })), finalBakeSeconds: s.finalBake };
    case 'linear':
      return { type: 'linear', stepPercent: s.stepPercent, intervalSeconds: s.interval, finalBakeSeconds: s.finalBake };
    case 'rolling':
      return { type: 'rolling', batchPercent: s.batch, batchBakeSeconds: s.batchBake, finalBakeSeconds: s.finalBake };
    case 'steps':
      return { type: 'steps', steps: s.steps.map((step, i) => userStep(step, i)) };
  }
}

export { ECS_HOOK_LIMITS, ecsHookTimeoutMinutes, IMAGE_PLACEHOLDER };

/**
 * Whether a person can pause this service's releases (hold a bake), from its driver's capabilities.
 * On ECS the hold is Switchyard's PAUSE hook left unanswered, which ECS rolls back when its timeout
 * expires: a pause lasts at most until then, less the margin kept for the workflow's own delays.
 */
export function holdSupport(
  capabilities: DriverCapabilities,
  plan: Plan,
  settings: Pick<ReleaseSettings, 'gatePolicy' | 'pauseTimeoutSeconds' | 'maxPauseSeconds'>,
): HoldSupport {
  if (!capabilities.holds) return { can: false, why: capabilities.noHoldWhy ?? `the ${capabilities.driver} driver cannot hold traffic where it is` };
  if (capabilities.maxHoldMinutes === undefined) return { can: true };
  const minutes = ecsHookTimeoutMinutes(plan, settings);
  return {
    can: true,
    limitSeconds: (minutes - ECS_HOOK_LIMITS.marginMinutes) * 60,
    limitWhy: `ECS rolls a deployment back when Switchyard's PAUSE hook times out, after ${minutes} minutes at one traffic step (the longest this plan holds a step, plus approvals.maxPause, plus ${ECS_HOOK_LIMITS.marginMinutes} minutes)`,
  };
}

/** The task definition template's problems: it must name the released container and hold the image placeholder. */
function templateIssues(template: Record<string, unknown>, containerName: string): string | undefined {
  const containers = template['containerDefinitions'];
  if (!Array.isArray(containers)) return 'needs containerDefinitions, as RegisterTaskDefinition takes them';
  const named = containers.find((c: unknown) => typeof c === 'object' && c !== null && (c as { name?: unknown }).name === containerName) as
    { image?: unknown } | undefined;
  if (!named) return `has no container named "${containerName}" (target.containerName)`;
  if (typeof named.image !== 'string' || !named.image.includes(IMAGE_PLACEHOLDER))
    return `container "${containerName}" must have image "${IMAGE_PLACEHOLDER}": the release puts its pinned image there`;
  return undefined;
}

function userStep(step: Extract<ParsedService['strategy'], { type: 'steps' }>['steps'][number], index: number): Step {
  switch (step.type) {
    case 'setWeight':
      return { type: 'setWeight', percent: step.percent };
    case 'bake':
      return { type: 'bake', seconds: step.duration };
    case 'analysis':
      return { type: 'analysis', seconds: step.duration, ...(step.gates ? { gates: step.gates } : {}) };
    case 'approval':
      // Filled from the service's approvals section below when the step leaves them out.
      return { type: 'approval', timeoutSeconds: step.timeout ?? -1, onTimeout: step.onTimeout ?? 'rollback', label: `step-${index}` };
    case 'finalize':
      return { type: 'finalize' };
  }
}

export { PROCESS_HEALTH_GATE } from '../core/gates.js';

function gateSpecs(service: ParsedService): GateSpec[] {
  return [
    ...(service.target.driver === 'local' ? [{ kind: 'alarm', name: PROCESS_HEALTH_GATE } as const] : []),
    ...service.gates.alarms.map((alarm): GateSpec => ({ kind: 'alarm', name: alarm })),
    ...service.gates.metrics.map((m): GateSpec => ({
      kind: 'metric',
      name: m.name,
      metric: m.metric,
      statistic: m.statistic,
      comparison: m.comparison,
      threshold: m.threshold,
      periodSeconds: m.period,
      evaluationPeriods: m.evaluationPeriods,
      minSamples: m.minSamples,
    })),
    ...(service.gates.judge?.signals ?? []).map((signal): GateSpec => ({
      kind: 'judge',
      name: `judge-${signal}`,
      signal,
      alpha: service.gates.judge!.alpha,
      tolerance: service.gates.judge!.tolerance,
      periodSeconds: service.gates.judge!.period,
      warmupSeconds: service.gates.judge!.warmup,
      latencyFloorSeconds: (service.gates.judge!.latencyFloorMs ?? (service.target.driver === 'local' ? 0 : 5)) / 1000,
      minErrors: service.gates.judge!.minErrors,
      ...(service.gates.judge!.earlyShare !== undefined ? { earlyShare: service.gates.judge!.earlyShare } : {}),
      ...(service.gates.judge!.earlyPass !== undefined ? { earlyPassAfterSeconds: service.gates.judge!.earlyPass } : {}),
    })),
    ...service.gates.webhooks.map((w): GateSpec => ({
      kind: 'webhook',
      name: w.name,
      url: w.url,
      // Checked in webhookIssues: exactly one is set. The secret's value never enters the config.
      secret: w.secretArn !== undefined ? { secretArn: w.secretArn } : { env: w.secretEnv ?? '' },
      timeoutSeconds: w.timeout,
      when: w.when,
    })),
  ];
}

/** Where a webhook's secret is read must fit where the workflow runs: the environment locally, Secrets Manager on AWS. */
function webhookIssues(service: ParsedService, at: (...rest: (string | number)[]) => string): ConfigIssue[] {
  const local = service.target.driver === 'local';
  return service.gates.webhooks.flatMap((w, i): ConfigIssue[] => {
    const path = at('gates', 'webhooks', i);
    if (w.secretEnv !== undefined && w.secretArn !== undefined)
      return [{ path, message: 'has both secretEnv and secretArn: the secret is read from one place; keep one' }];
    if (local && w.secretEnv === undefined)
      return [
        {
          path: `${path}.secretEnv`,
          message: `is required: local mode reads the webhook's shared secret from an environment variable, for example secretEnv: "${w.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_WEBHOOK_SECRET" (never the secret itself in the config)`,
        },
      ];
    if (!local && w.secretArn === undefined)
      return [
        {
          path: `${path}.secretArn`,
          message: `is required: on AWS the workflow function reads the webhook's shared secret from Secrets Manager, for example secretArn: "arn:aws:secretsmanager:<region>:<account>:secret:${w.name}-webhook-AbCdEf"${w.secretEnv !== undefined ? ' (secretEnv is for local mode)' : ''}`,
        },
      ];
    return [];
  });
}

/**
 * What a gate on the load balancer's own metrics needs. HTTPCode_ELB_* counts have the LoadBalancer
 * (and AvailabilityZone) dimension only, never TargetGroup, and CloudWatch's dimensions take ARN
 * suffixes such as app/prod/0123456789abcdef (ELB user guide, CloudWatch metrics for your Application
 * Load Balancer): a query with a TargetGroup or a whole ARN finds no data, and the gate would never fail.
 */
function loadBalancerMetricIssues(m: { metric: MetricGate['metric']; statistic: string }, balancers: readonly string[]): string[] {
  const issues: string[] = [];
  if (m.metric === 'HTTPCode_ELB_5XX_Count') {
    if (balancers.length !== 1)
      issues.push(
        balancers.length === 0
          ? 'HTTPCode_ELB_5XX_Count is read on the load balancer of target.targetGroups: list them, [{ targetGroup, loadBalancer }, ...]'
          : `HTTPCode_ELB_5XX_Count is read on one load balancer, and target.targetGroups name ${balancers.length} (${balancers.join(', ')}); use { namespace: "AWS/ApplicationELB", metricName: "HTTPCode_ELB_5XX_Count", dimensions: { LoadBalancer } } per load balancer`,
      );
    if (m.statistic !== 'Sum') issues.push(`HTTPCode_ELB_5XX_Count is a count: use statistic "Sum" (errors per period), not "${m.statistic}"`);
    return issues;
  }
  if (typeof m.metric === 'string' || m.metric.namespace !== 'AWS/ApplicationELB') return issues;
  const dims = m.metric.dimensions ?? {};
  if (/^HTTPCode_ELB_/.test(m.metric.metricName) && 'TargetGroup' in dims)
    issues.push(
      `${m.metric.metricName} has no TargetGroup dimension (the load balancer generated these errors, no target answered them): remove TargetGroup and keep LoadBalancer, or use metric: "HTTPCode_ELB_5XX_Count"`,
    );
  for (const name of ['LoadBalancer', 'TargetGroup'] as const) {
    const value = dims[name];
    const pattern = name === 'LoadBalancer' ? /^(app|net|gwy)\/[^/]+\/[0-9a-f]+$/ : /^targetgroup\/[^/]+\/[0-9a-f]+$/;
    if (value !== undefined && !pattern.test(value))
      issues.push(
        `dimensions.${name} must be the ARN suffix CloudWatch uses, such as ${name === 'LoadBalancer' ? '"app/prod/0123456789abcdef"' : '"targetgroup/api-blue/0123456789abcdef"'}, not "${value}"`,
      );
  }
  return issues;
}

/** High-resolution CloudWatch metrics may also be read at these periods; everything else in multiples of 60 s. */
const HIGH_RESOLUTION_PERIODS = [1, 5, 10, 20, 30];

/**
 * CloudWatch answers GetMetricData only at periods that fit the metric's resolution: multiples of
 * 60 s for regular-resolution metrics (the load balancer's target metrics are regular), and also 1,
 * 5, 10, 20 or 30 s for high-resolution custom metrics (GetMetricData, MetricStat.Period).
 */
function cloudWatchPeriodIssue(periodSeconds: number, loadBalancerMetric: boolean): string | undefined {
  if (periodSeconds % 60 === 0) return undefined;
  if (loadBalancerMetric) {
    return `CloudWatch reads load balancer metrics only in whole minutes, and ${periodSeconds}s is not a multiple of 60s; use for example "${Math.max(1, Math.round(periodSeconds / 60))}m"`;
  }
  if (HIGH_RESOLUTION_PERIODS.includes(periodSeconds)) return undefined;
  return `CloudWatch reads metrics at 1, 5, 10, 20 or 30 seconds (high-resolution metrics only) or at multiples of 60s, and ${periodSeconds}s is neither; use for example "${Math.max(1, Math.round(periodSeconds / 60))}m"`;
}

/** How long a bake may be extended while gates are inconclusive, where the driver can hold. */
const DEFAULT_MAX_EXTENSION_SECONDS = 300;
/** The longest a release may last: Step Functions' one-year limit on a Standard execution. */
const MAX_RELEASE_SECONDS = 365 * 24 * 3600;

/** The field that sets a plan's wait between traffic steps: a canary's (one) step bake, a linear interval. */
function intervalPath(strategy: ParsedService['strategy']): (string | number)[] {
  if (strategy.type === 'linear') return ['strategy', 'interval'];
  if (strategy.type === 'canary') return ['strategy', 'steps', 0, 'bake'];
  if (strategy.type === 'steps') {
    const first = strategy.steps.findIndex((s) => s.type === 'setWeight' && s.percent > 0);
    const wait = strategy.steps.findIndex((s, i) => i > first && (s.type === 'bake' || s.type === 'analysis'));
    if (first !== -1 && wait !== -1) return ['strategy', 'steps', wait, 'duration'];
  }
  return ['strategy'];
}

/**
 * A site's own HAProxy measures each request's time only in the log lines of its ring: `show stat`'s
 * averages hold keep-alive idle time and a slot's previous replica. Without `logRing`, latency gates are refused.
 */
function attachedLatencyIssues(service: ParsedService, at: (...rest: (string | number)[]) => string): ConfigIssue[] {
  const plane = service.target.driver === 'local' ? service.target.dataPlane : undefined;
  if (plane?.type !== 'haproxy' || !plane.attach || plane.attach.logRing !== undefined) return [];
  const why =
    'an attached HAProxy gives per-request latency only through its log ring: add dataPlane.attach.logRing (and the ring and log-format lines of docs/haproxy.md to your haproxy.cfg)';
  const issues: ConfigIssue[] = [];
  service.gates.metrics.forEach((m, i) => {
    if (m.metric === 'TargetResponseTime') issues.push({ path: at('gates', 'metrics', i, 'metric'), message: `${why}, or remove this gate` });
  });
  if (service.gates.judge?.signals.includes('latency'))
    issues.push({ path: at('gates', 'judge', 'signals'), message: `${why}, or judge errors only: signals: ["errors"]` });
  return issues;
}

function resolveService(service: ParsedService, index: number, issues: ConfigIssue[]): ServiceConfig | undefined {
  const at = (...rest: (string | number)[]) => formatPath(['services', index, ...rest]);
  const policy: ApprovalPolicy = { at: service.approvals.at, timeoutSeconds: service.approvals.timeout, onTimeout: service.approvals.onTimeout };
  const spec = strategySpec(service.strategy);
  if (spec.type === 'steps') {
    // Explicit approval steps take the service's approval timeout unless they set their own.
    spec.steps.forEach((step, i) => {
      if (step.type === 'approval' && step.timeoutSeconds < 0) {
        const explicit = service.strategy.type === 'steps' ? service.strategy.steps[i] : undefined;
        const onTimeout = explicit?.type === 'approval' && explicit.onTimeout ? explicit.onTimeout : service.approvals.onTimeout;
        (spec.steps as Step[])[i] = { ...step, timeoutSeconds: service.approvals.timeout, onTimeout };
      }
    });
  }
  const gates = gateSpecs(service);
  issues.push(...webhookIssues(service, at));
  const names = new Set<string>();
  gates.forEach((g) => {
    if (names.has(g.name)) issues.push({ path: at('gates'), message: `gate "${g.name}" is defined twice; gate names must be unique` });
    names.add(g.name);
  });
  // The driver's rules are its capabilities (core/capabilities.ts): nothing below asks which driver it is.
  const capabilities = capabilitiesFor(service.target.driver, spec.type);
  const aws = 'cluster' in service.target ? service.target : undefined;
  if (capabilities.gatesRead === 'target') {
    if (service.gates.alarms.length > 0) {
      issues.push({
        path: at('gates', 'alarms'),
        message:
          'CloudWatch alarms need an AWS driver (ecs or codedeploy); local services gate on metrics such as { name: "errors", metric: "ErrorRate", statistic: "Average", comparison: "GreaterThanThreshold", threshold: 5 }',
      });
    }
    service.gates.metrics.forEach((m, i) => {
      if (!isTargetMetric(m.metric))
        issues.push({
          path: at('gates', 'metrics', i, 'metric'),
          message: `the ${capabilities.driver} driver measures only ${TARGET_METRICS.join(', ')}; load balancer and custom CloudWatch metrics need an AWS driver (ecs or codedeploy)`,
        });
    });
  }
  issues.push(...attachedLatencyIssues(service, at));
  if ('testPort' in service.target && service.target.testPort === service.target.port) {
    issues.push({ path: at('target', 'testPort'), message: `must differ from port (${service.target.port}), for example ${service.target.port + 1}` });
  }
  const judge = service.gates.judge;
  const support = capabilities.judge;
  if (judge && support.unavailable) issues.push({ path: at('gates', 'judge'), message: support.unavailable });
  if (judge && capabilities.gatesRead === 'cloudwatch') {
    if (judge.signals.some((signal) => !support.signals.includes(signal)) && support.signalsWhy)
      issues.push({
        path: at('gates', 'judge', 'signals'),
        message: `the ${capabilities.driver} driver can judge ${support.signals.join(' and ')} only: ${support.signalsWhy}`,
      });
    if (support.bothTargetGroups && (aws?.targetGroups ?? []).length !== 2)
      issues.push({
        path: at('target', 'targetGroups'),
        message:
          'the judge compares the blue and the green target group side by side: list both, [{ targetGroup, loadBalancer }, { targetGroup, loadBalancer }]',
      });
    if (judge.earlyPass !== undefined && support.noEarlyPass) issues.push({ path: at('gates', 'judge', 'earlyPass'), message: support.noEarlyPass });
    const periodIssue = cloudWatchPeriodIssue(judge.period, true);
    if (periodIssue) issues.push({ path: at('gates', 'judge', 'period'), message: periodIssue });
  }
  if (capabilities.gatesRead === 'cloudwatch') {
    const balancers = [...new Set((aws?.targetGroups ?? []).map((t) => t.loadBalancer))];
    service.gates.metrics.forEach((m, i) => {
      const alb = typeof m.metric === 'string' || m.metric.namespace === 'AWS/ApplicationELB';
      const issue = cloudWatchPeriodIssue(m.period, alb);
      if (issue) issues.push({ path: at('gates', 'metrics', i, 'period'), message: issue });
      issues.push(...loadBalancerMetricIssues(m, balancers).map((message) => ({ path: at('gates', 'metrics', i), message })));
    });
  }
  if (service.strategy.type === 'steps') {
    service.strategy.steps.forEach((step, i) => {
      if (step.type === 'analysis') {
        step.gates?.forEach((g, j) => {
          if (!names.has(g))
            issues.push({
              path: at('strategy', 'steps', i, 'gates', j),
              message: `names gate "${g}", which is not defined under gates; defined: ${[...names].join(', ') || 'none'}`,
            });
        });
      }
    });
  }
  let plan: Plan;
  try {
    // Webhooks that run before traffic get the plan's first step: an analysis at 0%, against the test route.
    plan = withPreTrafficCheck(
      compilePlan(spec, policy),
      gates.filter(isBeforeTraffic).map((g) => g.name),
    );
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    issues.push(...error.issues.map((i) => ({ path: at('strategy', ...i.path), message: i.message })));
    return undefined;
  }
  issues.push(
    ...validatePlan(plan, capabilities).map((i) => ({ path: at(...(i.subject === 'interval' ? intervalPath(service.strategy) : i.path)), message: i.message })),
  );
  const maxExtension = service.gates.maxExtension ?? (capabilities.holds ? DEFAULT_MAX_EXTENSION_SECONDS : 0);
  const longest = worstCaseSeconds(plan, maxExtension);
  if (longest > MAX_RELEASE_SECONDS) {
    // Generations keep each execution inside Step Functions' one year, but a release that may hold its
    // service for longer is a mistake: say so before anything moves.
    issues.push({
      path: at('strategy'),
      message: `this plan may take ${Math.ceil(longest / 86400)} days (every bake extended, every approval waiting until it expires), more than the one year a release may last; shorten the bakes or the approval timeouts`,
    });
  }
  if (!capabilities.holds) {
    // The timeline must never claim a state the target is not in: no holds a driver cannot keep.
    const why = `the ${capabilities.driver} driver cannot hold traffic where it is: ${capabilities.driver} moves on by itself (on its own timer, or replacing tasks on its own)`;
    if (service.gates.onInconclusive === 'pause') {
      issues.push({
        path: at('gates', 'onInconclusive'),
        message: `${why}, so a person cannot be asked mid-shift; use "fail" (roll back when the gates cannot decide)`,
      });
    }
    if (service.gates.maxExtension !== undefined && service.gates.maxExtension > 0) {
      issues.push({ path: at('gates', 'maxExtension'), message: `${why}, so a bake cannot be extended; use "0s" (or leave it out)` });
    }
    if (service.approvals.maxPause > 0) {
      issues.push({ path: at('approvals', 'maxPause'), message: `${why}, so a release on it cannot be paused; leave maxPause out` });
    }
  }
  let settings: ReleaseSettings = {
    // One α for the release, shared among the judge's tests (bakes × signals, and the shifts it watches).
    gates: shareJudgeAlpha(gates, plan, landsExactly(capabilities, plan)),
    gatePolicy: {
      checkIntervalSeconds: service.gates.checkInterval,
      onInconclusive: service.gates.onInconclusive,
      maxExtensionSeconds: maxExtension,
      maxErrors: service.gates.maxErrors,
    },
    approvalRules: {
      approvers: service.approvals.approvers,
      fourEyes: service.approvals.fourEyes,
      ...(service.approvals.authority ? { authority: service.approvals.authority } : {}),
    },
    pauseTimeoutSeconds: service.approvals.timeout,
    ...(service.approvals.maxPause > 0 ? { maxPauseSeconds: service.approvals.maxPause } : {}),
    // How long each step may wait for an AWS target: from the service's clocks (AWS's defaults
    // unless stated) and its plan, or the deadlines it states. Local targets answer within the call.
    ...(capabilities.waitsForTarget && aws ? { deadlines: deadlinesFor(aws, plan) } : {}),
  };
  settings = { ...settings, hold: holdSupport(capabilities, plan, settings) };
  if (capabilities.maxHoldMinutes !== undefined) {
    const minutes = ecsHookTimeoutMinutes(plan, settings);
    if (minutes > capabilities.maxHoldMinutes) {
      issues.push({
        path: at('strategy'),
        message: `ECS holds a deployment at one pause hook for at most ${ECS_HOOK_LIMITS.maxMinutes} minutes (14 days), but this plan may hold it ${minutes - ECS_HOOK_LIMITS.marginMinutes} minutes at one step (bakes extended, approvals waiting until they expire, approvals.maxPause); shorten the bakes, the approval timeouts between two traffic steps or maxPause`,
      });
    }
  }
  if (capabilities.taskDefinitions && aws?.taskDefinition && 'template' in aws.taskDefinition) {
    const template = aws.taskDefinition.template;
    const problem =
      typeof template === 'string'
        ? `is the path "${template}", which only loadConfig reads (relative to the config file); pass the task definition object itself when resolving a config object`
        : templateIssues(template, aws.containerName);
    if (problem) issues.push({ path: at('target', 'taskDefinition', 'template'), message: problem });
  }
  return {
    name: service.name,
    target: service.target,
    ...(service.trigger ? { trigger: service.trigger } : {}),
    plan,
    settings,
    ...(service.notifications?.slack ? { slackChannel: service.notifications.slack.channel } : {}),
    onActiveRelease: service.onActiveRelease,
  };
}

/**
 * Validates a config object and compiles every service's plan.
 * @throws {ConfigError} with every problem found, each with its path.
 */
export function resolveConfig(raw: unknown, source = 'config'): SwitchyardConfig {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error), source);
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  const ports = new Map<number, string>();
  const services: ServiceConfig[] = [];
  parsed.data.services.forEach((service, i) => {
    const first = seen.get(service.name);
    if (first !== undefined)
      issues.push({ path: `services[${i}].name`, message: `"${service.name}" is already the name of services[${first}]; service names must be unique` });
    seen.set(service.name, i);
    if (service.target.driver === 'local') {
      for (const [field, p] of [
        ['port', service.target.port],
        ['testPort', service.target.testPort],
      ] as const) {
        if (p === undefined) continue;
        const owner = ports.get(p);
        if (owner) issues.push({ path: `services[${i}].target.${field}`, message: `port ${p} is already used by ${owner}` });
        ports.set(p, `services[${i}].target.${field}`);
      }
    }
    const resolved = resolveService(service, i, issues);
    if (resolved) services.push(resolved);
  });
  if (parsed.data.api.auth === 'jwt' && parsed.data.api.jwt === undefined) {
    issues.push({ path: 'api.jwt', message: 'is required when api.auth is "jwt": { issuer: "https://...", audience: ["..."] }' });
  }
  const names = new Map<string, number>();
  parsed.data.people.forEach((p, i) => {
    const first = names.get(p.name);
    if (first !== undefined) issues.push({ path: `people[${i}].name`, message: `"${p.name}" is already people[${first}]; names must be unique` });
    names.set(p.name, i);
    const slackOwner = p.slack ? parsed.data.people.findIndex((q) => q.slack === p.slack) : i;
    if (slackOwner !== i) issues.push({ path: `people[${i}].slack`, message: `${p.slack} is already people[${slackOwner}]'s Slack user id` });
    if (RESERVED_NAMES.has(p.name))
      issues.push({
        path: `people[${i}].name`,
        message: `"${p.name}" is reserved (Switchyard's own actors and the shared token are named ${[...RESERVED_NAMES].join(', ')}); choose another name`,
      });
  });
  parsed.data.services.forEach((service, i) => issues.push(...authorityIssues(service, i, names)));
  if (issues.length > 0) throw new ConfigError(issues, source);
  return {
    environment: parsed.data.environment,
    api: parsed.data.api,
    ...(parsed.data.slack ? { slack: parsed.data.slack } : {}),
    removalPolicy: parsed.data.removalPolicy,
    services,
    people: parsed.data.people,
  };
}

/** The deadlines of a service's waits on its AWS target (core/target-waits.ts), with what the config states. */
function deadlinesFor(target: EcsTarget | CodeDeployTarget, plan: Plan): TargetDeadlines {
  const c = target.clocks ?? {};
  return targetDeadlines(
    {
      taskStartSeconds: c.taskStart ?? AWS_DEFAULT_CLOCKS.taskStartSeconds,
      healthCheckIntervalSeconds: c.healthCheckInterval ?? AWS_DEFAULT_CLOCKS.healthCheckIntervalSeconds,
      healthyThreshold: c.healthyThreshold ?? AWS_DEFAULT_CLOCKS.healthyThreshold,
      deregistrationDelaySeconds: c.deregistrationDelay ?? AWS_DEFAULT_CLOCKS.deregistrationDelaySeconds,
      alarmBakeSeconds: c.alarmBake ?? AWS_DEFAULT_CLOCKS.alarmBakeSeconds,
    },
    plan,
    target.deadlines ?? {},
  );
}

/**
 * Approvers name people, never raw ids: a Slack id, an IAM ARN or an email is a way a person proves
 * who they are (in `people`), and a name that matches nobody (a typo) would guard nothing. Decisions
 * that ship without the plan's approvals stay an approver's.
 */
function authorityIssues(service: ParsedService, index: number, people: ReadonlyMap<string, number>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (...rest: (string | number)[]) => formatPath(['services', index, 'approvals', ...rest]);
  service.approvals.approvers.forEach((approver, j) => {
    if (people.has(approver)) return;
    const known = [...people.keys()];
    const hint = /^[UW][A-Z0-9]{2,}$/.test(approver)
      ? `it looks like a Slack user id: add { name: '<their name>', slack: '${approver}' } to people and name them here`
      : approver.startsWith('arn:')
        ? `it looks like an IAM principal: add { name: '<their name>', iam: ['${approver}'] } to people and name them here`
        : approver.includes('@')
          ? `it looks like an email: add { name: '<their name>', jwt: ['${approver}'] } to people (it counts only when the token says it is verified) and name them here`
          : `approvers name people from people${known.length > 0 ? ` (${known.join(', ')})` : ' (none is configured)'}`;
    issues.push({ path: at('approvers', j), message: `"${approver}" is not a configured person; ${hint}` });
  });
  const rollback = service.approvals.authority?.rollback ?? DEFAULT_AUTHORITY.rollback;
  const pause = service.approvals.authority?.pause;
  if (pause !== undefined && stricter(pause, rollback) !== pause)
    issues.push({
      path: at('authority', 'pause'),
      message: `"${pause}" is not allowed while rollback is "${rollback}": a pause can end in a rollback (ECS's hold limit) or hold the service indefinitely, so pause is never easier than rollback; remove the line (pause follows rollback) or set it to "${rollback}" or stricter`,
    });
  for (const [verb, who] of Object.entries(service.approvals.authority ?? {}) as [Verb, Who][]) {
    if (APPROVERS_ONLY.has(verb) && who !== 'approvers')
      issues.push({
        path: at('authority', verb),
        message: `"${who}" is not allowed: ${verb} ${verb === 'approve' ? 'is what approvers are for' : "ships a version without the plan's approvals"}, so it stays "approvers" (remove the line, or list the people in approvals.approvers)`,
      });
  }
  return issues;
}
