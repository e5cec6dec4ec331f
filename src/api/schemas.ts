import * as z from 'zod';
import { ALL_PHASES } from '../core/phases.js';
import { ReleaseSummarySchema, StartOfferSchema } from '../contract/schema.js';

/** Image references: `repo[:tag][@sha256:digest]`, optionally with a registry host. */
export const IMAGE_PATTERN =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).meta({ id: 'Error' });

export const StartReleaseSchema = z
  .strictObject({
    service: z.string({ error: 'must be the name of a configured service' }).min(1, { error: 'must be the name of a configured service' }).max(63),
    image: z
      .string({ error: 'must be an image reference such as "checkout-api:1.8.2" or "repo@sha256:<64 hex>"' })
      .max(512, { error: 'must be at most 512 characters' })
      .regex(IMAGE_PATTERN, {
        error:
          'must be an image reference such as "checkout-api:1.8.2" or "repo@sha256:<64 hex>" (lowercase repository, optional registry host, tag and digest)',
      }),
    expedite: z.boolean({ error: 'must be true or false' }).optional(),
    reason: z
      .string({ error: 'must be text' })
      .min(1, { error: 'must say why' })
      .max(1000, { error: 'must be at most 1000 characters' })
      // eslint-disable-next-line no-control-regex -- as in comments: no control characters or bidirectional overrides
      .refine((text) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]/.test(text), {
        error: 'must not contain control characters or bidirectional overrides',
      })
      .optional(),
  })
  .refine((body) => !body.expedite || body.reason !== undefined, { error: 'an expedited release needs a reason (it goes in the timeline)', path: ['reason'] })
  .meta({ id: 'StartRelease' });

export const ActionBodySchema = z
  .strictObject({
    comment: z
      .string({ error: 'must be text' })
      .max(1000, { error: 'must be at most 1000 characters' })
      // Control characters and bidirectional overrides would let a comment disguise itself in Slack and logs.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point here
      .refine((text) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]/.test(text), {
        error: 'must not contain control characters or bidirectional overrides',
      })
      .optional(),
  })
  .meta({ id: 'ActionBody' });

export const UndoBodySchema = ActionBodySchema.extend({
  /** A version the service served before (an image of one of its succeeded releases): undo goes back to it instead of the previous one. */
  to: z
    .string({ error: 'must be an image the service served before, such as "checkout-api:1.8.1"' })
    .min(1, { error: 'must be an image the service served before, such as "checkout-api:1.8.1"' })
    .max(512, { error: 'must be at most 512 characters' })
    .regex(IMAGE_PATTERN, { error: 'must be an image reference such as "checkout-api:1.8.1" or "repo@sha256:<64 hex>"' })
    .optional(),
  /** With `to`: expedited (bakes cut to one gate check, approvals skipped but one under four-eyes); `comment` says why. */
  expedite: z.boolean({ error: 'must be true or false' }).optional(),
})
  .refine((body) => !body.expedite || body.to !== undefined, {
    error: 'expedite applies to an undo with "to" (an undo without it is already quick: readiness check, then all traffic at once)',
    path: ['expedite'],
  })
  .refine((body) => !body.expedite || (body.comment ?? '').trim() !== '', {
    error: 'an expedited undo needs a reason (it goes in the timeline)',
    path: ['comment'],
  })
  .meta({ id: 'UndoBody' });

export const ListQuerySchema = z.object({
  service: z.string().max(63).optional(),
  phase: z.enum(ALL_PHASES as [string, ...string[]], { error: `must be one of ${ALL_PHASES.join(', ')}` }).optional(),
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int({ error: 'must be a whole number from 1 to 100' })
    .min(1, { error: 'must be a whole number from 1 to 100' })
    .max(100, { error: 'must be a whole number from 1 to 100' })
    .default(20),
  cursor: z.string().max(2048).optional(),
});

export const LogQuerySchema = z.object({
  version: z
    .enum(['new', 'stable', 'switchyard'], { error: 'must be "new", "stable" or "switchyard" (Switchyard’s own lines about the release)' })
    .default('new'),
  since: z.iso.datetime({ error: 'must be an ISO 8601 time such as 2026-01-01T00:00:00.000Z' }).optional(),
  grep: z.string().max(200, { error: 'must be at most 200 characters' }).optional(),
  limit: z.coerce.number({ error: 'must be a whole number from 1 to 5000' }).int().min(1).max(5000).default(500),
});

export const IdParamSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, { error: 'must be a release id such as "r-mf3k2a1b-9c4d"' }),
});

export const ActionParamSchema = IdParamSchema.extend({
  action: z.enum(['approve', 'reject', 'promote', 'rollback', 'pause', 'resume', 'retry'], {
    error: 'must be approve, reject, promote, rollback, pause, resume or retry',
  }),
});

export const ServiceParamSchema = z.object({
  service: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { error: 'must be the name of a configured service' }),
});

// The release's views are the wire contract's (src/contract/schema.ts): the API, the CLI and the dashboard read one shape.
export { ActorSchema, ReleaseSummarySchema, ReleaseViewSchema } from '../contract/schema.js';

export const ReleaseListSchema = z.object({ releases: z.array(ReleaseSummarySchema), cursor: z.string().optional() }).meta({ id: 'ReleaseList' });

export const ServiceSchema = z
  .object({
    name: z.string(),
    driver: z.string(),
    strategy: z.string(),
    plan: z.array(z.record(z.string(), z.unknown())),
    trigger: z.object({ repository: z.string(), tagPattern: z.string(), untagged: z.boolean() }).optional(),
    gates: z.array(z.string()),
    approvers: z.array(z.string()),
    fourEyes: z.boolean(),
    onActiveRelease: z.enum(['queue', 'reject']),
    activeRelease: z.string().optional(),
    /** What this caller may start on the service (nothing without credentials). */
    offer: StartOfferSchema,
    /** Where Switchyard runs the service (local mode): its stable replicas as they run now. */
    health: z
      .object({
        status: z.enum(['ok', 'degraded', 'down']),
        version: z.string().optional(),
        replicas: z.object({ wanted: z.number(), running: z.number() }),
        restarts: z.number(),
        /** Why it is down or degraded, when known (its data plane stopped, its stable version cannot start). */
        reason: z.string().optional(),
      })
      .optional(),
  })
  .meta({ id: 'Service' });

export const ServiceListSchema = z.object({ services: z.array(ServiceSchema) }).meta({ id: 'ServiceList' });
