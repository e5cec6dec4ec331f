import type { Context } from 'aws-lambda';
import { bundledConfig, createAwsRuntime, defaultClients, env, loadSlackSecrets } from '../src/composition/aws.js';
import { handleEcrEvent, type TriggerOutcome } from '../src/engine/ecr-trigger.js';
import { createLogger } from './logger.js';

const { logger, log } = createLogger('switchyard-ecr-trigger');
const runtime = createAwsRuntime({
  config: bundledConfig(),
  tableName: env('TABLE_NAME'),
  stateMachineArn: env('STATE_MACHINE_ARN'),
  clients: defaultClients(),
  log,
  slack: await loadSlackSecrets(process.env['SLACK_SECRET_ARN']),
});

/** EventBridge (aws.ecr, ECR Image Action, PUSH, SUCCESS) -> one release per service and digest. */
export async function handler(event: unknown, context: Context): Promise<TriggerOutcome> {
  logger.addContext(context);
  return handleEcrEvent(event, { services: runtime.services, releases: runtime.releases, log });
}
