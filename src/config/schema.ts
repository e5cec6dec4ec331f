import * as z from 'zod';
import { LIMITS } from '../core/plan.js';
import { durationSeconds } from '../core/duration.js';
import { LOAD_BALANCER_METRICS, TARGET_METRICS } from '../core/gates.js';
import { VERBS, WHO, type Verb, type Who } from '../core/authority.js';

/**
 * The schema of `switchyard.config.ts`. Every object is strict: an unknown key is an error, so a
 * typo never silently turns a safety setting off.
 */

const durationText = 'a duration such as "30s", "5m", "1h" or a number of seconds';

/**
 * Why a duration that is not a whole number of seconds is refused, and what to write instead:
 * Switchyard (its timers, Step Functions' waits, the drivers) counts in whole seconds, so "0.4s"
 * would silently become no wait at all and "1.5s" a wait of 2s.
 */
export function wholeSecondsIssue(value: string | number, seconds: number, min: number): string | undefined {
  if (Number.isInteger(seconds)) return undefined;
  const given = JSON.stringify(value);
  const floor = Math.max(Math.floor(seconds), min);
  const ceil = Math.max(Math.ceil(seconds), min, 1);
  const instead = floor === ceil || floor === 0 ? `"${ceil}s"` : `"${floor}s" or "${ceil}s"`;
  const zero = min === 0 ? ', or "0s" for none' : '';
  if (seconds < 1)
    return `is ${given}, less than a second: Switchyard counts durations in whole seconds and would make it ${Math.round(seconds)}s${seconds < 0.5 ? ' (no wait at all)' : ''}; write ${instead}${zero}`;
  return `is ${given} (${seconds}s), not a whole number of seconds: Switchyard counts durations in whole seconds and would make it ${Math.round(seconds)}s; write ${instead}`;
}

