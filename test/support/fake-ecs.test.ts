import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
  type DeploymentLifecycleHook,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/ports/clock.js';
import { ECS_TIMINGS, FakeEcs, installFakeEcs, type FakeEcsOptions } from './fake-ecs.js';

/** The fake keeps ECS's rules: each test proves one, through the SDK where the SDK's view matters. */

const ecs = new ECSClient({ region: 'eu-west-1' });
const SERVICE = { cluster: 'prod', service: 'api' } as const;
const HEALTH = ECS_TIMINGS.healthCheckInterval * ECS_TIMINGS.healthyThreshold;
const PAUSE_AFTER_SCALE_UP: DeploymentLifecycleHook = {
  targetType: 'PAUSE',
  lifecycleStages: ['POST_SCALE_UP'],
  timeoutConfiguration: { timeoutInMinutes: 60, action: 'ROLLBACK' },
};
const SMOKE_HOOK: DeploymentLifecycleHook = {
  targetType: 'AWS_LAMBDA',
  hookTargetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:smoke',
  roleArn: 'arn:aws:iam::123456789012:role/hooks',
  lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
};
const ROLLING = (max: number, min: number, extra: DeploymentConfiguration = {}): DeploymentConfiguration => ({
  strategy: 'ROLLING',
  maximumPercent: max,
  minimumHealthyPercent: min,
  deploymentCircuitBreaker: { enable: true, rollback: true },
  ...extra,
});

