import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ServiceConfig } from '../config/config.js';
import type { Actor } from '../core/release.js';
import { InvalidCursorError } from '../adapters/dynamodb/dynamo-store.js';
import { silentLog, type Log } from '../engine/deps.js';
import { ActiveReleaseError, ForbiddenActionError, InvalidActionError, ReleaseNotFoundError, UnknownServiceError } from '../engine/errors.js';
import type { ReleaseService } from '../engine/releases.js';
import { ConflictError, type ReleaseStore } from '../ports/release-store.js';
import type { Clock } from '../ports/workflow.js';
import type { Authenticator } from './auth.js';
import { ActionBodySchema, ActionParamSchema, ErrorSchema, IdParamSchema, ListQuerySchema, ReleaseListSchema, ReleaseViewSchema, ServiceSchema, StartReleaseSchema } from './schemas.js';
import { releaseSummary, releaseView, serviceView } from './views.js';

export interface AppDeps {
  readonly releases: ReleaseService;
  readonly store: ReleaseStore;
  readonly services: readonly ServiceConfig[];
  readonly clock: Clock;
  readonly authenticate: Authenticator;
  readonly log?: Log;
  /** Extra routes mounted on the same app (the Slack interactions endpoint). */
  readonly extend?: (app: OpenAPIHono<AppEnv>) => void;
}

export type AppEnv = { Variables: { actor: Actor } };

/** A request that failed validation; the message names each field and what is wrong with it. */
export class RequestValidationError extends Error {
  override readonly name = 'RequestValidationError';
}

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorSchema, 'The request is invalid: the message names the field and the reason'),
  401: json(ErrorSchema, 'Missing or wrong credentials'),
  403: json(ErrorSchema, 'The caller may not take this action'),
  404: json(ErrorSchema, 'No such release'),
  409: json(ErrorSchema, 'The action is not valid in the release’s current phase'),
};

function status(error: unknown): { status: 400 | 401 | 403 | 404 | 409 | 500; code: string } {
  if (error instanceof RequestValidationError || error instanceof InvalidCursorError) return { status: 400, code: 'validation_error' };
  if (error instanceof UnknownServiceError) return { status: 400, code: 'unknown_service' };
  if (error instanceof ReleaseNotFoundError) return { status: 404, code: 'not_found' };
  if (error instanceof ForbiddenActionError) return { status: 403, code: 'forbidden' };
  if (error instanceof InvalidActionError) return { status: 409, code: 'invalid_action' };
  if (error instanceof ActiveReleaseError) return { status: 409, code: 'release_active' };
  if (error instanceof ConflictError) return { status: 409, code: 'conflict' };
  return { status: 500, code: 'internal' };
}