function duration(min: number = LIMITS.minDurationSeconds, max: number = LIMITS.maxBakeSeconds) {
  return z.union([z.string(), z.number()], { error: `must be ${durationText}` }).transform((value, ctx) => {
    const exact = durationSeconds(value);
    if (exact === undefined) {
      ctx.issues.push({ code: 'custom', input: value, message: `must be ${durationText}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    const fraction = wholeSecondsIssue(value, exact, min);
    if (fraction) {
      ctx.issues.push({ code: 'custom', input: value, message: fraction });
      return z.NEVER;
    }
    const seconds = exact;
    if (seconds < min || seconds > max) {
      ctx.issues.push({ code: 'custom', input: value, message: `must be between ${min}s and ${max}s, got ${JSON.stringify(value)} (${seconds}s)` });
      return z.NEVER;
    }
    return seconds;
  });
}

const name = (what: string) =>
  z.string({ error: `must be a ${what} name (text)` }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
    error: `must be a ${what} name of letters, digits, ".", "_" or "-", starting with a letter or digit, at most 63 characters (for example "checkout-api")`,
  });

const text = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}, not empty` });
const port = z
  .number({ error: 'must be a TCP port number, for example 8080' })
  .int({ error: 'must be a whole port number' })
  .min(1, { error: 'must be a port from 1 to 65535' })
  .max(65535, { error: 'must be a port from 1 to 65535' });
const percent = (min: number, max: number) =>
  z
    .number({ error: `must be a percentage from ${min} to ${max}` })
    .min(min, { error: `must be a percentage from ${min} to ${max}` })
    .max(max, { error: `must be a percentage from ${min} to ${max}` });

const readiness = z.strictObject({
  path: z
    .string({ error: 'must be an HTTP path such as "/ready"' })
    .startsWith('/', { error: 'must be an HTTP path starting with "/", such as "/ready"' })
    .default('/ready'),
  interval: duration(0, 60).default(1),
  timeout: duration(1, 3600).default(30),
  successThreshold: z
    .number({ error: 'must be a whole number of consecutive successes, for example 1' })
    .int()
    .min(1, { error: 'must be at least 1' })
    .max(100, { error: 'must be at most 100' })
    .default(1),
});

/** An HAProxy proxy (frontend, backend) or ring name as its configuration spells it. */
const haproxyName = (what: string) =>
  z
    .string({ error: `must be the name of ${what} in your haproxy.cfg, such as "checkout"` })
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: `must be the name of ${what} in your haproxy.cfg (letters, digits, "_", ".", ":", "-"), such as "checkout"` });

/**
 * A site's own HAProxy: its admin socket, and the backends its configuration declares for this service,
 * each with disabled server slots Switchyard gives its replicas through the runtime API (docs/haproxy.md).
 */
const haproxyAttach = z.strictObject({
  /** HAProxy's admin socket (`stats socket <path> level admin` in its global section). */
  adminSocket: z
    .string({ error: 'must be the absolute path of HAProxy\'s admin socket, such as "/run/haproxy/admin.sock"' })
    .startsWith('/', { error: 'must be an absolute path, such as "/run/haproxy/admin.sock"' }),
  /** The backend production traffic goes to: its servers declared `disabled` (not `backup`) are Switchyard's slots. */
  backend: haproxyName('a backend'),
  /** The backend of the test route (the candidate only), when the service has one. */
  testBackend: haproxyName('a backend').optional(),
  /** A ring the frontend logs to in Switchyard's format, for per-request latency; without one there is none (latency gates are refused). */
  logRing: haproxyName('a ring').optional(),
  /** A file Switchyard writes the backends' runtime state to, which they load at a reload (`server-state-file-name` in each). */
  serverStateFile: z
    .string({ error: 'must be the absolute path of the backends\' server-state-file-name, such as "/var/lib/haproxy/shop.state"' })
    .startsWith('/', { error: 'must be an absolute path, such as "/var/lib/haproxy/shop.state"' })
    .optional(),
});

/**
 * What serves a local service's ports and steers its traffic: the built-in proxy (nothing to install) or
 * the system's HAProxy, configured once and then driven through its runtime API (docs/haproxy.md).
 */
export const dataPlaneSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('builtin') }),
    z
      .strictObject({
        type: z.literal('haproxy'),
        /** The haproxy program: a path, or a name looked up in PATH, /usr/sbin and /usr/local/sbin. */
        binary: text('the haproxy program, such as "/usr/sbin/haproxy"').optional(),
        /** HAProxy's threads (nbthread). @default one per CPU, HAProxy's own default */
        threads: z.number({ error: 'must be a whole number of threads from 1 to 64' }).int().min(1).max(64).optional(),
        /** A site's own HAProxy, already running, steered through its admin socket instead of one Switchyard starts (docs/haproxy.md). */
        attach: haproxyAttach.optional(),
      })
      .superRefine((value, ctx) => {
        for (const key of ['binary', 'threads'] as const)
          if (value.attach && value[key] !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: `applies to an HAProxy Switchyard starts; with attach, your HAProxy runs as you configured it: remove ${key}`,
            });
      })
      .transform(({ binary, ...rest }) => ({ ...rest, binary: binary ?? 'haproxy' })),
  ],
  { error: 'must be { type: "builtin" } or { type: "haproxy" }' },
);

