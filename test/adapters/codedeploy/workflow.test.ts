import {
  FAKE_TARGET,
  FakeCodeDeploy,
  INSTALL_SECONDS,
  TERMINATION_SECONDS,
  installFakeAws,
  mocks,
  type FakeCodeDeployOptions,
} from '../../support/fake-codedeploy.js';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CreateDeploymentCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { RegisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { CodeDeployDriver } from '../../../src/adapters/codedeploy/codedeploy-driver.js';
import { startLocalDynamo, type LocalDynamo } from '../../../src/adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore } from '../../../src/adapters/dynamodb/dynamo-store.js';
import { resolveConfig, type ServiceConfig } from '../../../src/config/config.js';
import type { Release } from '../../../src/core/release.js';
import { VirtualClock } from '../../../src/ports/clock.js';
import { guardedByTask } from '../../support/task-guard.js';
import { releaseFinished, releaseUntil } from '../../support/poll.js';
import { createLocalRuntime, type LocalRuntime } from '../../../src/composition/local-runtime.js';

const { ecs, cd, cw } = mocks;
let dynamo: LocalDynamo;
let runtime: LocalRuntime | undefined;
let fake: FakeCodeDeploy;
let alarmState: 'OK' | 'ALARM' = 'OK';

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => dynamo.close());
afterEach(async () => {
  await runtime?.engine.stop();
  runtime = undefined;
});

let counter = 0;
function start(
  overrides: Record<string, unknown>,
  fakeOptions: FakeCodeDeployOptions = {},
): { runtime: LocalRuntime; service: ServiceConfig; clock: VirtualClock } {
  counter++;
  const clock = new VirtualClock();
  fake = new FakeCodeDeploy(clock, fakeOptions);
  alarmState = 'OK';
  installFakeAws(fake, () => alarmState);
  const config = resolveConfig({
    services: [
      {
        name: `api-${counter}`,
        target: FAKE_TARGET,
        strategy: { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '5m' },
        gates: { alarms: ['api-5xx'], checkInterval: '1m' },
        ...overrides,
      },
    ],
  });
  const store = new DynamoReleaseStore(dynamo.client, dynamo.tableName);
  const drivers = new Map<string, CodeDeployDriver>();
  const driverFor = (svc: ServiceConfig) => {
    let d = drivers.get(svc.name);
    if (!d && svc.target.driver === 'codedeploy') {
      d = new CodeDeployDriver({
        service: svc.name,
        target: svc.target,
        plan: svc.plan,
        ecs: ecs as unknown as ECSClient,
        codedeploy: cd as unknown as CodeDeployClient,
        preflight: { cloudwatch: cw as unknown as CloudWatchClient, ecr: mocks.ecr as unknown as ECRClient, alarms: ['api-5xx'] },
      });
      drivers.set(svc.name, d);
    }
    if (!d) throw new Error('no driver');
    return guardedByTask(d, fake);
  };
  const metricsFor = (svc: ServiceConfig) => {
    if (svc.target.driver !== 'codedeploy') throw new Error('no metrics');
    return new CloudWatchMetrics({
      client: cw as unknown as CloudWatchClient,
      target: svc.target,
      greenTargetGroup: (r) => driverFor(svc).greenTargetGroup(r),
    });
  };
  runtime = createLocalRuntime({ services: config.services, store, clock, driverFor, metricsFor }, { virtualClock: clock, retryIntervalMs: 1 });
  const [service] = config.services;
  if (!service) throw new Error('no service');
  return { runtime, service, clock };
}

const until = (rt: LocalRuntime, id: string, predicate: (r: Release) => boolean) => releaseUntil(rt.deps.store, id, predicate);
const finish = (rt: LocalRuntime, id: string) => releaseFinished(rt.deps.store, rt.engine, id);
const actor = { id: 'ci', channel: 'api' } as const;

