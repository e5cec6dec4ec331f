import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '../../src/adapters/dynamodb/dynalite.js';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { createAwsRuntime } from '../../src/composition/aws.js';
import { resolveConfig } from '../../src/config/config.js';
import { VirtualClock } from '../../src/ports/clock.js';
import { silentLog } from '../../src/ports/log.js';

/*
 * The API Lambda's wiring (lambdas/api.ts): createAwsRuntime with no adapter registry, so asking
 * for a traffic driver throws (drivers run only in the workflow function). Everything the API
 * decides must come from the config and the pure core, never from a driver instance.
 */

const TOKEN = 'test-token-aws';
const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout@sha256:${'c'.repeat(64)}`;
let dynamo: LocalDynamo;
const sfn = mockClient(SFNClient);
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => {
  sfn.restore();
  await dynamo.close();
});
afterEach(() => sfn.reset());

let n = 0;
function apiAsOnAws(target: Record<string, unknown>, strategy: Record<string, unknown>) {
  const name = `checkout-${++n}`;
  const config = resolveConfig({ services: [{ name, target, strategy, gates: { alarms: [`${name}-5xx`], checkInterval: '30s' } }] });
  sfn.on(StartExecutionCommand).resolves({ executionArn: `arn:aws:states:eu-west-1:123456789012:execution:release:${name}`, startDate: new Date() });
  const runtime = createAwsRuntime({
    config,
    tableName: dynamo.tableName,
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release',
    clients: { dynamodb: dynamo.client, sfn: sfn as unknown as SFNClient },
    log: silentLog,
    clock: new VirtualClock(),
    // No `adapters`: the API function's wiring (noDrivers).
  });
  const app = createApp({
    releases: runtime.releases,
    store: runtime.store,
    services: runtime.services,
    clock: new VirtualClock(),
    authenticate: bearerAuthenticator(TOKEN),
  });
  const post = (body: unknown) =>
    app.request('/releases', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { name, post };
}

const ecs = { driver: 'ecs', cluster: 'prod', service: 'checkout', containerName: 'app' };
const codedeploy = { ...ecs, driver: 'codedeploy', application: 'checkout', deploymentGroup: 'checkout-prod', containerPort: 8080 };

describe('the API as wired on AWS (no traffic drivers in the API function)', () => {
  it.each([
    ['ecs', ecs, { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '10m' }],
    ['ecs rolling', ecs, { type: 'rolling', batch: 25, finalBake: '5m' }],
    ['codedeploy', codedeploy, { type: 'canary', steps: [{ percent: 10, bake: '5m' }], finalBake: '10m' }],
  ])('starts an expedited release of a %s service (capabilities come from the config, not a driver)', async (_label, target, strategy) => {
    const { name, post } = apiAsOnAws(target, strategy);
    const res = await post({ service: name, image: IMAGE, expedite: true, reason: 'hotfix for the checkout outage' });
    expect(res.status, await res.clone().text()).toBe(201);
    const release = (await res.json()) as { expedited?: { reason: string }; service: string };
    expect(release.service).toBe(name);
    expect(release.expedited).toEqual({ reason: 'hotfix for the checkout outage' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});