export const localTargetSchema = z
  .strictObject({
    driver: z.literal('local'),
    /** The command that starts one process of the service; PORT and VERSION are set in its environment. */
    command: z.union([text('a command line'), z.array(text('a command argument')).min(1, { error: 'must have the program as its first element' })], {
      error: 'must be a command line or an array of arguments, for example ["node", "server.js"]',
    }),
    replicas: z
      .number({ error: 'must be a whole number of processes from 1 to 16' })
      .int()
      .min(1, { error: 'must be from 1 to 16' })
      .max(16, { error: 'must be from 1 to 16' })
      .default(1),
    /** The public (production) port of the built-in proxy. */
    port,
    /** The proxy's test route: the new version only. */
    testPort: port.optional(),
    readiness: readiness.prefault({}),
    drainTimeout: duration(0, 3600).default(10),
    /** How long a version may send nothing (before its headers, mid-body, on a WebSocket) before the proxy ends the request as a 504 (the ALB's default idle timeout). */
    upstreamTimeout: duration(1, 4000).default(60),
    /** The version started at first boot, before any release has succeeded. */
    initialVersion: z
      .string({ error: 'must be a version string such as "v1"' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, { error: 'must be a version string such as "v1"' })
      .default('v1'),
    env: z.record(z.string(), z.string(), { error: 'must map variable names to text values' }).optional(),
    /**
     * The user the service's processes run as when Switchyard runs as root. Unset, they run as
     * `nobody`: never as root unless this says "root". Ignored (with a notice) when Switchyard is not root.
     */
    user: z
      .string({ error: 'must be a user name such as "www-data"' })
      .regex(/^[a-z_][a-z0-9_-]{0,31}\$?$/, { error: 'must be a user name such as "www-data"' })
      .optional(),
    /** The data plane in front of the processes. @default the built-in proxy, or `switchyard local --data-plane` for every service */
    dataPlane: dataPlaneSchema.optional(),
  })
  .superRefine((value, ctx) => {
    // An attached HAProxy's test route is a backend of its own configuration: both named, or neither.
    const attach = value.dataPlane?.type === 'haproxy' ? value.dataPlane.attach : undefined;
    if (attach && (value.testPort !== undefined) !== (attach.testBackend !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: attach.testBackend === undefined ? ['dataPlane', 'attach', 'testBackend'] : ['testPort'],
        message:
          attach.testBackend === undefined
            ? 'is needed with testPort: name the backend your HAProxy serves the test route from (with its own disabled server slots)'
            : 'is needed with dataPlane.attach.testBackend: the port your HAProxy serves the test route on',
      });
  });

const targetGroup = z.strictObject({
  targetGroup: text('a target group ARN suffix such as "targetgroup/checkout-green/0123456789abcdef"'),
  loadBalancer: text('a load balancer ARN suffix such as "app/prod-alb/0123456789abcdef"'),
});

/**
 * What a release changes besides the image (ecspresso's reason to exist): a task-definition template
 * (the whole revision as JSON, with "{{image}}" where the new image goes) or overrides applied to the
 * running revision. Either way the release registers a new revision and shows its diff.
 */
const taskDefinition = z.union(
  [
    z.strictObject({
      /**
       * The task definition as RegisterTaskDefinition takes it, or the path of a JSON file holding it
       * (relative to the config file; read when the config loads, so it ships with the stack).
       */
      template: z.union([text('the path of a JSON file'), z.record(z.string(), z.unknown())], {
        error: 'must be a task definition object or the path of a JSON file holding one',
      }),
    }),
    z.strictObject({
      overrides: z.strictObject({
        /** Environment variables of the released container, merged by name over the running ones. */
        environment: z.record(z.string(), z.string(), { error: 'must map variable names to text values' }).optional(),
        /** Secrets of the released container: name to the Secrets Manager or SSM ARN it comes from. */
        secrets: z.record(z.string(), text('a Secrets Manager or SSM parameter ARN'), { error: 'must map names to secret ARNs' }).optional(),
        /** Task-level CPU units or vCPU, as ECS takes them ("256", "1 vCPU"). */
        cpu: text('CPU units such as "512"').optional(),
        /** Task-level memory in MiB or GB, as ECS takes it ("1024", "2 GB"). */
        memory: text('memory such as "1024"').optional(),
      }),
    }),
  ],
  { error: 'must be { template: <task definition or JSON file> } or { overrides: { environment, secrets, cpu, memory } }' },
);

/**
 * The IAM roles the service's task definitions (task role, execution role) and ECS Lambda hooks use:
 * the stack lets Switchyard pass only these to ECS. Left out: any role, to ECS tasks only.
 */
const passRoles = z
  .array(
    z.string({ error: 'must be an IAM role ARN' }).regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/, {
      error: 'must be an IAM role ARN such as "arn:aws:iam::123456789012:role/checkout-task"',
    }),
  )
  .optional();

