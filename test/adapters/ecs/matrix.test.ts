import { ecsDriverFor } from '../../../src/composition/aws-drivers.js';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { DeploymentConfiguration, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchMetrics } from '../../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { startLocalDynamo, type LocalDynamo } from '../../../src/adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore } from '../../../src/adapters/dynamodb/dynamo-store.js';
import { createLocalRuntime, type LocalRuntime } from '../../../src/composition/local-runtime.js';
import { resolveConfig } from '../../../src/config/config.js';
import type { Release } from '../../../src/core/release.js';
import { VirtualClock } from '../../../src/ports/clock.js';
import type { TrafficDriver } from '../../../src/ports/traffic-driver.js';
import { FAKE_ECS_TARGET, FakeEcs, asEcsApplies, ecsMock, installFakeEcs, type FakeEcsTimings } from '../../support/fake-ecs.js';
import { guardedByTask } from '../../support/task-guard.js';
import { releaseFinished, releaseUntil } from '../../support/poll.js';

/**
 * Releases on the ecs driver against an ECS that keeps AWS's default clocks (tasks start in 30-90 s,
 * health checks take 150 s, deregistration 300 s), UpdateService's merges, ECS's rounding of task
 * counts, and, in the hostile profile, reads that lag writes, throttling bursts and lists in no order.
 * Every case runs two releases in a row on one fake service (state carried from one release to the
 * next is where defects hide), and after each the service's own deployment configuration is exactly
 * what it was. No driver call may poll: the fake counts describes per call and fails it at the 4th.
 */

const cw = mockClient(CloudWatchClient);
/** Shifts every case's seed, to try other hostile worlds: `MATRIX_SEED=7 npx vitest run test/adapters/ecs/matrix.test.ts`. */
const SEED = Number(process.env['MATRIX_SEED'] ?? 0);
let dynamo: LocalDynamo;
let runtime: LocalRuntime | undefined;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => dynamo.close());
afterEach(async () => {
  await runtime?.engine.stop();
  runtime = undefined;
});

const image = (n: number) => `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:${String(n).repeat(64)}`;

/** A rolling service with the user's own Lambda hook, as teams run them (as DescribeServices shows it: every member filled in). */
const WITH_HOOK: DeploymentConfiguration = {
  strategy: 'ROLLING',
  bakeTimeInMinutes: 0,
  maximumPercent: 200,
  minimumHealthyPercent: 100,
  deploymentCircuitBreaker: { enable: true, rollback: true },
  alarms: { alarmNames: [], enable: false, rollback: false },
  lifecycleHooks: [
    {
      targetType: 'AWS_LAMBDA',
      hookTargetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:smoke',
      roleArn: 'arn:aws:iam::123456789012:role/hooks',
      lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
    },
  ],
};
/** A service with no hooks at all, ECS's defaults as DescribeServices shows them. */
const NO_HOOKS: DeploymentConfiguration = {
  strategy: 'ROLLING',
  bakeTimeInMinutes: 0,
  maximumPercent: 200,
  minimumHealthyPercent: 100,
  deploymentCircuitBreaker: { enable: false, rollback: false },
  alarms: { alarmNames: [], enable: false, rollback: false },
};

const STRATEGIES = {
  'blue-green': { type: 'blue-green', bake: '2m' },
  canary: { type: 'canary', steps: [{ percent: 10, bake: '2m' }], finalBake: '1m' },
  linear: { type: 'linear', stepPercent: 50, interval: '2m', finalBake: '1m' },
  rolling: { type: 'rolling', batch: 50 },
} as const;

let counter = 0;

interface Twists {
  /** Settings of the service's config beyond its strategy. */
  readonly extra?: Record<string, unknown>;
  /** ECS's clocks, where a test needs them slower. */
  readonly timings?: Partial<FakeEcsTimings>;
  /** A driver call that throws an unexpected error once (the workflow's catch-all, Recover, takes over). */
  readonly failOnce?: { readonly method: keyof TrafficDriver; readonly when: (release: Release) => boolean };
  /** Sees every lock release (the test reads ECS's state at that moment). */
  readonly onUnlock?: (releaseId: string) => void;
}

