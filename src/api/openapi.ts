import * as z from 'zod';
import { ActionBodySchema, ErrorSchema, ListQuerySchema, ReleaseListSchema, ReleaseViewSchema, ServiceSchema, StartReleaseSchema } from './schemas.js';

type Json = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const body = (id: string, description: string) => ({ description, content: { 'application/json': { schema: ref(id) } } });
const errors = {
  400: body('Error', 'The request is invalid: the message names the field and the reason'),
  401: body('Error', 'Missing or wrong credentials'),
  403: body('Error', 'The caller may not take this action'),
  404: body('Error', 'No such release'),
  409: body('Error', 'The action is not valid in the release’s current phase, or the service is busy'),
};

function queryParameters(schema: z.ZodObject): Json[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: s }));
}

/** The OpenAPI 3.1 document of the API, generated from the same zod schemas that validate requests. */
export function openApiDocument(): Json {
  const schemas: Record<string, z.ZodType> = {
    Error: ErrorSchema,
    StartRelease: StartReleaseSchema,
    ActionBody: ActionBodySchema,
    Release: ReleaseViewSchema,
    ReleaseList: ReleaseListSchema,
    Service: ServiceSchema,
  };
  const components = Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => [
      id,
      z.toJSONSchema(s, { io: id === 'StartRelease' || id === 'ActionBody' ? 'input' : 'output', unrepresentable: 'any' }),
    ]),
  );
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,80}$' } };
  return {
    openapi: '3.1.0',
    info: { title: 'Switchyard API', version: '1.0.0', description: 'Start, inspect and steer progressive releases. Mutating routes need credentials.' },
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Local mode; in AWS the API Gateway authorizer (IAM or JWT) applies' } },
    },
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'Switchyard is up' } } } },
      '/services': {
        get: {
          summary: 'Configured services and their plans',
          responses: {
            200: {
              description: 'Services',
              content: { 'application/json': { schema: { type: 'object', properties: { services: { type: 'array', items: ref('Service') } } } } },
            },
          },
        },
      },
      '/releases': {
        get: {
          summary: 'Releases, newest first',
          parameters: queryParameters(ListQuerySchema),
          responses: { 200: body('ReleaseList', 'One page of releases'), 400: errors[400] },
        },
        post: {
          summary: 'Start a release',
          security: [{ bearer: [] }],
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', maxLength: 128 },
              description: 'Repeat a request with the same key to get the same release',
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('StartRelease') } } },
          responses: {
            201: body('Release', 'Created (phase preparing), or queued behind the active release (phase queued)'),
            200: body('Release', 'A release already exists for this Idempotency-Key'),
            ...errors,
          },
        },
      },
      '/releases/{id}': {
        get: { summary: 'One release in full', parameters: [idParam], responses: { 200: body('Release', 'The release'), 400: errors[400], 404: errors[404] } },
      },
      '/releases/{id}/{action}': {
        post: {
          summary: 'Approve, reject, promote or roll back a release',
          security: [{ bearer: [] }],
          parameters: [idParam, { name: 'action', in: 'path', required: true, schema: { type: 'string', enum: ['approve', 'reject', 'promote', 'rollback'] } }],
          requestBody: { required: false, content: { 'application/json': { schema: ref('ActionBody') } } },
          responses: { 200: body('Release', 'Applied; the release as it is now'), ...errors },
        },
      },
    },
  };
}
