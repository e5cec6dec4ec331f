import { ValidationError } from '../core/errors.js';
import { renderConfigFile, Disabled, TODO_MARK, type ConfigValue, type Scaffold } from './scaffold.js';

/**
 * `switchyard init --from-ecs <cluster>/<service>`: the `ecs` service block matching a live ECS service.
 * The facts are read by an adapter (src/adapters/ecs/service-import.ts) and come in as plain data;
 * whatever they do not settle is written with a `TODO(switchyard init)` saying what to fill in and where
 * to find it, and a part that cannot be guessed safely is written commented out.
 */

/** One container of the running task definition. */
export interface ContainerFacts {
  readonly name: string;
  readonly image: string;
  readonly essential: boolean;
  readonly ports: readonly number[];
  /** Its awslogs group, when it logs with awslogs. */
  readonly logGroup?: string;
}

/** An alarm found for the service, and why it belongs to it. */
export interface AlarmFacts {
  readonly name: string;
  /** Why it is the service's: "ECS deployment alarm", "TargetGroup dimension targetgroup/…", "ServiceName dimension". */
  readonly why: string;
  /** Its LoadBalancer dimension (an ARN suffix), when it has one beside a TargetGroup of the service. */
  readonly loadBalancer?: string;
  /** The target group suffix that dimension is paired with. */
  readonly targetGroup?: string;
  /** Its state when read (OK, ALARM, INSUFFICIENT_DATA). */
  readonly state?: string;
  /** A deployment alarm the service has switched off (deploymentConfiguration.alarms.enable false). */
  readonly disabled?: boolean;
}

/** What ECS (and CloudWatch) say about a service, as init needs it. */
export interface EcsServiceFacts {
  readonly cluster: string;
  readonly service: string;
  readonly region?: string;
  /** The account of the service (from its ARN). */
  readonly account?: string;
  /** REPLICA or DAEMON. */
  readonly scheduling?: string;
  /** Whether the service uses Service Connect. */
  readonly serviceConnect?: boolean;
  /** ECS, CODE_DEPLOY or EXTERNAL. */
  readonly controller: string;
  readonly taskDefinitionArn: string;
  readonly family: string;
  readonly roles: readonly string[];
  readonly containers: readonly ContainerFacts[];
  readonly desiredCount?: number;
  readonly deployment: {
    readonly strategy?: string;
    readonly bakeTimeInMinutes?: number;
    readonly canaryPercent?: number;
    readonly canaryBakeTimeInMinutes?: number;
    readonly linearStepPercent?: number;
    readonly linearStepBakeTimeInMinutes?: number;
    readonly maximumPercent?: number;
    readonly minimumHealthyPercent?: number;
  };
  /** The service's load balancers: production target group, alternate (blue/green), container and port. */
  readonly loadBalancers: readonly {
    readonly targetGroupArn?: string;
    readonly alternateTargetGroupArn?: string;
    readonly containerName?: string;
    readonly containerPort?: number;
  }[];
  readonly alarms: readonly AlarmFacts[];
  /** Alarms of Application Auto Scaling policies that name the service: left out of the gates. */
  readonly scalingAlarms?: readonly string[];
  /** Why CloudWatch's alarms could not be listed, or not all of them (the rest was still read). */
  readonly alarmsUnread?: string;
}

/** `targetgroup/name/id` from a target group ARN: CloudWatch's TargetGroup dimension. */
export function targetGroupSuffix(arn: string): string {
  const at = arn.indexOf(':targetgroup/');
  return at === -1 ? arn : arn.slice(at + 1);
}

/** A service name Switchyard accepts, from ECS's (which allows up to 255 characters). */
function serviceName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || 'service').slice(0, 63);
}

/** The ECR repository an image comes from, with its registry's account and region (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`). */
export function ecrImage(image: string): { account: string; region: string; repository: string } | undefined {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(image);
  return match ? { account: match[1] ?? '', region: match[2] ?? '', repository: match[3] ?? '' } : undefined;
}