function start(
  strategy: keyof typeof STRATEGIES,
  desiredCount: number,
  profile: 'aws' | 'hostile',
  user: DeploymentConfiguration,
  seed = 1,
  { extra = {}, timings, failOnce, onUnlock }: Twists = {},
) {
  counter++;
  const clock = new VirtualClock();
  const fake = new FakeEcs(clock, { desiredCount, profile, seed, deploymentConfiguration: structuredClone(user), ...(timings ? { timings } : {}) });
  installFakeEcs(fake);
  cw.reset();
  cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'OK', StateReason: 'ok' }] });
  const [service] = resolveConfig({
    services: [
      {
        name: `api-${counter}`,
        target: { ...FAKE_ECS_TARGET, passRoles: ['arn:aws:iam::123456789012:role/hooks'] },
        strategy: STRATEGIES[strategy],
        gates: { alarms: ['api-5xx'], checkInterval: '1m' },
        ...extra,
      },
    ],
  }).services;
  if (!service || service.target.driver !== 'ecs') throw new Error('no ecs service');
  const driver = ecsDriverFor(service, { ecs: ecsMock as unknown as ECSClient });
  const metrics = new CloudWatchMetrics({
    client: cw as unknown as CloudWatchClient,
    target: service.target,
    greenTargetGroup: async (r) => driver.greenTargetGroup(r),
  });
  const store = new DynamoReleaseStore(dynamo.client, dynamo.tableName);
  const watchedStore = onUnlock
    ? new Proxy(store, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (key !== 'releaseLock' || typeof value !== 'function') return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
          return async (svc: string, owner: string) => {
            onUnlock(owner);
            return (value as (s: string, o: string) => Promise<void>).call(target, svc, owner);
          };
        },
      })
    : store;
  let failed = false;
  const failing = failOnce
    ? new Proxy(guardedByTask(driver, fake), {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (key !== failOnce.method || typeof value !== 'function') return value;
          return async (release: Release, ...rest: unknown[]) => {
            if (!failed && failOnce.when(release)) {
              failed = true;
              throw new Error(`${String(key)} broke unexpectedly`);
            }
            return (value as (...a: unknown[]) => Promise<unknown>).call(target, release, ...rest);
          };
        },
      })
    : guardedByTask(driver, fake);
  const rt = createLocalRuntime(
    {
      services: [service],
      store: watchedStore,
      clock,
      driverFor: () => failing,
      metricsFor: () => metrics,
    },
    { virtualClock: clock, retryIntervalMs: 1 },
  );
  runtime = rt;
  return { rt, service, fake, clock };
}

const actor = { id: 'ci', channel: 'api' } as const;

async function releaseOf(rt: LocalRuntime, service: string, img: string): Promise<Release> {
  const { release } = await rt.releases.startRelease({ service, image: img, actor });
  return releaseFinished(rt.deps.store, rt.engine, release.id);
}

const CASES = (['aws', 'hostile'] as const).flatMap((profile) =>
  (Object.keys(STRATEGIES) as (keyof typeof STRATEGIES)[]).flatMap((strategy) => [1, 2, 10].map((tasks) => ({ profile, strategy, tasks }))),
);

