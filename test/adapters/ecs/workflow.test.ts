import { ecsDriverFor } from '../../../src/composition/aws-drivers.js';
import type { EcsDriver } from '../../../src/adapters/ecs/ecs-driver.js';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { startLocalDynamo, type LocalDynamo } from '../../../src/adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore } from '../../../src/adapters/dynamodb/dynamo-store.js';
import { releaseMessage } from '../../../src/adapters/slack/message.js';
import { releaseView } from '../../../src/api/views.js';
import { createLocalRuntime, type LocalRuntime } from '../../../src/composition/local-runtime.js';
import { ecsHookTimeoutMinutes, resolveConfig, type ServiceConfig } from '../../../src/config/config.js';
import type { Release } from '../../../src/core/release.js';
import { VirtualClock } from '../../../src/ports/clock.js';
import { ALTERNATE_TG, FAKE_ECS_TARGET, FakeEcs, STABLE_IMAGE, asEcsApplies, ecsMock, installFakeEcs } from '../../support/fake-ecs.js';
import { releaseFinished, releaseUntil } from '../../support/poll.js';
import { settle } from '../../support/driver-contract.js';
import { dryRunRelease, verifyTargets } from '../../../src/composition/aws-verify.js';

const cw = mockClient(CloudWatchClient);
let dynamo: LocalDynamo;
let runtime: LocalRuntime | undefined;
let fake: FakeEcs;
/**
 * Whether the alarm fires, asked when the gates read it: a condition on what ECS shows at that read,
 * never set by the test after a wall-clock poll (on a loaded machine the release would be past it).
 */
let alarmFiring: () => boolean = () => false;
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:' + '2'.repeat(64);

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => dynamo.close());
afterEach(async () => {
  await runtime?.engine.stop();
  runtime = undefined;
});

/** The service's own deployment configuration before any release: what must be there again after it. */
const USER_CONFIGURATION = {
  strategy: 'ROLLING' as const,
  // ECS describes a service with its bake time filled in (0 unless set).
  bakeTimeInMinutes: 0,
  maximumPercent: 200,
  minimumHealthyPercent: 100,
  deploymentCircuitBreaker: { enable: false, rollback: false },
  lifecycleHooks: [
    {
      targetType: 'AWS_LAMBDA' as const,
      hookTargetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:smoke',
      roleArn: 'arn:aws:iam::123456789012:role/hooks',
      lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT' as const],
    },
  ],
};

let counter = 0;
/** `driverOverrides`: the driver is built from the service's config with these changes (a config changed after the release was created). */
function start(
  overrides: Record<string, unknown>,
  driverOverrides?: Record<string, unknown>,
): { rt: LocalRuntime; service: ServiceConfig; clock: VirtualClock; driver: EcsDriver } {
  counter++;
  const clock = new VirtualClock();
  fake = new FakeEcs(clock, { deploymentConfiguration: structuredClone(USER_CONFIGURATION) });
  installFakeEcs(fake);
  alarmFiring = () => false;
  cw.reset();
  cw.on(DescribeAlarmsCommand).callsFake(() => {
    const alarmState = alarmFiring() ? 'ALARM' : 'OK';
    return {
      MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: alarmState, StateReason: alarmState === 'ALARM' ? 'Threshold Crossed: 3 datapoints > 5' : 'ok' }],
    };
  });
  const configWith = (changes: Record<string, unknown>) =>
    resolveConfig({
      services: [
        {
          name: `api-${counter}`,
          target: FAKE_ECS_TARGET,
          strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
          gates: { alarms: ['api-5xx'], checkInterval: '1m' },
          ...changes,
        },
      ],
    });
  const config = configWith(overrides);
  const [service] = config.services;
  if (!service || service.target.driver !== 'ecs') throw new Error('no ecs service');
  const driver = ecsDriverFor(driverOverrides ? configWith(driverOverrides).services[0]! : service, { ecs: ecsMock as unknown as ECSClient });
  const store = new DynamoReleaseStore(dynamo.client, dynamo.tableName);
  const metrics = new CloudWatchMetrics({
    client: cw as unknown as CloudWatchClient,
    target: service.target,
    greenTargetGroup: async (r) => driver.greenTargetGroup(r),
  });
  const rt = createLocalRuntime(
    { services: config.services, store, clock, driverFor: () => driver, metricsFor: () => metrics },
    { virtualClock: clock, retryIntervalMs: 1 },
  );
  return { rt, service, clock, driver };
}