/**
 * The task definition family the service's revisions are registered in (the family of the task
 * definition the service runs now): the stack scopes ecs:RegisterTaskDefinition to
 * `task-definition/<family>:*`. Left out: the template's `family`, else any family in the account and
 * region; `switchyard verify` names the family to set.
 */
const family = z
  .string({ error: 'must be a task definition family name' })
  .regex(/^[A-Za-z0-9_-]{1,255}$/, { error: 'must be a task definition family name (letters, digits, - and _), such as "checkout-api"' })
  .optional();

/**
 * The CloudWatch Logs group the service's containers log to (their `awslogs-group`): the stack lets
 * Switchyard read it for `switchyard logs`, the dashboard and approvals' error lines. Left out: not readable.
 */
const logGroup = z
  .string({ error: 'must be a CloudWatch Logs group name' })
  .regex(/^[\w./#-]{1,512}$/, { error: 'must be a CloudWatch Logs group name such as "/ecs/checkout-api"' })
  .optional();

/**
 * The service's own clocks where they differ from AWS's defaults (src/core/target-waits.ts): the
 * deadlines of the release's waits for its target are derived from them and the plan.
 */
const clocks = z
  .strictObject({
    /** A task from launch to running (image pull, start). @default "90s" */
    taskStart: duration(1, 3600).optional(),
    /** The target group's HealthCheckIntervalSeconds. @default "30s" */
    healthCheckInterval: duration(5, 300).optional(),
    /** The target group's HealthyThresholdCount. @default 5 */
    healthyThreshold: z.number({ error: 'must be a whole number from 2 to 10 (the target group HealthyThresholdCount)' }).int().min(2).max(10).optional(),
    /** The target group's deregistration_delay.timeout_seconds. @default "300s" */
    deregistrationDelay: duration(0, 3600).optional(),
    /** ECS's own bake after a rolling deployment with deployment alarms (computed by ECS). @default "10m" */
    alarmBake: duration(0, 24 * 3600).optional(),
  })
  .optional();

/** The most a release waits for its target at each step, when the derived deadline does not fit the service. */
const deadlines = z
  .strictObject({
    deploy: duration(60, 24 * 3600).optional(),
    shift: duration(60, 7 * 24 * 3600).optional(),
    finalize: duration(60, 24 * 3600).optional(),
    rollback: duration(60, 24 * 3600).optional(),
  })
  .optional();

export const codedeployTargetSchema = z.strictObject({
  driver: z.literal('codedeploy'),
  cluster: text('an ECS cluster name'),
  service: text('an ECS service name'),
  application: text('a CodeDeploy application name'),
  deploymentGroup: text('a CodeDeploy deployment group name'),
  containerName: text('the container name in the task definition'),
  containerPort: port,
  /** The blue and green target groups, for the per-version ALB metrics. */
  targetGroups: z.array(targetGroup).max(2, { error: 'at most two target groups (blue and green)' }).optional(),
  taskDefinition: taskDefinition.optional(),
  family,
  passRoles,
  logGroup,
  clocks,
  deadlines,
});

/** An ECS service on the default (ECS) deployment controller, released with ECS native deployments. */
export const ecsTargetSchema = z.strictObject({
  driver: z.literal('ecs'),
  cluster: text('an ECS cluster name'),
  service: text('an ECS service name'),
  containerName: text('the container name in the task definition'),
  /** Blue/green, canary and linear: the production and alternate target groups, for the per-version ALB metrics and the judge. */
  targetGroups: z.array(targetGroup).max(2, { error: 'at most two target groups (production and alternate)' }).optional(),
  taskDefinition: taskDefinition.optional(),
  family,
  passRoles,
  logGroup,
  clocks,
  deadlines,
  /** Rolling: the share of tasks that may be below the desired count while replacing (minimumHealthyPercent = 100 - this). */
  maxUnavailable: percent(0, 50).default(0),
});

const target = z.discriminatedUnion('driver', [localTargetSchema, codedeployTargetSchema, ecsTargetSchema], {
  error: 'must have driver "local", "ecs" or "codedeploy"',
});

const trigger = z.strictObject({
  repository: z.string({ error: 'must be an ECR repository name' }).regex(/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/, {
    error: 'must be an ECR repository name such as "checkout-api" or "team/checkout-api" (lowercase)',
  }),
  /** Which tags start a release; `*` is any tag. Pushes without a tag never match a pattern. */
  tagPattern: z.string({ error: 'must be a tag pattern such as "v*" or "*"' }).min(1).max(128).default('*'),
  /**
   * Also release pushes that carry no tag (by digest only). Off by default: the per-platform
   * manifests of a multi-arch image are pushed that way, and each would otherwise start a release.
   */
  untagged: z.boolean({ error: 'must be true or false' }).default(false),
});

const canaryStep = z.strictObject({ percent: percent(1, 99), bake: duration(0) });

const userStep = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('setWeight'), percent: percent(0, 100) }),
    z.strictObject({ type: z.literal('bake'), duration: duration() }),
    z.strictObject({
      type: z.literal('approval'),
      timeout: duration(LIMITS.minDurationSeconds, LIMITS.maxApprovalSeconds).optional(),
      onTimeout: z.enum(['rollback', 'approve'], { error: 'must be "rollback" or "approve"' }).optional(),
    }),
    z.strictObject({ type: z.literal('analysis'), duration: duration(), gates: z.array(text('a gate name')).min(1).optional() }),
    z.strictObject({ type: z.literal('finalize') }),
  ],
  { error: 'must be a step with type "setWeight", "bake", "approval", "analysis" or "finalize"' },
);

