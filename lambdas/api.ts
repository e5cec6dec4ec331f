import { handle } from 'hono/aws-lambda';
import { createApp } from '../src/api/app.js';
import { apiGatewayAuthenticator } from '../src/api/auth.js';
import { bundledConfig, createAwsRuntime, defaultClients, env } from '../src/aws/composition.js';
import { systemClock } from '../src/ports/workflow.js';
import { createLogger } from './logger.js';

const { log } = createLogger('switchyard-api');
const runtime = createAwsRuntime({ config: bundledConfig(), tableName: env('TABLE_NAME'), stateMachineArn: env('STATE_MACHINE_ARN'), clients: defaultClients(), log });
const app = createApp({ releases: runtime.releases, store: runtime.store, services: runtime.services, clock: systemClock, authenticate: apiGatewayAuthenticator(), log });

/** API Gateway HTTP API (payload v2) in front of the same Hono app that local mode serves. */
export const handler = handle(app);
