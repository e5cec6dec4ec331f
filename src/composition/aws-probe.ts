import { registerable } from '../adapters/aws/task-definition.js';
import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
  type DeploymentLifecycleHook,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type ServiceDeployment,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { resolveLazy, type Lazy } from '../adapters/aws/lazy.js';
import { translateAwsError } from '../adapters/aws/errors.js';
import { TransientError } from '../core/errors.js';
import { poll, type Clock } from '../ports/clock.js';

/**
 * `switchyard probe`: a live check of the ECS behaviours Switchyard relies on (docs/aws-behaviours.md),
 * run against a SANDBOX service the user names. It changes the service: a configuration-only update
 * that adds a PAUSE hook, then two blue/green releases of a no-op revision (the running task definition
 * re-registered with `SWITCHYARD_PROBE=<n>` in each container's environment), and it always puts the
 * service's deploymentConfiguration back, with `lifecycleHooks` sent explicitly because UpdateService merges.
 *
 * Every wait goes through `sleep` and every time through `clock`, so tests run it on a virtual clock.
 */

/** A row's verdict: the behaviour was seen to hold, seen not to, or the run could not observe it. */
export const Verdict = { held: 'held', violated: 'violated', notSeen: 'not seen' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** The rows of docs/aws-behaviours.md the probe settles, keyed by a stable id (the report's `row`). */
export const PROBE_ROWS = {
  taskStart: 'A task takes time to start (the fake assumes 30-90 s)',
  healthChecks: 'A task behind an ALB counts healthy only after HealthyThresholdCount x HealthCheckIntervalSeconds (default 150 s)',
  scaleUpBeforeHook: 'Blue/green SCALE_UP ends only when green runs the full desired count, healthy; the first hook comes minutes after UpdateService',
  cleanUpDrains: 'Blue/green CLEAN_UP drains for the deregistration delay (default 300 s)',
  alarmBake: 'Rolling with deployment alarms: ECS bakes after replacement',
  mergesUpdates: 'UpdateService merges deploymentConfiguration: an omitted lifecycleHooks is kept',
  configUpdateStartsDeployment: 'A configuration-only UpdateService starts a service deployment',
  readsLag: 'ECS reads are eventually consistent: right after ContinueServiceDeployment a describe may still show the hook AWAITING_ACTION',
  listPages: 'ListServiceDeployments documents no order and pages (maxResults, nextToken)',
  targetGroupsSwap: 'After a blue/green success the production and alternate target groups swap roles',
} as const;
export type ProbeRow = keyof typeof PROBE_ROWS;

export interface RowResult {
  readonly row: ProbeRow;
  readonly behaviour: string;
  readonly verdict: Verdict;
  /** What was measured, in words a person reads (numbers are also in `releases`). */
  readonly measurement: string;
}

/** One deployment the probe drove, with its timings in seconds from its UpdateService. */
export interface ProbeRelease {
  readonly name: string;
  readonly serviceDeploymentArn: string;
  readonly taskDefinition: string;
  readonly status: string;
  /** The first poll at which each lifecycle stage was seen. */
  readonly stagesFirstSeen: Record<string, number>;
  /** All green tasks RUNNING (targetServiceRevision.runningTaskCount = requestedTaskCount). */
  readonly greenRunningAt?: number;
  readonly firstHookAt?: number;
  /** Green fully running when the first hook was seen waiting. */
  readonly greenFullAtHook?: boolean;
  readonly successfulAt?: number;
  /** Did the deployment's configuration carry the probe's PAUSE hook. */
  readonly hadPauseHook: boolean;
  /** The production target group (DescribeServices loadBalancers) before the UpdateService and after SUCCESSFUL. */
  readonly productionTargetGroupBefore?: string;
  readonly productionTargetGroupAfter?: string;
  readonly continues: readonly { hookId: string; staleImmediately: boolean; readsUntilConsistent: number; secondsUntilConsistent: number }[];
}

export interface ProbeReport {
  readonly cluster: string;
  readonly service: string;
  readonly region?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly rows: readonly RowResult[];
  readonly releases: readonly ProbeRelease[];
  readonly observations: {
    readonly configurationOnlyStartedDeployment?: boolean;
    readonly listOrder?: 'oldest-first' | 'newest-first' | 'unordered';
    readonly listPageSizes?: readonly number[];
  };
  readonly restore: { readonly sent: boolean; readonly matches: boolean; readonly deploymentConfiguration?: DeploymentConfiguration; readonly error?: string };
  /** The task definition the service runs after the probe (the probe's no-op revision when a release shipped). */
  readonly taskDefinitionAfter?: string;
}

export interface ProbeOptions {
  readonly cluster: string;
  readonly service: string;
  readonly region?: string;
  readonly ecs: Lazy<ECSClient>;
  readonly clock: Clock;
  /** Waits `ms` of the clock's time: a real timer in production, a virtual clock in tests. */
  readonly sleep: (ms: number) => Promise<void>;
  /** How often a deployment is read while it runs. @default 5000 */
  readonly pollMs?: number;
  /** A deployment that has not ended after this long fails the probe (it is then stopped with rollback). @default 45 minutes */
  readonly deploymentTimeoutMs?: number;
  /** How long to look for a deployment started by the configuration-only update. @default 60000 */
  readonly configStartWaitMs?: number;
  /** The target groups' HealthCheckIntervalSeconds x HealthyThresholdCount. @default 150 (ALB defaults 30 x 5) */
  readonly healthCheckSeconds?: number;
  /** The target groups' deregistration_delay.timeout_seconds. @default 300 (ALB default) */
  readonly deregistrationDelaySeconds?: number;
  /** Progress lines for a person. */
  readonly log?: (line: string) => void;
  /** Aborting (Ctrl-C) ends the probe at its next call or wait; the configuration is still put back. */
  readonly signal?: AbortSignal;
}

/** The ECS client, made on first use (the SDK loads only when the probe runs); the SDK retries throttling too. */
export function defaultProbeClient(region?: string): () => Promise<ECSClient> {
  let made: Promise<ECSClient> | undefined;
  return () =>
    (made ??= import('@aws-sdk/client-ecs').then(({ ECSClient }) => new ECSClient({ retryMode: 'adaptive', maxAttempts: 5, ...(region ? { region } : {}) })));
}

/** The PAUSE hook the probe adds: after SCALE_UP, rolled back by ECS itself if the probe dies and nobody continues it. */
export const PROBE_HOOK: DeploymentLifecycleHook = {
  targetType: 'PAUSE',
  lifecycleStages: ['POST_SCALE_UP'],
  timeoutConfiguration: { timeoutInMinutes: 30, action: 'ROLLBACK' },
};

/** The environment variable that makes each probe revision differ from the running one. */
export const PROBE_ENV = 'SWITCHYARD_PROBE';

/** The fake's assumed ceiling for a task start (docs/aws-behaviours.md), in seconds. */
const TASK_START_MAX_SECONDS = 90;
const HOOK_STRATEGIES = new Set(['BLUE_GREEN', 'CANARY', 'LINEAR']);
const TERMINAL = new Set(['SUCCESSFUL', 'STOPPED', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED']);

/** The probe could not run, or a step failed: the message says which (the configuration is restored first). */
export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Without --yes and without a terminal to ask on, the probe refuses before sending anything. */
export class ProbeRefusedError extends Error {
  override readonly name = 'ProbeRefusedError';
}

export const PROBE_REFUSAL = 'switchyard probe changes the service (a configuration update and two releases): run it on a terminal to confirm, or pass --yes';

/**
 * Whether to go on: `--yes` goes; on a terminal the person is asked (y/N, anything but y/yes declines);
 * with neither it throws {@link ProbeRefusedError}.
 */
export async function confirmProbe({ yes, isTTY, ask }: { yes: boolean; isTTY: boolean; ask: () => Promise<string> }): Promise<boolean> {
  if (yes) return true;
  if (!isTTY) throw new ProbeRefusedError(PROBE_REFUSAL);
  return /^y(es)?$/i.test((await ask()).trim());
}

/** What the probe will do, for the person to read before confirming. */
export function probePlan(cluster: string, service: string): string[] {
  return [
    `switchyard probe will change the ECS service ${service} in cluster ${cluster} (use a SANDBOX service, never production):`,
    `  1. read the service and its deploymentConfiguration (kept, to put back at the end)`,
    `  2. UpdateService with only deploymentConfiguration, its lifecycleHooks replaced by one PAUSE hook at POST_SCALE_UP`,
    `     (30 min, ROLLBACK on timeout);`,
    `     if ECS starts a deployment for it, continue the hook and wait for it to end`,
    `  3. release 1: re-register the running task definition with ${PROBE_ENV}=1 (same image) and UpdateService to it,`,
    `     leaving lifecycleHooks out (does ECS keep them?); continue each PAUSE hook; wait for SUCCESSFUL`,
    `  4. release 2: the same with ${PROBE_ENV}=2, sending lifecycleHooks explicitly`,
    `  5. always, even after a failure: UpdateService with the original deploymentConfiguration (lifecycleHooks explicit)`,
    `  Each release takes minutes (task start, health checks, deregistration delay). The service keeps the last`,
    `  probe revision (same image, ${PROBE_ENV} set); a failed step stops its deployment with rollback.`,
  ];
}

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

/** The configuration that puts `original` back over a merging UpdateService: lifecycleHooks always explicit. */
export function restoringConfiguration(original: DeploymentConfiguration): DeploymentConfiguration {
  return { ...structuredClone(original), lifecycleHooks: structuredClone(original.lifecycleHooks ?? []) };
}

/**
 * The three configurations the probe sends, from the service's own: with the probe's PAUSE hook in place
 * of the service's hooks; the same with `lifecycleHooks` left out (release 1, the merge check); and the
 * restore, the original with `lifecycleHooks` explicit.
 */
export function probeConfigurations(original: DeploymentConfiguration): {
  probe: DeploymentConfiguration;
  withoutHooks: DeploymentConfiguration;
  restore: DeploymentConfiguration;
} {
  const probe: DeploymentConfiguration = { ...structuredClone(original), lifecycleHooks: [PROBE_HOOK] };
  const { lifecycleHooks: _left, ...withoutHooks } = structuredClone(probe);
  return { probe, withoutHooks, restore: restoringConfiguration(original) };
}

/** The no-op revision n: the task definition as described, read-only fields dropped, PROBE_ENV=n in every container. */
export function noOpRevision(
  described: { taskDefinition?: Record<string, unknown>; tags?: { key?: string; value?: string }[] },
  n: number,
): RegisterTaskDefinitionCommandInput {
  // The running revision as RegisterTaskDefinition takes it (the release path's own rule), one variable changed.
  const input = registerable(structuredClone(described.taskDefinition ?? {}), described.tags);
  return {
    ...input,
    containerDefinitions: (input.containerDefinitions ?? []).map((c) => ({
      ...c,
      environment: [...(c.environment ?? []).filter((e) => e.name !== PROBE_ENV), { name: PROBE_ENV, value: String(n) }],
    })),
  };
}

/** The production target group of the load balancer that has an alternate one (blue/green), if any. */
const productionTargetGroup = (svc: Service): string | undefined =>
  svc.loadBalancers?.find((l) => l.advancedConfiguration?.alternateTargetGroupArn)?.targetGroupArn;

/** The probe's run: its calls, waits and observations. One instance per run. */
class Probe {
  private readonly pollMs: number;
  private readonly t0: number;
  readonly releases: ProbeRelease[] = [];
  readonly observations: {
    configurationOnlyStartedDeployment?: boolean;
    listOrder?: 'oldest-first' | 'newest-first' | 'unordered';
    listPageSizes?: number[];
  } = {};
  /** Deployments the probe caused, oldest first. */
  readonly started: string[] = [];
  active: string | undefined;
  /** Set once the probe is putting the configuration back: an abort no longer interrupts. */
  restoring = false;
  private client: ECSClient | undefined;

  constructor(private readonly o: ProbeOptions) {
    this.pollMs = o.pollMs ?? 5000;
    this.t0 = o.clock.now();
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  private checkAborted(): void {
    if (this.o.signal?.aborted && !this.restoring) throw new ProbeError('interrupted');
  }

  /** Every wait of the probe: on the injected clock, and interruptible until the restore begins. */
  async wait(ms: number): Promise<void> {
    this.checkAborted();
    await this.o.sleep(ms);
    this.checkAborted();
  }

  /** One ECS call; throttling and AWS-side failures are retried with backoff (up to 8 tries), anything else is thrown. */
  async send<T>(command: unknown, what: string): Promise<T> {
    this.client ??= await resolveLazy(this.o.ecs);
    this.checkAborted();
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.client.send(command as never)) as T;
      } catch (error) {
        const translated = translateAwsError(error, what, `${this.o.cluster}/${this.o.service}`);
        if (!(translated instanceof TransientError) || attempt >= 8) throw translated;
        await this.wait(Math.min(200 * 2 ** attempt, 10_000));
      }
    }
  }

  async describeService(): Promise<Service> {
    const out = await this.send<{ services?: Service[]; failures?: { reason?: string }[] }>(
      new DescribeServicesCommand({ cluster: this.o.cluster, services: [this.o.service] }),
      'ecs:DescribeServices',
    );
    const svc = out.services?.[0];
    if (!svc) throw new ProbeError(`service ${this.o.service} not found in cluster ${this.o.cluster} (${out.failures?.[0]?.reason ?? 'MISSING'})`);
    return svc;
  }

  async describeDeployment(arn: string): Promise<ServiceDeployment | undefined> {
    const out = await this.send<{ serviceDeployments?: ServiceDeployment[] }>(
      new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
      'ecs:DescribeServiceDeployments',
    );
    return out.serviceDeployments?.find((d) => d.serviceDeploymentArn === arn);
  }

  /** Every deployment of the service, page by page with `maxResults` per page, in the order ECS lists them. */
  async listDeployments(maxResults?: number): Promise<{ arns: { arn: string; createdAt?: Date }[]; pageSizes: number[] }> {
    const arns: { arn: string; createdAt?: Date }[] = [];
    const pageSizes: number[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.send<{ serviceDeployments?: { serviceDeploymentArn?: string; createdAt?: Date }[]; nextToken?: string }>(
        new ListServiceDeploymentsCommand({
          cluster: this.o.cluster,
          service: this.o.service,
          ...(maxResults ? { maxResults } : {}),
          ...(nextToken ? { nextToken } : {}),
        }),
        'ecs:ListServiceDeployments',
      );
      const page = out.serviceDeployments ?? [];
      pageSizes.push(page.length);
      for (const d of page) if (d.serviceDeploymentArn) arns.push({ arn: d.serviceDeploymentArn, ...(d.createdAt ? { createdAt: d.createdAt } : {}) });
      nextToken = out.nextToken;
    } while (nextToken && pageSizes.length < 50);
    return { arns, pageSizes };
  }

  async update(input: Omit<UpdateServiceCommandInput, 'cluster' | 'service'>): Promise<Service | undefined> {
    const out = await this.send<{ service?: Service }>(
      new UpdateServiceCommand({ cluster: this.o.cluster, service: this.o.service, ...input }),
      'ecs:UpdateService',
    );
    return out.service;
  }

  /** The running task definition re-registered with PROBE_ENV=n in every container: the same image, a new revision. */
  async describeTaskDefinition(taskDefinition: string) {
    const out = await this.send<{ taskDefinition?: Record<string, unknown>; tags?: { key?: string; value?: string }[] }>(
      new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }),
      'ecs:DescribeTaskDefinition',
    );
    if (!out.taskDefinition) throw new ProbeError(`task definition ${taskDefinition} could not be read`);
    return out;
  }

  async registerNoOp(taskDefinition: string, n: number): Promise<string> {
    const input = noOpRevision(await this.describeTaskDefinition(taskDefinition), n);
    const registered = await this.send<{ taskDefinition?: { taskDefinitionArn?: string } }>(
      new RegisterTaskDefinitionCommand(input),
      'ecs:RegisterTaskDefinition',
    );
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new ProbeError('RegisterTaskDefinition returned no ARN');
    return arn;
  }

  private since(start: number): number {
    return Math.round((this.o.clock.now() - start) / 100) / 10;
  }

  /** A deployment's ARN that was not in `known`: from the UpdateService answer, else from the list (reads may lag). */
  async newDeployment(answer: Service | undefined, known: ReadonlySet<string>, waitMs: number): Promise<string | undefined> {
    const fromAnswer = answer?.currentServiceDeployment;
    if (fromAnswer && !known.has(fromAnswer)) return fromAnswer;
    return poll(async () => (await this.listDeployments()).arns.find((d) => !known.has(d.arn))?.arn, {
      withinMs: waitMs,
      everyMs: this.pollMs,
      clock: this.o.clock,
      pause: (ms) => this.wait(ms),
    });
  }

  /**
   * Drives one deployment to its end: continues each PAUSE hook once (a read right after the continue
   * may still show it waiting), records when each stage, the green tasks and the hooks were first seen.
   */
  async drive(name: string, arn: string, taskDefinition: string, start: number, tgBefore: string | undefined): Promise<ProbeRelease> {
    this.active = arn;
    this.started.push(arn);
    this.log(`${name}: ${arn}`);
    const stagesFirstSeen: Record<string, number> = {};
    const continued = new Set<string>();
    const continues: ProbeRelease['continues'][number][] = [];
    let greenRunningAt: number | undefined;
    let firstHookAt: number | undefined;
    let greenFullAtHook: boolean | undefined;
    let hadPauseHook = false;
    const deadline = start + (this.o.deploymentTimeoutMs ?? 45 * 60_000);
    for (;;) {
      const d = await this.describeDeployment(arn);
      if (d) {
        if (d.deploymentConfiguration) hadPauseHook = hasProbeHook(d.deploymentConfiguration);
        const stage = d.lifecycleStage;
        if (stage && stagesFirstSeen[stage] === undefined) {
          stagesFirstSeen[stage] = this.since(start);
          this.log(`  ${stagesFirstSeen[stage]} s  ${stage}`);
        }
        const green = d.targetServiceRevision;
        const full = green?.requestedTaskCount !== undefined && green.requestedTaskCount > 0 && (green.runningTaskCount ?? 0) >= green.requestedTaskCount;
        if (full && greenRunningAt === undefined) greenRunningAt = this.since(start);
        if (d.status && TERMINAL.has(d.status)) {
          this.active = undefined;
          const tgAfter = d.status === 'SUCCESSFUL' && tgBefore ? productionTargetGroup(await this.describeService()) : undefined;
          const release: ProbeRelease = {
            name,
            serviceDeploymentArn: arn,
            taskDefinition,
            status: d.status,
            stagesFirstSeen,
            ...(greenRunningAt !== undefined ? { greenRunningAt } : {}),
            ...(firstHookAt !== undefined ? { firstHookAt } : {}),
            ...(greenFullAtHook !== undefined ? { greenFullAtHook } : {}),
            ...(d.status === 'SUCCESSFUL' ? { successfulAt: this.since(start) } : {}),
            hadPauseHook,
            ...(tgBefore ? { productionTargetGroupBefore: tgBefore } : {}),
            ...(tgAfter ? { productionTargetGroupAfter: tgAfter } : {}),
            continues,
          };
          this.releases.push(release);
          this.log(`  ${this.since(start)} s  ${d.status}`);
          if (d.status !== 'SUCCESSFUL') throw new ProbeError(`${name} ended ${d.status}${d.statusReason ? `: ${d.statusReason}` : ''}`);
          return release;
        }
        const hook = d.lifecycleHookDetails?.find((h) => h.status === 'AWAITING_ACTION' && h.hookId && !continued.has(h.hookId));
        if (hook?.hookId) {
          if (firstHookAt === undefined) {
            firstHookAt = this.since(start);
            greenFullAtHook = full;
            this.log(`  ${firstHookAt} s  hook ${hook.hookId} AWAITING_ACTION: continuing`);
          }
          continued.add(hook.hookId);
          await this.send(
            new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId: hook.hookId, action: 'CONTINUE' }),
            'ecs:ContinueServiceDeployment',
          );
          continues.push({ hookId: hook.hookId, ...(await this.readAfterContinue(arn, hook.hookId)) });
          continue;
        }
      }
      if (this.o.clock.now() >= deadline) throw new ProbeError(`${name} did not end within ${Math.round((deadline - start) / 60_000)} min`);
      await this.wait(this.pollMs);
    }
  }

  /** Reads the deployment right after a continue, then every second, until the hook no longer shows AWAITING_ACTION. */
  private async readAfterContinue(arn: string, hookId: string) {
    const start = this.o.clock.now();
    let staleImmediately = false;
    for (let reads = 1; reads <= 60; reads++) {
      const d = await this.describeDeployment(arn);
      const status = d?.lifecycleHookDetails?.find((h) => h.hookId === hookId)?.status;
      const stale = status === 'AWAITING_ACTION' || d === undefined;
      if (reads === 1) staleImmediately = stale;
      if (!stale) return { staleImmediately, readsUntilConsistent: reads, secondsUntilConsistent: this.since(start) };
      await this.wait(1000);
    }
    return { staleImmediately, readsUntilConsistent: 61, secondsUntilConsistent: this.since(start) };
  }

  /** After a failure: stop the probe's deployment with rollback and wait (bounded) for it to end. Best effort. */
  async stopActive(): Promise<string | undefined> {
    const arn = this.active;
    if (!arn) return undefined;
    try {
      await this.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }), 'ecs:StopServiceDeployment');
      const deadline = this.o.clock.now() + 10 * 60_000;
      while (this.o.clock.now() < deadline) {
        const status = (await this.describeDeployment(arn))?.status;
        if (status && TERMINAL.has(status)) return undefined;
        await this.wait(this.pollMs);
      }
      return `the stopped deployment ${arn} had not ended after 10 min`;
    } catch (error) {
      return `could not stop ${arn}: ${(error as Error).message}`;
    }
  }
}