const strategy = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('blue-green'), bake: duration(0).default(300) }),
    z.strictObject({
      type: z.literal('canary'),
      steps: z
        .array(canaryStep, { error: 'must be a list of canary steps such as [{ percent: 10, bake: "5m" }]' })
        .min(1, { error: 'needs at least one step, for example [{ percent: 10, bake: "5m" }]' }),
      finalBake: duration(0).default(300),
    }),
    z.strictObject({
      type: z.literal('linear'),
      /** Whole percents on CodeDeploy, multiples of 0.1 on ECS (each driver says what it takes). */
      stepPercent: z
        .number({ error: 'must be a percent above 0 and below 100, for example 10' })
        .gt(0, { error: 'must be a percent above 0 and below 100' })
        .lt(100, { error: 'must be a percent above 0 and below 100' }),
      interval: duration(),
      finalBake: duration(0).default(300),
    }),
    z.strictObject({
      type: z.literal('rolling'),
      /** Replicas replaced per batch, as a percentage of the desired count (new ones start before old ones stop). */
      batch: z
        .number({ error: 'must be a whole percent of the replicas from 1 to 100, for example 25' })
        .int({ error: 'must be a whole percent from 1 to 100, for example 25' })
        .min(1, { error: 'must be a whole percent from 1 to 100' })
        .max(100, { error: 'must be a whole percent from 1 to 100' })
        .default(25),
      batchBake: duration(0).default(0),
      finalBake: duration(0).default(0),
    }),
    z.strictObject({ type: z.literal('steps'), steps: z.array(userStep).min(1, { error: 'needs at least one step' }) }),
  ],
  { error: 'must have type "blue-green", "canary", "linear", "rolling" or "steps"' },
);

const comparison = z.enum(['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'], {
  error: 'must be one of GreaterThanThreshold, GreaterThanOrEqualToThreshold, LessThanThreshold, LessThanOrEqualToThreshold',
});

