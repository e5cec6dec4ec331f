import type { Context } from 'aws-lambda';
import { createLambdaRuntime } from '../src/composition/aws.js';
import { handleEcrEvent, type TriggerOutcome } from '../src/engine/ecr-trigger.js';
import { createLogger } from './logger.js';

const { logger, log } = createLogger('switchyard-ecr-trigger');
const runtime = await createLambdaRuntime({ log });

/** EventBridge (aws.ecr, ECR Image Action, PUSH, SUCCESS) -> one release per service and digest. */
export async function handler(event: unknown, context: Context): Promise<TriggerOutcome> {
  logger.addContext(context);
  return handleEcrEvent(event, { services: runtime.services, releases: runtime.releases, log });
}