const hasProbeHook = (config: DeploymentConfiguration) =>
  (config.lifecycleHooks ?? []).some((h) => h.targetType === 'PAUSE' && (h.lifecycleStages ?? []).includes('POST_SCALE_UP'));

/** Reads the service and refuses, before anything changes, one the probe cannot drive. */
async function probeable(probe: Probe, service: string): Promise<{ original: Service; taskDefinition: string }> {
  const original = await probe.describeService();
  const strategy = original.deploymentConfiguration?.strategy ?? 'ROLLING';
  if ((original.deploymentController?.type ?? 'ECS') !== 'ECS')
    throw new ProbeError(`service ${service} uses the ${original.deploymentController?.type} deployment controller; the probe needs ECS native deployments`);
  if (!HOOK_STRATEGIES.has(strategy))
    throw new ProbeError(
      `service ${service} uses the ${strategy} strategy; the probe needs BLUE_GREEN, CANARY or LINEAR (lifecycle hooks, an alternate target group)`,
    );
  if (!original.taskDefinition) throw new ProbeError(`service ${service} has no task definition`);
  return { original, taskDefinition: original.taskDefinition };
}

/** One call the probe would make, with its exact input (`<…>` marks what only a live run learns). */
export interface PlannedCall {
  readonly command: string;
  readonly input: unknown;
}

