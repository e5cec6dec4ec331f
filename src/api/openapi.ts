import * as z from 'zod';
import { CountdownSchema, PhaseSchema } from '../contract/schema.js';
import {
  ActionBodySchema,
  ActorSchema,
  ErrorSchema,
  ListQuerySchema,
  LogQuerySchema,
  ReleaseListSchema,
  ReleaseSummarySchema,
  ReleaseViewSchema,
  ServiceListSchema,
  ServiceSchema,
  StartReleaseSchema,
  UndoBodySchema,
} from './schemas.js';
import { STREAM_DEFAULTS } from './event-streams.js';

type Json = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const body = (id: string, description: string) => ({ description, content: { 'application/json': { schema: ref(id) } } });
const error = (description: string) => body('Error', description);
const errors = {
  400: error('The request is invalid: the message names the field and the reason'),
  401: error('Missing or wrong credentials'),
  403: error('The caller may not take this action (approver allowlist, four-eyes, a token acting as someone else)'),
  404: error('No such release'),
  409: error('The action is not valid in the release’s current phase, or the service is busy'),
  413: error(
    'The body is larger than 64 KiB; the answer says `Connection: close` and the connection is closed after it, so send the next request on a new one',
  ),
  415: error('The body is not application/json'),
};

function queryParameters(schema: z.ZodObject): Json[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: s }));
}

/**
 * The component schemas, generated together so a schema used inside another (Actor inside
 * Release) is one `#/components/schemas/…` reference, never a `$defs` copy that does not resolve.
 * Request bodies are described as they are accepted (input), responses as they are sent (output).
 */
function componentSchemas(): Record<string, Json> {
  const generate = (io: 'input' | 'output', schemas: Record<string, z.ZodType>): Record<string, Json> => {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
    const { schemas: out } = z.toJSONSchema(registry, { io, unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as {
      schemas: Record<string, Json>;
    };
    // Each component is part of this document, not a document of its own.
    return Object.fromEntries(Object.entries(out).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]));
  };
  return {
    ...generate('output', {
      Actor: ActorSchema,
      Phase: PhaseSchema,
      Countdown: CountdownSchema,
      ReleaseSummary: ReleaseSummarySchema,
      Error: ErrorSchema,
      Release: ReleaseViewSchema,
      ReleaseList: ReleaseListSchema,
      Service: ServiceSchema,
      ServiceList: ServiceListSchema,
    }),
    ...generate('input', { StartRelease: StartReleaseSchema, ActionBody: ActionBodySchema, UndoBody: UndoBodySchema }),
  };
}

export interface OpenApiOptions {
  /** Where the API is served (local mode: http://127.0.0.1:8787; on AWS the stack's ApiUrl). */
  readonly servers?: readonly { readonly url: string; readonly description: string }[];
}

