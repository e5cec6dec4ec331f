import { Hono, type Context } from 'hono';
import type * as z from 'zod';
import { HTTPException } from 'hono/http-exception';
import type { ServiceConfig } from '../config/config.js';
import type { Actor } from '../core/actor.js';
import type { Release } from '../core/release.js';
import type { ReleaseService } from '../engine/releases.js';
import type { ReleaseChanges, Releases, ServiceLocks } from '../ports/release-store.js';
import type { ServiceHealth } from '../ports/traffic-driver.js';
import { answerFor } from './errors.js';
import { clientKey, type Authenticator } from './auth.js';
import { ReleaseStreams, type EventStreamOptions } from './event-streams.js';
import { docsPage, openApiDocument, type OpenApiOptions } from './openapi.js';
import {
  ActionBodySchema,
  ActionParamSchema,
  IdParamSchema,
  ListQuerySchema,
  LogQuerySchema,
  ServiceParamSchema,
  StartReleaseSchema,
  UndoBodySchema,
} from './schemas.js';
import { releaseSummary, releaseView, serviceView } from './views.js';
import { silentLog, type Log } from '../ports/log.js';
import { ErrorCode, errorBody, messageOf, UnsupportedMediaTypeError, ValidationError } from '../core/errors.js';
import { bodyLimit } from 'hono/body-limit';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { streamSSE } from 'hono/streaming';

/** The largest request body the API reads (a release request or a comment is well under 2 KiB). */
const MAX_BODY_BYTES = 64 * 1024;
import type { Clock } from '../ports/clock.js';
import type { LogQuery, VersionLogs } from '../ports/logs.js';

export interface AppDeps {
  readonly releases: ReleaseService;
  readonly store: Releases & ServiceLocks;
  readonly services: readonly ServiceConfig[];
  readonly clock: Clock;
  readonly authenticate: Authenticator;
  readonly log?: Log;
  /**
   * Which Host headers the API answers (local mode: loopback names only, so a page that rebinds its
   * DNS name to 127.0.0.1 cannot read or steer releases). @default every host (API Gateway checks it on AWS)
   */
  readonly allowedHost?: (host: string) => boolean;
  /** How each service is doing, where Switchyard runs it (local mode). @default not reported */
  readonly health?: (service: string) => ServiceHealth | undefined;
  /** A version's logs, merged across its processes (local mode); undefined where Switchyard does not keep them. */
  readonly logs?: VersionLogs;
  /** A link to the same lines in a fuller view (on AWS: a CloudWatch Logs Insights query), when there is one. */
  readonly logsLink?: (query: LogQuery) => Promise<string | undefined>;
  /** Why the store can no longer be written (local mode: the data directory failed), if it cannot. */
  readonly storageFault?: () => string | undefined;
  /** Where the API is served, for the OpenAPI document. @default local mode's address */
  readonly servers?: OpenApiOptions['servers'];
  /**
   * The dashboard's files by path (`/ui` and its stylesheet and script) and the headers they are served
   * with (src/ui/page.ts: its Content-Security-Policy and the rest); local mode serves them, AWS does not.
   */
  readonly ui?: {
    readonly files: Readonly<Record<string, { readonly body: string; readonly type: string }>>;
    readonly headers: Readonly<Record<string, string>>;
  };
  /**
   * Releases as this process writes them (local mode, where every writer is in this process): event
   * streams follow them through this one subscription. @default none: each release with open streams
   * is read once per `eventStreams.pollMs` for all of them (AWS, where other Lambdas write releases)
   */
  readonly changes?: ReleaseChanges;
  /** Limits of the event streams, per client and in all (see EventStreamOptions for their defaults and origin). */
  readonly eventStreams?: EventStreamOptions;
  /** Extra routes mounted on the same app (the Slack interactions endpoint). */
  readonly extend?: (app: Hono<AppEnv>) => void;
}

export type AppEnv = { Variables: { actor: Actor } };

