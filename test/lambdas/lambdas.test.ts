import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import { defineConfig } from '../../lib/constructs/switchyard-function.js';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import { loadConfigWithSource } from '../../src/config/load.js';
import { createRelease } from '../../src/core/transitions.js';

// The store talks through the DocumentClient: mock it there (no call leaves the process).
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const context = {
  functionName: 'fn',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn',
  memoryLimitInMB: '256',
  functionVersion: '$LATEST',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;

beforeAll(async () => {
  const { raw } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
  Object.assign(process.env, {
    // What the stack compiles into each bundle: the config resolved at synth.
    SWITCHYARD_CONFIG_JSON: JSON.stringify(resolveConfig(raw)),
    TABLE_NAME: 'switchyard',
    STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Switchyard-release',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});
beforeEach(() => {
  ddb.reset();
  sfn.reset();
});

function apiEvent(method: string, path: string, authorizer?: Record<string, unknown>) {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'api.example.com' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '1.2.3.4', userAgent: 'test' },
      requestId: 'r',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(authorizer ? { authorizer } : {}),
    },
    isBase64Encoded: false,
  };
}

describe('the config compiled into each bundle', () => {
  it.each(['examples/aws/switchyard.config.ts', 'examples/local/switchyard.config.ts', 'examples/local/judge.config.ts', 'examples/local/rolling.config.ts'])(
    '%s: is the resolved config, and JSON loses none of it (a Lambda reads it without validating again)',
    async (file) => {
      const { raw } = await loadConfigWithSource(file);
      const compiled = JSON.parse(JSON.parse(defineConfig(raw)['__SWITCHYARD_CONFIG__'] ?? '""') as string) as unknown;
      expect(compiled).toStrictEqual(JSON.parse(JSON.stringify(resolveConfig(raw))));
      expect(compiled).toEqual(resolveConfig(raw));
    },
  );

  it('a config that does not validate stops the synth with its problems, before anything is bundled', () => {
    expect(() => defineConfig({ services: [{ name: 'x' }] })).toThrow(ConfigError);
    expect(() => defineConfig({ services: [{ name: 'x' }] })).toThrow(/services\[0\]|services\.0/);
  });
});

describe('the Lambda entry points', () => {
  it('api: serves the Hono app through API Gateway; mutations need the authorizer identity', async () => {
    const { handler } = await import('../../lambdas/api.js');
    const health = (await handler(apiEvent('GET', '/healthz') as never, context)) as { statusCode: number; body: string };
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true, services: 3 });
    const anonymous = (await handler(apiEvent('POST', '/releases') as never, context)) as { statusCode: number };
    expect(anonymous.statusCode).toBe(401);
    ddb.on(GetCommand).resolves({});
    const services = (await handler(apiEvent('GET', '/services', { iam: { userArn: 'arn:aws:iam::123456789012:user/ci' } }) as never, context)) as {
      statusCode: number;
      body: string;
    };
    expect(JSON.parse(services.body).services.map((s: { name: string }) => s.name)).toEqual(['checkout-api', 'search', 'payments']);
  });

  it('ecr-trigger: a push starts one release with an execution named after service and release (never the digest)', async () => {
    const { handler } = await import('../../lambdas/ecr-trigger.js');
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand).resolves({});
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x' });
    const event = JSON.parse(readFileSync('test/fixtures/ecr-push-event.json', 'utf8')) as { detail: Record<string, string> };
    event.detail['repository-name'] = 'checkout-api';
    event.detail['image-tag'] = 'v1.8.2';
    const out = await handler(event, context);
    expect(out).toMatchObject({ outcome: 'started', releases: [{ service: 'checkout-api', created: true }] });
    const releaseId = out.outcome === 'started' ? out.releases[0]?.releaseId : undefined;
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe(`checkout-api-${releaseId}`);
    const ignored = await handler({ ...event, detail: { ...event.detail, 'repository-name': 'unknown' } }, context);
    expect(ignored).toEqual({ outcome: 'ignored', reason: 'no service is triggered by unknown:v1.8.2' });
  });

  it('workflow: runs a task and logs JSON with the release id, service and step as keys, never a secret', async () => {
    const { handler } = await import('../../lambdas/workflow.js');
    const { config } = await loadConfigWithSource('examples/aws/switchyard.config.ts');
    const svc = config.services[0];
    if (!svc) throw new Error('no service');
    const release = createRelease(
      { id: 'r-lambda', service: svc.name, artifact: { image: 'checkout-api:2' }, plan: svc.plan, settings: svc.settings, actor: { id: 'ci', channel: 'api' } },
      Date.now(),
    );
    ddb
      .on(GetCommand)
      .callsFake((input: { Key: Record<string, string> }) =>
        input.Key['pk'] === 'RELEASE#r-lambda' ? { Item: { pk: 'RELEASE#r-lambda', sk: 'RELEASE', version: 1, release } } : {},
      );
    ddb.on(PutCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    let action;
    try {
      action = await handler({ task: 'decide', releaseId: 'r-lambda' }, context);
    } finally {
      spy.mockRestore();
    }
    expect(action).toEqual({ type: 'deploy' });
    const logs = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs.find((l) => l['message'] === 'decided')).toMatchObject({
      level: 'INFO',
      service: 'switchyard-workflow',
      targetService: 'checkout-api',
      releaseId: 'r-lambda',
      step: 0,
      action: 'deploy',
      function_request_id: 'req-1',
    });
    expect(lines.join('')).not.toMatch(/xoxb-|signingSecret|AWS_SECRET/);
  });
});
