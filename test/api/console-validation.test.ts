import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleClient } from '../helpers/console-client.ts';
import {
  bodySchemaOf,
  concreteSchema,
  consolePrefix,
  discoverConsoleRoutes,
  fillPath,
  pathParametersOf,
  queryParametersOf,
  sampleFromSchema,
  type ConsoleRoute,
  type JsonSchema,
} from '../helpers/console-routes.ts';
import { actorOf, createPlatform, createTenant, signIn, snapshotDatabase, type Tenant } from '../helpers/factories.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Malformed input to every console route, generated from the routes' own schemas (the OpenAPI
 * document): each case breaks one field and must get 400 InvalidParameterValue naming that field,
 * with the database unchanged. Ids in the path are real, so a request that slipped past validation
 * would change something.
 */

interface BadInput {
  name: string;
  field: string;
  path?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

/** Values of the wrong JSON type for a schema. */
function wrongTypeValue(schema: JsonSchema): unknown {
  switch (schema.type) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not a number';
    case 'boolean':
      return 'not a boolean';
    case 'array':
      return 'not an array';
    case 'object':
      return 'not an object';
    default:
      return undefined;
  }
}

/** One-field breakages that the schema must refuse. */
function brokenValues(raw: JsonSchema, location: 'body' | 'query' | 'path'): { name: string; value: unknown }[] {
  const schema = concreteSchema(raw);
  const out: { name: string; value: unknown }[] = [];
  // A query string or path carries only text: a wrong JSON type can only be sent in a body.
  if (location === 'body') {
    const wrong = wrongTypeValue(schema);
    if (wrong !== undefined) out.push({ name: `wrong type (${typeof wrong})`, value: wrong });
  }
  if (schema.enum) out.push({ name: 'unknown enum value', value: 'not-one-of-the-choices' });
  if (schema.type === 'string' && !schema.enum) {
    if (schema.maxLength !== undefined)
      out.push({ name: `over-long (${schema.maxLength + 1} characters)`, value: 'x'.repeat(schema.maxLength + 1) });
    if ((schema.minLength ?? 0) > 0 && location !== 'path') out.push({ name: 'empty', value: '' });
    if (schema.pattern) out.push({ name: 'against its pattern', value: 'no spaces or ! allowed' });
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    if (location !== 'body') out.push({ name: 'not a number', value: 'abc' });
    if (schema.type === 'integer') out.push({ name: 'not an integer', value: location === 'body' ? 1.5 : '1.5' });
    if (schema.minimum !== undefined) {
      const below = schema.exclusiveMinimum === true ? schema.minimum : schema.minimum - 1;
      out.push({ name: `below its minimum (${below})`, value: location === 'body' ? below : String(below) });
    }
    if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER) {
      const above = schema.exclusiveMaximum === true ? schema.maximum : schema.maximum + 1;
      out.push({ name: `above its maximum (${above})`, value: location === 'body' ? above : String(above) });
    }
  }
  return out;
}

function casesFor(route: ConsoleRoute): BadInput[] {
  const cases: BadInput[] = [];
  for (const parameter of pathParametersOf(route)) {
    for (const broken of brokenValues(parameter.schema, 'path')) {
      cases.push({
        name: `path :${parameter.name} ${broken.name}`,
        field: parameter.name,
        path: { [parameter.name]: String(broken.value) },
      });
    }
  }
  for (const parameter of queryParametersOf(route)) {
    for (const broken of brokenValues(parameter.schema, 'query')) {
      cases.push({
        name: `query ${parameter.name} ${broken.name}`,
        field: parameter.name,
        query: { [parameter.name]: String(broken.value) },
      });
    }
  }
  const bodySchema = bodySchemaOf(route);
  if (bodySchema) {
    const schema = concreteSchema(bodySchema);
    const valid = sampleFromSchema(schema) as Record<string, unknown>;
    cases.push({ name: 'body an array, not an object', field: 'body', body: [] });
    for (const [property, propertySchema] of Object.entries(schema.properties ?? {})) {
      if (schema.required?.includes(property)) {
        const { [property]: _omitted, ...rest } = valid;
        cases.push({ name: `body.${property} missing`, field: property, body: rest });
      }
      for (const broken of brokenValues(propertySchema, 'body')) {
        cases.push({ name: `body.${property} ${broken.name}`, field: property, body: { ...valid, [property]: broken.value } });
      }
    }
  }
  return cases;
}