/** Validates with a zod schema; the error names each field (`body.image`, `query.limit`) and the reason. */
function parse<T extends z.ZodType>(schema: T, data: unknown, where: string): z.output<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const message = result.error.issues
    .map((i) => {
      const path = [where, ...i.path.map(String)].join('.');
      return i.code === 'unrecognized_keys' ? `${path}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}` : `${path}: ${i.message}`;
    })
    .join('; ');
  throw new ValidationError(message);
}

/**
 * The client's `Idempotency-Key`, on every call that changes something: a replay with the same key
 * returns the first call's result and changes nothing more.
 */
function idempotencyKey(c: Context): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key !== undefined && !/^[\x21-\x7e]{1,128}$/.test(key))
    throw new ValidationError('header.Idempotency-Key: must be 1 to 128 printable ASCII characters without spaces (for example a UUID)');
  return key;
}

async function jsonBody(c: Context, required: boolean): Promise<unknown> {
  const raw = await c.req.text();
  if (raw.trim() === '') {
    if (required) throw new ValidationError('body: is required: send a JSON object');
    return {};
  }
  // A browser form or a text/plain POST is not an API call: no simple cross-site request starts a release.
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new UnsupportedMediaTypeError(`header.Content-Type: must be application/json, got "${type || 'none'}"`);
  try {
    return JSON.parse(raw);
  } catch {
    throw new ValidationError('body: is not valid JSON');
  }
}

