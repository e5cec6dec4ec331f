import type { Context } from 'aws-lambda';
import { awsVersionLogs, bundledConfig, createAwsRuntime, defaultClients, env, loadSlackSecrets } from '../src/composition/aws.js';
import { awsAdapters, defaultDriverClients } from '../src/composition/aws-drivers.js';
import type { TaskInput } from '../src/workflow/protocol.js';
import { createLogger } from './logger.js';

const { logger, log } = createLogger('switchyard-workflow');
const config = bundledConfig();
const versionLogs = awsVersionLogs(config);
const runtime = createAwsRuntime({
  config,
  tableName: env('TABLE_NAME'),
  stateMachineArn: env('STATE_MACHINE_ARN'),
  clients: defaultClients(),
  log,
  slack: await loadSlackSecrets(process.env['SLACK_SECRET_ARN']),
  adapters: awsAdapters(defaultDriverClients(), log, config.environment),
  // The new version's error lines go with each approval.
  logs: versionLogs,
  logsLink: (query) => versionLogs.insights(query),
});

/** Every Task state of the release workflow invokes this function with `{ task, releaseId, ... }`. */
export async function handler(event: TaskInput, context: Context): Promise<unknown> {
  logger.addContext(context);
  logger.appendKeys({ releaseId: event.releaseId, task: event.task });
  try {
    return await runtime.handlers.run(event);
  } finally {
    logger.removeKeys(['releaseId', 'task']);
  }
}