const routes = await discoverConsoleRoutes();

describe('the generated bad-input cases', () => {
  it('cover every console route that takes input', () => {
    const withInput = routes.filter((r) => r.params.length > 0 || bodySchemaOf(r) || queryParametersOf(r).length > 0);
    expect(withInput.length).toBeGreaterThan(10);
    for (const route of withInput) expect(casesFor(route).length, `${route.method} ${route.url}`).toBeGreaterThan(0);
  });
});

describeOnEachDatabase('console input validation', (kind) => {
  let context: TestContext;
  let tenant: Tenant;
  let superAdmin: ConsoleClient;
  let realIds: Record<string, string>;

  beforeAll(async () => {
    context = await createTestContext(kind);
    const platform = await createPlatform(context);
    tenant = await createTenant(context);
    superAdmin = await signIn(context, platform.superAdmin);
    const key = await context.services.apiKeys.create(await actorOf(context, platform.superAdmin), 'validation');
    realIds = {
      teamId: tenant.miniProgramTeamId,
      userId: tenant.members['mp:developer'].id,
      applicationId: tenant.applicationId,
      mnpId: tenant.mnpId,
      keyId: key.id,
    };
  });
  afterAll(() => context?.close());

  for (const route of routes) {
    const cases = casesFor(route);
    if (cases.length === 0 && !bodySchemaOf(route)) continue;
    describe(`${route.method} ${route.url}`, () => {
      for (const bad of cases) {
        it(`${bad.name} → 400 InvalidParameterValue naming ${bad.field}`, async () => {
          const path = fillPath(route, (param) => bad.path?.[param] ?? realIds[param] ?? `unknown-${param}`);
          const query = bad.query ? `?${new URLSearchParams(bad.query).toString()}` : '';
          const before = await snapshotDatabase(context.database.db);
          const response = await superAdmin.request(
            route.method as 'POST',
            `${path.slice(consolePrefix.length)}${query}`,
            bad.body ?? (bodySchemaOf(route) ? sampleFromSchema(bodySchemaOf(route)!) : undefined),
          );
          expect(response.statusCode, JSON.stringify(response.body)).toBe(400);
          expect(response.body.error.code).toBe('InvalidParameterValue');
          expect(response.body.error.details.field).toBe(bad.field);
          expect(response.body.error.message.startsWith(`${bad.field}: `), response.body.error.message).toBe(true);
          expect(await snapshotDatabase(context.database.db)).toEqual(before);
        });
      }

      if (bodySchemaOf(route)) {
        it('malformed JSON → 400 InvalidParameter, nothing changes', async () => {
          const before = await snapshotDatabase(context.database.db);
          const response = await context.app.inject({
            method: route.method as 'POST',
            url: fillPath(route, (param) => realIds[param] ?? `unknown-${param}`),
            headers: { cookie: superAdmin.cookieHeader, 'x-csrf-token': superAdmin.csrfToken, 'content-type': 'application/json' },
            payload: '{"name": "unterminated',
          });
          expect(response.statusCode).toBe(400);
          expect(response.json().error).toMatchObject({ code: 'InvalidParameter', message: expect.stringMatching(/JSON/) });
          expect(await snapshotDatabase(context.database.db)).toEqual(before);
        });

        it('a body over the size limit → 4xx with a clear message, nothing changes', async () => {
          const before = await snapshotDatabase(context.database.db);
          const response = await superAdmin.request(
            route.method as 'POST',
            fillPath(route, (param) => realIds[param] ?? `unknown-${param}`).slice(consolePrefix.length),
            {
              padding: 'x'.repeat(1024 * 1024 + 1),
            },
          );
          expect(response.statusCode).toBeGreaterThanOrEqual(400);
          expect(response.statusCode).toBeLessThan(500);
          expect(response.body.error.message).toMatch(/too large/i);
          expect(await snapshotDatabase(context.database.db)).toEqual(before);
        });
      }
    });
  }
});
