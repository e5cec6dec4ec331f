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
}

/** What ECS (and CloudWatch) say about a service, as init needs it. */
export interface EcsServiceFacts {
  readonly cluster: string;
  readonly service: string;
  readonly region?: string;
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
  /** Why CloudWatch's alarms could not be listed (the rest was still read). */
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

/** The ECR repository an image comes from, when it is an ECR image (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`). */
export function ecrRepository(image: string): string | undefined {
  const match = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(image);
  return match?.[1];
}

const minutes = (n: number | undefined, fallback: string) => (n !== undefined && n > 0 ? `${n}m` : fallback);

interface Strategy {
  readonly value: ConfigValue;
  readonly todo?: string;
  readonly rolling?: boolean;
}

/** Switchyard's strategy for the service's deploymentConfiguration (ECS's BLUE_GREEN, CANARY, LINEAR or ROLLING). */
function strategyOf(facts: EcsServiceFacts): Strategy {
  const d = facts.deployment;
  const finalBake = minutes(d.bakeTimeInMinutes, '5m');
  const where = 'the service deploymentConfiguration';
  switch (d.strategy) {
    case 'BLUE_GREEN':
      return { value: { type: 'blue-green', bake: finalBake } };
    case 'CANARY': {
      const percent = d.canaryPercent;
      const ok = percent !== undefined && percent >= 1 && percent <= 99;
      const bake = minutes(d.canaryBakeTimeInMinutes, '5m');
      const todos = [
        ...(ok ? [] : [`ECS's canaryPercent is ${percent ?? 'unset'}; Switchyard takes 1 to 99, so 10 is written: choose the share`]),
        ...(d.canaryBakeTimeInMinutes ? [] : ['ECS bakes the canary 0 minutes; Switchyard waits at each step, so 5m is written: choose the bake']),
      ];
      return {
        value: { type: 'canary', steps: [{ percent: ok ? percent : 10, bake }], finalBake },
        ...(todos.length ? { todo: `${todos.join('; ')} (${where})` } : {}),
      };
    }
    case 'LINEAR': {
      const step = d.linearStepPercent;
      const ok = step !== undefined && step >= 3 && step < 100;
      const todos = [
        ...(ok ? [] : [`ECS's stepPercent is ${step ?? 'unset'}; Switchyard's ecs driver takes 3 to 99.9, so 10 is written`]),
        ...(d.linearStepBakeTimeInMinutes ? [] : ['ECS bakes each step 0 minutes; Switchyard waits between steps, so 3m is written: choose the interval']),
      ];
      return {
        value: { type: 'linear', stepPercent: ok ? step : 10, interval: minutes(d.linearStepBakeTimeInMinutes, '3m'), finalBake },
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
        value: { type: 'rolling', batch, finalBake: minutes(d.bakeTimeInMinutes, '0s') },
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
  if (facts.controller === 'CODE_DEPLOY')
    throw new ValidationError(
      `ECS service ${where} uses the CODE_DEPLOY deployment controller; init writes blocks for the ecs driver (ECS native deployments). Write a codedeploy block by hand (application, deploymentGroup: docs/drivers.md), or move the service to ECS native deployments, which AWS now recommends`,
    );
  if (facts.controller !== 'ECS')
    throw new ValidationError(
      `ECS service ${where} uses the ${facts.controller} deployment controller; Switchyard releases ECS (native) and CODE_DEPLOY services only`,
    );
  const todos = new Map<string, string>();
  const at = (field: string) => `services[0].${field}`;
  const lb = facts.loadBalancers[0];
  const essential = facts.containers.filter((c) => c.essential);
  const container =
    facts.containers.find((c) => c.name === lb?.containerName) ?? (essential.length === 1 ? essential[0] : (essential[0] ?? facts.containers[0]));
  if (!container) throw new ValidationError(`task definition ${facts.taskDefinitionArn} of ${where} has no container`);
  if (!lb?.containerName && facts.containers.length > 1)
    todos.set(
      at('target.containerName'),
      `the container whose image a release replaces: ${container.name} was chosen (${essential.length === 1 ? 'the only essential one' : 'the first'}) among ${facts.containers.map((c) => c.name).join(', ')} in ${facts.taskDefinitionArn}`,
    );

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
      todos.set(
        at('target.targetGroups'),
        `the load balancer of ${groups.join(' and ')} as an ARN suffix (app/<name>/<id>: EC2 console > Target groups > the group > Load balancer, or aws elbv2 describe-target-groups --names ${groups[0]?.split('/')[1] ?? ''}); then remove the // (no alarm of the service names it, and init does not call the load balancer API)`,
      );
  } else if (bluegreen) {
    todos.set(
      at('target.containerName'),
      `${facts.deployment.strategy} needs a load balancer with an alternate target group, and ${where} has none: add one to the service (loadBalancers[].advancedConfiguration) or use strategy rolling`,
    );
  }

  const strategy = strategyOf(facts);
  if (strategy.todo) todos.set(at('strategy'), strategy.todo);

  const alarms = [...new Set(facts.alarms.map((a) => a.name))];
  if (facts.alarmsUnread) todos.set(at('gates.alarms'), `CloudWatch alarms could not be listed (${facts.alarmsUnread}); name the service's alarms here`);
  else if (alarms.length === 0)
    todos.set(
      at('gates'),
      `no CloudWatch alarm names ${groups.length ? 'its target groups or ' : ''}the service: add alarms (gates.alarms) or metric gates on its 5xx and latency (docs/configuration.md#gates)`,
    );

  const repository = ecrRepository(container.image);
  if (repository) todos.set(at('trigger'), `every tag pushed to ${repository} starts a release; narrow tagPattern (for example 'v*') if only some should`);
  const logGroup = container.logGroup;
  const port = lb?.containerPort ?? container.ports[0];

  const service: Record<string, ConfigValue | Disabled> = {
    name: serviceName(name),
    target: {
      driver: 'ecs',
      cluster: facts.cluster,
      service: facts.service,
      containerName: container.name,
      ...(targetGroups !== undefined ? { targetGroups } : {}),
      family: facts.family,
      ...(facts.roles.length > 0 ? { passRoles: [...facts.roles] } : {}),
      ...(logGroup ? { logGroup } : {}),
      ...(strategy.rolling ? { maxUnavailable: Math.min(50, Math.max(0, 100 - (facts.deployment.minimumHealthyPercent ?? 100))) } : {}),
    },
    ...(repository ? { trigger: { repository, tagPattern: '*' } } : {}),
    strategy: strategy.value,
    gates: { alarms, checkInterval: '30s', onInconclusive: 'fail' },
    approvals: { at: [] },
  };
  if (!logGroup)
    todos.set(at('target.family'), `${container.name} does not log with awslogs, so no logGroup is written: \`switchyard logs\` needs target.logGroup`);
  return renderConfigFile(
    { environment: 'production', api: { auth: 'iam' }, services: [service] },
    [
      `Written by \`switchyard init --from-ecs ${where}\` from ${facts.taskDefinitionArn}${facts.region ? ` (${facts.region})` : ''}.`,
      `Lines marked ${TODO_MARK} need a look. The container listens on ${port ?? 'a port the task definition does not name'}${lb ? ' behind the load balancer' : ''}.`,
      'Alarms were found by their dimensions (the target groups, the ECS service) and from the deployment configuration:',
      ...(facts.alarms.length ? facts.alarms.map((a) => `  ${a.name}: ${a.why}`) : ['  none']),
      'Check it with `npx switchyard validate` and `npx switchyard verify` (read-only, against AWS);',
      'preview a release with `npx switchyard diff <name> <image>`. Every field: docs/configuration.md, docs/drivers.md.',
    ],
    { todos },
  );
}