describe('the workflow with the AWS adapters against a CodeDeploy that plays deployments forward', () => {
  it('canary with an approval before finalize: weights move, CodeDeploy waits, approval ends the termination wait', async () => {
    const { runtime: rt, service } = start({ approvals: { at: ['before-finalize'] } });
    const { release } = await rt.releases.startRelease({ service: service.name, image: 'api:2', actor });
    const waiting = await until(rt, release.id, (r) => r.phase === 'awaiting_approval');
    expect(waiting.weight).toBe(100);
    expect(fake.log).toEqual(['CreateDeploymentConfig Switchyard.ECSCanary10Percent5Minutes', 'CreateDeployment d-1', 'ContinueDeployment READY_WAIT']);
    await rt.releases.act(release.id, 'approve', { id: 'lead', channel: 'api' });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('succeeded');
    expect(fake.log.at(-1)).toBe('ContinueDeployment TERMINATION_WAIT');
    expect(fake.deployments.get('d-1')?.status).toBe('Succeeded');
    expect(done.timeline.filter((e) => e.type === 'shifted').map((e) => e.message)).toEqual([
      '10% of production traffic on the new version',
      '100% of production traffic on the new version',
    ]);
  });

  it('blue/green waits in Ready (0% production) until the pre-traffic approval', async () => {
    const { runtime: rt, service } = start({ strategy: { type: 'blue-green', bake: '2m' }, approvals: { at: ['before-traffic'] } });
    const { release } = await rt.releases.startRelease({ service: service.name, image: 'api:2', actor });
    const waiting = await until(rt, release.id, (r) => r.phase === 'awaiting_approval');
    expect(fake.deployments.get('d-1')).toMatchObject({ status: 'Ready', green: 0 });
    // Ready only once CodeDeploy's own clock has run green's Install: the release never claims it sooner.
    const deployedAt = Date.parse(waiting.timeline.find((e) => e.type === 'deployed')?.at ?? '');
    expect(deployedAt - Date.parse(waiting.createdAt)).toBeGreaterThanOrEqual(INSTALL_SECONDS * 1000);
    expect(fake.log).not.toContain('ContinueDeployment READY_WAIT');
    await rt.releases.act(release.id, 'approve', { id: 'lead', channel: 'api' });
    expect((await finish(rt, release.id)).phase).toBe('succeeded');
    expect(fake.log).toEqual(['CreateDeployment d-1', 'ContinueDeployment READY_WAIT', 'ContinueDeployment TERMINATION_WAIT']);
  });

  it('an alarm firing during the canary bake stops the deployment with rollback', async () => {
    const { runtime: rt, service } = start({});
    const { release } = await rt.releases.startRelease({ service: service.name, image: 'api:2', actor });
    await until(rt, release.id, (r) => r.phase === 'baking' && r.weight === 10);
    alarmState = 'ALARM';
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toBe('gate failed: alarm api-5xx is ALARM (Threshold Crossed: 3 datapoints > 5)');
    expect(cd.commandCalls(StopDeploymentCommand)[0]?.args[0].input).toEqual({ deploymentId: 'd-1', autoRollbackEnabled: true });
    expect(fake.deployments.get('d-1')).toMatchObject({ status: 'Stopped', green: 0 });
  });

  it('promote during a CodeDeploy canary lets CodeDeploy finish its interval (no task blocks, nothing rolls back)', async () => {
    const { runtime: rt, service, clock } = start({ strategy: { type: 'canary', steps: [{ percent: 10, bake: '10m' }], finalBake: '5m' } });
    // Hold the workflow at its first decision of the bake, so the promote lands mid-interval.
    const run = rt.handlers.run;
    let resume: () => void = () => undefined;
    const held = new Promise<void>((r) => (resume = r));
    let holding = false;
    rt.handlers.run = async (input) => {
      if (input.task === 'decide' && !holding && (await rt.deps.store.get(input.releaseId))?.phase === 'baking') {
        holding = true;
        await held;
      }
      return run(input);
    };
    const { release } = await rt.releases.startRelease({ service: service.name, image: 'api:2', actor });
    await until(rt, release.id, () => holding);
    const shiftStart = fake.deployments.get('d-1')?.shiftStart ?? 0;
    await rt.releases.act(release.id, 'promote', { id: 'bob', channel: 'api' });
    resume();
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('succeeded');
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(0);
    // CodeDeploy's canary interval was waited out, not skipped: 100% came 10 minutes after the shift began.
    const full = done.timeline.find((e) => e.type === 'shifted' && e.message.startsWith('100%'));
    expect(Date.parse(full?.at ?? '') - shiftStart).toBeGreaterThanOrEqual(10 * 60_000);
    // Then the old task set drains for the deregistration delay, and no longer.
    expect(clock.now() - shiftStart).toBeLessThan(12 * 60_000 + TERMINATION_SECONDS * 1000);
    expect(done.timeline.map((e) => e.type)).not.toContain('rollback_started');
  });

  it('pre-flight checks run first: an alarm already firing refuses the release with the reason, and nothing is deployed', async () => {
    const { runtime: rt, service } = start({});
    alarmState = 'ALARM';
    const { release } = await rt.releases.startRelease({ service: service.name, image: 'api:2', actor });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('failed');
    expect(done.reason).toBe(
      'pre-flight checks failed, nothing was changed: alarm api-5xx: is already firing: a release would be rolled back at its first check',
    );
    expect(done.deployed).toBe(false);
    expect(cd.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(await rt.deps.store.lockOwner(service.name, Date.now())).toBeUndefined();
  });

  it('a rollback that does not bring the traffic back is never recorded as rolled back: the release fails, saying so', async () => {
    const { runtime: rt, service } = start({});
    const { release } = await rt.releases.startRelease({ service: service.name, image: 'api:2', actor });
    await until(rt, release.id, (r) => r.phase === 'baking' && r.weight === 10);
    fake.stuckGreen = 10;
    alarmState = 'ALARM';
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('failed');
    // The rollback is asked once and read until its deadline: the release ends failed, saying what the target last showed.
    expect(done.reason).toContain('the target did not finish the rollback within');
    expect(done.reason).toContain('deployment d-1 is Stopped but the new version still has 10% of production traffic');
    expect(done.timeline.map((e) => e.type)).not.toContain('rolled_back');
    expect(rt.engine.executionOf(release.id)?.status).toBe('failed');
  }, 30_000);

  it('a deployment stopped by someone else ends the release rolled back with the reason', async () => {
    const { runtime: rt, service } = start({});
    const { release } = await rt.releases.startRelease({ service: service.name, image: 'api:2', actor });
    await until(rt, release.id, (r) => r.phase === 'baking' && r.weight === 10);
    const d = fake.deployments.get('d-1');
    if (d) Object.assign(d, { status: 'Stopped', green: 0, error: { code: 'MANUAL_STOP', message: 'Stopped from the console' } });
    const done = await finish(rt, release.id);
    expect(done.phase).toBe('rolled_back');
    expect(done.reason).toBe(
      'CodeDeploy deployment d-1 Stopped: the deployment was stopped outside Switchyard (console, CLI or API) (Stopped from the console)',
    );
  });
});

describe('CodeDeploy as it really behaves (AWS default clocks; hostile: reads lag writes, throttling bursts)', () => {
  it.each(['aws', 'hostile'] as const)('%s: two releases in a row on one deployment group succeed, and no call polls', async (profile) => {
    const { runtime: rt, service } = start({}, { profile, seed: 5 });
    for (const image of ['api:2', 'api:3']) {
      const { release } = await rt.releases.startRelease({ service: service.name, image, actor });
      const done = await finish(rt, release.id);
      expect({ phase: done.phase, reason: done.reason }).toEqual({ phase: 'succeeded', reason: undefined });
    }
    expect([...fake.deployments.values()].map((d) => d.status)).toEqual(['Succeeded', 'Succeeded']);
    expect(fake.pollingViolations).toEqual([]);
    if (profile === 'hostile') expect(fake.throttled.length).toBeGreaterThan(0);
  });
});
