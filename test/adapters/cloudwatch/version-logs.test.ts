import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cloudWatchVersionLogs, insightsUrl } from '../../../src/adapters/cloudwatch/version-logs.js';
import { resolveConfig } from '../../../src/config/config.js';
import { createRelease, markDeployed } from '../../../src/core/transitions.js';

const logs = mockClient(CloudWatchLogsClient);
const ecs = mockClient(ECSClient);
const [service] = resolveConfig({
  services: [
    { name: 'api', target: { driver: 'ecs', cluster: 'prod', service: 'api', containerName: 'app', logGroup: '/ecs/api' }, strategy: { type: 'blue-green' } },
  ],
}).services;
const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const TD = (n: number) => `arn:aws:ecs:eu-west-1:123456789012:task-definition/api:${n}`;
const release = markDeployed(
  createRelease(
    { id: 'r-1', service: 'api', artifact: { image: 'api:2' }, plan: service!.plan, settings: service!.settings, actor: { id: 'ci', channel: 'api' } },
    T0,
  ),
  T0,
  { taskDefinition: TD(2), previousTaskDefinition: TD(1) },
);
const adapter = () =>
  cloudWatchVersionLogs({
    services: [service!],
    region: 'eu-west-1',
    switchyardLogGroup: '/aws/lambda/switchyard-workflow',
    logs: logs as unknown as CloudWatchLogsClient,
    ecs: ecs as unknown as ECSClient,
    ecsSdk: () => import('@aws-sdk/client-ecs'),
  });

beforeEach(() => {
  logs.reset();
  ecs.reset();
  ecs.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      containerDefinitions: [
        { name: 'app', logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/api', 'awslogs-stream-prefix': 'ecs' } } },
      ],
    },
  });
  ecs
    .on(ListTasksCommand, { desiredStatus: 'RUNNING' })
    .resolves({ taskArns: ['arn:aws:ecs:eu-west-1:123456789012:task/prod/new1', 'arn:aws:ecs:eu-west-1:123456789012:task/prod/old1'] });
  // The version that was rolled back: its tasks are stopped, and ECS still lists them for a while.
  ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: ['arn:aws:ecs:eu-west-1:123456789012:task/prod/new2'] });
  ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
    tasks: input.tasks.map((taskArn, i) => ({ taskArn, taskDefinitionArn: taskArn.includes('old') ? TD(1) : TD(2), createdAt: new Date(T0 + i * 1000) })),
  }));
  logs.on(FilterLogEventsCommand).resolves({
    events: [
      { timestamp: T0 + 5000, logStreamName: 'ecs/app/new1', message: '{"level":"info","message":"ready"}\n' },
      { timestamp: T0 + 6000, logStreamName: 'ecs/app/new2', message: '{"level":"ERROR","message":"cart is undefined"}\n' },
      { timestamp: T0 + 7000, logStreamName: 'ecs/app/new1', message: 'Error: payment provider timed out' },
    ],
  });
});

describe('a release’s logs on AWS (CloudWatch Logs)', () => {
  it('reads the service’s awslogs group, only the new version’s task streams (running and stopped), since the release began', async () => {
    const lines = await adapter()({ service: 'api', version: 'api:2', release, grep: 'error', limit: 5 });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toEqual({
      logGroupName: '/ecs/api',
      logStreamNames: ['ecs/app/new1', 'ecs/app/new2'],
      startTime: T0,
    });
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'prod', serviceName: 'api', desiredStatus: 'RUNNING' },
      { cluster: 'prod', serviceName: 'api', desiredStatus: 'STOPPED' },
    ]);
    // Case-insensitive, as in local mode (CloudWatch's own filter patterns are case-sensitive).
    expect(lines.map((l) => [l.source, l.message])).toEqual([
      ['task new2', '{"level":"ERROR","message":"cart is undefined"}'],
      ['task new1', 'Error: payment provider timed out'],
    ]);
    expect(lines[0]).toMatchObject({ time: '2026-11-26T10:00:06.000Z', version: 'api:2', service: 'api' });
  });

  it('the stable version reads the previous task definition’s tasks; --since follows', async () => {
    await adapter()({ service: 'api', version: 'v1', release, since: '2026-11-26T10:00:05.000Z' });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toMatchObject({ logStreamNames: ['ecs/app/old1'], startTime: T0 + 5001 });
  });

  it('Switchyard’s own lines about the release come from the workflow function’s log group', async () => {
    await adapter()({ service: 'api', version: 'switchyard', release });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toEqual({
      logGroupName: '/aws/lambda/switchyard-workflow',
      filterPattern: '"r-1"',
      startTime: T0,
    });
  });

  it('a container that does not log to CloudWatch is said plainly', async () => {
    ecs
      .on(DescribeTaskDefinitionCommand)
      .resolves({ taskDefinition: { containerDefinitions: [{ name: 'app', logConfiguration: { logDriver: 'awsfirelens' } }] } });
    await expect(adapter()({ service: 'api', version: 'api:2', release })).rejects.toThrow('logs with awsfirelens, not awslogs');
  });

  it('links to the same lines in CloudWatch Logs Insights (partition-aware console host)', async () => {
    const link = await adapter().insights({ service: 'api', version: 'api:2', release });
    expect(link).toMatch(/^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:logs-insights\$3FqueryDetail\$3D/);
    expect(decodeURIComponent(link!.replace(/\$/g, '%')).replace(/\*/g, '%')).toContain("source~(~'%2Fecs%2Fapi)");
    expect(insightsUrl('cn-north-1', 'g', 'fields @message', 60)).toContain('https://cn-north-1.console.amazonaws.cn/');
    // GovCloud has its own console host (the region goes in the query), the isolated partitions none.
    expect(insightsUrl('us-gov-west-1', 'g', 'fields @message', 60)).toMatch(
      /^https:\/\/console\.amazonaws-us-gov\.com\/cloudwatch\/home\?region=us-gov-west-1#logsV2:logs-insights/,
    );
    expect(insightsUrl('us-iso-east-1', 'g', 'fields @message', 60)).toBeUndefined();
  });
});