const statistic = z.string({ error: 'must be a statistic' }).regex(/^(Sum|Average|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?)$/, {
  error: 'must be Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99',
});

const metricGate = z.strictObject({
  name: name('gate'),
  metric: z.union(
    [
      z.enum([...TARGET_METRICS, ...LOAD_BALANCER_METRICS]),
      z.strictObject({
        namespace: text('a CloudWatch namespace'),
        metricName: text('a CloudWatch metric name'),
        dimensions: z.record(z.string(), z.string()).optional(),
      }),
    ],
    {
      error: `must be one of ${TARGET_METRICS.join(', ')} (the new version's target metrics), ${LOAD_BALANCER_METRICS.join(', ')} (the whole load balancer's) or { namespace, metricName, dimensions }`,
    },
  ),
  statistic,
  comparison,
  threshold: z.number({ error: 'must be a number' }),
  period: duration(1, 86400).default(60),
  evaluationPeriods: z
    .number({ error: 'must be a whole number of periods' })
    .int()
    .min(1, { error: 'must be from 1 to 100' })
    .max(100, { error: 'must be from 1 to 100' })
    .default(1),
  minSamples: z.number({ error: 'must be a whole number of samples' }).int().min(0, { error: 'must be 0 or more' }).default(1),
});

/**
 * A webhook gate (docs/webhook-gates.md): a URL Switchyard calls with the release's context, signed
 * with a shared secret that is read from an environment variable (local mode) or a Secrets Manager
 * secret (AWS), never written here. The answer's verdict counts like every gate's.
 */