/**
 * The HTTP API: one Hono app, served by @hono/node-server locally and by API Gateway through
 * hono/aws-lambda. Routes, validation and the OpenAPI document come from the same zod schemas.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const log = deps.log ?? silentLog;
  const app = new Hono<AppEnv>();
  // A known path asked with the wrong method is 405 with the methods it takes (Allow), not 404; Hono
  // reads them from the routes themselves, the Slack endpoint mounted by `extend` included.
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json(
          errorBody(ErrorCode.methodNotAllowed, `${c.req.method} is not allowed on ${c.req.path}; use ${methods.filter((m) => m !== 'HEAD').join(' or ')}`),
          405,
          { Allow: methods.join(', ') },
        ),
    }),
  );
  const streams = new ReleaseStreams({
    read: (id) => deps.store.get(id),
    ...(deps.changes ? { changes: deps.changes } : {}),
    ...(deps.eventStreams ? { options: deps.eventStreams } : {}),
  });

  /** The release as this caller sees it now: the decisions offered are the ones they may take. */
  const view = (c: Context<AppEnv>, release: Release) =>
    releaseView(release, { now: deps.clock.now(), viewer: c.get('actor') ?? deps.authenticate(c) ?? 'nobody' });

  const requireActor = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const actor = deps.authenticate(c);
    if (!actor)
      throw new HTTPException(401, { message: 'missing or wrong credentials: send Authorization: Bearer <token> (local mode prints the token at start)' });
    c.set('actor', actor);
    await next();
  };
  const allowedHost = deps.allowedHost;
  if (allowedHost) {
    app.use('*', async (c, next) => {
      const host = c.req.header('host') ?? '';
      if (!allowedHost(host)) {
        return c.json(
          errorBody(ErrorCode.forbidden, `header.Host: "${host}" is not this API; it answers only 127.0.0.1, localhost or [::1] (DNS rebinding protection)`),
          403,
        );
      }
      await next();
    });
  }
  // Bodies are small JSON objects: a large one is refused before it is read, not parsed into memory.
  // The unread rest of it is still on the connection: @hono/node-server discards at most 64 MiB or
  // 500 ms of it and then drops the connection, after having offered to keep it alive, so the
  // client's next request on it would fail. `Connection: close` tells the client to open a new one,
  // and Node's server then closes this one (test/reliability/api-limits.test.ts, on a raw socket).
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(errorBody(ErrorCode.payloadTooLarge, `body: is larger than ${MAX_BODY_BYTES / 1024} KiB; send a JSON object of a few fields`), 413, {
          connection: 'close',
        }),
    }),
  );
  // Nothing new is accepted once the store cannot record it.
  const requireStore = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const fault = deps.storageFault?.();
    if (fault !== undefined)
      return c.json(
        errorBody(
          ErrorCode.transient,
          `the store cannot record anything (${fault}); production stays on the stable versions; fix the disk and restart Switchyard`,
        ),
        503,
      );
    await next();
  };
  // Middleware for every method (Hono's method-not-allowed reads the app's routes: a POST-only guard on
  // `/releases/*` would count as a POST route of every path under it).
  for (const path of ['/releases', '/releases/*', '/services/*'])
    app.use(path, (c, next) => (c.req.method === 'POST' ? requireStore(c, () => requireActor(c, next)) : next()));

  // Not ok while a service Switchyard runs has no stable replica serving (local mode restarts them).
  app.get('/healthz', (c) => {
    const down = deps.services.filter((s) => deps.health?.(s.name)?.status === 'down').map((s) => s.name);
    const store = deps.storageFault?.();
    if (down.length > 0 || store !== undefined)
      return c.json({ ok: false, services: deps.services.length, ...(down.length > 0 ? { down } : {}), ...(store !== undefined ? { store } : {}) }, 503);
    return c.json({ ok: true, services: deps.services.length }, 200);
  });

  app.get('/services', async (c) => {
    const now = deps.clock.now();
    const viewer = deps.authenticate(c) ?? 'nobody';
    const services = await Promise.all(deps.services.map(async (s) => serviceView(s, viewer, await deps.store.lockOwner(s.name, now), deps.health?.(s.name))));
    return c.json({ services }, 200);
  });

  app.post('/releases', async (c) => {
    const { service, image, expedite, reason } = parse(StartReleaseSchema, await jsonBody(c, true), 'body');
    const key = idempotencyKey(c);
    const { release, created } = await deps.releases.startRelease({
      service,
      image,
      actor: c.get('actor'),
      ...(key ? { idempotencyKey: key } : {}),
      ...(expedite && reason ? { expedite: { reason } } : {}),
    });
    return c.json(view(c, release), created ? 201 : 200);
  });

  app.get('/releases', async (c) => {
    const { service, phase, limit, cursor } = parse(ListQuerySchema, c.req.query(), 'query');
    const page = await deps.store.list({ limit, ...(service ? { service } : {}), ...(phase ? { phase: phase as never } : {}), ...(cursor ? { cursor } : {}) });
    return c.json({ releases: page.releases.map(releaseSummary), ...(page.cursor ? { cursor: page.cursor } : {}) }, 200);
  });

  app.get('/releases/:id', async (c) => {
    const { id } = parse(IdParamSchema, c.req.param(), 'path');
    return c.json(view(c, await deps.releases.get(id)), 200);
  });

  // Only the actions there are make a route (so PUT on another path under a release is 404, not 405).
  app.post(`/releases/:id/:action{${ActionParamSchema.shape.action.options.join('|')}}`, async (c) => {
    const { id, action } = parse(ActionParamSchema, c.req.param(), 'path');
    const { comment } = parse(ActionBodySchema, await jsonBody(c, false), 'body');
    const key = idempotencyKey(c);
    if (action === 'retry') {
      const { release, created } = await deps.releases.retry(id, c.get('actor'), comment, key);
      return c.json(view(c, release), created ? 201 : 200);
    }
    const release = await deps.releases.act(id, action, c.get('actor'), comment, key);
    return c.json(view(c, release), 200);
  });

  // Logs can hold what a service prints about its users: they need credentials, unlike the release views.
  app.get('/releases/:id/logs', requireActor, async (c) => {
    const { id } = parse(IdParamSchema, c.req.param(), 'path');
    const { version, since, grep, limit } = parse(LogQuerySchema, c.req.query(), 'query');
    const logs = deps.logs;
    if (!logs) return c.json(errorBody('not_implemented', 'logs are kept by local mode; on AWS read the service’s log group in CloudWatch Logs'), 501);
    const release = await deps.releases.get(id);
    const image = version === 'switchyard' ? 'switchyard' : version === 'stable' ? release.previous : release.artifact.image;
    if (!image) throw new ValidationError(`query.version: release ${id} does not record its stable version; ask for version=new`);
    const query = { service: release.service, version: image, ...(since ? { since } : {}), ...(grep ? { grep } : {}), limit, release };
    const [lines, link] = await Promise.all([logs(query), deps.logsLink?.(query).catch(() => undefined)]);
    return c.json({ release: id, service: release.service, version: image, lines, truncated: lines.truncated, ...(link ? { insights: link } : {}) }, 200);
  });

  // Who the credentials are: the dashboard checks a token with it once, at sign-in.
  app.get('/whoami', requireActor, (c) => c.json({ actor: c.get('actor') }, 200));

  // One release, live: the release view each time it changes, as server-sent events, until it ends.
  // Credentials as for logs: a stream holds a connection and a place among the streams, so only a
  // caller who could steer may hold one (the dashboard reads it with fetch and its Authorization header).
  app.get('/releases/:id/events', requireActor, async (c) => {
    const { id } = parse(IdParamSchema, c.req.param(), 'path');
    const watch = await streams.watch(id, clientKey(c, c.get('actor')));
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => watch.close());
      try {
        for (let message = await watch.next(); message; message = await watch.next()) {
          // A comment line now and then keeps proxies from closing a quiet stream.
          if (message.kind === 'heartbeat') await stream.write(': still here\n\n');
          // The shared view is made once per change; each stream sends it as its own caller sees it.
          else await stream.writeSSE({ event: 'release', data: JSON.stringify(view(c, message.release)), id: message.id });
          if (message.kind === 'release' && message.final) return;
        }
      } finally {
        watch.close();
      }
    });
  });

  if (deps.ui !== undefined) {
    const { files, headers } = deps.ui;
    for (const [path, file] of Object.entries(files)) app.get(path, (c) => c.body(file.body, 200, { ...headers, 'content-type': file.type }));
  }

  app.post('/services/:service/undo', async (c) => {
    const { service } = parse(ServiceParamSchema, c.req.param(), 'path');
    const { comment, to, expedite } = parse(UndoBodySchema, await jsonBody(c, false), 'body');
    const options = { ...(to !== undefined ? { to } : {}), ...(expedite ? { expedite } : {}) };
    const { release, created } = await deps.releases.undo(service, c.get('actor'), comment, undefined, idempotencyKey(c), options);
    return c.json(view(c, release), created ? 201 : 200);
  });

  // Made on first request, not at start: converting every schema to JSON Schema is a good share of a
  // Lambda's cold start, and most invocations never ask for the document.
  let document: ReturnType<typeof openApiDocument> | undefined;
  let docs: string | undefined;
  const theDocument = () => (document ??= openApiDocument(deps.servers ? { servers: deps.servers } : {}));
  app.get('/openapi.json', (c) => c.json(theDocument(), 200));
  app.get('/docs', (c) => c.html((docs ??= docsPage(theDocument())), 200));

  // Any other action: POST says which there are (400); another method finds no route (404). A route for
  // every method, which Hono's method-not-allowed leaves out of the methods a path takes.
  app.all('/releases/:id/:action', (c) => {
    if (c.req.method === 'POST') parse(ActionParamSchema, c.req.param(), 'path');
    return c.notFound();
  });

  deps.extend?.(app);

  app.notFound((c) => c.json(errorBody(ErrorCode.notFound, `no route ${c.req.method} ${c.req.path}; see GET /openapi.json`), 404));

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      const code = error.status === 401 ? 'unauthorized' : error.status === 400 ? 'validation_error' : 'http_error';
      return c.json(errorBody(code, error.message), error.status);
    }
    const answer = answerFor(error);
    if (answer.internal)
      log.error('request failed', {
        method: c.req.method,
        path: c.req.path,
        error: error instanceof Error ? `${error.name}: ${error.message}` : messageOf(error),
      });
    if (answer.retryAfterSeconds !== undefined) c.header('Retry-After', String(answer.retryAfterSeconds));
    return c.json(errorBody(answer.code, answer.message), answer.status);
  });

  return app;
}