/** The ECR repository an image comes from, when it is an ECR image. */
export function ecrRepository(image: string): string | undefined {
  return ecrImage(image)?.repository;
}

/** An IAM role ARN, as target.passRoles takes it. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/;

/**
 * Why a service's deployment controller cannot be released by the ecs driver, with what to do instead;
 * undefined for ECS (native) deployments.
 */
export function controllerRefusal(controller: string, where: string): ValidationError | undefined {
  if (controller === 'CODE_DEPLOY')
    return new ValidationError(
      `ECS service ${where} uses the CODE_DEPLOY deployment controller; init writes blocks for the ecs driver (ECS native deployments). Write a codedeploy block by hand (application, deploymentGroup: docs/drivers.md), or move the service to ECS native deployments, which AWS now recommends`,
    );
  if (controller !== 'ECS')
    return new ValidationError(
      `ECS service ${where} uses the ${controller} deployment controller; Switchyard releases ECS (native) and CODE_DEPLOY services only`,
    );
  return undefined;
}

/** ECS's minutes as a duration; an explicit 0 is kept (`0s`), only an unset value takes ECS's default. */
const minutesOr = (n: number | undefined, ecsDefault: number) => `${n ?? ecsDefault}m`.replace(/^0m$/, '0s');

interface Strategy {
  readonly value: ConfigValue;
  readonly todo?: string;
  readonly rolling?: boolean;
}

/** Switchyard's strategy for the service's deploymentConfiguration (ECS's BLUE_GREEN, CANARY, LINEAR or ROLLING). */
function strategyOf(facts: EcsServiceFacts): Strategy {
  const d = facts.deployment;
  const finalBake = minutesOr(d.bakeTimeInMinutes, 5);
  const where = 'the service deploymentConfiguration';
  switch (d.strategy) {
    case 'BLUE_GREEN':
      return { value: { type: 'blue-green', bake: finalBake } };
    case 'CANARY': {
      // ECS's defaults when canaryConfiguration leaves them out: 5 percent, baked 10 minutes.
      const percent = d.canaryPercent ?? 5;
      const ok = percent >= 1 && percent <= 99;
      const bake = minutesOr(d.canaryBakeTimeInMinutes, 10);
      return {
        value: { type: 'canary', steps: [{ percent: ok ? percent : 10, bake }], finalBake },
        ...(ok ? {} : { todo: `ECS's canaryPercent is ${percent}; Switchyard takes 1 to 99, so 10 is written: choose the share (${where})` }),
      };
    }
    case 'LINEAR': {
      // ECS's defaults: steps of 10 percent, 6 minutes apart.
      const step = d.linearStepPercent ?? 10;
      const ok = step >= 3 && step < 100;
      const interval = d.linearStepBakeTimeInMinutes ?? 6;
      const todos = [
        ...(ok ? [] : [`ECS's stepPercent is ${step}; Switchyard's ecs driver takes 3 to 99.9, so 10 is written`]),
        ...(interval > 0 ? [] : ["ECS waits 0 minutes between steps; Switchyard's interval is at least 1s, so 1s is written"]),
      ];
      return {
        value: { type: 'linear', stepPercent: ok ? step : 10, interval: interval > 0 ? `${interval}m` : '1s', finalBake },
        ...(todos.length ? { todo: `${todos.join('; ')} (${where})` } : {}),
      };
    }
    default: {
      // ROLLING (ECS's default): a batch is the surge ECS allows above the desired count.
      const surge = (d.maximumPercent ?? 200) - 100;
      const batch = Math.round(Math.min(100, Math.max(1, surge > 0 ? surge : 100 - (d.minimumHealthyPercent ?? 100))));
      const unavailable = 100 - (d.minimumHealthyPercent ?? 100);
      const todos = [
        ...(batch >= 50
          ? [
              `the service's maximumPercent (${d.maximumPercent ?? 200}) lets ECS replace ${batch}% of the tasks at once, so each batch is ${batch}%: smaller batches (for example 25) let the gates see a fault before it reaches every task`,
            ]
          : []),
        ...(unavailable > 50
          ? [`minimumHealthyPercent ${d.minimumHealthyPercent} allows ${unavailable}% of the tasks down; Switchyard allows at most 50 (maxUnavailable)`]
          : []),
      ];
      return {
        value: { type: 'rolling', batch, finalBake: minutesOr(d.bakeTimeInMinutes, 0) },
        rolling: true,
        ...(todos.length ? { todo: `${todos.join('; ')} (${where})` } : {}),
      };
    }
  }
}

