import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { bearerAuthenticator } from '../../src/api/auth.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { ALL_PHASES } from '../../src/core/phases.js';
import { serviceConfig, startHarness, type Harness } from '../support/harness.js';

/**
 * The OpenAPI document judged by independent tools: swagger-parser validates it against the
 * OpenAPI 3.1 schema and resolves every `$ref`; Ajv (JSON Schema 2020-12, the dialect of OpenAPI
 * 3.1) checks what the live API answers against the document's own schemas.
 */
type Doc = {
  paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness([serviceConfig('api', { approvals: { at: ['after-first-step'] } })]);
});
afterAll(async () => h.close());

describe('the OpenAPI document', () => {
  it('passes swagger-parser’s validation: OpenAPI 3.1 structure and every $ref resolved', async () => {
    const document = structuredClone(openApiDocument());
    const validated = (await SwaggerParser.validate(document as never)) as unknown as Doc;
    expect(validated.paths['/releases']?.['post']?.operationId).toBe('startRelease');
    // Nothing points at a $defs that is not there: every reference is a component.
    const refs = JSON.stringify(openApiDocument()).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) expect(r).toMatch(/"\$ref":"#\/components\/schemas\/[A-Za-z]+"/);
  });

  it('describes every route the API serves, each with an operation id, and the three ways to authenticate', () => {
    const doc = openApiDocument() as unknown as Doc & { components: { securitySchemes: Record<string, unknown> }; servers: unknown[] };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /services',
        'POST /services/{service}/undo',
        'GET /releases',
        'POST /releases',
        'GET /releases/{id}',
        'GET /releases/{id}/logs',
        'POST /releases/{id}/approve',
        'POST /releases/{id}/reject',
        'POST /releases/{id}/promote',
        'POST /releases/{id}/rollback',
        'POST /releases/{id}/pause',
        'POST /releases/{id}/resume',
        'POST /releases/{id}/retry',
        'GET /openapi.json',
        'GET /docs',
        'GET /releases/{id}/events',
        'GET /whoami',
        'GET /ui',
        'POST /slack/interactions',
      ].sort(),
    );
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['jwt', 'localToken', 'sigv4']);
    expect(doc.servers.length).toBeGreaterThan(0);
  });

  it('what the live API answers matches the document’s schemas', async () => {
    const doc = openApiDocument() as unknown as Doc;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'doc', components: doc.components } as never);
    const check = (schema: string, value: unknown) => {
      const validate = ajv.getSchema(`doc#/components/schemas/${schema}`);
      if (!validate) throw new Error(`no schema ${schema}`);
      expect(validate(value), `${schema}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    };
    const app = createApp({ releases: h.releases, store: h.store, services: h.services, clock: h.clock, authenticate: bearerAuthenticator('t') });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(path, {
        method,
        headers: { authorization: 'Bearer t', 'content-type': 'application/json', 'x-switchyard-actor': 'bob' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const started = await call('POST', '/releases', { service: 'api', image: 'api:2' });
    expect(started.status).toBe(201);
    check('Release', started.body);
    const id = (started.body as { id: string }).id;
    await h.until(id, (r) => r.phase === 'awaiting_approval');
    const waiting = (await call('GET', `/releases/${id}`)).body as {
      phase: string;
      final: boolean;
      decisions: string[];
      countdown?: { kind: string; endsAt: string };
    };
    check('Release', waiting);
    // The core's answers travel with the view: the buttons bob may press, and when the approval runs out.
    expect(waiting).toMatchObject({ phase: 'awaiting_approval', final: false, decisions: ['approve', 'reject', 'promote', 'rollback'] });
    expect(waiting.countdown?.kind).toBe('approval');
    check('ReleaseList', (await call('GET', '/releases?limit=5')).body);
    check('ServiceList', (await call('GET', '/services')).body);
    check('Release', (await call('POST', `/releases/${id}/approve`, { comment: 'ok' })).body);
    const done = await h.finish(id);
    const finished = (await call('GET', `/releases/${done.id}`)).body as {
      final: boolean;
      decisions: string[];
      followUps: string[];
      trafficSeries: { candidate: number }[];
    };
    check('Release', finished);
    expect(finished).toMatchObject({ final: true, decisions: [], followUps: ['undo'] });
    expect(finished.trafficSeries.at(-1)?.candidate).toBe(100);
    check('Error', (await call('GET', '/releases/r-missing')).body);
    check('Error', (await call('POST', '/releases', { service: 'api' })).body);
    const undo = await call('POST', '/services/api/undo');
    expect(undo.status).toBe(201);
    check('Release', undo.body);
  });

  it('sends the phase as an enum of the core’s phases, not any string', () => {
    const doc = openApiDocument() as unknown as Doc;
    expect((doc.components.schemas['Phase'] as { enum: string[] }).enum).toEqual([...ALL_PHASES]);
    expect(JSON.stringify(doc.components.schemas['ReleaseSummary'])).toContain('"phase":{"$ref":"#/components/schemas/Phase"}');
  });

  it('is browsable: /docs lists every operation, with no external requests', async () => {
    const app = createApp({ releases: h.releases, store: h.store, services: h.services, clock: h.clock, authenticate: bearerAuthenticator('t') });
    const res = await app.request('/docs');
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<code>POST /releases/{id}/rollback</code>');
    expect(html).toContain('operationId <code>undoService</code>');
    expect(html).not.toMatch(/(src|href)="https?:/);
  });
});
