import type { CloudWatchLogsClient, FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { ECSClient, Task } from '@aws-sdk/client-ecs';
import type { ServiceConfig } from '../../config/config.js';
import { ValidationError } from '../../core/errors.js';
import type { Release } from '../../core/release.js';
import type { LogLine, LogQuery, VersionLogs } from '../../ports/logs.js';
import { awsCall as call } from '../aws/errors.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';
import type { EcsTaskReads } from '../aws/ecs-sdk.js';
import { consoleUrl } from '../../resources/partition.js';

/**
 * A release's logs on AWS, through CloudWatch Logs: the service's own log group (named by the
 * released container's `awslogs` log configuration in the release's task definition), only the log
 * streams of that version's tasks (running, or stopped within the hour ECS keeps them), and for
 * `switchyard` the workflow function's lines that name the release.
 */
export interface CloudWatchVersionLogsOptions {
  readonly services: readonly ServiceConfig[];
  readonly logs: Lazy<CloudWatchLogsClient>;
  readonly ecs: Lazy<ECSClient>;
  /**
   * Where ECS's commands come from: the Lambda runtime's own SDK in a function that does not bundle
   * ECS's (these reads are old calls every copy has), the bundled subset (../aws/ecs-sdk.ts) in one
   * that does. A dynamic import of the package in this file would keep all of a bundled client.
   */
  readonly ecsSdk: () => Promise<EcsTaskReads>;
  readonly region: string;
  /** Switchyard's own workflow function's log group. */
  readonly switchyardLogGroup?: string;
  /** Pages of FilterLogEvents read at most per query (each up to 10,000 events or 1 MB). @default 10 */
  readonly maxPages?: number;
}

/** What the released container logs with: an `awslogs` group and stream prefix. */
interface LogTarget {
  readonly group: string;
  readonly prefix: string;
  readonly container: string;
}

const logsSdk = () => import('@aws-sdk/client-cloudwatch-logs');

/**
 * A CloudWatch Logs Insights console link for the same lines (the console's URL format: the query
 * detail `~(…)` with `*` for `%` inside it and `$` for `%` around it).
 */
export function insightsUrl(region: string, group: string, query: string, startSecondsAgo: number): string | undefined {
  const inner = (s: string) => encodeURIComponent(s).replace(/%/g, '*');
  const detail = `~(end~0~start~-${Math.max(60, Math.ceil(startSecondsAgo))}~timeType~'RELATIVE~unit~'seconds~editorString~'${inner(query)}~source~(~'${inner(group)}))`;
  // The partition's own console (GovCloud's is console.amazonaws-us-gov.com); none in the isolated partitions.
  return consoleUrl(region, 'cloudwatch/home', `logsV2:logs-insights${encodeURIComponent(`?queryDetail=${detail}`).replace(/%/g, '$')}`);
}

export function cloudWatchVersionLogs(options: CloudWatchVersionLogsOptions): VersionLogs & { insights(query: LogQuery): Promise<string | undefined> } {
  const maxPages = options.maxPages ?? 10;

  async function logTarget(svc: ServiceConfig, taskDefinition: string): Promise<LogTarget> {
    const target = svc.target;
    if (target.driver === 'local') throw new ValidationError(`service ${svc.name} runs locally; its logs are in local mode`);
    const { DescribeTaskDefinitionCommand } = await options.ecsSdk();
    const ecs = await resolveLazy(options.ecs);
    const { taskDefinition: td } = await call('ecs:DescribeTaskDefinition', taskDefinition, () =>
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition })),
    );
    const container = td?.containerDefinitions?.find((c) => c.name === target.containerName);
    const config = container?.logConfiguration;
    if (config?.logDriver !== 'awslogs' || !config.options?.['awslogs-group']) {
      throw new ValidationError(
        `container ${target.containerName} of ${taskDefinition} logs with ${config?.logDriver ?? 'no log driver'}, not awslogs with a group: Switchyard reads CloudWatch Logs only; read them where that driver sends them`,
      );
    }
    return { group: config.options['awslogs-group'], prefix: config.options['awslogs-stream-prefix'] ?? '', container: target.containerName };
  }

  /** The version's tasks: running ones, and stopped ones ECS still remembers (a rolled-back version's). */
  async function tasksOf(svc: ServiceConfig, taskDefinition: string): Promise<Task[]> {
    if (svc.target.driver === 'local') return [];
    const { cluster, service } = svc.target;
    const { ListTasksCommand, DescribeTasksCommand } = await options.ecsSdk();
    const ecs = await resolveLazy(options.ecs);
    const arns: string[] = [];
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      let nextToken: string | undefined;
      do {
        const page = await call('ecs:ListTasks', `${cluster}/${service}`, () =>
          ecs.send(new ListTasksCommand({ cluster, serviceName: service, desiredStatus, ...(nextToken ? { nextToken } : {}) })),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken && arns.length < 1000);
    }
    const tasks: Task[] = [];
    for (let i = 0; i < arns.length; i += 100) {
      const chunk = arns.slice(i, i + 100);
      const described = await call('ecs:DescribeTasks', cluster, () => ecs.send(new DescribeTasksCommand({ cluster, tasks: chunk })));
      tasks.push(...(described.tasks ?? []).filter((t) => t.taskDefinitionArn === taskDefinition));
    }
    return tasks.sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
  }

  async function filter(group: string, streams: readonly string[] | undefined, pattern: string | undefined, startTime: number): Promise<FilteredLogEvent[]> {
    const { FilterLogEventsCommand } = await logsSdk();
    const client = await resolveLazy(options.logs);
    const events: FilteredLogEvent[] = [];
    // FilterLogEvents takes at most 100 stream names per call.
    const batches = streams ? Array.from({ length: Math.ceil(streams.length / 100) }, (_, i) => streams.slice(i * 100, i * 100 + 100)) : [undefined];
    for (const batch of batches) {
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const page = await call('logs:FilterLogEvents', group, () =>
          client.send(
            new FilterLogEventsCommand({
              logGroupName: group,
              ...(batch ? { logStreamNames: [...batch] } : {}),
              ...(pattern ? { filterPattern: pattern } : {}),
              startTime,
              ...(nextToken ? { nextToken } : {}),
            }),
          ),
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken && ++pages < maxPages);
    }
    return events.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
  }

  function taskDefinitionOf(release: Release, version: string): string {
    const arn = version === release.artifact.image ? release.driverState?.['taskDefinition'] : release.driverState?.['previousTaskDefinition'];
    if (!arn)
      throw new ValidationError(
        `release ${release.id} has no ${version === release.artifact.image ? 'new' : 'previous'} task definition recorded (it never deployed); there are no logs to read`,
      );
    return arn;
  }

  async function streamsFor(query: LogQuery): Promise<{ target: LogTarget; tasks: Task[]; release: Release; svc: ServiceConfig }> {
    const release = query.release;
    const svc = options.services.find((s) => s.name === query.service);
    if (!release || !svc) throw new ValidationError(`no release or service for ${query.service} ${query.version}`);
    const taskDefinition = taskDefinitionOf(release, query.version);
    const [target, tasks] = await Promise.all([logTarget(svc, taskDefinition), tasksOf(svc, taskDefinition)]);
    return { target, tasks, release, svc };
  }

  const read: VersionLogs = async (query) => {
    const release = query.release;
    if (!release) throw new ValidationError('a release is needed to find its logs on AWS');
    const limit = query.limit ?? 500;
    const since = query.since ? Date.parse(query.since) + 1 : Date.parse(release.createdAt);
    const needle = query.grep?.toLowerCase();
    if (query.version === 'switchyard') {
      const group = options.switchyardLogGroup;
      if (!group) throw new ValidationError('Switchyard’s own log group is not known here');
      // Release ids are letters, digits and dashes: an exact, quoted term.
      const events = await filter(group, undefined, `"${release.id}"`, since);
      return lines(events, () => ({ replica: 0, source: 'switchyard' }));
    }
    const { target, tasks } = await streamsFor(query);
    if (tasks.length === 0) return [];
    const ids = tasks.map((t) => t.taskArn?.split('/').pop() ?? '');
    const stream = (id: string) => `${target.prefix ? `${target.prefix}/` : ''}${target.container}/${id}`;
    const events = await filter(target.group, ids.map(stream), undefined, since);
    return lines(events, (e) => {
      const id = e.logStreamName?.split('/').pop() ?? '';
      return { replica: Math.max(0, ids.indexOf(id)), source: `task ${id}` };
    });

    /** The last `limit` events matching `grep` as log lines; `grep` case-insensitive like local mode (CloudWatch's filter patterns are not), so applied here. */
    function lines(events: readonly FilteredLogEvent[], where: (e: FilteredLogEvent) => Pick<LogLine, 'replica' | 'source'>): LogLine[] {
      return events
        .filter((e) => !needle || (e.message ?? '').toLowerCase().includes(needle))
        .slice(-limit)
        .map((e): LogLine => ({
          time: new Date(e.timestamp ?? 0).toISOString(),
          service: query.service,
          version: query.version,
          pid: 0,
          stream: 'stdout',
          message: (e.message ?? '').trimEnd(),
          ...where(e),
        }));
    }
  };

  return Object.assign(read, {
    /** The Logs Insights link for the same lines: the version's task streams, newest first. */
    async insights(query: LogQuery): Promise<string | undefined> {
      if (!query.release || query.version === 'switchyard') return undefined;
      const { target, tasks, release } = await streamsFor(query);
      const ids = tasks.map((t) => t.taskArn?.split('/').pop() ?? '').filter(Boolean);
      const streams = ids.length > 0 ? ` | filter @logStream like /${target.container}\\/(${ids.join('|')})/` : '';
      const text = `fields @timestamp, @logStream, @message${streams} | sort @timestamp desc | limit 1000`;
      return insightsUrl(options.region, target.group, text, (Date.now() - Date.parse(release.createdAt)) / 1000);
    },
  });
}