const webhookUrl = z.string({ error: 'must be an http or https URL such as "https://ci.example.com/hooks/smoke"' }).superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an http or https URL such as "https://ci.example.com/hooks/smoke", got ${JSON.stringify(value)}` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    ctx.addIssue({ code: 'custom', message: `must be an http or https URL, got the ${url.protocol.replace(':', '')} scheme in ${JSON.stringify(value)}` });
  else if (url.username || url.password)
    ctx.addIssue({
      code: 'custom',
      message: 'must not carry credentials (user:password@): the request is signed with the secret of secretEnv or secretArn instead',
    });
});
const webhook = z.strictObject({
  name: name('gate'),
  url: webhookUrl,
  /** Local mode: the environment variable holding the shared secret. */
  secretEnv: z
    .string({ error: 'must be the name of an environment variable' })
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be the name of an environment variable such as "SMOKE_WEBHOOK_SECRET"' })
    .optional(),
  /** AWS: the Secrets Manager secret holding the shared secret (its whole SecretString); the workflow function may read it. */
  secretArn: z
    .string({ error: 'must be a Secrets Manager secret ARN' })
    .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, {
      error: 'must be a Secrets Manager secret ARN such as "arn:aws:secretsmanager:eu-west-1:123456789012:secret:smoke-webhook-AbCdEf"',
    })
    .optional(),
  /** The longest Switchyard waits for the answer; slower is an error (a decision must stay well inside its task's 2 minutes). */
  timeout: duration(1, 60).default(10),
  when: z
    .enum(['before-traffic', 'bake'], {
      error: 'must be "before-traffic" (once, against the test route, before any production traffic) or "bake" (in every bake)',
    })
    .default('bake'),
});

const gates = z.strictObject({
  alarms: z.array(text('a CloudWatch alarm name')).max(100, { error: 'at most 100 alarms' }).default([]),
  metrics: z.array(metricGate).max(100, { error: 'at most 100 metric gates' }).default([]),
  /** Checks of your own behind a URL (a smoke test before traffic, a check in every bake): docs/webhook-gates.md. */
  webhooks: z.array(webhook).max(10, { error: 'at most 10 webhooks' }).default([]),
  checkInterval: duration(1, 3600).default(60),
  onInconclusive: z.enum(['pause', 'fail'], { error: 'must be "pause" (ask a person) or "fail" (roll back)' }).default('fail'),
  /** @default 5m where the driver can hold traffic, 0 where it cannot (resolved per driver) */
  maxExtension: duration(0, LIMITS.maxBakeSeconds).optional(),
  maxErrors: z.number({ error: 'must be a whole number' }).int().min(0).max(100).default(3),
  /**
   * The canary judge: the new version against the stable one in the same periods, with an
   * anytime-valid sequential test. `alpha` is per release: it is shared among every judged bake and
   * signal, so a release whose new version is not worse rolls back by the judge with chance at most `alpha`.
   */
  judge: z
    .strictObject({
      signals: z
        .array(z.enum(['errors', 'latency'], { error: 'must be "errors" (the 5xx rate) or "latency" (slow requests)' }))
        .min(1, { error: 'needs at least one signal' })
        .default(['errors', 'latency']),
      alpha: z
        .number({ error: 'must be a probability such as 0.05' })
        .gt(0, { error: 'must be above 0' })
        .max(0.2, { error: 'must be at most 0.2 (a false rollback in one release of five)' })
        .default(0.05),
      tolerance: z.number({ error: 'must be a number such as 0.1 (10% worse)' }).gt(0).max(10).default(0.1),
      /** Errors: no rollback on fewer errors on the new version than this while the stable version has none. */
      minErrors: z.number({ error: 'must be a whole number such as 3' }).int().min(1).max(1000).default(3),
      period: duration(1, 3600).default(10),
      /** Left out at the start of each step: a version that just received traffic is cold. */
      warmup: duration(0, 3600).default(10),
      /**
       * Latency: a slowdown smaller than this (milliseconds) is never worth stopping for. Default: 0 on
       * the local driver (its histograms are 1% wide: the tolerance alone is measurable), 5 elsewhere
       * (coarser latency data); the verdict reports the tolerance in effect, floor included.
       */
      latencyFloorMs: z.number({ error: 'must be a number of milliseconds such as 5' }).min(0).max(60_000).optional(),
      /** End a bake early once the judge passes, after at least this much of it. */
      earlyPass: duration(1, LIMITS.maxBakeSeconds).optional(),
      /**
       * In a bake: the part of alpha spent over its first 2/15 (gross regressions, caught fast); the
       * rest is spent towards its end (subtle regressions need the whole bake's counts). Default: 0.25
       * for errors, 0.75 for latency (DEFAULT_EARLY_SHARE in core/judge.ts).
       */
      earlyShare: z
        .number({ error: 'must be a share from 0.05 to 1, such as 0.25' })
        .min(0.05, { error: "must be at least 0.05: with less, the judge could not stop even a gross regression before the bake's end" })
        .max(1, { error: 'must be at most 1 (all of alpha)' })
        .optional(),
      finalShare: z
        .never({
          error:
            'is no longer a setting: the judge now spends alpha over the whole bake; use earlyShare (default 0.25 for errors, 0.75 for latency) for the part of alpha spent early, or remove finalShare',
        })
        .optional(),
    })
    .optional(),
});

const approvals = z.strictObject({
  at: z
    .array(z.enum(['before-traffic', 'after-first-step', 'before-finalize'], { error: 'must be "before-traffic", "after-first-step" or "before-finalize"' }))
    .default([]),
  approvers: z.array(text("an approver: a person's name from `people`")).default([]),
  timeout: duration(LIMITS.minDurationSeconds, LIMITS.maxApprovalSeconds).default(3600),
  onTimeout: z.enum(['rollback', 'approve'], { error: 'must be "rollback" or "approve"' }).default('rollback'),
  fourEyes: z.boolean({ error: 'must be true or false' }).default(false),
  /**
   * ecs driver: how long a person may pause a release at one step beyond what its plan holds there. ECS
   * rolls back a PAUSE hook that times out, so Switchyard adds this to the hooks' timeout (at most 14 days in all).
   */
  maxPause: duration(0, 14 * 24 * 3600).default(0),
  /** Who may take each decision, where it differs from the defaults (core/authority.ts). */
  authority: z
    .partialRecord(
      z.enum(VERBS, { error: `must name a decision: ${VERBS.join(', ')}` }),
      z.enum(WHO, { error: 'must be "anyone" (any authenticated caller), "people" (a proven person) or "approvers"' }),
    )
    .optional()
    .transform((table) => table as Partial<Record<Verb, Who>> | undefined),
});

export const serviceSchema = z.strictObject({
  name: name('service'),
  target,
  trigger: trigger.optional(),
  strategy,
  gates: gates.prefault({}),
  approvals: approvals.prefault({}),
  notifications: z
    .strictObject({ slack: z.strictObject({ channel: text('a Slack channel id or name such as "C0123456789" or "#releases"') }).optional() })
    .optional(),
  onActiveRelease: z.enum(['queue', 'reject'], { error: 'must be "queue" (wait for the active release) or "reject"' }).default('queue'),
});

/** A person: the identities that are them on each channel (see src/core/people.ts). */
const person = z.strictObject({
  name: z.string({ error: 'must be a name such as "alice"' }).regex(/^[A-Za-z0-9._@+-]{1,64}$/, { error: 'must be 1 to 64 letters, digits or . _ @ + -' }),
  slack: z
    .string({ error: 'must be a Slack user id such as "U012ABCDEF"' })
    .regex(/^[UW][A-Z0-9]{2,}$/, { error: 'must be a Slack user id such as "U012ABCDEF"' })
    .optional(),
  iam: z
    .array(
      z.string({ error: 'must be an IAM principal ARN' }).regex(/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[A-Za-z0-9+=,.@_/*-]+$/, {
        error:
          'must be an IAM principal ARN such as "arn:aws:iam::123456789012:user/alice" or "arn:aws:sts::123456789012:assumed-role/Deployer/alice" (* matches anything)',
      }),
    )
    .default([]),
  jwt: z.array(text('a JWT subject or a verified email')).default([]),
  /** Local mode: the environment variable holding this person's own bearer token. */
  localToken: z
    .string({ error: 'must be the name of an environment variable' })
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be the name of an environment variable such as "ALICE_SWITCHYARD_TOKEN"' })
    .optional(),
});

export const configSchema = z.strictObject({
  environment: text('an environment name').default('production'),
  api: z
    .strictObject({
      auth: z.enum(['iam', 'jwt'], { error: 'must be "iam" or "jwt"' }).default('iam'),
      jwt: z.strictObject({ issuer: z.url({ error: 'must be the issuer URL' }), audience: z.array(text('an audience')).min(1) }).optional(),
    })
    .prefault({}),
  slack: z.strictObject({ apiUrl: z.url({ error: 'must be a URL such as "https://slack.com/api/"' }).optional() }).optional(),
  removalPolicy: z.enum(['retain', 'destroy'], { error: 'must be "retain" or "destroy"' }).default('retain'),
  services: z.array(serviceSchema, { error: 'must be a list of services' }).min(1, { error: 'needs at least one service' }),
  /** Who may act, across Slack, IAM, JWT and local tokens: approvers and four-eyes compare these people. */
  people: z.array(person, { error: 'must be a list of people' }).default([]),
});

/** What users write: the input side of the schema, with defaults optional. */
export type SwitchyardConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedService = z.output<typeof serviceSchema>;
export type LocalTarget = z.output<typeof localTargetSchema>;
export type DataPlaneChoice = z.output<typeof dataPlaneSchema>;
export type CodeDeployTarget = z.output<typeof codedeployTargetSchema>;
export type EcsTarget = z.output<typeof ecsTargetSchema>;
export type TaskDefinitionSource = NonNullable<CodeDeployTarget['taskDefinition']>;