const until = (rt: LocalRuntime, id: string, predicate: (r: Release) => boolean) => releaseUntil(rt.deps.store, id, predicate);
const finish = (rt: LocalRuntime, id: string) => releaseFinished(rt.deps.store, rt.engine, id);
const actor = { id: 'ci', channel: 'api' } as const;
const calls = (command: string) => fake.calls.filter((c) => c.command === command).map((c) => c.input as Record<string, unknown>);
const shifted = (r: Release) => r.timeline.filter((e) => e.type === 'shifted').map((e) => e.message);
const current = () => fake.describeDeployment(fake.latest()!.arn);
/** The release's own service deployment (the latest may be ECS applying the restored configuration). */
const ours = (r: Release) => fake.describeDeployment(r.driverState?.['serviceDeploymentArn'] ?? '');
/** ECS holds the release's deployment at `percent`% (or more) of production, paused at our hook: Switchyard bakes there. */
const heldAt = (percent: number) => {
  const d = fake.latest() && current();
  return (
    d?.status === 'IN_PROGRESS' &&
    (d.targetServiceRevision?.requestedProductionTrafficWeight ?? 0) >= percent &&
    (d.lifecycleHookDetails ?? []).some((h) => h.status === 'AWAITING_ACTION')
  );
};

describe('the workflow on the ecs driver against an ECS that plays service deployments forward', () => {
  it('canary: ECS runs its own CANARY strategy, paused by Switchyard before every step; the service gets its own configuration back', async () => {
    const { rt, service } = start({});
    // What ECS shows while Switchyard bakes at 10%, taken when the gates are read then (not after a wall-clock poll).
    let whileBaking: ReturnType<typeof current> | undefined;
    alarmFiring = () => {
      if (fake.latest() && (current().targetServiceRevision?.requestedProductionTrafficWeight ?? 0) === 10) whileBaking ??= structuredClone(current());
      return false;
    };
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const done = await finish(rt, release.id);
    // Held by the PAUSE hook before the next step while Switchyard bakes: ECS's own bake is 0.
    expect(whileBaking).toMatchObject({ status: 'IN_PROGRESS', lifecycleStage: 'PRE_PRODUCTION_TRAFFIC_SHIFT' });
    expect(whileBaking?.lifecycleHookDetails?.at(-1)?.status).toBe('AWAITING_ACTION');
    expect(done.driverState?.['greenTargetGroup']).toBe(ALTERNATE_TG);
    expect(done.phase).toBe('succeeded');
    expect(shifted(done)).toEqual(['10% of production traffic on the new version', '100% of production traffic on the new version']);
    const [update, restore] = calls('UpdateService');
    const hookTimeout = ecsHookTimeoutMinutes(service.plan, service.settings);
    expect(update).toEqual({
      cluster: 'prod',
      service: 'api',
      taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:2',
      deploymentConfiguration: {
        maximumPercent: 200,
        minimumHealthyPercent: 100,
        deploymentCircuitBreaker: { enable: false, rollback: false },
        strategy: 'CANARY',
        bakeTimeInMinutes: 0,
        canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 0 },
        lifecycleHooks: [
          USER_CONFIGURATION.lifecycleHooks[0],
          {
            targetType: 'PAUSE',
            lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT', 'PRE_PRODUCTION_TRAFFIC_SHIFT', 'POST_PRODUCTION_TRAFFIC_SHIFT'],
            timeoutConfiguration: { timeoutInMinutes: hookTimeout, action: 'ROLLBACK' },
          },
        ],
      },
    });
    // The hook outlasts the longest hold of the plan (5m bake + 5m extension) with a margin.
    expect(hookTimeout).toBe(25);
    // UpdateService merges: what Switchyard added is cleared explicitly (empty structures, no hooks of ours).
    expect(restore).toEqual({
      cluster: 'prod',
      service: 'api',
      deploymentConfiguration: USER_CONFIGURATION,
    });
    expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual(USER_CONFIGURATION);
    // Four pauses answered: after test traffic, before 10%, before 100%, after the last shift.
    expect(calls('ContinueServiceDeployment').map((c) => c['action'])).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE', 'CONTINUE']);
    expect(ours(done).status).toBe('SUCCESSFUL');
    expect(fake.image(fake.service.taskDefinition)).toBe(IMAGE);
  });

  it('linear with an approval while traffic is split: ECS stays paused at 20% until a person approves', async () => {
    const { rt, service } = start({ strategy: { type: 'linear', stepPercent: 20, interval: '2m', finalBake: '1m' }, approvals: { at: ['after-first-step'] } });
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const waiting = await until(rt, release.id, (r) => r.phase === 'awaiting_approval');
    expect(waiting.weight).toBe(20);
    expect(current()).toMatchObject({ status: 'IN_PROGRESS', lifecycleStage: 'PRE_PRODUCTION_TRAFFIC_SHIFT' });
    expect(current().targetServiceRevision?.requestedProductionTrafficWeight).toBe(20);
    expect(calls('UpdateService')[0]?.['deploymentConfiguration']).toMatchObject({
      strategy: 'LINEAR',
      linearConfiguration: { stepPercent: 20, stepBakeTimeInMinutes: 0 },
    });
    await rt.releases.act(release.id, 'approve', { id: 'lead', channel: 'api' });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('succeeded');
    expect(shifted(done)).toEqual([20, 40, 60, 80, 100].map((p) => `${p}% of production traffic on the new version`));
  });

  it('an alarm firing mid-shift rolls back through the paused hook (ContinueServiceDeployment ROLLBACK) to the exact previous revision', async () => {
    const { rt, service } = start({ strategy: { type: 'linear', stepPercent: 25, interval: '3m', finalBake: '1m' } });
    const before = fake.service.taskDefinition;
    // The alarm fires once ECS holds 50% for the bake, whenever the gates read it then.
    alarmFiring = () => heldAt(50);
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toBe('gate failed: alarm api-5xx is ALARM (Threshold Crossed: 3 datapoints > 5)');
    expect(calls('ContinueServiceDeployment').at(-1)).toMatchObject({ action: 'ROLLBACK' });
    expect(ours(done).status).toBe('ROLLBACK_SUCCESSFUL');
    expect(fake.service.taskDefinition).toBe(before);
    expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual(USER_CONFIGURATION);
  });

  it('a rollback requested while ECS is paused for a person answers the hook with ROLLBACK', async () => {
    const { rt, service } = start({ strategy: { type: 'blue-green', bake: '2m' }, approvals: { at: ['before-traffic'] } });
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    await until(rt, release.id, (r) => r.phase === 'awaiting_approval');
    // Blue/green ready: the new revision has the test traffic, none of production.
    expect(current()).toMatchObject({ lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT' });
    expect(current().targetServiceRevision).toMatchObject({ requestedTestTrafficWeight: 100, requestedProductionTrafficWeight: 0 });
    await rt.releases.act(release.id, 'rollback', { id: 'lead', channel: 'api' });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('rolled_back');
    expect(calls('ContinueServiceDeployment')).toEqual([
      { serviceDeploymentArn: done.driverState?.['serviceDeploymentArn'], hookId: expect.any(String) as string, action: 'ROLLBACK' },
    ]);
    expect(ours(done).status).toBe('ROLLBACK_SUCCESSFUL');
  });

  it('a rollback while ECS is shifting (not paused) stops the deployment with ROLLBACK', async () => {
    const { service, clock, driver } = start({});
    const release = {
      ...(await import('../../../src/core/transitions.js')).createRelease(
        { id: 'r-shift', service: service.name, artifact: { image: IMAGE }, plan: service.plan, settings: service.settings, actor },
        clock.now(),
      ),
    };
    const deployed = await settle({ elapse: (ms) => clock.advanceBy(ms) }, release, (r) => driver.deploy(r));
    const state = deployed.driverState ?? {};
    const hook = current().lifecycleHookDetails?.find((h) => h.status === 'AWAITING_ACTION');
    // Let ECS go on by itself into the traffic shift, as if Switchyard had just continued it.
    fake.continue(state['serviceDeploymentArn']!, hook!.hookId!, 'CONTINUE');
    fake.continue(state['serviceDeploymentArn']!, current().lifecycleHookDetails!.find((h) => h.status === 'AWAITING_ACTION')!.hookId!, 'CONTINUE');
    clock.advanceBy(1000);
    expect(current().lifecycleStage).toBe('PRODUCTION_TRAFFIC_SHIFT');
    await settle({ elapse: (ms) => clock.advanceBy(ms) }, deployed, (r) => driver.rollback(r));
    expect(calls('StopServiceDeployment')).toEqual([{ serviceDeploymentArn: state['serviceDeploymentArn'], stopType: 'ROLLBACK' }]);
    expect(fake.describeDeployment(state['serviceDeploymentArn'] ?? '').status).toBe('ROLLBACK_SUCCESSFUL');
  });

  it('a pause hook that times out is never the one deciding: the timeout exceeds the plan, and if ECS acts anyway the release says so', async () => {
    const { rt, service, clock } = start({
      strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
      approvals: { at: ['after-first-step'], timeout: '2h' },
    });
    // The approval may wait 2 h at one step: the hook waits longer.
    expect(ecsHookTimeoutMinutes(service.plan, service.settings)).toBeGreaterThan(120 + 10);
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    await until(rt, release.id, (r) => r.phase === 'awaiting_approval');
    // Someone shortened the hook outside Switchyard; ECS's timeout then rolls back on its own.
    const hook = fake.latest()!.hooks.find((h) => h.status === 'AWAITING_ACTION')!;
    Object.assign(hook, { expiresAt: clock.now() + 60_000 });
    clock.advanceBy(61_000);
    await rt.releases.act(release.id, 'approve', { id: 'lead', channel: 'api' });
    const done = await finish(rt, release.id);
    expect(done.phase).not.toBe('succeeded');
    expect(done.weight).toBe(0);
    expect(done.reason).toContain('pause hook timed out');
    expect(ours(done).status).toBe('ROLLBACK_SUCCESSFUL');
  });

  it("a release keeps the hooks its pause limit was computed for, though the service's config changed after it was created", async () => {
    // Created with maxPause 1h; the driver is built from today's config, without it (a shorter hook).
    const { rt, service, driver } = start({ approvals: { maxPause: '1h' } }, {});
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const baking = await until(rt, release.id, (r) => r.phase === 'baking' && r.weight === 10);
    const timeouts = calls('UpdateService').flatMap((c) =>
      (
        (c['deploymentConfiguration'] as { lifecycleHooks?: { targetType: string; timeoutConfiguration?: { timeoutInMinutes: number } }[] })?.lifecycleHooks ??
        []
      ).flatMap((h) => (h.targetType === 'PAUSE' ? [h.timeoutConfiguration?.timeoutInMinutes] : [])),
    );
    expect(timeouts).toEqual([ecsHookTimeoutMinutes(service.plan, service.settings)]);
    expect(timeouts[0]).toBeGreaterThan(driver.deploymentConfiguration(undefined, service.plan).lifecycleHooks![0]!.timeoutConfiguration!.timeoutInMinutes!);
    // A pause as long as the release allows ends in Switchyard's rollback, before ECS's hook would.
    const paused = await rt.releases.act(release.id, 'pause', { id: 'oncall', channel: 'api' });
    const hook = fake.latest()!.hooks.find((h) => h.status === 'AWAITING_ACTION')!;
    expect(Date.parse(paused.paused!.until!)).toBeLessThan(hook.expiresAt);
    expect(baking.settings.maxPauseSeconds).toBe(3600);
    // Leave nothing running for the next test: roll back and wait for the end.
    await rt.releases.act(release.id, 'rollback', { id: 'oncall', channel: 'api' });
    expect((await finish(rt, release.id)).phase).toBe('rolled_back');
  });

  it('a deployment stopped outside Switchyard mid-release: the previous revision is deployed again and the release says why', async () => {
    const { rt, service } = start({ strategy: { type: 'linear', stepPercent: 50, interval: '2m', finalBake: '1m' } });
    const before = fake.service.taskDefinition;
    // Stopped in the console while ECS holds 50% for the bake: done when the gates are read there, not after a wall-clock poll.
    let stopped = false;
    alarmFiring = () => {
      if (!stopped && heldAt(50)) {
        stopped = true;
        fake.stopOutside(fake.latest()!.arn);
      }
      return false;
    };
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const done = await finish(rt, release.id);
    expect(stopped).toBe(true);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toContain('stopped by a user in the console');
    expect(calls('UpdateService').at(-1)).toMatchObject({ taskDefinition: before, deploymentConfiguration: USER_CONFIGURATION });
    expect(fake.service.taskDefinition).toBe(before);
  });

  it('an environment-variable change shows as a task definition diff in the API view and the approval message', async () => {
    const { rt, service } = start({
      target: { ...FAKE_ECS_TARGET, taskDefinition: { overrides: { environment: { MODE: 'fast', FEATURE_X: 'on' }, memory: '1024' } } },
      strategy: { type: 'blue-green', bake: '1m' },
      approvals: { at: ['before-traffic'] },
    });
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const waiting = await until(rt, release.id, (r) => r.phase === 'awaiting_approval');
    expect(waiting.changes).toEqual([
      { path: 'memory', before: '512', after: '1024' },
      { path: 'containerDefinitions[app].image', before: STABLE_IMAGE, after: IMAGE },
      { path: 'containerDefinitions[app].environment[MODE].value', before: 'classic', after: 'fast' },
      { path: 'containerDefinitions[app].environment[FEATURE_X]', after: '{"name":"FEATURE_X","value":"on"}' },
    ]);
    expect(releaseView(waiting).changes).toEqual(waiting.changes);
    const message = JSON.stringify(releaseMessage(waiting, 'production').blocks);
    expect(message).toContain('Task definition changes');
    expect(message).toContain('~ containerDefinitions[app].environment[MODE].value: classic → fast');
    // The sidecar and the roles are carried over untouched.
    const registered = fake.taskDefinitions.get(fake.service.taskDefinition)?.definition;
    expect(registered?.containerDefinitions?.map((c) => c.name)).toEqual(['app', 'log-router']);
    expect(registered?.taskRoleArn).toBe('arn:aws:iam::123456789012:role/api-task');
    await rt.releases.act(release.id, 'reject', { id: 'lead', channel: 'api' });
    expect((await finish(rt, release.id)).phase).toBe('rolled_back');
  });

  it('a task-definition template: the placeholder takes the pinned image, and a template without it is refused before anything moves', async () => {
    const template = {
      family: 'api',
      cpu: '512',
      memory: '1024',
      containerDefinitions: [{ name: 'app', image: '{{image}}', environment: [{ name: 'MODE', value: 'templated' }] }],
    };
    const { rt, service } = start({ target: { ...FAKE_ECS_TARGET, taskDefinition: { template } }, strategy: { type: 'blue-green', bake: '1m' } });
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('succeeded');
    expect(fake.taskDefinitions.get(fake.service.taskDefinition)?.definition).toMatchObject({
      cpu: '512',
      containerDefinitions: [{ name: 'app', image: IMAGE }],
    });
    expect(() =>
      resolveConfig({
        services: [
          {
            name: 'x',
            target: { ...FAKE_ECS_TARGET, taskDefinition: { template: { ...template, containerDefinitions: [{ name: 'app', image: 'nginx' }] } } },
            strategy: { type: 'blue-green' },
          },
        ],
      }),
    ).toThrow('services[0].target.taskDefinition.template: container "app" must have image "{{image}}"');
  });

  it('undo after a canary goes straight back with ECS’s BLUE_GREEN (the undo’s own plan), to the revision served before', async () => {
    const { rt, service } = start({});
    const before = fake.service.taskDefinition;
    // What the service served before: recorded as a finished release or the trigger would record it.
    await rt.deps.store.setStable(service.name, STABLE_IMAGE);
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    expect((await finish(rt, release.id)).phase).toBe('succeeded');
    const { release: undo } = await rt.releases.undo(service.name, { id: 'lead', channel: 'api' });
    const done = await finish(rt, undo.id);
    expect(done.phase).toBe('succeeded');
    expect(
      calls('UpdateService')
        .filter((c) => c['taskDefinition'])
        .at(-1),
    ).toMatchObject({ deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0 } });
    expect(fake.image(fake.service.taskDefinition)).toBe(fake.image(before));
  });

  it('releasing the image the service already runs (nothing else changed) still starts a deployment, and ends', async () => {
    const { rt, service } = start({ strategy: { type: 'blue-green', bake: '1m' } });
    const running = fake.service.taskDefinition;
    const { release } = await rt.releases.startRelease({ service: service.name, image: STABLE_IMAGE, actor });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('succeeded');
    // The identical revision is reused, not registered again; ECS is asked to deploy it anyway.
    expect(calls('RegisterTaskDefinition')).toEqual([]);
    expect(calls('UpdateService')[0]).toMatchObject({ taskDefinition: running, forceNewDeployment: true });
    expect(ours(done).status).toBe('SUCCESSFUL');
  });

  it('rolling: ECS replaces tasks in batches while the gates are watched; circuit breaker and alarms stay on as a second net', async () => {
    const { rt, service } = start({ strategy: { type: 'rolling', batch: 50 } });
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('succeeded');
    expect(calls('UpdateService')[0]?.['deploymentConfiguration']).toEqual({
      ...USER_CONFIGURATION,
      strategy: 'ROLLING',
      maximumPercent: 150,
      minimumHealthyPercent: 100,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: ['api-5xx'], enable: true, rollback: true },
    });
    // The timeline records each share ECS reached as tasks were replaced (never one it was not at), up to 100%.
    const shares = shifted(done).map((m) => Number.parseFloat(m));
    expect(shares.at(-1)).toBe(100);
    expect(shares).toEqual([...shares].sort((a, b) => a - b));
    // Alarms were handed to ECS for the rollout; the user had none, so they are explicitly off again.
    expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual({ ...USER_CONFIGURATION, alarms: { alarmNames: [], enable: false, rollback: false } });
    // Gates were read while ECS replaced tasks (each decision during the shift looks at the alarm).
    expect(cw.commandCalls(DescribeAlarmsCommand).length).toBeGreaterThan(0);
  });

  it('rolling: an alarm while tasks are replaced stops the update with ROLLBACK; a broken image trips the circuit breaker', async () => {
    const { rt, service, driver } = start({ strategy: { type: 'rolling', batch: 25 } });
    // The alarm fires once a quarter of the tasks run the new version, while ECS still replaces the rest.
    alarmFiring = () => fake.latest() !== undefined && current().status === 'IN_PROGRESS' && driver.weightOf(current()) >= 25;
    const { release } = await rt.releases.startRelease({ service: service.name, image: IMAGE, actor });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('rolled_back');
    expect(calls('StopServiceDeployment')).toEqual([{ serviceDeploymentArn: done.driverState?.['serviceDeploymentArn'], stopType: 'ROLLBACK' }]);
    expect(ours(done).status).toBe('ROLLBACK_SUCCESSFUL');

    const second = start({ strategy: { type: 'rolling', batch: 25 } });
    fake.brokenImages.add(IMAGE);
    const { release: broken } = await second.rt.releases.startRelease({ service: second.service.name, image: IMAGE, actor });
    const failed = await finish(second.rt, broken.id);
    expect(failed.phase).not.toBe('succeeded');
    expect(failed.reason).toContain('circuit breaker');
    expect(fake.service.taskDefinition).not.toContain(':2');
  });
});