const LATER = (what: string) => `<${what}, known during the run>`;

/**
 * `switchyard probe --dry-run`: reads the service and its task definition (reads change nothing) and
 * returns every call that would change something, in order, with its exact input; sends none of them.
 */
export async function probeDryRun(options: Pick<ProbeOptions, 'cluster' | 'service' | 'ecs' | 'clock' | 'sleep'>): Promise<PlannedCall[]> {
  const probe = new Probe(options);
  const { original, taskDefinition } = await probeable(probe, options.service);
  const configs = probeConfigurations(original.deploymentConfiguration ?? {});
  const described = await probe.describeTaskDefinition(taskDefinition);
  const at = { cluster: options.cluster, service: options.service };
  const continueHook = (n: string) => ({
    command: 'ContinueServiceDeployment',
    input: { serviceDeploymentArn: LATER(`the ${n} deployment`), hookId: LATER('the waiting hook'), action: 'CONTINUE' },
  });
  return [
    { command: 'UpdateService', input: { ...at, deploymentConfiguration: configs.probe } },
    continueHook('configuration-only (if ECS starts one)'),
    { command: 'RegisterTaskDefinition', input: noOpRevision(described, 1) },
    { command: 'UpdateService', input: { ...at, taskDefinition: LATER('revision 1'), deploymentConfiguration: configs.withoutHooks } },
    continueHook('release 1'),
    { command: 'RegisterTaskDefinition', input: noOpRevision(described, 2) },
    { command: 'UpdateService', input: { ...at, taskDefinition: LATER('revision 2'), deploymentConfiguration: configs.probe } },
    continueHook('release 2'),
    { command: 'UpdateService', input: { ...at, deploymentConfiguration: configs.restore } },
  ];
}

