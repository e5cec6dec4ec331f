/**
 * State transitions per release on the AWS drivers: the real workflow definition on the local engine
 * (virtual clock), the ecs driver against the ECS fake and the codedeploy driver against the
 * CodeDeploy fake, each playing its deployments forward on its own clock. The same plan, side by
 * side; a plan the CodeDeploy driver cannot run says why.
 */
import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { CloudWatchMetrics } from '../../src/adapters/cloudwatch/cloudwatch-metrics.js';
import { CodeDeployDriver } from '../../src/adapters/codedeploy/codedeploy-driver.js';
import { startLocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { DynamoReleaseStore } from '../../src/adapters/dynamodb/dynamo-store.js';
import { EcsDriver } from '../../src/adapters/ecs/ecs-driver.js';
import { createLocalRuntime } from '../../src/composition/local-runtime.js';
import { ConfigError, ecsHookTimeoutMinutes, resolveConfig, type ServiceConfig } from '../../src/config/config.js';
import { VirtualClock } from '../../src/ports/clock.js';
import type { TrafficDriver } from '../../src/ports/traffic-driver.js';
import { FAKE_TARGET, FakeCodeDeploy, installFakeAws, mocks } from '../../test/support/fake-codedeploy.js';
import { FAKE_ECS_TARGET, FakeEcs, ecsMock, installFakeEcs } from '../../test/support/fake-ecs.js';
import { releaseFinished, releaseUntil } from '../../test/support/poll.js';

export interface AwsCase {
  readonly name: string;
  readonly service: Record<string, unknown>;
  readonly approve?: boolean;
}

const GATES = { alarms: ['api-5xx'], checkInterval: '1m' };

async function run(driverName: 'ecs' | 'codedeploy', c: AwsCase): Promise<{ outcome: string; transitions: number } | { refused: string }> {
  let config;
  try {
    config = resolveConfig({
      services: [{ name: 'bench', target: driverName === 'ecs' ? FAKE_ECS_TARGET : FAKE_TARGET, gates: GATES, ...c.service }],
    });
  } catch (error) {
    if (error instanceof ConfigError) return { refused: error.issues[0]?.message.split(';')[0] ?? 'refused' };
    throw error;
  }
  const [service] = config.services as [ServiceConfig];
  const clock = new VirtualClock();
  const dynamo = await startLocalDynamo();
  let driver: TrafficDriver & { greenTargetGroup(r: never): unknown };
  if (driverName === 'ecs') {
    const fake = new FakeEcs(clock);
    installFakeEcs(fake);
    mocks.cw.reset();
    mocks.cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'OK', StateReason: 'ok' }] });
    if (service.target.driver !== 'ecs') throw new Error('not ecs');
    driver = new EcsDriver({
      service: 'bench',
      target: service.target,
      plan: service.plan,
      hookTimeoutMinutes: ecsHookTimeoutMinutes(service.plan, service.settings),
      ecs: ecsMock as unknown as ECSClient,
    });
  } else {
    installFakeAws(new FakeCodeDeploy(clock));
    if (service.target.driver !== 'codedeploy') throw new Error('not codedeploy');
    driver = new CodeDeployDriver({
      service: 'bench',
      target: service.target,
      plan: service.plan,
      ecs: mocks.ecs as unknown as ECSClient,
      codedeploy: mocks.cd as unknown as CodeDeployClient,
    });
  }
  const target = service.target;
  const metrics = new CloudWatchMetrics({
    client: mocks.cw as unknown as CloudWatchClient,
    target,
    greenTargetGroup: async () => undefined,
  });
  const rt = createLocalRuntime(
    { services: config.services, store: new DynamoReleaseStore(dynamo.client, dynamo.tableName), clock, driverFor: () => driver, metricsFor: () => metrics },
    { virtualClock: clock, retryIntervalMs: 1 },
  );
  const { release } = await rt.releases.startRelease({ service: 'bench', image: 'api:2', actor: { id: 'bench', channel: 'api' } });
  if (c.approve) {
    await releaseUntil(rt.deps.store, release.id, (r) => r.phase === 'awaiting_approval');
    await rt.releases.act(release.id, 'approve', { id: 'approver', channel: 'api' });
  }
  const done = await releaseFinished(rt.deps.store, rt.engine, release.id);
  const transitions = rt.engine.executionOf(release.id)?.transitions ?? NaN;
  await rt.engine.stop();
  await dynamo.close();
  return { outcome: done.phase, transitions };
}

/** The rows of the AWS drivers' table: each case on ecs, and the same plan on codedeploy. */
export async function awsTransitionRows(cases: readonly AwsCase[], pricePer1000: number): Promise<string[][]> {
  const rows: string[][] = [];
  for (const c of cases) {
    const ecs = await run('ecs', c);
    const cd = await run('codedeploy', c);
    const show = (r: Awaited<ReturnType<typeof run>>) =>
      'refused' in r ? ['refused', '', r.refused] : [String(r.transitions), `$${((r.transitions * pricePer1000) / 1000).toFixed(5)}`, r.outcome];
    const [et, ec, eo] = show(ecs);
    const [ct, cc, co] = show(cd);
    rows.push([c.name, `${et} (${eo})`, ec ?? '', ct === 'refused' ? `refused (${co})` : `${ct} (${co})`, cc ?? '']);
  }
  return rows;
}