let images = 0;
function setUp(options: FakeEcsOptions = {}) {
  const clock = new VirtualClock();
  const fake = new FakeEcs(clock, options);
  installFakeEcs(fake);
  const revision = () =>
    fake.register({ family: 'api', containerDefinitions: [{ name: 'app', image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v${++images}` }] });
  /** Sends through the SDK mock, retrying throttled calls as the SDK's retry strategy would. */
  const send = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if ((error as Error).name !== 'ThrottlingException' || attempt > 20) throw error;
      }
    }
  };
  const deploy = async (config?: DeploymentConfiguration) => {
    await send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, taskDefinition: revision(), ...(config ? { deploymentConfiguration: config } : {}) })));
    return fake.latest()!.arn;
  };
  const at = (arn: string, seconds: number) => {
    clock.advanceTo(fake.deployments.find((d) => d.arn === arn)!.createdAt + seconds * 1000);
    return fake.describeDeployment(arn);
  };
  return { clock, fake, revision, send, deploy, at };
}

const FIXED_START = { timings: { taskStartMin: 60, taskStartMax: 60 } } as const;

describe('the fake ECS keeps ECS clocks (AWS defaults)', () => {
  it('blue/green: SCALE_UP ends only when every green task has started and passed 5 health checks 30 s apart', async () => {
    const { deploy, at } = setUp({
      ...FIXED_START,
      deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: [PAUSE_AFTER_SCALE_UP] },
    });
    const arn = await deploy();
    expect(at(arn, 60 + HEALTH - 1)).toMatchObject({ status: 'IN_PROGRESS', lifecycleStage: 'SCALE_UP' });
    const ready = at(arn, 60 + HEALTH);
    expect(ready.lifecycleStage).toBe('POST_SCALE_UP');
    expect(ready.lifecycleHookDetails?.[0]?.status).toBe('AWAITING_ACTION');
  });

  it('blue/green with seeded task starts (30-90 s): never ready before 180 s, always by 240 s', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { deploy, at } = setUp({ seed, deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: [PAUSE_AFTER_SCALE_UP] } });
      const arn = await deploy();
      expect(at(arn, 30 + HEALTH - 1).lifecycleStage).toBe('SCALE_UP');
      expect(at(arn, 90 + HEALTH).lifecycleStage).toBe('POST_SCALE_UP');
    }
  });

  it('blue/green: CLEAN_UP waits for the deregistration delay (300 s) before SUCCESSFUL', async () => {
    const { deploy, fake, clock } = setUp({ ...FIXED_START, deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0 } });
    const arn = await deploy();
    while (fake.describeDeployment(arn).lifecycleStage !== 'CLEAN_UP') clock.advanceBy(1000);
    clock.advanceBy(299_000);
    expect(fake.describeDeployment(arn)).toMatchObject({ status: 'IN_PROGRESS', lifecycleStage: 'CLEAN_UP' });
    clock.advanceBy(1000);
    expect(fake.describeDeployment(arn).status).toBe('SUCCESSFUL');
  });

  it('rolling: a new task counts healthy only after start + 150 s, and the old one drains 300 s before SUCCESSFUL', async () => {
    const { deploy, at } = setUp({ ...FIXED_START, desiredCount: 1, deploymentConfiguration: ROLLING(200, 100) });
    const arn = await deploy();
    expect(at(arn, 60 + HEALTH - 1).targetServiceRevision?.requestedProductionTrafficWeight).toBe(0);
    const healthy = at(arn, 60 + HEALTH);
    expect(healthy.targetServiceRevision?.requestedProductionTrafficWeight).toBe(100);
    expect(healthy.sourceServiceRevisions?.[0]?.runningTaskCount).toBe(1);
    expect(at(arn, 60 + HEALTH + 299).status).toBe('IN_PROGRESS');
    expect(at(arn, 60 + HEALTH + 300).status).toBe('SUCCESSFUL');
  });

  it('rolling with deployment alarms: IN_PROGRESS for ECS’s own bake after the old tasks are gone', async () => {
    const alarms = { alarmNames: ['api-5xx'], enable: true, rollback: true };
    const { deploy, at } = setUp({ ...FIXED_START, desiredCount: 1, deploymentConfiguration: ROLLING(200, 100, { alarms }) });
    const arn = await deploy();
    const replaced = 60 + HEALTH + ECS_TIMINGS.deregistrationDelay;
    expect(at(arn, replaced + ECS_TIMINGS.alarmBake - 1).status).toBe('IN_PROGRESS');
    expect(at(arn, replaced + ECS_TIMINGS.alarmBake).status).toBe('SUCCESSFUL');
  });

  it('rolling, 10 tasks at 110%/100%: one task at a time, each batch waiting for health checks and the deregistration delay', async () => {
    const { deploy, at, fake } = setUp({ ...FIXED_START, desiredCount: 10, deploymentConfiguration: ROLLING(110, 100) });
    expect(fake.taskBounds()).toEqual({ maxTasks: 11, minHealthy: 10 });
    const arn = await deploy();
    const batch = 60 + HEALTH + ECS_TIMINGS.deregistrationDelay;
    expect(at(arn, batch * 10 - 1).status).toBe('IN_PROGRESS');
    expect(at(arn, batch * 10).status).toBe('SUCCESSFUL');
  });
});

describe('the fake ECS keeps ECS rules', () => {
  it('2 tasks at 125%/100%: ECS can neither start nor stop a task; IN_PROGRESS for ever, and the circuit breaker never trips', async () => {
    const { deploy, at, fake } = setUp({ desiredCount: 2, deploymentConfiguration: ROLLING(125, 100) });
    expect(fake.taskBounds()).toEqual({ maxTasks: 2, minHealthy: 2 });
    const arn = await deploy();
    const day = at(arn, 24 * 3600);
    expect(day.status).toBe('IN_PROGRESS');
    expect(day.statusReason).toBeUndefined();
    expect(day.targetServiceRevision).toMatchObject({ runningTaskCount: 0, requestedProductionTrafficWeight: 0 });
    expect(day.sourceServiceRevisions?.[0]?.runningTaskCount).toBe(2);
  });

  it('violated (roundsTaskCounts: false): the same 2-task deployment makes progress and succeeds', async () => {
    const { deploy, at } = setUp({ desiredCount: 2, deploymentConfiguration: ROLLING(125, 100), rules: { roundsTaskCounts: false } });
    const arn = await deploy();
    expect(at(arn, 3600).status).toBe('SUCCESSFUL');
  });

  it('a broken image: the circuit breaker trips after 3 failed tasks and rolls back', async () => {
    const { deploy, at, fake } = setUp({ ...FIXED_START, desiredCount: 2, deploymentConfiguration: ROLLING(200, 100) });
    fake.brokenImages.add(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v${images + 1}`);
    const arn = await deploy();
    const failsAfter = 60 + ECS_TIMINGS.healthCheckInterval * ECS_TIMINGS.unhealthyThreshold;
    expect(at(arn, failsAfter - 1).status).toBe('IN_PROGRESS');
    // Two tasks fail together, their replacements one round later: the third failure trips it.
    expect(at(arn, 2 * failsAfter + 60).status).toMatch(/^ROLLBACK_/);
  });

  it('UpdateService merges: an omitted lifecycleHooks keeps the hooks, `lifecycleHooks: []` clears them', async () => {
    const { fake, send } = setUp({ deploymentConfiguration: ROLLING(200, 100, { lifecycleHooks: [SMOKE_HOOK] }) });
    await send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { maximumPercent: 150 } })));
    expect(fake.service.deploymentConfiguration).toMatchObject({ maximumPercent: 150, minimumHealthyPercent: 100, lifecycleHooks: [SMOKE_HOOK] });
    await send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { lifecycleHooks: [] } })));
    expect(fake.service.deploymentConfiguration.lifecycleHooks).toEqual([]);
    expect(fake.service.deploymentConfiguration.maximumPercent).toBe(150);
  });

  it('UpdateService merges canaryConfiguration too: switching strategy back keeps it', async () => {
    const canary = { canaryPercent: 10, canaryBakeTimeInMinutes: 5 };
    const { fake, send } = setUp({ deploymentConfiguration: { strategy: 'CANARY', bakeTimeInMinutes: 5, canaryConfiguration: canary } });
    await send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { strategy: 'ROLLING' } })));
    expect(fake.service.deploymentConfiguration).toMatchObject({ strategy: 'ROLLING', canaryConfiguration: canary, bakeTimeInMinutes: 5 });
  });

  it('violated (mergesUpdates: false): an omitted lifecycleHooks is dropped', async () => {
    const { fake, send } = setUp({ deploymentConfiguration: ROLLING(200, 100, { lifecycleHooks: [SMOKE_HOOK] }), rules: { mergesUpdates: false } });
    await send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { maximumPercent: 150 } })));
    expect(fake.service.deploymentConfiguration).toEqual({ maximumPercent: 150 });
  });

  it('earlySuccessCriteria is for ROLLING only: refused on BLUE_GREEN, honoured on ROLLING', async () => {
    const early = { enable: true, healthyPercent: 100, sourceServiceRevisionCleanup: 'DEFERRED' as const };
    const { send, deploy, at } = setUp({ ...FIXED_START, desiredCount: 1, deploymentConfiguration: ROLLING(200, 100) });
    await expect(
      send(() =>
        ecs.send(
          new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, earlySuccessCriteria: early } }),
        ),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    // DEFERRED clean-up: successful once the new task is healthy, before the old one has drained.
    const arn = await deploy(ROLLING(200, 100, { earlySuccessCriteria: early }));
    expect(at(arn, 60 + HEALTH).status).toBe('SUCCESSFUL');
  });

  it('violated (refusesEarlySuccessOutsideRolling: false): BLUE_GREEN with earlySuccessCriteria is accepted', async () => {
    const early = { enable: true, healthyPercent: 100, sourceServiceRevisionCleanup: 'DEFERRED' as const };
    const { send } = setUp({ rules: { refusesEarlySuccessOutsideRolling: false } });
    await expect(
      send(() =>
        ecs.send(
          new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, earlySuccessCriteria: early } }),
        ),
      ),
    ).resolves.toBeDefined();
  });

  it('a configuration-only UpdateService starts a service deployment (UpdateService reference); the switch turns it off', async () => {
    const starts = setUp();
    await starts.send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { maximumPercent: 150 } })));
    expect(starts.fake.deployments).toHaveLength(1);
    expect(starts.fake.deployments[0]!.target).toBe(starts.fake.service.taskDefinition);
    // The same configuration again, keys in another order, changes nothing and starts nothing.
    await starts.send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { ...starts.fake.service.deploymentConfiguration } })));
    await starts.send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { maximumPercent: 150, strategy: 'ROLLING' } })));
    expect(starts.fake.deployments).toHaveLength(1);
    const quiet = setUp({ rules: { configUpdateStartsDeployment: false } });
    await quiet.send(() => ecs.send(new UpdateServiceCommand({ ...SERVICE, deploymentConfiguration: { maximumPercent: 150 } })));
    expect(quiet.fake.deployments).toHaveLength(0);
  });

  it('ListServiceDeployments pages at 20 with a nextToken, in creation order (no order is documented)', async () => {
    const { deploy, fake } = setUp();
    for (let i = 0; i < 25; i++) await deploy();
    const first = await ecs.send(new ListServiceDeploymentsCommand(SERVICE));
    expect(first.serviceDeployments).toHaveLength(20);
    expect(first.nextToken).toBeDefined();
    const second = await ecs.send(new ListServiceDeploymentsCommand({ ...SERVICE, nextToken: first.nextToken }));
    expect(second.serviceDeployments).toHaveLength(5);
    expect(second.nextToken).toBeUndefined();
    const listed = [...first.serviceDeployments!, ...second.serviceDeployments!].map((d) => d.serviceDeploymentArn);
    expect(listed).toEqual(fake.deployments.map((d) => d.arn));
  });

  it('a second ContinueServiceDeployment of the same hookId is refused (InvalidParameterException); violated, it is ignored', async () => {
    for (const refuses of [true, false]) {
      const { deploy, at, send } = setUp({
        deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: [PAUSE_AFTER_SCALE_UP] },
        rules: { refusesRepeatContinue: refuses },
      });
      const arn = await deploy();
      const hookId = at(arn, 600).lifecycleHookDetails![0]!.hookId!;
      const again = () => send(() => ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action: 'CONTINUE' })));
      await again();
      if (refuses) await expect(again()).rejects.toMatchObject({ name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } });
      else await expect(again()).resolves.toMatchObject({ serviceDeploymentArn: arn });
    }
  });
});