/**
 * The commented config for one ECS service, with its TODOs.
 * @throws {ValidationError} for a service the ecs driver cannot release (CODE_DEPLOY or EXTERNAL
 * controller, no container), saying what to do instead.
 */
export function ecsScaffold(facts: EcsServiceFacts, { name = facts.service }: { name?: string } = {}): Scaffold {
  const where = `${facts.cluster}/${facts.service}`;
  const refusal = controllerRefusal(facts.controller, where);
  if (refusal) throw refusal;
  const todos = new Map<string, string>();
  const at = (field: string) => `services[0].${field}`;
  /** Several things to say about one field are said together. */
  const note = (field: string, text: string) => todos.set(at(field), todos.has(at(field)) ? `${todos.get(at(field))}; ${text}` : text);

  const lb = facts.loadBalancers[0];
  const essential = facts.containers.filter((c) => c.essential);
  // The load balancer's container, else the one essential container that runs an ECR image (not an agent beside it).
  const ecrEssential = essential.filter((c) => ecrImage(c.image) !== undefined);
  const container =
    facts.containers.find((c) => c.name === lb?.containerName) ??
    (essential.length === 1 ? essential[0] : ecrEssential.length === 1 ? ecrEssential[0] : (essential[0] ?? facts.containers[0]));
  if (!container) throw new ValidationError(`task definition ${facts.taskDefinitionArn} of ${where} has no container`);
  const withEcr = facts.containers.filter((c) => c !== container && ecrImage(c.image) !== undefined);
  if (essential.length > 1 || (!lb?.containerName && facts.containers.length > 1)) {
    const byBalancer = lb?.containerName === container.name;
    const why = byBalancer
      ? 'the load balancer sends traffic to it'
      : essential.length === 1
        ? 'the only essential one'
        : ecrEssential.length === 1 && ecrEssential[0] === container
          ? 'the only essential one that runs an ECR image'
          : 'the first';
    note(
      'target.containerName',
      `the container whose image a release replaces: ${container.name} was chosen (${why}) among ${facts.containers.map((c) => c.name).join(', ')} in ${facts.taskDefinitionArn}` +
        (withEcr.length && !ecrImage(container.image)
          ? `, but ${withEcr.map((c) => c.name).join(', ')} runs your ECR image (${withEcr[0]?.image}): if a release replaces that one (${container.name} being ${byBalancer ? 'a proxy in front of it' : 'an agent beside it'}), name it here and add a trigger on its repository`
          : ''),
    );
  }

  // The target groups: production and alternate. CloudWatch's dimensions need their load balancer too,
  // which ECS does not name; an alarm on the same target group does (LoadBalancer beside TargetGroup).
  const groups = [lb?.targetGroupArn, lb?.alternateTargetGroupArn].filter((g): g is string => g !== undefined).map(targetGroupSuffix);
  const balancer = facts.alarms.find((a) => a.loadBalancer && a.targetGroup && groups.includes(a.targetGroup))?.loadBalancer;
  const bluegreen = facts.deployment.strategy !== undefined && facts.deployment.strategy !== 'ROLLING';
  let targetGroups: ConfigValue | Disabled | undefined;
  if (groups.length > 0) {
    const list = groups.map((targetGroup) => ({ targetGroup, loadBalancer: balancer ?? 'app/<load balancer name>/<id>' }));
    targetGroups = balancer ? list : new Disabled(list);
    if (!balancer)
      note(
        'target.targetGroups',
        `the load balancer of ${groups.join(' and ')} as an ARN suffix (app/<name>/<id>: EC2 console > Target groups > the group > Load balancer, or aws elbv2 describe-target-groups --names ${groups[0]?.split('/')[1] ?? ''}); then remove the // (no alarm of the service names it, and init does not call the load balancer API)`,
      );
    if (facts.loadBalancers.length > 1)
      note(
        'target.targetGroups',
        `the service has ${facts.loadBalancers.length} load balancers and only the first (${groups.join(', ')}, container port ${lb?.containerPort ?? '?'}) is written: name the target group of the Application Load Balancer that carries the traffic to judge`,
      );
    if (balancer?.startsWith('net/'))
      note(
        'target.targetGroups',
        `${balancer} is a Network Load Balancer: Switchyard's target-group metrics are AWS/ApplicationELB, which a Network Load Balancer does not publish, so they would have no data; name an Application Load Balancer's target group or remove targetGroups`,
      );
  } else if (bluegreen) {
    note(
      'strategy',
      `ECS's ${facts.deployment.strategy} can shift traffic without a load balancer${facts.serviceConnect ? ' (through Service Connect, as this service does)' : ''}, but Switchyard's ecs driver shifts it with a load balancer's alternate target group, and ${where} has none: \`switchyard verify\` refuses this strategy until the service has one (loadBalancers[].advancedConfiguration); or use strategy { type: 'rolling' }`,
    );
  }

  const strategy = strategyOf(facts);
  if (strategy.todo) note('strategy', strategy.todo);
  if (facts.scheduling === 'DAEMON')
    note(
      'strategy',
      'a DAEMON service runs one task on each container instance and ECS replaces them without a surge (maximumPercent 100): every batch stops tasks before their replacements start, so the gates judge a partly-down service; check the batch and that the instances can run it',
    );

  // The release's gates: the alarms that name the service, less those that do not judge its health.
  const gateAlarms = facts.alarms.filter((a) => !facts.scalingAlarms?.includes(a.name));
  const alarms = [...new Set(gateAlarms.map((a) => a.name))];
  if (facts.alarmsUnread) note('gates.alarms', `CloudWatch alarms could not be listed (${facts.alarmsUnread}); name the service's alarms here`);
  else if (alarms.length === 0)
    note(
      'gates',
      `no CloudWatch alarm names ${groups.length ? 'its target groups or ' : ''}the service: add alarms (gates.alarms) or metric gates on its 5xx and latency (docs/configuration.md#gates)`,
    );
  const firing = [...new Set(gateAlarms.filter((a) => a.state === 'ALARM').map((a) => a.name))];
  if (firing.length)
    note(
      'gates.alarms',
      `${firing.join(', ')} ${firing.length === 1 ? 'is' : 'are'} in ALARM now: an alarm in ALARM fails the first bake of every release; keep only alarms that are OK while the service is healthy`,
    );
  const silent = [...new Set(gateAlarms.filter((a) => a.state === 'INSUFFICIENT_DATA').map((a) => a.name))];
  if (silent.length)
    note(
      'gates.alarms',
      `${silent.join(', ')} ${silent.length === 1 ? 'has' : 'have'} no data now (INSUFFICIENT_DATA), which a gate reads as inconclusive, and onInconclusive 'fail' fails the release on it: an alarm on the alternate target group or on an idle metric is silent between releases; keep only alarms with data while the service runs`,
    );
  const off = [...new Set(gateAlarms.filter((a) => a.disabled).map((a) => a.name))];
  if (off.length)
    note(
      'gates.alarms',
      `${off.join(', ')}: the service's deployment alarms are switched off (deploymentConfiguration.alarms.enable false), so nothing shows they guard a release; keep ${off.length === 1 ? 'it' : 'them'} only if ${off.length === 1 ? 'it goes' : 'they go'} to ALARM on a bad version`,
    );

  // The trigger: ECR's push event reaches the stack's rule only from its own account and region.
  const ecr = ecrImage(container.image);
  const foreign = ecr && ((facts.account && ecr.account !== facts.account) || (facts.region && ecr.region !== facts.region));
  if (ecr && foreign)
    note(
      'trigger',
      `${container.image} is in the ECR registry of account ${ecr.account} in ${ecr.region}, and the service is in ${facts.account ?? 'its account'} in ${facts.region ?? 'its region'}: ECR's push events reach Switchyard's rule only from its own account and region, so this trigger would never fire; start releases from that registry's pipeline (switchyard release) instead`,
    );
  else if (ecr) note('trigger', `every tag pushed to ${ecr.repository} starts a release; narrow tagPattern (for example 'v*') if only some should`);
  const logGroup = container.logGroup;
  const port = lb?.containerPort ?? container.ports[0];

  // Roles a release passes to ECS: the task's, the execution role and the Lambda lifecycle hooks'.
  const roles = facts.roles.filter((r) => ROLE_ARN.test(r));
  const dropped = facts.roles.filter((r) => !ROLE_ARN.test(r));
  if (dropped.length)
    note(
      roles.length ? 'target.passRoles' : 'target.family',
      `${dropped.join(', ')} in ${facts.taskDefinitionArn} ${dropped.length === 1 ? 'is' : 'are'} not a role ARN, so ${dropped.length === 1 ? 'it is' : 'they are'} not in passRoles: add ${dropped.length === 1 ? 'its' : 'their'} ARN (arn:aws:iam::<account>:role/${dropped[0]}) to target.passRoles, or the stack may not pass ${dropped.length === 1 ? 'it' : 'them'} to ECS`,
    );

  const service: Record<string, ConfigValue | Disabled> = {
    name: serviceName(name),
    target: {
      driver: 'ecs',
      cluster: facts.cluster,
      service: facts.service,
      containerName: container.name,
      ...(targetGroups !== undefined ? { targetGroups } : {}),
      family: facts.family,
      ...(roles.length > 0 ? { passRoles: roles } : {}),
      ...(logGroup ? { logGroup } : {}),
      ...(strategy.rolling ? { maxUnavailable: Math.min(50, Math.max(0, 100 - (facts.deployment.minimumHealthyPercent ?? 100))) } : {}),
    },
    ...(ecr ? { trigger: foreign ? new Disabled({ repository: ecr.repository, tagPattern: '*' }) : { repository: ecr.repository, tagPattern: '*' } } : {}),
    strategy: strategy.value,
    gates: { alarms, checkInterval: '30s', onInconclusive: 'fail' },
    approvals: { at: [] },
  };
  if (!logGroup) note('target.family', `${container.name} does not log with awslogs, so no logGroup is written: \`switchyard logs\` needs target.logGroup`);
  const listed = (a: AlarmFacts) => `  ${a.name}: ${a.why}${a.state && a.state !== 'OK' ? ` (${a.state} when read)` : ''}`;
  return renderConfigFile(
    { environment: 'production', api: { auth: 'iam' }, services: [service] },
    [
      `Written by \`switchyard init --from-ecs ${where}\` from ${facts.taskDefinitionArn}${facts.region ? ` (${facts.region})` : ''}.`,
      `Lines marked ${TODO_MARK} need a look. The container listens on ${port ?? 'a port the task definition does not name'}${lb ? ' behind the load balancer' : ''}.`,
      'The gates are the alarms that name the service (by their dimensions: the target groups, the ECS service) or that its',
      'deployment configuration lists. Naming the service does not make an alarm a good gate: keep those that go to ALARM on a bad version.',
      ...(gateAlarms.length ? gateAlarms.map(listed) : ['  none']),
      ...(facts.scalingAlarms?.length ? [`Left out, as Auto Scaling policies' alarms (they follow load, not health): ${facts.scalingAlarms.join(', ')}.`] : []),
      'Check it with `npx switchyard validate` and `npx switchyard verify` (read-only, against AWS);',
      'preview a release with `npx switchyard diff <name> <image>`. Every field: docs/configuration.md, docs/drivers.md.',
    ],
    { todos },
  );
}