/**
 * Runs the probe and returns its report; it never leaves the service with the probe's configuration:
 * whatever fails, the original deploymentConfiguration is sent back (and read back to compare).
 *
 * @example
 * const report = await runProbe({ cluster: 'sandbox', service: 'api-probe', ecs: client, clock: systemClock, sleep: (ms) => setTimeout(ms) });
 */
export async function runProbe(options: ProbeOptions): Promise<ProbeReport> {
  const probe = new Probe(options);
  const { clock } = options;
  const startedAt = new Date(clock.now()).toISOString();
  const { original, taskDefinition: running0 } = await probeable(probe, options.service);
  const originalConfig = original.deploymentConfiguration ?? {};
  const configs = probeConfigurations(originalConfig);
  const probeConfig = configs.probe;
  let error: unknown;
  try {
    // 1. A configuration-only update: does ECS start a deployment for it?
    const known = new Set((await probe.listDeployments()).arns.map((d) => d.arn));
    const sameAlready = canonical(probeConfig) === canonical(originalConfig);
    let start = clock.now();
    let tgBefore = productionTargetGroup(original);
    const configAnswer = await probe.update({ deploymentConfiguration: probeConfig });
    const configDeployment = await probe.newDeployment(configAnswer, known, options.configStartWaitMs ?? 60_000);
    if (!sameAlready) probe.observations.configurationOnlyStartedDeployment = configDeployment !== undefined;
    if (configDeployment) {
      known.add(configDeployment);
      await probe.drive('configuration-only deployment', configDeployment, running0, start, tgBefore);
    }

    // 2. Release 1 leaves lifecycleHooks out (merge check); release 2 sends them.
    let running = running0;
    for (const n of [1, 2]) {
      const taskDefinition = await probe.registerNoOp(running, n);
      tgBefore = productionTargetGroup(await probe.describeService());
      start = clock.now();
      const answer = await probe.update({ taskDefinition, deploymentConfiguration: n === 1 ? configs.withoutHooks : probeConfig });
      const arn = await probe.newDeployment(answer, known, 5 * 60_000);
      if (!arn) throw new ProbeError(`release ${n}: UpdateService to ${taskDefinition} started no deployment that ListServiceDeployments shows`);
      known.add(arn);
      await probe.drive(`release ${n}`, arn, taskDefinition, start, tgBefore);
      running = taskDefinition;
    }

    // 3. The list, one per page: paging and order.
    const listed = await probe.listDeployments(1);
    probe.observations.listPageSizes = listed.pageSizes;
    const ours = listed.arns.filter((d) => probe.started.includes(d.arn)).map((d) => probe.started.indexOf(d.arn));
    probe.observations.listOrder = ours.every((v, i) => i === 0 || v > (ours[i - 1] ?? 0))
      ? 'oldest-first'
      : ours.every((v, i) => i === 0 || v < (ours[i - 1] ?? 0))
        ? 'newest-first'
        : 'unordered';
  } catch (caught) {
    error = caught;
  }

  // 4. Always: the deploymentConfiguration the service had, lifecycleHooks explicit (UpdateService merges).
  probe.restoring = true;
  const stopProblem = error ? await probe.stopActive() : undefined;
  const restoreConfig = configs.restore;
  let restore: ProbeReport['restore'];
  let taskDefinitionAfter: string | undefined;
  try {
    await probe.update({ deploymentConfiguration: restoreConfig });
    let after = await probe.describeService();
    // A read right after the write may show the configuration before it: read again a few times.
    for (let i = 0; i < 5 && canonical(restoringConfiguration(after.deploymentConfiguration ?? {})) !== canonical(restoreConfig); i++) {
      await probe.wait(1000);
      after = await probe.describeService();
    }
    const matches = canonical(restoringConfiguration(after.deploymentConfiguration ?? {})) === canonical(restoreConfig);
    restore = { sent: true, matches, ...(after.deploymentConfiguration ? { deploymentConfiguration: after.deploymentConfiguration } : {}) };
    taskDefinitionAfter = after.taskDefinition;
  } catch (restoreError) {
    restore = { sent: false, matches: false, error: (restoreError as Error).message };
  }
  const problems = [error ? (error as Error).message : undefined, stopProblem, restore.error ? `restore failed: ${restore.error}` : undefined].filter(
    (p): p is string => p !== undefined,
  );
  return {
    cluster: options.cluster,
    service: options.service,
    ...(options.region ? { region: options.region } : {}),
    startedAt,
    finishedAt: new Date(clock.now()).toISOString(),
    ok: problems.length === 0 && restore.matches,
    ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
    rows: assess(probe.releases, probe.observations, options),
    releases: probe.releases,
    observations: probe.observations,
    restore,
    ...(taskDefinitionAfter ? { taskDefinitionAfter } : {}),
  };
}

