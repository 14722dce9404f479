import type { FastifyInstance } from 'fastify';

/**
 * The console API's routes as the running app has them, so that generated tests (isolation,
 * validation) cover a new route without being told about it.
 */

export interface ConsoleRoute {
  method: string;
  /** Fastify form, e.g. `/api/v1/teams/:teamId/members/:userId`. */
  url: string;
  /** Path parameter names, in order. */
  params: string[];
  /** The route's OpenAPI operation (undefined for a route hidden from the document). */
  operation: OpenApiOperation | undefined;
}

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean | number;
  exclusiveMaximum?: boolean | number;
  nullable?: boolean;
  default?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  format?: string;
  minItems?: number;
  maxItems?: number;
}

export interface OpenApiParameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema: JsonSchema }> };
}

export const consolePrefix = '/api/v1';

/** Every (method, path) the app routes, read from `printRoutes` (the radix tree, one node a line). */
export function listRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const lines = app.printRoutes({ commonPrefix: false }).split('\n');
  const pathAtDepth: string[] = [];
  const routes: { method: string; url: string }[] = [];
  for (const line of lines) {
    const branch = line.search(/[└├]── /);
    if (branch < 0) continue;
    const depth = branch / 4;
    const label = line.slice(branch + 4).trim();
    const match = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(label);
    if (!match) throw new Error(`unreadable printRoutes line: ${line}`);
    const segment = match[1]!.startsWith('(empty root') ? '' : match[1]!;
    const path = (depth === 0 ? '' : pathAtDepth[depth - 1]!) + segment;
    pathAtDepth[depth] = path;
    pathAtDepth.length = depth + 1;
    for (const method of (match[2] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean))
      routes.push({ method, url: path });
  }
  return routes;
}

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** The console routes (HEAD, which Fastify adds for every GET, left out), with their OpenAPI operations. */
export async function listConsoleRoutes(app: FastifyInstance): Promise<ConsoleRoute[]> {
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, OpenApiOperation>>;
  };
  return listRoutes(app)
    .filter((route) => route.url.startsWith(`${consolePrefix}/`) && route.method !== 'HEAD')
    .map((route) => ({
      ...route,
      params: [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!),
      operation: document.paths[toOpenApiPath(route.url)]?.[route.method.toLowerCase()],
    }))
    .sort((a, b) => `${a.url} ${a.method}`.localeCompare(`${b.url} ${b.method}`));
}

export function bodySchemaOf(route: ConsoleRoute): JsonSchema | undefined {
  return route.operation?.requestBody?.content?.['application/json']?.schema;
}

export function queryParametersOf(route: ConsoleRoute): OpenApiParameter[] {
  return (route.operation?.parameters ?? []).filter((p) => p.in === 'query');
}

export function pathParametersOf(route: ConsoleRoute): OpenApiParameter[] {
  return (route.operation?.parameters ?? []).filter((p) => p.in === 'path');
}

/** Fills a route's `:params` from a lookup; throws naming the param it cannot fill. */
export function fillPath(route: ConsoleRoute, value: (param: string) => string | undefined): string {
  return route.url.replace(/:([A-Za-z0-9_]+)/g, (_whole, param: string) => {
    const filled = value(param);
    if (filled === undefined) throw new Error(`no value for :${param} of ${route.method} ${route.url}; teach the test this param`);
    return encodeURIComponent(filled);
  });
}

/** The non-null alternative of a nullable / anyOf schema. */
export function concreteSchema(schema: JsonSchema): JsonSchema {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return concreteSchema(alternatives.find((s) => s.type !== 'null') ?? alternatives[0]!);
  if (schema.allOf?.length === 1) return concreteSchema({ ...schema, allOf: undefined, ...schema.allOf[0] });
  return schema;
}

/**
 * A value that the schema accepts: required properties only, enums' first value, the shortest
 * allowed string of letters. `overrides` gives real values for fields that must name something.
 */
export function sampleFromSchema(schema: JsonSchema, overrides: Record<string, unknown> = {}): unknown {
  const concrete = concreteSchema(schema);
  if (concrete.enum) return concrete.enum.find((v) => v !== null) ?? concrete.enum[0];
  switch (concrete.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of concrete.required ?? []) {
        out[name] = name in overrides ? overrides[name] : sampleFromSchema(concrete.properties?.[name] ?? {}, overrides);
      }
      return out;
    }
    case 'array':
      return Array.from({ length: concrete.minItems ?? 0 }, () => sampleFromSchema(concrete.items ?? {}, overrides));
    case 'integer':
    case 'number': {
      const minimum = concrete.minimum ?? 1;
      return concrete.exclusiveMinimum === true
        ? minimum + 1
        : Math.max(minimum, typeof concrete.exclusiveMinimum === 'number' ? concrete.exclusiveMinimum + 1 : minimum);
    }
    case 'boolean':
      return true;
    case 'string':
      return sampleString(concrete);
    default:
      return 'sample';
  }
}

/**
 * The console routes of a freshly built app, for generating one test per route at collection time
 * (vitest collects synchronously, so test files `await` this at the top level).
 */
export async function discoverConsoleRoutes(): Promise<ConsoleRoute[]> {
  const { createTestContext } = await import('./test-context.ts');
  const context = await createTestContext('sqlite');
  try {
    return await listConsoleRoutes(context.app);
  } finally {
    await context.close();
  }
}

const formatSamples: Record<string, string> = {
  uri: 'https://example.com/sample',
  url: 'https://example.com/sample',
  email: 'sample@example.com',
  uuid: '00000000-0000-4000-8000-000000000000',
  'date-time': '2026-01-15T04:00:00.000Z',
  date: '2026-01-15',
};

/** The first of a few plain candidates that meets the string's length, pattern and format. */
function sampleString(schema: JsonSchema): string {
  if (schema.format && formatSamples[schema.format]) return formatSamples[schema.format]!;
  const minimum = schema.minLength ?? 1;
  const maximum = schema.maxLength ?? Math.max(minimum, 64);
  const pattern = schema.pattern ? new RegExp(schema.pattern) : undefined;
  for (const stem of ['sample', '1234567890', 'ABCDEF', 'abcdef', 'Sample123']) {
    const candidate = stem.padEnd(minimum, stem.slice(-1)).slice(0, maximum);
    if (!pattern || pattern.test(candidate)) return candidate;
  }
  return 'sample'.padEnd(minimum, 'x').slice(0, maximum);
}