describe('switchyard verify and release --dry-run on the ecs driver', () => {
  const clients = () => ({
    ecs: ecsMock as unknown as ECSClient,
    codedeploy: async () => {
      throw new Error('not used');
    },
    cloudwatch: cw as unknown as CloudWatchClient,
    ecr: async () => {
      throw new Error('not used');
    },
  });

  it('verify passes on a ready service and says what to change on one that is not', async () => {
    const { service } = start({});
    const config = resolveConfig({
      // The fake service's own Lambda hook passes role/hooks back to ECS: the stack must be allowed to pass it.
      services: [
        {
          name: service.name,
          target: { ...FAKE_ECS_TARGET, passRoles: ['arn:aws:iam::123456789012:role/hooks'] },
          strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }] },
        },
      ],
    });
    const [ok] = await verifyTargets(config, { clients: clients() as never });
    expect(ok?.checks.every((c) => c.ok)).toBe(true);
    fake = new FakeEcs(new VirtualClock(), { controller: 'CODE_DEPLOY', advanced: false });
    installFakeEcs(fake);
    const [bad] = await verifyTargets(config, { clients: clients() as never });
    expect(bad?.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['deployment controller', 'blue/green load balancer']);
    expect(bad?.checks.find((c) => c.name === 'deployment controller')?.detail).toContain('use driver "codedeploy"');
  });

  it('release --dry-run shows RegisterTaskDefinition and UpdateService with their exact inputs and sends neither', async () => {
    const { service } = start({});
    const config = resolveConfig({
      services: [{ name: service.name, target: FAKE_ECS_TARGET, strategy: { type: 'linear', stepPercent: 25, interval: '2m' } }],
    });
    const calls = await dryRunRelease(config, service.name, IMAGE, { clients: clients() as never });
    const update = calls.find((c) => c.command === 'UpdateService');
    expect(update).toMatchObject({ sent: false, input: { taskDefinition: '<the task definition RegisterTaskDefinition would register>' } });
    expect((update?.input as { deploymentConfiguration: { strategy: string } }).deploymentConfiguration.strategy).toBe('LINEAR');
    expect(calls.find((c) => c.command === 'RegisterTaskDefinition')?.sent).toBe(false);
    expect(fake.calls).toEqual([]);
  });
});