describe('the hostile profile (seeded, deterministic)', () => {
  const BLUE_GREEN: FakeEcsOptions = { deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: [PAUSE_AFTER_SCALE_UP] } };

  it('reads lag one call behind writes: right after a continue the hook still shows AWAITING_ACTION', async () => {
    const { deploy, at, send } = setUp({ profile: 'hostile', ...BLUE_GREEN });
    const arn = await deploy();
    const hookId = at(arn, 600).lifecycleHookDetails![0]!.hookId!;
    await send(() => ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action: 'CONTINUE' })));
    const read = () => send(() => ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })));
    expect((await read()).serviceDeployments?.[0]?.lifecycleHookDetails?.[0]?.status).toBe('AWAITING_ACTION');
    expect((await read()).serviceDeployments?.[0]?.lifecycleHookDetails?.[0]?.status).toBe('SUCCEEDED');
  });

  it('reads lag after UpdateService: the old configuration, no currentServiceDeployment, the new deployment MISSING', async () => {
    const { deploy, send, fake } = setUp({ profile: 'hostile', deploymentConfiguration: ROLLING(200, 100) });
    const arn = await deploy(ROLLING(150, 100));
    const service = await send(() => ecs.send(new DescribeServicesCommand({ ...SERVICE, services: ['api'] })));
    expect(service.services?.[0]?.deploymentConfiguration?.maximumPercent).toBe(200);
    expect(service.services?.[0]?.currentServiceDeployment).toBeUndefined();
    const missing = await send(() => ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })));
    expect(missing).toMatchObject({ serviceDeployments: [], failures: [{ arn, reason: 'MISSING' }] });
    const fresh = await send(() => ecs.send(new DescribeServicesCommand({ ...SERVICE, services: ['api'] })));
    expect(fresh.services?.[0]).toMatchObject({ currentServiceDeployment: arn, deploymentConfiguration: { maximumPercent: 150 } });
    expect(fake.rules.readsLag).toBe(true);
  });

  it('the aws profile reads fresh right after a write', async () => {
    const { deploy, at, send } = setUp(BLUE_GREEN);
    const arn = await deploy();
    const hookId = at(arn, 600).lifecycleHookDetails![0]!.hookId!;
    await send(() => ecs.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId, action: 'CONTINUE' })));
    const read = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
    expect(read.serviceDeployments?.[0]?.lifecycleHookDetails?.[0]?.status).toBe('SUCCEEDED');
  });

  it('bursts of ThrottlingException (HTTP 400) on any call, the same for the same seed, none in the aws profile', async () => {
    const pattern = async (options: FakeEcsOptions) => {
      setUp(options);
      const out: string[] = [];
      for (let i = 0; i < 60; i++) {
        out.push(
          await ecs.send(new DescribeServicesCommand({ ...SERVICE, services: ['api'] })).then(
            () => 'ok',
            (e: Error & { $metadata?: { httpStatusCode?: number } }) => `${e.name}:${e.$metadata?.httpStatusCode}`,
          ),
        );
      }
      return out;
    };
    const hostile = await pattern({ profile: 'hostile', seed: 3 });
    expect(hostile).toContain('ThrottlingException:400');
    expect(hostile.filter((x) => x === 'ok').length).toBeGreaterThan(30);
    expect(await pattern({ profile: 'hostile', seed: 3 })).toEqual(hostile);
    expect(await pattern({ profile: 'aws', seed: 3 })).toEqual(Array(60).fill('ok'));
  });

  it('ListServiceDeployments in a seeded shuffled order, stable across pages and calls', async () => {
    const listed = async (seed: number) => {
      const { deploy, send, fake } = setUp({ profile: 'hostile', seed });
      for (let i = 0; i < 8; i++) await deploy();
      const once = await send(() => ecs.send(new ListServiceDeploymentsCommand(SERVICE)));
      const twice = await send(() => ecs.send(new ListServiceDeploymentsCommand(SERVICE)));
      expect(twice.serviceDeployments).toEqual(once.serviceDeployments);
      return {
        order: once.serviceDeployments!.map((d) => fake.deployments.findIndex((x) => x.arn === d.serviceDeploymentArn)),
        count: fake.deployments.length,
      };
    };
    const { order } = await listed(5);
    expect(order).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(order).not.toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect((await listed(5)).order).toEqual(order);
  });
});

describe('the task guard: no task waits on AWS', () => {
  it('describing the same service deployment more than 3 times inside one task throws, naming the task', async () => {
    const { deploy, fake } = setUp();
    const arn = await deploy();
    const read = () => ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
    fake.beginTask('checkDeployment');
    for (let i = 0; i < 3; i++) await read();
    await expect(read()).rejects.toThrow(/task "checkDeployment" described the service deployment .* 4 times: that is polling/);
    fake.endTask();
    fake.beginTask('checkDeployment');
    await expect(read()).resolves.toBeDefined();
    fake.endTask();
    expect(fake.pollingViolations).toHaveLength(1);
  });

  it('describing the service more than 3 times inside one task throws; outside a task nothing is counted', async () => {
    const { fake } = setUp();
    const read = () => ecs.send(new DescribeServicesCommand({ ...SERVICE, services: ['api'] }));
    for (let i = 0; i < 10; i++) await read();
    fake.beginTask('deploy');
    for (let i = 0; i < 3; i++) await read();
    await expect(read()).rejects.toThrow(/task "deploy" described the service api 4 times/);
  });
});