/** The OpenAPI 3.1 document of the API, generated from the same zod schemas that validate requests. */
export function openApiDocument(options: OpenApiOptions = {}): Json {
  const idParam = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'A release id such as r-mf3k2a1b-9c4d',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,80}$' },
  };
  const idempotencyKey = {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,128}$' },
    description: 'Repeat a request with the same key to get the first answer, applied once; the same key for another request is 422',
  };
  const steer = (action: string, summary: string, description: string) => ({
    post: {
      operationId: `${action}Release`,
      summary,
      description: `${description} Who may: see the authority table (README); a caller who may not is 403.`.trim(),
      tags: ['steer'],
      security,
      parameters: [idParam, idempotencyKey],
      requestBody: { required: false, content: { 'application/json': { schema: ref('ActionBody') } } },
      responses: {
        200: body('Release', 'Applied (or a replay of the same key); the release as it is now'),
        ...errors,
        422: error('The Idempotency-Key was first used for another decision'),
      },
    },
  });
  const security = [{ localToken: [] }, { sigv4: [] }, { jwt: [] }];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchyard API',
      version: '1.0.0',
      description:
        'Start, inspect and steer progressive releases. Reads are open in local mode (loopback only); every route that changes something needs credentials: the bearer token in local mode, SigV4 (IAM authorizer) or a JWT (JWT authorizer) on AWS.',
    },
    servers: options.servers ?? [{ url: 'http://127.0.0.1:8787', description: 'local mode (`switchyard local`, `npm start`)' }],
    tags: [
      { name: 'releases', description: 'Start and read releases' },
      { name: 'steer', description: 'People’s decisions: approve, reject, promote, roll back, retry, undo' },
      { name: 'meta', description: 'Health, services, this document' },
    ],
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        localToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'Local mode: the token printed at start (SWITCHYARD_TOKEN), or a person’s own token (people[].localToken)',
        },
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS with the IAM authorizer: requests signed with AWS Signature Version 4 for the execute-api service',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'AWS with the JWT authorizer: a token from the configured issuer and audience',
        },
      },
    },
    paths: {
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness, and whether every service Switchyard runs has a stable replica serving',
          tags: ['meta'],
          responses: {
            200: { description: 'Switchyard is up and every service serves' },
            503: { description: 'A service Switchyard runs has no stable replica serving' },
          },
        },
      },
      '/services': {
        get: {
          operationId: 'listServices',
          summary: 'Configured services, their plans and active releases',
          tags: ['meta'],
          responses: { 200: body('ServiceList', 'Services') },
        },
      },
      '/services/{service}/undo': {
        post: {
          operationId: 'undoService',
          summary: 'Return the service to the version it served before its last succeeded release, or to an older one (`to`)',
          description:
            'A release of its own: the readiness check, then all traffic at once, no bakes (under four-eyes, the plan’s first approval first); an undo of an undo goes through the plan. With `to`, a version the service served before (an image of one of its succeeded releases, or what it served before one): through the service’s plan, or with `expedite` (and a `comment` saying why) bakes cut to one gate check and approvals skipped, one kept under four-eyes; a version it never served is 409 with the versions it did serve. Needs an approver on a guarded service (and expedite’s authority with `expedite`). Refused while a release is active. A succeeded release is undone once: a second undo returns the first (200).',
          tags: ['steer'],
          security,
          parameters: [{ name: 'service', in: 'path', required: true, schema: { type: 'string' } }, idempotencyKey],
          requestBody: { required: false, content: { 'application/json': { schema: ref('UndoBody') } } },
          responses: {
            201: body('Release', 'The undo release, started'),
            200: body('Release', 'This release was already undone (or a replay of the same key): that undo'),
            ...errors,
          },
        },
      },
      '/releases': {
        get: {
          operationId: 'listReleases',
          summary: 'Releases, newest first',
          tags: ['releases'],
          parameters: queryParameters(ListQuerySchema),
          responses: { 200: body('ReleaseList', 'One page of releases; pass `cursor` for the next'), 400: errors[400] },
        },
        post: {
          operationId: 'startRelease',
          summary: 'Start a release (or an expedited one: bakes cut to one gate check, approvals skipped, reason required)',
          tags: ['releases'],
          security,
          parameters: [idempotencyKey],
          requestBody: { required: true, content: { 'application/json': { schema: ref('StartRelease') } } },
          responses: {
            201: body('Release', 'Created (phase preparing), or queued behind the active release (phase queued)'),
            200: body('Release', 'A release already exists for this Idempotency-Key'),
            ...errors,
            422: error('The Idempotency-Key was first used for another release'),
          },
        },
      },
      '/releases/{id}': {
        get: {
          operationId: 'getRelease',
          summary: 'One release in full: split, plan, gates, approvals, timeline',
          tags: ['releases'],
          parameters: [idParam],
          responses: { 200: body('Release', 'The release'), 400: errors[400], 404: errors[404] },
        },
      },
      '/releases/{id}/logs': {
        get: {
          operationId: 'releaseLogs',
          summary: 'The logs of a release’s new (or stable) version: every process merged in time order, with version and replica',
          description:
            'Local mode: the processes’ files. AWS: the service’s CloudWatch Logs group (its task definition’s awslogs configuration), only that version’s tasks, and a Logs Insights link; `version=switchyard` gives Switchyard’s own lines about the release. Needs credentials: logs may hold what a service prints about its users.',
          tags: ['releases'],
          security,
          parameters: [idParam, ...queryParameters(LogQuerySchema)],
          responses: {
            200: {
              description: 'Lines, oldest first (at most `limit`, the most recent)',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['release', 'service', 'version', 'lines'],
                    properties: {
                      release: { type: 'string' },
                      service: { type: 'string' },
                      version: { type: 'string' },
                      insights: { type: 'string', description: 'On AWS: the same lines in CloudWatch Logs Insights (a console link)' },
                      truncated: {
                        type: 'boolean',
                        description:
                          'Local mode: the read stopped at its bound (8 MB looked through) before it found `limit` lines; older matching lines may exist (narrow with `since` or `grep`)',
                      },
                      lines: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['time', 'version', 'replica', 'stream', 'message'],
                          properties: {
                            source: { type: 'string' },
                            time: { type: 'string' },
                            service: { type: 'string' },
                            version: { type: 'string' },
                            replica: { type: 'integer' },
                            pid: { type: 'integer' },
                            stream: { type: 'string', enum: ['stdout', 'stderr'] },
                            message: { type: 'string' },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            ...errors,
            501: error('Logs are not kept here (AWS)'),
          },
        },
      },
      '/releases/{id}/approve': steer('approve', 'Approve the approval the release waits for', 'Applies the approver allowlist and four-eyes, by person.'),
      '/releases/{id}/reject': steer('reject', 'Reject the approval the release waits for: it rolls back', 'Applies the approver allowlist.'),
      '/releases/{id}/promote': steer(
        'promote',
        'Skip the remaining steps, bakes and approvals: 100%, then finalize',
        'Acts at once, whatever the gate interval.',
      ),
      '/releases/{id}/rollback': steer(
        'rollback',
        'Roll the release back now',
        'Any authenticated caller, in any active phase except finalize (409). Acts at once, whatever the gate interval.',
      ),
      '/releases/{id}/pause': steer(
        'pause',
        'Hold the release at its current bake, indefinitely, until resumed',
        'During a bake or analysis only, on a driver that can hold traffic where it is (local; ecs canary, linear and blue/green, up to ECS’s PAUSE hook timeout: the view’s `paused.until`). The bake’s clock stops; the gates are still watched and a failing gate still rolls back. Refused (409) with the reason when there is nothing to hold (queued, deploying, shifting, awaiting approval, finalizing, finished) or the driver cannot hold (codedeploy, ecs rolling). Any authenticated caller by default.',
      ),
      '/releases/{id}/resume': steer(
        'resume',
        'Let a paused release go on: the bake continues with the time it had left',
        'Acts at once. 409 when the release is not paused. Needs an approver on a guarded service by default.',
      ),
      '/releases/{id}/retry': {
        post: {
          ...steer('retry', '', '').post,
          summary: 'Start a new release of the image of a release that ended without shipping',
          description:
            'For a rolled-back, failed, cancelled or superseded release; recorded as a retry of it. Needs an approver on a guarded service. A release is retried once: a second retry returns the first (200).',
          responses: {
            201: body('Release', 'The new release'),
            200: body('Release', 'This release was already retried (or a replay of the same key): that retry'),
            ...errors,
          },
        },
      },
      '/releases/{id}/events': {
        get: {
          operationId: 'releaseEvents',
          summary: 'One release, live: server-sent events, one `release` event (the release view) each time it changes, until it ends',
          description: `text/event-stream; each event is \`event: release\` with the same JSON as GET /releases/{id}, and a comment line (\`: still here\`) after ${STREAM_DEFAULTS.heartbeatMs / 1000} s without one. Needs credentials (send \`Authorization\` with fetch: EventSource cannot). At most ${STREAM_DEFAULTS.perClient} open streams per client (the person, or the token) and ${STREAM_DEFAULTS.total} in all, by default; past them the answer is 429 \`too_many_streams\` or 503 \`stream_capacity\` (with Retry-After), naming the limit and what to do. Served by local mode and by \`switchyard dashboard\` (which reads the AWS API for it); API Gateway does not stream.`,
          tags: ['releases'],
          security,
          parameters: [idParam],
          responses: {
            200: { description: 'The event stream', content: { 'text/event-stream': {} } },
            400: errors[400],
            401: errors[401],
            404: errors[404],
            429: error(
              `This client already holds ${STREAM_DEFAULTS.perClient} open event streams (\`too_many_streams\`): close one, or read GET /releases/{id}`,
            ),
            503: {
              ...error(`The server already holds ${STREAM_DEFAULTS.total} open event streams (\`stream_capacity\`): retry after the Retry-After seconds`),
              headers: { 'Retry-After': { description: 'Seconds to wait before asking again', schema: { type: 'integer' } } },
            },
          },
        },
      },
      '/whoami': {
        get: {
          operationId: 'whoAmI',
          summary: 'Who the credentials are (the actor the API records for them)',
          tags: ['meta'],
          security,
          responses: {
            200: {
              description: 'The actor',
              content: {
                'application/json': { schema: { type: 'object', properties: { actor: { $ref: '#/components/schemas/Actor' } }, required: ['actor'] } },
              },
            },
            401: errors[401],
          },
        },
      },
      '/ui': {
        get: {
          operationId: 'dashboard',
          summary: 'The dashboard (local mode; on AWS run `switchyard dashboard --api <url>`)',
          tags: ['meta'],
          responses: { 200: { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          tags: ['meta'],
          responses: { 200: { description: 'The OpenAPI 3.1 document', content: { 'application/json': {} } } },
        },
      },
      '/docs': {
        get: {
          operationId: 'docs',
          summary: 'This document as a page',
          tags: ['meta'],
          responses: { 200: { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      '/slack/interactions': {
        post: {
          operationId: 'slackInteraction',
          summary: 'Slack button clicks (block_actions), signed by Slack',
          description:
            'Authenticated by Slack’s request signature (X-Slack-Signature, X-Slack-Request-Timestamp), not by the API’s credentials. Present when Slack is configured.',
          tags: ['steer'],
          security: [],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { payload: { type: 'string' } }, required: ['payload'] } },
            },
          },
          responses: {
            200: { description: 'The click was handled; `ok` says whether it applied', content: { 'application/json': { schema: { type: 'object' } } } },
            400: errors[400],
            401: error('The Slack signature is missing, wrong or stale'),
          },
        },
      },
    },
  };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A self-contained page listing every operation of the document (no scripts, no external requests). */
export function docsPage(document: Json): string {
  const info = document['info'] as { title: string; description: string };
  const paths = document['paths'] as Record<string, Record<string, { operationId: string; summary: string; description?: string; security?: unknown[] }>>;
  const rows = Object.entries(paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(
      ([method, op]) =>
        `<section><h2><code>${method.toUpperCase()} ${escape(path)}</code></h2><p>${escape(op.summary)}</p>${op.description ? `<p>${escape(op.description)}</p>` : ''}<p class="meta">operationId <code>${escape(op.operationId)}</code>${op.security && op.security.length > 0 ? ' · needs credentials' : ''}</p></section>`,
    ),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#1b1f23}h2{font-size:1rem;margin:1.5rem 0 .25rem}code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}.meta{color:#57606a;font-size:.85rem}</style></head>
<body><h1>${escape(info.title)}</h1><p>${escape(info.description)}</p><p>The machine-readable document: <a href="openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>${rows.join('\n')}</body></html>`;
}