/**
 * The HTTP API: one Hono app, served by @hono/node-server locally and by API Gateway through
 * hono/aws-lambda. Routes, validation and the OpenAPI document come from the same zod schemas.
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const log = deps.log ?? silentLog;
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const where = result.target === 'json' ? 'body' : result.target;
        const message = result.error.issues
          .map((i) => {
            const path = [where, ...i.path.map(String)].join('.');
            return i.code === 'unrecognized_keys' ? `${path}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}` : `${path}: ${i.message}`;
          })
          .join('; ');
        throw new RequestValidationError(message);
      }
      return undefined;
    },
  });

  const requireActor = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const actor = deps.authenticate(c);
    if (!actor) throw new HTTPException(401, { message: 'missing or wrong credentials: send Authorization: Bearer <token> (local mode prints the token at start)' });
    c.set('actor', actor);
    await next();
  };
  for (const path of ['/releases', '/releases/*']) app.on('POST', path, requireActor);

  app.openapi(
    createRoute({ method: 'get', path: '/healthz', responses: { 200: json(z.object({ ok: z.boolean(), services: z.number() }), 'Switchyard is up') } }),
    (c) => c.json({ ok: true, services: deps.services.length }, 200),
  );

  app.openapi(
    createRoute({ method: 'get', path: '/services', responses: { 200: json(z.object({ services: z.array(ServiceSchema) }), 'The configured services and their plans') } }),
    async (c) => {
      const now = deps.clock.now();
      const services = await Promise.all(deps.services.map(async (s) => serviceView(s, await deps.store.lockOwner(s.name, now))));
      return c.json({ services }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/releases',
      request: {
        body: { content: { 'application/json': { schema: StartReleaseSchema } }, required: true },
        headers: z.object({ 'idempotency-key': z.string().max(128).optional().openapi({ description: 'Repeat a request with the same key to get the same release' }) }),
      },
      responses: {
        201: json(ReleaseViewSchema, 'Release created (phase preparing), or queued behind the active one (phase queued)'),
        200: json(ReleaseViewSchema, 'A release already exists for this Idempotency-Key'),
        ...errors,
      },
    }),
    async (c) => {
      const { service, image } = c.req.valid('json');
      const key = c.req.header('idempotency-key');
      const { release, created } = await deps.releases.startRelease({ service, image, actor: c.get('actor'), ...(key ? { idempotencyKey: key } : {}) });
      return c.json(releaseView(release), created ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/releases', request: { query: ListQuerySchema }, responses: { 200: json(ReleaseListSchema, 'Releases, newest first'), 400: errors[400] } }),
    async (c) => {
      const { service, phase, limit, cursor } = c.req.valid('query');
      const page = await deps.store.list({ limit, ...(service ? { service } : {}), ...(phase ? { phase: phase as never } : {}), ...(cursor ? { cursor } : {}) });
      return c.json({ releases: page.releases.map(releaseSummary), ...(page.cursor ? { cursor: page.cursor } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/releases/{id}', request: { params: IdParamSchema }, responses: { 200: json(ReleaseViewSchema, 'One release in full'), 400: errors[400], 404: errors[404] } }),
    async (c) => c.json(releaseView(await deps.releases.get(c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/releases/{id}/{action}',
      request: { params: ActionParamSchema, body: { content: { 'application/json': { schema: ActionBodySchema } }, required: false } },
      responses: { 200: json(ReleaseViewSchema, 'Applied; the release as it is now'), ...errors },
    }),
    async (c) => {
      const { id, action } = c.req.valid('param');
      const raw = await c.req.text();
      let comment: string | undefined;
      if (raw.trim() !== '') {
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          throw new RequestValidationError('body: is not valid JSON; send {"comment": "..."} or nothing');
        }
        const parsed = ActionBodySchema.safeParse(body);
        if (!parsed.success) throw new RequestValidationError(parsed.error.issues.map((i) => `body.${i.path.join('.') || '(root)'}: ${i.code === 'unrecognized_keys' ? `unknown field ${i.keys.join(', ')}` : i.message}`).join('; '));
        comment = parsed.data.comment;
      }
      const release = await deps.releases.act(id, action, c.get('actor'), comment);
      return c.json(releaseView(release), 200);
    },
  );

  deps.extend?.(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'Local mode; in AWS the API Gateway authorizer (IAM or JWT) applies' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Switchyard API', version: '1.0.0', description: 'Start, inspect and steer progressive releases. Mutating routes need credentials.' },
    security: [{ bearer: [] }],
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}; see GET /openapi.json` } }, 404));

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      const code = error.status === 401 ? 'unauthorized' : error.status === 400 ? 'validation_error' : 'http_error';
      return c.json({ error: { code, message: error.message } }, error.status);
    }
    const mapped = status(error);
    if (mapped.status === 500) {
      log.error('request failed', { method: c.req.method, path: c.req.path, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      return c.json({ error: { code: 'internal', message: 'internal error; the server log has the details' } }, 500);
    }
    return c.json({ error: { code: mapped.code, message: error.message } }, mapped.status);
  });

  return app;
}