// Each case is CPU only (virtual clocks; about 1-3 s idle), so its limit guards against a hang, not a
// slow machine: 120 s holds under a load of 8 and more on 2 cores (docs/testing.md).
describe(
  'the ecs driver against ECS as it really behaves (AWS default clocks; hostile: lagging reads, throttling, no list order)',
  { timeout: 120_000 },
  () => {
    it.each(CASES)(
      '$profile · $strategy · $tasks task(s): two releases in a row succeed and the service gets its own configuration back',
      async ({ profile, strategy, tasks }) => {
        const user = tasks === 2 ? WITH_HOOK : NO_HOOKS;
        const { rt, service, fake } = start(strategy, tasks, profile, user, tasks + SEED);
        for (const n of [2, 3]) {
          const done = await releaseOf(rt, service.name, image(n));
          expect({ phase: done.phase, reason: done.reason }).toEqual({ phase: 'succeeded', reason: undefined });
          expect(fake.image(fake.service.taskDefinition)).toBe(image(n));
          expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual(asEcsApplies(user));
        }
        expect(fake.pollingViolations).toEqual([]);
      },
    );

    it.each(['aws', 'hostile'] as const)(
      '%s: a rollback, then an undo, each leave the service with its own configuration and the right revision',
      async (profile) => {
        // An approval after the first step holds the release there (not the wall clock) for the person's rollback.
        const { rt, service, fake } = start('canary', 2, profile, WITH_HOOK, 7 + SEED, { extra: { approvals: { at: ['after-first-step'], timeout: '1h' } } });
        await rt.deps.store.setStable(service.name, fake.image(fake.service.taskDefinition) ?? '');
        const original = fake.image(fake.service.taskDefinition);
        const { release: firstRelease } = await rt.releases.startRelease({ service: service.name, image: image(2), actor });
        await releaseUntil(rt.deps.store, firstRelease.id, (r) => r.phase === 'awaiting_approval');
        await rt.releases.act(firstRelease.id, 'approve', { id: 'lead', channel: 'api' });
        expect((await releaseFinished(rt.deps.store, rt.engine, firstRelease.id)).phase).toBe('succeeded');
        // The second release is rolled back by a person while 10% of production is on it.
        const { release } = await rt.releases.startRelease({ service: service.name, image: image(3), actor });
        await releaseUntil(rt.deps.store, release.id, (r) => r.phase === 'awaiting_approval' && r.weight === 10);
        await rt.releases.act(release.id, 'rollback', { id: 'lead', channel: 'api' });
        const rolledBack = await releaseFinished(rt.deps.store, rt.engine, release.id);
        expect(rolledBack.phase).toBe('rolled_back');
        expect(fake.image(fake.service.taskDefinition)).toBe(image(2));
        expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual(WITH_HOOK);
        // Undo of the first release (the last that succeeded): back to what it replaced.
        const { release: undo } = await rt.releases.undo(service.name, { id: 'lead', channel: 'api' });
        const undone = await releaseFinished(rt.deps.store, rt.engine, undo.id);
        expect(undone.phase).toBe('succeeded');
        expect(fake.image(fake.service.taskDefinition)).toBe(original);
        expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual(WITH_HOOK);
        expect(fake.pollingViolations).toEqual([]);
      },
    );

    it.each(['aws', 'hostile'] as const)(
      '%s: an unexpected error mid-release: Recover rolls ECS back and keeps the service’s lock until ECS says so; the next release then starts at once',
      async (profile) => {
        let statusAtUnlock: string | undefined;
        const { rt, service, fake } = start('canary', 2, profile, WITH_HOOK, 3 + SEED, {
          // A slow rollback (the green tasks drain): Recover must wait it out, not give up and free the lock.
          timings: { rollback: 400 },
          failOnce: { method: 'verify', when: (r) => r.weight === 10 },
          // The release's own service deployment is the service's first (later ones re-apply configurations).
          onUnlock: () => {
            const ours = fake.deployments[0];
            statusAtUnlock ??= ours ? fake.describeDeployment(ours.arn).status : 'none started';
          },
        });
        const { release } = await rt.releases.startRelease({ service: service.name, image: image(2), actor });
        const done = await releaseFinished(rt.deps.store, rt.engine, release.id);
        expect({ phase: done.phase, reason: done.reason }).toEqual({
          phase: 'rolled_back',
          reason: expect.stringContaining('verify broke unexpectedly') as string,
        });
        // The lock was given back only once ECS had put the stable version back.
        expect(statusAtUnlock).toBe('ROLLBACK_SUCCESSFUL');
        expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual(WITH_HOOK);
        const next = await releaseOf(rt, service.name, image(3));
        expect({ phase: next.phase, reason: next.reason }).toEqual({ phase: 'succeeded', reason: undefined });
        expect(next.timeline.map((e) => e.message).join('\n')).not.toContain('outside this release');
      },
    );

    it.each(['aws', 'hostile'] as const)(
      '%s: promote while held at 20% of a linear release goes through every ECS step to 100% and succeeds',
      async (profile) => {
        const { rt, service, fake } = start('linear', 2, profile, WITH_HOOK, 11 + SEED, {
          extra: { strategy: { type: 'linear', stepPercent: 20, interval: '2m' }, approvals: { at: ['after-first-step'], timeout: '1h' } },
        });
        const { release } = await rt.releases.startRelease({ service: service.name, image: image(2), actor });
        await releaseUntil(rt.deps.store, release.id, (r) => r.phase === 'awaiting_approval' && r.weight === 20);
        await rt.releases.act(release.id, 'promote', { id: 'lead', channel: 'api' });
        const done = await releaseFinished(rt.deps.store, rt.engine, release.id);
        expect({ phase: done.phase, reason: done.reason }).toEqual({ phase: 'succeeded', reason: undefined });
        expect(fake.image(fake.service.taskDefinition)).toBe(image(2));
        expect(asEcsApplies(fake.service.deploymentConfiguration)).toEqual(WITH_HOOK);
      },
    );

    it('a big service whose tasks come up one by one for longer than the deploy deadline still deploys: each task up is progress', async () => {
      // Ten tasks starting over 20 minutes (a slow pull, capacity scaling out): far past the 11-minute deadline.
      const { rt, service, fake } = start('blue-green', 10, 'aws', NO_HOOKS, 3 + SEED, { timings: { taskStartMin: 60, taskStartMax: 1200 } });
      const done = await releaseOf(rt, service.name, image(2));
      expect({ phase: done.phase, reason: done.reason }).toEqual({ phase: 'succeeded', reason: undefined });
      expect(fake.image(fake.service.taskDefinition)).toBe(image(2));
      const deployed = done.timeline.find((e) => e.type === 'deployed');
      expect(Date.parse(deployed?.at ?? '') - Date.parse(done.createdAt)).toBeGreaterThan(done.settings.deadlines!.deploy * 1000);
    });
  },
);
