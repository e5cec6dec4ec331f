import { handle } from 'hono/aws-lambda';
import { createApp } from '../src/api/app.js';
import { apiGatewayAuthenticator } from '../src/api/auth.js';
import { mountSlackInteractions } from '../src/api/slack.js';
import { createLambdaRuntime, runtimeEcsSdk } from '../src/composition/aws.js';
import { createLogger } from './logger.js';
import { systemClock } from '../src/ports/clock.js';

const { log } = createLogger('switchyard-api');
// Versions' logs read tasks with the runtime's own ECS SDK: this function bundles no AWS client.
const runtime = await createLambdaRuntime({ log, versionLogs: runtimeEcsSdk });
const { config, logs } = runtime;
const signingSecret = runtime.slack?.signingSecret;
const app = createApp({
  releases: runtime.releases,
  store: runtime.store,
  services: runtime.services,
  clock: systemClock,
  authenticate: apiGatewayAuthenticator(config.people),
  // No `changes`: the workflow Lambda writes releases in other processes, so this one cannot see them
  // change; an event stream here reads its release once per interval, one read shared by all its streams.
  ...(logs ? { logs, logsLink: (query) => logs.insights(query) } : {}),
  log,
  // Authenticated by Slack's signature (API Gateway lets this one route through without IAM/JWT).
  extend: (a) =>
    mountSlackInteractions(a, { signingSecret: async () => signingSecret, releases: runtime.releases, clock: systemClock, log, people: config.people }),
});

/** API Gateway HTTP API (payload v2) in front of the same Hono app that local mode serves. */
export const handler = handle(app);
