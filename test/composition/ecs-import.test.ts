import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { initFromEcs, parseServiceRef, type ImportClients } from '../../src/composition/ecs-import.js';
import { loadConfig } from '../../src/config/load.js';
import { NotFoundError, PermissionError, TransientError, ValidationError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/ports/clock.js';
import { FakeAlarms, fakeCloudWatchClient } from '../support/fake-cloudwatch.js';
import { ecsMock, FakeEcs, installFakeEcs, type FakeEcsOptions } from '../support/fake-ecs.js';

// Written where the package resolves to this checkout (as a user's project resolves it once installed).
mkdirSync('.switchyard', { recursive: true });
const dir = mkdtempSync(join('.switchyard', 'init-ecs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LB = 'app/prod/0123456789abcdef';
const BLUE = 'targetgroup/api-blue/0123456789abcdef';
const GREEN = 'targetgroup/api-green/fedcba9876543210';

const alarm = (name: string, dims: Record<string, string>, namespace = 'AWS/ApplicationELB'): MetricAlarm => ({
  AlarmName: name,
  Namespace: namespace,
  MetricName: 'HTTPCode_Target_5XX_Count',
  Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
  StateValue: 'OK',
});
/** An account's other alarms: more than one page of DescribeAlarms, none of them the service's. */
const others = Array.from({ length: 140 }, (_, i) => alarm(`other-${i}`, { LoadBalancer: LB, TargetGroup: `targetgroup/other-${i}/0123456789abcdef` }));

let fake: FakeEcs;
let alarms: FakeAlarms;
let clients: ImportClients;
function setup(options: FakeEcsOptions, metricAlarms: MetricAlarm[] = []) {
  fake = new FakeEcs(new VirtualClock(), options);
  installFakeEcs(fake);
  alarms = new FakeAlarms([...others, ...metricAlarms]);
  clients = { ecs: new ECSClient({ region: 'eu-west-1' }), cloudwatch: fakeCloudWatchClient(undefined, alarms) };
}
beforeEach(() => setup({}));

/** Writes the generated file and loads it through the real loader, as `switchyard validate` would. */
async function written(name: string, text: string) {
  const file = join(dir, `${name}.config.ts`);
  writeFileSync(file, text);
  const config = await loadConfig(file);
  const [service] = config.services;
  if (!service || service.target.driver !== 'ecs') throw new Error('expected one ecs service');
  return { service, target: service.target, alarms: service.settings.gates.flatMap((g) => (g.kind === 'alarm' ? [g.name] : [])) };
}

/** What the file marks for a person, by field; each is written in the file at its field. */
function todos(scaffold: { text: string; todos: readonly { path: string; text: string }[] }): Record<string, string> {
  expect(scaffold.text.split('\n').filter((line) => line.includes('// TODO(switchyard init): '))).toHaveLength(scaffold.todos.length);
  return Object.fromEntries(scaffold.todos.map((t) => [t.path.replace('services[0].', ''), t.text]));
}

describe('switchyard init --from-ecs', () => {
  it('a blue/green service: cluster, service, container, both target groups with their load balancer, its bake and its alarms', async () => {
    setup(
      {
        deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 10, alarms: { alarmNames: ['api-deploy-alarm'], enable: true, rollback: true } },
      },
      [
        alarm('api-blue-5xx', { LoadBalancer: LB, TargetGroup: BLUE }),
        alarm('api-cpu', { ClusterName: 'prod', ServiceName: 'api' }, 'AWS/ECS'),
        alarm('web-cpu', { ClusterName: 'prod', ServiceName: 'web' }, 'AWS/ECS'),
      ],
    );
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    const { service, target, alarms: gates } = await written('blue-green', scaffold.text);
    expect(service.name).toBe('api');
    expect(service.plan.strategy).toBe('blue-green');
    expect(service.plan.steps).toContainEqual({ type: 'bake', seconds: 600 });
    expect(target).toMatchObject({ cluster: 'prod', service: 'api', containerName: 'app', family: 'api' });
    expect(target.targetGroups).toEqual([
      { targetGroup: BLUE, loadBalancer: LB },
      { targetGroup: GREEN, loadBalancer: LB },
    ]);
    expect(target.passRoles).toEqual(['arn:aws:iam::123456789012:role/api-task', 'arn:aws:iam::123456789012:role/api-execution']);
    expect(gates).toEqual(['api-deploy-alarm', 'api-blue-5xx', 'api-cpu']);
    expect(scaffold.text).toContain('The container listens on 8080 behind the load balancer');
    expect(scaffold.text).toContain('api-blue-5xx: TargetGroup dimension targetgroup/api-blue/0123456789abcdef');
    // The alarms were read page by page (more than 100 in the account), metric alarms only.
    expect(alarms.calls.map((c) => [c.MaxRecords, c.AlarmTypes, Boolean(c.NextToken)])).toEqual([
      [100, ['MetricAlarm'], false],
      [100, ['MetricAlarm'], true],
    ]);
    // What is settled carries no TODO; the trigger is the image's ECR repository, its tag pattern to narrow.
    expect(service.trigger).toEqual({ repository: 'api', tagPattern: '*', untagged: false });
    const marked = todos(scaffold);
    expect(Object.keys(marked).sort()).toEqual(['target.containerName', 'target.family', 'trigger']);
    // Two essential containers (log-router's essential is ECS's default, true): the choice is said.
    expect(marked['target.containerName']).toContain('app was chosen (the load balancer sends traffic to it) among app, log-router');
    expect(fake.calls).toEqual([]);
  });

  it('a rolling service without alarms: the batch from maximumPercent, the load balancer and the gates marked to fill in', async () => {
    setup({});
    const scaffold = await initFromEcs({ from: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/api', name: 'search', clients });
    const { service, target, alarms: gates } = await written('rolling', scaffold.text);
    expect(service.name).toBe('search');
    expect(service.plan.strategy).toBe('rolling');
    expect(target).toMatchObject({ cluster: 'prod', service: 'api', containerName: 'app', maxUnavailable: 0 });
    // ECS names the target group but not its load balancer: written commented out, to be completed.
    expect(target.targetGroups).toBeUndefined();
    expect(scaffold.text).toContain(`//   { targetGroup: '${BLUE}', loadBalancer: 'app/<load balancer name>/<id>' },`);
    expect(gates).toEqual([]);
    const marked = todos(scaffold);
    expect(marked['strategy']).toContain('lets ECS replace 100% of the tasks at once, so each batch is 100%');
    expect(marked['target.targetGroups']).toContain('the load balancer of targetgroup/api-blue/0123456789abcdef');
    expect(marked['gates']).toContain('no CloudWatch alarm names its target groups or the service');
    expect(marked['target.family']).toContain('app does not log with awslogs, so no logGroup is written');
    expect(fake.calls).toEqual([]);
  });

  it('a service with no load balancer: no target groups, alarms on its ECS dimensions, the container choice marked', async () => {
    setup({ loadBalanced: false, deploymentConfiguration: { strategy: 'ROLLING', maximumPercent: 125, minimumHealthyPercent: 75 } }, [
      alarm('worker-cpu', { ClusterName: 'prod', ServiceName: 'api' }, 'AWS/ECS'),
    ]);
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    const { service, target, alarms: gates } = await written('no-lb', scaffold.text);
    expect(service.plan.strategy).toBe('rolling');
    expect(service.plan.steps.filter((s) => s.type === 'setWeight').map((s) => (s.type === 'setWeight' ? s.percent : 0))).toEqual([25, 50, 75, 100]);
    expect(target.targetGroups).toBeUndefined();
    expect(target.maxUnavailable).toBe(25);
    expect(scaffold.text).not.toContain('targetGroups');
    expect(gates).toEqual(['worker-cpu']);
    expect(todos(scaffold)['target.containerName']).toContain('app was chosen (the only essential one that runs an ECR image) among app, log-router');
  });

  it('names from AWS are data: an alarm name that would end a comment or a string stays a name in the written file', async () => {
    const hostile = "api-5xx */ process.exit(3) /*\n'); process.exit(4); ('";
    setup({}, [alarm(hostile, { ClusterName: 'prod', ServiceName: 'api' }, 'AWS/ECS')]);
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    const { alarms: gates } = await written('hostile', scaffold.text);
    expect(gates).toEqual([hostile]);
    expect(scaffold.text).not.toMatch(/^\s*'?\); process\.exit/m);
  });

  it('CloudWatch it may not read: the service is still imported, and the alarms are marked to fill in with the reason', async () => {
    setup({});
    const denied = new FakeAlarms();
    denied.describeAlarms = () => {
      throw Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
    };
    const scaffold = await initFromEcs({ from: 'prod/api', clients: { ...clients, cloudwatch: fakeCloudWatchClient(undefined, denied) } });
    expect(todos(scaffold)['gates.alarms']).toContain(
      'CloudWatch alarms could not be listed (your AWS credentials may not call cloudwatch:DescribeAlarms on the alarms of the region',
    );
    await written('no-alarms', scaffold.text);
  });

  it.each([
    [
      'a service that does not exist',
      'prod/nope',
      undefined,
      NotFoundError,
      'ECS service nope was not found in cluster prod (ecs:DescribeServices answered MISSING)',
    ],
    [
      'access denied',
      'prod/api',
      Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }),
      PermissionError,
      'your AWS credentials may not call ecs:DescribeServices on prod/api',
    ],
    [
      'throttling',
      'prod/api',
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }),
      TransientError,
      "ecs:DescribeServices on prod/api was throttled or failed on AWS's side after the SDK's retries (ThrottlingException); run it again in a minute",
    ],
    [
      'a cluster that does not exist',
      'staging/api',
      undefined, // the fake ECS refuses an unknown cluster, as ECS does
      NotFoundError,
      'ECS cluster staging was not found (ecs:DescribeServices); check the name and the region',
    ],
  ])('%s: a clear error naming the call, nothing written', async (_case, from, error, kind, message) => {
    if (error) ecsMock.on(DescribeServicesCommand).rejects(error);
    const attempt = initFromEcs({ from, clients });
    await expect(attempt).rejects.toBeInstanceOf(kind);
    await expect(attempt).rejects.toThrow(message);
  });

  it('a CodeDeploy service is refused with what to do instead; a malformed reference names the forms it takes', async () => {
    setup({ controller: 'CODE_DEPLOY' });
    await expect(initFromEcs({ from: 'prod/api', clients })).rejects.toThrow(
      'ECS service prod/api uses the CODE_DEPLOY deployment controller; init writes blocks for the ecs driver',
    );
    expect(() => parseServiceRef('prod')).toThrow(ValidationError);
    expect(() => parseServiceRef('prod')).toThrow('--from-ecs "prod": write <cluster>/<service>');
    expect(parseServiceRef('arn:aws:ecs:eu-west-1:123456789012:service/prod/api')).toEqual({ cluster: 'prod', service: 'api', region: 'eu-west-1' });
  });
});

/**
 * The cases of an independent AWS review, as ECS answers them (SDK-shaped DescribeServices and
 * DescribeTaskDefinition responses over the fake's): each failed before its fix.
 */
describe('switchyard init --from-ecs: services as ECS describes them', () => {
  const ARN = 'arn:aws:ecs:eu-west-1:123456789012:';
  const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api';
  const tgArn = (suffix: string) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:${suffix}`;
  const blueGreenLb = {
    targetGroupArn: tgArn(BLUE),
    containerName: 'app',
    containerPort: 8080,
    advancedConfiguration: {
      alternateTargetGroupArn: tgArn(GREEN),
      productionListenerRule: tgArn('listener-rule/app/prod/0123456789abcdef/1/2'),
      roleArn: 'arn:aws:iam::123456789012:role/ecs-elb',
    },
  };
  const app = {
    name: 'app',
    image: `${REPO}:1.8.1`,
    essential: true,
    portMappings: [{ containerPort: 8080 }],
    logConfiguration: { logDriver: 'awslogs' as const, options: { 'awslogs-group': '/ecs/api' } },
  };

  /** One service as DescribeServices returns it, and the revision it runs. */
  function service(svc: Record<string, unknown> = {}, taskDefinition: Record<string, unknown> = {}, metricAlarms: MetricAlarm[] = []) {
    setup({}, metricAlarms);
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceArn: `${ARN}service/prod/api`,
          serviceName: 'api',
          clusterArn: `${ARN}cluster/prod`,
          status: 'ACTIVE',
          desiredCount: 4,
          runningCount: 4,
          taskDefinition: `${ARN}task-definition/api:41`,
          deploymentConfiguration: { maximumPercent: 125, minimumHealthyPercent: 100 },
          loadBalancers: [{ targetGroupArn: tgArn(BLUE), containerName: 'app', containerPort: 8080 }],
          deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY', taskDefinition: `${ARN}task-definition/api:41`, rolloutState: 'COMPLETED' }],
          schedulingStrategy: 'REPLICA',
          ...svc,
        },
      ],
      failures: [],
    });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        taskDefinitionArn: `${ARN}task-definition/api:41`,
        family: 'api',
        revision: 41,
        taskRoleArn: 'arn:aws:iam::123456789012:role/api-task',
        executionRoleArn: 'arn:aws:iam::123456789012:role/api-exec',
        containerDefinitions: [app],
        ...taskDefinition,
      },
      tags: [],
    });
  }
  const scalingPolicy = 'arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:1a2b:resource/ecs/service/prod/api:policyName/';
  const withState = (a: MetricAlarm, state: string, actions: string[] = []): MetricAlarm => ({ ...a, StateValue: state as 'OK', AlarmActions: actions });

  it("Auto Scaling's alarms are no gates; an alarm in ALARM now is marked, and the header does not call every alarm found a guard", async () => {
    service({}, {}, [
      withState(alarm('TargetTracking-service/prod/api-AlarmHigh-1b2c', { ClusterName: 'prod', ServiceName: 'api' }, 'AWS/ECS'), 'OK', [`${scalingPolicy}cpu`]),
      withState(alarm('TargetTracking-service/prod/api-AlarmLow-9f8e', { ClusterName: 'prod', ServiceName: 'api' }, 'AWS/ECS'), 'ALARM', [
        `${scalingPolicy}cpu`,
      ]),
      withState(alarm('TargetTracking-service/prod/api-AlarmLow-req', { TargetGroup: BLUE }), 'ALARM', [`${scalingPolicy}requests`]),
      // A step scaling policy's alarm, named by its owner: known by its action.
      withState(alarm('api-scale-out', { ClusterName: 'prod', ServiceName: 'api' }, 'AWS/ECS'), 'ALARM', [`${scalingPolicy}step`]),
      withState(alarm('api-5xx', { LoadBalancer: LB, TargetGroup: BLUE }), 'OK'),
      withState(alarm('api-latency', { LoadBalancer: LB, TargetGroup: BLUE }), 'ALARM'),
      withState(alarm('api-queue-depth', { ClusterName: 'prod', ServiceName: 'api' }, 'AWS/ECS'), 'INSUFFICIENT_DATA'),
    ]);
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    const { alarms: gates } = await written('scaling', scaffold.text);
    expect(gates).toEqual(['api-5xx', 'api-latency', 'api-queue-depth']);
    const marked = todos(scaffold)['gates.alarms'];
    expect(marked).toContain('api-latency is in ALARM now: an alarm in ALARM fails the first bake of every release');
    expect(marked).toContain(
      "api-queue-depth has no data now (INSUFFICIENT_DATA), which a gate reads as inconclusive, and onInconclusive 'fail' fails the release on it",
    );
    expect(scaffold.text).toContain('Naming the service does not make an alarm a good gate');
    expect(scaffold.text).toContain('api-latency: TargetGroup dimension targetgroup/api-blue/0123456789abcdef (ALARM when read)');
    expect(scaffold.text).toContain(
      "Left out, as Auto Scaling policies' alarms (they follow load, not health): TargetTracking-service/prod/api-AlarmHigh-1b2c,",
    );
  });

  it('deployment alarms the service has switched off are marked, not trusted', async () => {
    service({
      deploymentConfiguration: { maximumPercent: 125, minimumHealthyPercent: 100, alarms: { alarmNames: ['old-alarm'], enable: false, rollback: false } },
    });
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    expect((await written('alarms-off', scaffold.text)).alarms).toEqual(['old-alarm']);
    expect(todos(scaffold)['gates.alarms']).toContain(
      "old-alarm: the service's deployment alarms are switched off (deploymentConfiguration.alarms.enable false)",
    );
    expect(scaffold.text).toContain('old-alarm: listed in the service deploymentConfiguration, where it is switched off');
  });

  it("a blue/green service's Lambda lifecycle hook roles are passRoles, as the driver sends the hooks back to ECS", async () => {
    const hook = 'arn:aws:iam::123456789012:role/ecs-hook-invoke';
    service({
      deploymentConfiguration: {
        strategy: 'BLUE_GREEN',
        bakeTimeInMinutes: 10,
        lifecycleHooks: [
          {
            hookTargetArn: `arn:aws:lambda:eu-west-1:123456789012:function:smoke`,
            roleArn: hook,
            targetType: 'AWS_LAMBDA',
            lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          },
        ],
      },
      loadBalancers: [blueGreenLb],
    });
    const { target } = await written('hook-roles', (await initFromEcs({ from: 'prod/api', clients })).text);
    expect(target.passRoles).toEqual(['arn:aws:iam::123456789012:role/api-task', 'arn:aws:iam::123456789012:role/api-exec', hook]);
  });

  it('a task role given by name is left out of passRoles and marked, and the rest is still written', async () => {
    service({}, { taskRoleArn: 'api-task' });
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    const { target } = await written('short-role', scaffold.text);
    expect(target.passRoles).toEqual(['arn:aws:iam::123456789012:role/api-exec']);
    expect(todos(scaffold)['target.passRoles']).toContain('api-task in arn:aws:ecs:eu-west-1:123456789012:task-definition/api:41 is not a role ARN');
  });

  it('a proxy sidecar behind the load balancer: the choice is marked, naming the container that runs the ECR image', async () => {
    service(
      { loadBalancers: [{ targetGroupArn: tgArn(BLUE), containerName: 'nginx', containerPort: 80 }] },
      { containerDefinitions: [{ name: 'nginx', image: 'public.ecr.aws/nginx/nginx:1.27', essential: true, portMappings: [{ containerPort: 80 }] }, app] },
    );
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    expect((await written('sidecar', scaffold.text)).target.containerName).toBe('nginx');
    expect(todos(scaffold)['target.containerName']).toContain(`but app runs your ECR image (${REPO}:1.8.1): if a release replaces that one`);
  });

  it('no load balancer and an agent first: the essential container that runs the ECR image is chosen, and the choice marked', async () => {
    service({ loadBalancers: [] }, { containerDefinitions: [{ name: 'datadog-agent', image: 'public.ecr.aws/datadog/agent:7', essential: true }, app] });
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    const loaded = await written('agent-first', scaffold.text);
    expect(loaded.target.containerName).toBe('app');
    expect(loaded.service.trigger).toEqual({ repository: 'api', tagPattern: '*', untagged: false });
    expect(todos(scaffold)['target.containerName']).toContain('app was chosen (the only essential one that runs an ECR image) among datadog-agent, app');
  });

  it.each([
    ['another account', `999999999999.dkr.ecr.eu-west-1.amazonaws.com/api:1.8.1`],
    ['another region', `123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.8.1`],
  ])('an image in an ECR registry of %s: no live trigger (its pushes never reach the stack), marked', async (_case, image) => {
    service({}, { containerDefinitions: [{ ...app, image }] });
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    expect((await written('central-ecr', scaffold.text)).service.trigger).toBeUndefined();
    expect(scaffold.text).toContain("// trigger: { repository: 'api', tagPattern: '*' },");
    expect(todos(scaffold)['trigger']).toContain(
      "ECR's push events reach Switchyard's rule only from its own account and region, so this trigger would never fire",
    );
  });

  it('two load balancers, the first a Network Load Balancer: marked, as its target group gives no AWS/ApplicationELB data', async () => {
    service(
      {
        loadBalancers: [
          { targetGroupArn: tgArn('targetgroup/api-grpc/0123456789abcdef'), containerName: 'app', containerPort: 9090 },
          { targetGroupArn: tgArn('targetgroup/api-http/0123456789abcdef'), containerName: 'app', containerPort: 8080 },
        ],
      },
      {},
      [alarm('grpc-unhealthy', { TargetGroup: 'targetgroup/api-grpc/0123456789abcdef', LoadBalancer: 'net/prod-nlb/abcdef0123456789' })],
    );
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    await written('two-lbs', scaffold.text);
    const marked = todos(scaffold)['target.targetGroups'];
    expect(marked).toContain('the service has 2 load balancers and only the first (targetgroup/api-grpc/0123456789abcdef, container port 9090) is written');
    expect(marked).toContain('net/prod-nlb/abcdef0123456789 is a Network Load Balancer');
  });

  it('more than 2,000 alarms in the region: those found are kept, marked as possibly incomplete', async () => {
    const crowd = Array.from({ length: 2000 }, (_, i) => alarm(`crowd-${i}`, { ClusterName: 'other', ServiceName: `s${i}` }, 'AWS/ECS'));
    service({}, {}, [alarm('api-5xx', { LoadBalancer: LB, TargetGroup: BLUE }), ...crowd]);
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    const { target, alarms: gates } = await written('many-alarms', scaffold.text);
    expect(gates).toEqual(['api-5xx']);
    expect(target.targetGroups).toEqual([{ targetGroup: BLUE, loadBalancer: LB }]);
    expect(todos(scaffold)['gates.alarms']).toContain('the region has more than 2000 alarms and init read the first 2000: those found are kept');
  });

  it('blue/green over Service Connect without a load balancer: the strategy is marked with why the ecs driver cannot shift it', async () => {
    service({
      deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 5 },
      loadBalancers: [],
      deployments: [
        {
          id: 'ecs-svc/1',
          status: 'PRIMARY',
          taskDefinition: `${ARN}task-definition/api:41`,
          rolloutState: 'COMPLETED',
          serviceConnectConfiguration: { enabled: true, namespace: 'prod' },
        },
      ],
    });
    const marked = todos(await initFromEcs({ from: 'prod/api', clients }));
    expect(marked['strategy']).toContain(
      "ECS's BLUE_GREEN can shift traffic without a load balancer (through Service Connect, as this service does), but Switchyard's ecs driver",
    );
    expect(marked['target.containerName']).toBeUndefined();
  });

  it('a DAEMON service is marked: ECS replaces its tasks without a surge', async () => {
    service({ schedulingStrategy: 'DAEMON', loadBalancers: [], deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 } });
    const scaffold = await initFromEcs({ from: 'prod/api', clients });
    await written('daemon', scaffold.text);
    expect(todos(scaffold)['strategy']).toContain('a DAEMON service runs one task on each container instance');
  });

  it.each([
    [
      'EXTERNAL controller, no task definition',
      { deploymentController: { type: 'EXTERNAL' }, taskDefinition: undefined },
      'ECS service prod/api uses the EXTERNAL deployment controller',
    ],
    ['DRAINING', { status: 'DRAINING' }, 'ECS service prod/api is DRAINING: it is being deleted'],
  ])('%s: refused with the reason, nothing written', async (_case, svc, message) => {
    service(svc);
    const attempt = initFromEcs({ from: 'prod/api', clients });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('tags it may not read (ecs:ListTagsForResource denied): the revision is read without them and the service imported', async () => {
    service();
    const denied = Object.assign(
      new Error(
        'User: arn:aws:sts::123456789012:assumed-role/dev/me is not authorized to perform: ecs:ListTagsForResource on resource: arn:aws:ecs:eu-west-1:123456789012:task-definition/api:41 because no identity-based policy allows the ecs:ListTagsForResource action',
      ),
      { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } },
    );
    const asked: unknown[] = [];
    ecsMock.on(DescribeTaskDefinitionCommand).callsFake(async (input: { include?: string[] }) => {
      asked.push(input.include);
      if (input.include?.includes('TAGS')) throw denied;
      return { taskDefinition: { taskDefinitionArn: `${ARN}task-definition/api:41`, family: 'api', containerDefinitions: [app] } };
    });
    const { target } = await written('tags-denied', (await initFromEcs({ from: 'prod/api', clients })).text);
    expect(target.family).toBe('api');
    expect(asked).toEqual([['TAGS'], undefined]);
  });

  it('an old-format service ARN names no cluster: it is refused, asking for <cluster>/<service>', () => {
    expect(() => parseServiceRef('arn:aws:ecs:eu-west-1:123456789012:service/api')).toThrow(
      '--from-ecs "arn:aws:ecs:eu-west-1:123456789012:service/api" is a service ARN in ECS\'s old format, which names no cluster: write <cluster>/<service> (for example prod/api',
    );
  });
});
