import type { Context } from 'aws-lambda';
import { createLambdaRuntime } from '../src/composition/aws.js';
import { awsAdapters, bundledEcsSdk, defaultDriverClients } from '../src/composition/aws-drivers.js';
import type { TaskInput } from '../src/workflow/protocol.js';
import { createLogger } from './logger.js';

const { logger, log } = createLogger('switchyard-workflow');
const runtime = await createLambdaRuntime({
  log,
  adapters: (config) => awsAdapters(defaultDriverClients(), log, config.environment),
  // The new version's error lines go with each approval; ECS's SDK is the one this function bundles.
  versionLogs: bundledEcsSdk,
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