/** Several releases' verdicts for one row: one violation decides; else one hold; else not seen. */
function combine(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes(Verdict.violated)) return Verdict.violated;
  if (verdicts.includes(Verdict.held)) return Verdict.held;
  return Verdict.notSeen;
}

/** Turns what the run saw into one verdict per row (pure: the tests feed it the fake's observations). */
export function assess(
  releases: readonly ProbeRelease[],
  obs: ProbeReport['observations'],
  options: Pick<ProbeOptions, 'pollMs' | 'healthCheckSeconds' | 'deregistrationDelaySeconds'>,
): RowResult[] {
  const poll = (options.pollMs ?? 5000) / 1000;
  const health = options.healthCheckSeconds ?? 150;
  const drain = options.deregistrationDelaySeconds ?? 300;
  const row = (id: ProbeRow, verdict: Verdict, measurement: string): RowResult => ({ row: id, behaviour: PROBE_ROWS[id], verdict, measurement });
  const each = (describe: (r: ProbeRelease) => [Verdict, string] | undefined) => {
    const seen = releases.flatMap((r) => {
      const v = describe(r);
      return v ? [{ name: r.name, verdict: v[0], text: v[1] }] : [];
    });
    return { verdict: combine(seen.map((s) => s.verdict)), text: seen.length ? seen.map((s) => `${s.name}: ${s.text}`).join('; ') : 'no deployment showed it' };
  };

  const taskStart = each((r) =>
    r.greenRunningAt === undefined
      ? undefined
      : [
          r.greenRunningAt <= TASK_START_MAX_SECONDS + poll ? Verdict.held : Verdict.violated,
          `all green tasks RUNNING ${r.greenRunningAt} s after UpdateService (assumed at most ${TASK_START_MAX_SECONDS} s; polled every ${poll} s)`,
        ],
  );
  const healthChecks = each((r) =>
    r.greenRunningAt === undefined || r.firstHookAt === undefined
      ? undefined
      : [
          r.firstHookAt - r.greenRunningAt >= health - poll ? Verdict.held : Verdict.violated,
          `${Math.round((r.firstHookAt - r.greenRunningAt) * 10) / 10} s from all green tasks RUNNING to the POST_SCALE_UP hook (expected ${health} s of health checks)`,
        ],
  );
  const scaleUp = each((r) =>
    r.firstHookAt === undefined
      ? undefined
      : [
          r.firstHookAt >= health && r.greenFullAtHook === true ? Verdict.held : Verdict.violated,
          `first hook AWAITING_ACTION ${r.firstHookAt} s after UpdateService, green ${r.greenFullAtHook ? 'fully' : 'not fully'} running then` +
            (r.successfulAt !== undefined ? `; SUCCESSFUL at ${r.successfulAt} s` : ''),
        ],
  );
  const cleanUp = each((r) => {
    if (r.successfulAt === undefined) return undefined;
    const seenAt = r.stagesFirstSeen['CLEAN_UP'];
    const lasted = seenAt === undefined ? 0 : r.successfulAt - seenAt;
    return [
      lasted + poll >= drain ? Verdict.held : Verdict.violated,
      seenAt === undefined
        ? `CLEAN_UP never seen (shorter than one ${poll} s poll; expected ${drain} s)`
        : `CLEAN_UP first seen at ${seenAt} s, SUCCESSFUL at ${r.successfulAt} s: ${Math.round(lasted * 10) / 10} s (expected ${drain} s)`,
    ];
  });
  const release1 = releases.find((r) => r.name === 'release 1');
  const merges: [Verdict, string] =
    release1 === undefined
      ? [Verdict.notSeen, 'release 1 did not run']
      : release1.hadPauseHook || release1.firstHookAt !== undefined
        ? [Verdict.held, 'release 1 left lifecycleHooks out of UpdateService; the PAUSE hook was kept (and paused the deployment)']
        : [Verdict.violated, 'release 1 left lifecycleHooks out of UpdateService; the deployment ran without the PAUSE hook: the update replaced them'];
  const configStarts: [Verdict, string] =
    obs.configurationOnlyStartedDeployment === undefined
      ? [Verdict.notSeen, 'the configuration-only update was not observed']
      : obs.configurationOnlyStartedDeployment
        ? [Verdict.held, 'UpdateService with only deploymentConfiguration started a service deployment']
        : [Verdict.violated, `UpdateService with only deploymentConfiguration started no deployment (looked for it by listing)`];
  const continues = releases.flatMap((r) => r.continues);
  const stale = continues.filter((c) => c.staleImmediately);
  const lag: [Verdict, string] =
    continues.length === 0
      ? [Verdict.notSeen, 'no hook was continued']
      : stale.length > 0
        ? [
            Verdict.held,
            `${stale.length} of ${continues.length} reads right after ContinueServiceDeployment still showed the hook AWAITING_ACTION; consistent after ${Math.max(...stale.map((c) => c.secondsUntilConsistent))} s at most`,
          ]
        : [Verdict.notSeen, `all ${continues.length} reads right after ContinueServiceDeployment were consistent this time (lag is allowed, not promised)`];
  const pages = obs.listPageSizes;
  const list: [Verdict, string] =
    pages === undefined
      ? [Verdict.notSeen, 'the list was not read']
      : pages.length >= 2 && pages.every((n) => n <= 1)
        ? [Verdict.held, `maxResults 1 gave ${pages.length} pages of at most 1 with nextToken; order of the probe's deployments: ${obs.listOrder}`]
        : pages.length < 2 && pages.every((n) => n <= 1)
          ? [Verdict.notSeen, `only ${pages.reduce((a, b) => a + b, 0)} deployment(s) listed: paging not exercised`]
          : [Verdict.violated, `maxResults 1 returned pages of ${pages.join(', ')}; order: ${obs.listOrder}`];
  const swap = each((r) =>
    r.productionTargetGroupBefore === undefined || r.productionTargetGroupAfter === undefined
      ? undefined
      : [
          r.productionTargetGroupBefore !== r.productionTargetGroupAfter ? Verdict.held : Verdict.violated,
          `production target group ${r.productionTargetGroupBefore} before, ${r.productionTargetGroupAfter} after SUCCESSFUL`,
        ],
  );

  return [
    row('taskStart', taskStart.verdict, taskStart.text),
    row('healthChecks', healthChecks.verdict, healthChecks.text),
    row('scaleUpBeforeHook', scaleUp.verdict, scaleUp.text),
    row('cleanUpDrains', cleanUp.verdict, cleanUp.text),
    row('alarmBake', Verdict.notSeen, 'the probe runs hook-driven (blue/green) deployments; the alarm bake is a rolling behaviour'),
    row('mergesUpdates', ...merges),
    row('configUpdateStartsDeployment', ...configStarts),
    row('readsLag', ...lag),
    row('listPages', ...list),
    row('targetGroupsSwap', swap.verdict, swap.text),
  ];
}
