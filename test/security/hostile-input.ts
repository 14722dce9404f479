import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect } from 'vitest';
import { signChannelMessage } from '../../src/channels/protocol.ts';
import { tc3Date, tc3Signature } from '../../src/crypto/tc3.ts';
import { signV3Request } from '../../src/crypto/wechatpay-v3.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { concreteSchema, listRoutes, sampleFromSchema, type JsonSchema, type OpenApiOperation } from '../helpers/console-routes.ts';
import { actorOf, createTenant, snapshotDatabase, type Tenant } from '../helpers/factories.ts';
import { payInSandbox, readyMerchant, V3InjectClient, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { orderRow } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import type { DatabaseKind } from '../../src/config/config.ts';

/**
 * Shared machinery of the hostile-input suites (test/security/hostile-*.test.ts): the route list read
 * from the app, each route's surface, generators of malformed requests, the per-surface answer checks,
 * and a database snapshot that ignores only what a refused request may legitimately write.
 *
 * Bounded for CI by default (SQLite only). Full run (ten times the runs, SQLite and PostgreSQL):
 *   PAYTHROUGH_FULL_RELIABILITY=1 npx vitest run test/security/hostile-*.test.ts
 * The bounded run on PostgreSQL too: PAYTHROUGH_HOSTILE_POSTGRES=1.
 * Replay a failure: PAYTHROUGH_HOSTILE_SEED=<seed printed by the suite> (and the path fast-check prints).
 * Every refusal is timed (SPEC §7, "Timing every refusal" below): PAYTHROUGH_HOSTILE_CPU_BUDGET_MS sets the
 * p99 budget (default 5), PAYTHROUGH_HOSTILE_SLOWEST=1 prints each surface's slowest refusals.
 */

export const fullRun = process.env.PAYTHROUGH_FULL_RELIABILITY === '1';
export const hostileSeed = Number(process.env.PAYTHROUGH_HOSTILE_SEED ?? 20_260_115);
/** Runs per route and authentication variant. */
export const runsPerRoute = (base: number) => (fullRun ? base * 10 : base);

export function propertyParameters(base: number, path?: string): fc.Parameters<unknown> {
  return { seed: hostileSeed, numRuns: runsPerRoute(base), endOnFailure: true, ...(path ? { path } : {}) };
}

/**
 * SQLite always; PostgreSQL too in the full run (or with PAYTHROUGH_HOSTILE_POSTGRES=1), to keep the CI
 * configuration near a minute on a shared machine.
 */
export function describeHostile(name: string, suite: (kind: DatabaseKind) => void) {
  if (fullRun || process.env.PAYTHROUGH_HOSTILE_POSTGRES === '1') return describeOnEachDatabase(name, suite);
  describe(`${name} [sqlite]`, () => suite('sqlite'));
  const skippedTitle =
    `${name} [postgres] — SKIPPED in the bounded run: ` + 'PAYTHROUGH_FULL_RELIABILITY=1 or PAYTHROUGH_HOSTILE_POSTGRES=1 runs it';
  describe.skip(skippedTitle, () => suite('postgres'));
}

export type Surface =
  'gateway' | 'management' | 'console' | 'channel-callback' | 'sandbox' | 'host' | 'xpay' | 'bridge' | 'demo' | 'metrics' | 'static';

export interface AppRoute {
  method: string;
  url: string;
  surface: Surface | undefined;
  operation: OpenApiOperation | undefined;
}

/** Read-only pages, documents and assets: hostile queries and headers only. */
const staticRoutes = [
  /^\/$/,
  /^\/docs(\/.*)?$/,
  /^\/openapi\.json$/,
  /^\/healthz$/,
  /^\/assets\/[^/]+$/,
  /^\/console\*?$/,
  /^\/\*$/,
  /^\/index\.html$/,
  /^\/sandbox\/cashier\/(assets\/.+|:token)$/,
  /^\/bridge\/\*$/,
];

/** Which surface answers a route (undefined: nobody taught this suite the route, and the suite fails). */
export function surfaceOf(method: string, url: string): Surface | undefined {
  if (url.startsWith('/v3/')) return 'gateway';
  if (url === '/' && method === 'POST') return 'management';
  if (url.startsWith('/api/v1/')) return 'console';
  if (url.startsWith('/channel/v1/')) return 'channel-callback';
  if (url.startsWith('/sandbox/v1/')) return 'sandbox';
  if (url.startsWith('/superapp/pay/')) return 'host';
  if (url.startsWith('/xpay/')) return 'xpay';
  if (url.startsWith('/bridge/v1/')) return 'bridge';
  if (url === '/demo' || url.startsWith('/demo/')) return 'demo';
  if (url === '/metrics') return 'metrics';
  if ((method === 'GET' || method === 'HEAD') && staticRoutes.some((pattern) => pattern.test(url))) return 'static';
  return undefined;
}

/** Every route of the app as production builds it (HEAD left out: Fastify answers it from the GET). */
export async function listAppRoutes(app: FastifyInstance): Promise<AppRoute[]> {
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, OpenApiOperation>>;
  };
  return listRoutes(app)
    .filter((route) => route.method !== 'HEAD')
    .map((route) => ({
      ...route,
      surface: surfaceOf(route.method, route.url),
      operation: document.paths[route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[route.method.toLowerCase()],
    }));
}

/** Every route of an app built over a throwaway SQLite database: the suites read their routes before they run. */
export async function discoverAppRoutes(): Promise<AppRoute[]> {
  const discovery = await createTestContext('sqlite');
  try {
    return await listAppRoutes(discovery.app);
  } finally {
    await discovery.close();
  }
}

export function bodySchema(route: AppRoute): JsonSchema | undefined {
  return route.operation?.requestBody?.content?.['application/json']?.schema;
}

// ---------------------------------------------------------------------------------------------
// Hostile values

const sqlInjection = [
  "' OR '1'='1",
  '1; DROP TABLE orders; --',
  '" OR ""="',
  "1' UNION SELECT secret_key_sealed FROM api_keys --",
  "%' --",
  "\\'; select pg_sleep(1); --",
  '1 OR 1=1',
];
const pathTraversal = [
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '....//....//etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '/etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '.',
  '..',
];
const numericText = [
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e309',
  '0x10',
  '1_000',
  '01',
  '+1',
  ' 1',
  '9007199254740993',
  '-1',
  '0.1',
  '1e2',
];
const oddText = [
  '\u0000',
  'a\u0000b',
  '\u202eRTL',
  '\u200b',
  '\uFEFF',
  '\uD800',
  '😀',
  'Ω≈ç√',
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '%s%n%x',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '\r\nX-Injected: 1',
  ' ',
  '',
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(...sqlInjection, ...pathTraversal, ...numericText, ...oddText),
  fc.integer({ min: 257, max: 70_000 }).map((length) => 'x'.repeat(length)),
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    -0,
    0.5,
    -0.01,
    1.005,
    1e308,
    -1e308,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 63,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    1e21,
    5e-324,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, weighted towards the troublesome ones. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(hostileString, { maxLength: 3 }),
);

/** Raw bodies sent as application/json that are not the JSON a route wants. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    '[',
    'null',
    'true',
    '0',
    '"text"',
    '{"a":1}garbage',
    '\u0000{}',
    '\uFEFF{}',
    '{"a":1,}',
    "{'a':1}",
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":1e999999}',
    '{"a":-0}',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
  ),
  fc.integer({ min: 1_000, max: 200_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1_000, max: 100_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.integer({ min: 1_000, max: 50_000 }).map((count) => `{${Array.from({ length: count }, (_, i) => `"k${i}":${i}`).join(',')}}`),
  fc.constantFrom(
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"__proto__":null}',
    '{"a":1,"a":2}',
  ),
);

// The entities lol1 … lol9 of the billion laughs, each ten of the one before.
const laughEntities = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('');

/** XML that must never be expanded or fetched (XXE, billion laughs) or that is not well formed. */
export const hostileXml: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><prepay_id>&xxe;</prepay_id></xml>',
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "http://169.254.169.254/latest/meta-data/">]>' +
      '<xml><prepay_id>&xxe;</prepay_id></xml>',
    `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${laughEntities}]><xml><prepay_id>&lol9;</prepay_id></xml>`,
    '<xml><prepay_id>a</prepay_id>',
    '<xml><prepay_id>a</xml>',
    '<xml><prepay_id attr="1">a</prepay_id></xml>',
    '<xml><a><b>nested</b></a></xml>',
    '<xml><prepay_id>a</prepay_id><prepay_id>b</prepay_id></xml>',
    '<xml><prepay_id>&amp</prepay_id></xml>',
    '<xml><prepay_id>&#0;</prepay_id></xml>',
    '<xml><prepay_id>&#xD800;</prepay_id></xml>',
    '<xml><prepay_id>&#x110000;</prepay_id></xml>',
    '<xml><![CDATA[',
    '<xml><prepay_id><![CDATA[x</prepay_id></xml>',
    '<!-- c --><xml></xml>',
    '<xml></xml>trailing',
    '<xml><__proto__>x</__proto__><constructor>y</constructor></xml>',
    '<',
    '<xml',
  ),
  fc.integer({ min: 65, max: 2_000 }).map((count) => `<xml>${Array.from({ length: count }, (_, i) => `<f${i}>v</f${i}>`).join('')}</xml>`),
  fc.integer({ min: 1_000, max: 20_000 }).map((depth) => '<a>'.repeat(depth) + '</a>'.repeat(depth)),
  fc
    .dictionary(
      fc.constantFrom(
        'prepay_id',
        'appid',
        'total_fee',
        'out_trade_no',
        'mchid',
        'out_refund_no',
        'refund_status',
        '__proto__',
        'constructor',
      ),
      hostileString,
      { maxKeys: 5 },
    )
    .map(
      (fields) =>
        `<xml>${Object.entries(fields)
          .map(([name, value]) => `<${name}>${value}</${name}>`)
          .join('')}</xml>`,
    ),
);

export const hostileContentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  'text/plain',
  'application/xml',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/octet-stream',
  'application/json, text/plain',
  'application/vnd.api+json',
  'invalid',
  '',
);

/** Header values as an attacker sends them: garbage, injection attempts and oversized values. */
export const hostileHeaderValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }).map((value) => value.replace(/[^\t\x20-\x7e]/g, '?')),
  fc.constantFrom(...sqlInjection, ...pathTraversal, ...numericText, 'Bearer x', 'Basic YWRtaW46YWRtaW4=', 'null'),
  fc.integer({ min: 8_000, max: 64_000 }).map((length) => 'A'.repeat(length)),
);

const base64Garbage = fc.oneof(
  fc.base64String({ maxLength: 400 }),
  fc.string({ maxLength: 80 }).map((value) => Buffer.from(value).toString('base64')),
  fc.constantFrom('', '====', '!!!!', 'a'.repeat(10_000)),
);

/** Identifiers: random, injection-ish, traversal, and real ones of this or another tenant. */
export function hostileId(realIds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.integer().map(String)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        ...sqlInjection,
        ...pathTraversal,
        ...numericText.filter(Boolean),
        '%',
        '%25',
        '%2F',
        'a/b',
        'a?b',
        'a#b',
        'x'.repeat(300),
      ),
    },
    { weight: 2, arbitrary: realIds.length > 0 ? fc.constantFrom(...realIds) : fc.constant('none') },
  );
}

/** A path segment that survives URL assembly (what a client would send for that id). */
export const encodeSegment = (value: string) => (value === '' ? '%20' : encodeURIComponent(value));

/** Fills `:params` of a route's URL from a generated map. */
export function fillUrl(url: string, values: Record<string, string>): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_whole, name: string) => encodeSegment(values[name] ?? 'x')).replace(/\*$/, values['*'] ?? '');
}

export const paramNames = (url: string) => [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]!);

/** A query string of hostile names and values. */
export const hostileQuery: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('mchid', 'limit', 'offset', 'cursor', 'bill_date', 'token', '__proto__', 'constructor[prototype][x]', 'a[]'),
        fc.string({ maxLength: 10 }),
      ),
      hostileString.map((value) => value.slice(0, 2_000)),
    ),
    { maxLength: 4 },
  )
  .map((pairs) =>
    pairs.length === 0 ? '' : `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`,
  );

/**
 * A body derived from a valid one: one field (or a nested one) replaced by a hostile value, a field
 * removed, unknown and prototype keys added, or the whole body swapped for another JSON value.
 */
export function mutatedBody(valid: unknown): fc.Arbitrary<unknown> {
  const paths = fieldPaths(valid);
  const replaceOne =
    paths.length === 0
      ? hostileValue
      : fc.tuple(fc.constantFrom(...paths), hostileValue).map(([path, value]) => setPath(structuredClone(valid), path, value));
  const dropOne =
    paths.length === 0 ? fc.constant(valid) : fc.constantFrom(...paths).map((path) => setPath(structuredClone(valid), path, undefined));
  const extraKeys = fc
    .dictionary(
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'isAdmin', 'role')),
      hostileValue,
      { maxKeys: 3 },
    )
    .map((extra) => (typeof valid === 'object' && valid !== null && !Array.isArray(valid) ? { ...(valid as object), ...extra } : extra));
  return fc.oneof(
    { weight: 4, arbitrary: replaceOne },
    { weight: 1, arbitrary: dropOne },
    { weight: 1, arbitrary: extraKeys },
    { weight: 1, arbitrary: hostileValue },
  );
}

function fieldPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [];
  const out: string[][] = [];
  for (const [key, child] of Object.entries(value)) {
    out.push([...prefix, key]);
    out.push(...fieldPaths(child, [...prefix, key]));
  }
  return out;
}

function setPath(target: unknown, path: string[], value: unknown): unknown {
  let node = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return target;
}

/** A JSON text with prototype-pollution keys spliced into an object body (JSON.stringify cannot write them). */
export function withPrototypeKeys(json: string): string {
  return json.startsWith('{') && json !== '{}'
    ? `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${json.slice(1)}`
    : json;
}

export interface HostileBody {
  kind: string;
  payload: string;
  contentType: string | undefined;
}

/** Every way a JSON route's body goes wrong, from a valid sample. */
export function hostileJsonBody(valid: unknown): fc.Arbitrary<HostileBody> {
  const validText = JSON.stringify(valid ?? {});
  return fc.oneof(
    {
      weight: 5,
      arbitrary: mutatedBody(valid).map((body) => ({
        kind: 'mutated JSON',
        payload: JSON.stringify(body) ?? '',
        contentType: 'application/json',
      })),
    },
    {
      weight: 2,
      arbitrary: mutatedBody(valid).map((body) => ({
        kind: 'prototype keys',
        payload: withPrototypeKeys(JSON.stringify(body) ?? '{}'),
        contentType: 'application/json',
      })),
    },
    {
      weight: 3,
      arbitrary: hostileJsonText.map((payload) => ({ kind: 'not the JSON asked for', payload, contentType: 'application/json' })),
    },
    { weight: 2, arbitrary: hostileContentType.map((contentType) => ({ kind: 'wrong content type', payload: validText, contentType })) },
    { weight: 1, arbitrary: hostileXml.map((payload) => ({ kind: 'XML', payload, contentType: 'application/xml' })) },
  );
}

// ---------------------------------------------------------------------------------------------
// Requests and answers

export interface HostileRequest {
  method: string;
  url: string;
  /** A list sends the header once per value (repeated headers). */
  headers: Record<string, string | string[]>;
  payload?: string | Buffer;
}

export async function send(app: FastifyInstance, request: HostileRequest): Promise<LightMyRequestResponse> {
  const headers = { ...request.headers };
  for (const [name, value] of Object.entries(headers)) if (value === undefined) delete headers[name];
  return app.inject({
    method: request.method as InjectOptions['method'],
    url: request.url,
    headers,
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
}

/** What must never reach a caller: stack frames, source paths, driver and SQL messages. */
const leakPatterns = [
  /\n\s+at [^\n]+[(:]\d+/,
  /node_modules/,
  /\/work\/|\/home\/|\/tmp\//,
  /\bsrc\/[a-z-]+\/[a-z-]+\.ts/,
  /SQLITE_[A-Z]/,
  /syntax error at or near/i,
  /\bKysely\b/,
  /\bpg-protocol\b/,
  /TypeError|ReferenceError|RangeError|SyntaxError: Unexpected/,
  /Cannot read propert/,
];

export function expectNoLeak(response: LightMyRequestResponse, what: string) {
  const body = response.body;
  for (const pattern of leakPatterns)
    expect(pattern.test(body), `${what}: the answer leaks ${pattern} — ${body.slice(0, 300)}`).toBe(false);
}

const isJson = (response: LightMyRequestResponse) => String(response.headers['content-type'] ?? '').startsWith('application/json');

function parsed(response: LightMyRequestResponse, what: string): Record<string, unknown> {
  expect(isJson(response), `${what}: content-type ${String(response.headers['content-type'])}, body ${response.body.slice(0, 200)}`).toBe(
    true,
  );
  return JSON.parse(response.body) as Record<string, unknown>;
}

/** True when the answer refuses the request; fails the test when the answer is not in the surface's format. */
export function checkAnswer(surface: Surface, response: LightMyRequestResponse, what: string): { refused: boolean } {
  expect(response.statusCode, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`).toBeLessThan(500);
  const status = response.statusCode;
  const refused = status >= 400;
  // Pages and scripts served as they are may contain any text; answers built by the app may not.
  if (surface !== 'static' || refused) expectNoLeak(response, what);
  if (refused) expect(String(response.headers['content-type'] ?? ''), `${what}: an error must not be an HTML page`).not.toMatch(/html/);
  switch (surface) {
    case 'gateway': {
      // Every gateway answer is signed, errors included (clients verify before reading the code).
      expect(response.headers['wechatpay-signature'], `${what}: unsigned gateway answer`).toBeTruthy();
      if (refused) expect(parsed(response, what), what).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      return { refused };
    }
    case 'management': {
      const body = parsed(response, what);
      if (status === 200) {
        const envelope = body as { Response?: { Error?: { Code: string; Message: string }; RequestId?: string } };
        expect(envelope.Response?.RequestId, `${what}: ${response.body.slice(0, 200)}`).toEqual(expect.any(String));
        if (envelope.Response?.Error)
          expect(envelope.Response.Error, what).toMatchObject({ Code: expect.any(String), Message: expect.any(String) });
        return { refused: !!envelope.Response?.Error };
      }
      // Only a request that is not an API call at all (no X-TC-Action) gets another status.
      expect(body, what).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      return { refused };
    }
    case 'console':
      if (refused) expect(parsed(response, what), what).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      return { refused };
    case 'host': {
      expect(status, what).toBe(200);
      expect(String(response.headers['content-type']), what).toMatch(/^application\/xml/);
      const code = /^<xml><return_code>(SUCCESS|FAIL)<\/return_code><return_msg>[^<]*<\/return_msg>/.exec(response.body);
      expect(code, `${what}: ${response.body.slice(0, 200)}`).not.toBeNull();
      return { refused: code![1] === 'FAIL' };
    }
    case 'xpay': {
      // SPEC §8.5: always HTTP 200 with errcode (0 ok) and errmsg.
      expect(status, what).toBe(200);
      const body = parsed(response, what);
      expect(body, what).toMatchObject({ errcode: expect.any(Number), errmsg: expect.any(String) });
      return { refused: body.errcode !== 0 };
    }
    case 'channel-callback':
      // Paythrough's answers to a channel use the protocol's own codes (docs/channel-protocol.md#errors).
      if (refused)
        expect(parsed(response, what), what).toMatchObject({
          code: expect.stringMatching(/^(PARAM_ERROR|SIGN_ERROR|RESOURCE_NOT_EXISTS|FREQUENCY_LIMITED|SYSTEM_ERROR)$/),
          message: expect.any(String),
        });
      return { refused };
    case 'sandbox':
      if (refused) expect(parsed(response, what), what).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      return { refused };
    case 'bridge': {
      if (status === 204) return { refused: false };
      const body = parsed(response, what);
      if (refused || body.result === 'fail')
        expect(body, what).toMatchObject({ result: 'fail', code: expect.any(String), reason: expect.any(String) });
      return { refused: refused || body.result === 'fail' };
    }
    case 'demo':
      if (refused) expect(parsed(response, what), what).toMatchObject({ message: expect.any(String) });
      return { refused };
    case 'metrics':
      // Prometheus text for the right bearer token; a refusal (404 while off, 401) is the console's error shape.
      if (refused) expect(parsed(response, what), what).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      else expect(String(response.headers['content-type']), what).toMatch(/^text\/plain; version=0\.0\.4/);
      return { refused };
    case 'static':
      return { refused };
  }
}

// ---------------------------------------------------------------------------------------------
// Timing every refusal (SPEC §7 "Bounded work per request")

/**
 * SPEC §7: a refused request costs at most 5 ms of server CPU (p99). The suites drive the app in process
 * (`app.inject`), so a request's cost is the process CPU time (user + system, all threads: argon2, crypto
 * and GC included) from the inject to its answer; PostgreSQL's own CPU is not in it. A machine slower than
 * the one the budget was set on may widen it: PAYTHROUGH_HOSTILE_CPU_BUDGET_MS=<ms> (the default is the
 * SPEC's 5; CI sets 10 on its loaded shared machine, see .ci/run).
 */
export const specRefusalBudgetMs = 5;
export const refusalBudgetMs = Number(process.env.PAYTHROUGH_HOSTILE_CPU_BUDGET_MS ?? specRefusalBudgetMs);
/**
 * The budget per database: SQLite (the embedded default) is held to the SPEC's 5 ms; PostgreSQL's signed paths
 * spend their driver round trips in this process, so PAYTHROUGH_HOSTILE_POSTGRES_CPU_BUDGET_MS may widen it alone.
 */
export const refusalBudgetFor = (kind: DatabaseKind) =>
  kind === 'postgres' ? Number(process.env.PAYTHROUGH_HOSTILE_POSTGRES_CPU_BUDGET_MS ?? refusalBudgetMs) : refusalBudgetMs;
/**
 * A refusal measured over the budget (or the SPEC's 5 ms) is sent again up to this many times and its cheapest run counts, so
 * a collector pause or another process's burst landing on one request does not fail the suite; work that
 * is really slow is slow every time. A signed request is signed afresh for it (`resend`); a run answered
 * differently (a counter now over its limit) took another path and does not count.
 */
const remeasurements = 6;
// A full collection before each re-measuring run, so the generators' garbage is not billed to the request.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

export interface RefusalTiming {
  cpuMs: number;
  /** Every measurement, the first one first (more than one when re-measured). */
  runs: string[];
  wallMs: number;
  bytes: number;
  what: string;
}

/** Per surface and database (`gateway [sqlite]`), every refusal's cost. */
const refusalTimings = new Map<string, RefusalTiming[]>();

export const timingLabel = (surface: Surface | string, kind: DatabaseKind) => `${surface} [${kind}]`;

export async function measuredSend(
  app: FastifyInstance,
  request: HostileRequest,
): Promise<{ response: LightMyRequestResponse; cpuMs: number; wallMs: number }> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const response = await send(app, request);
  const cpu = process.cpuUsage(cpuStart);
  return { response, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wallStart };
}

/** What a refusal answered, without its request id: a re-sent request counts only if it is refused the same way. */
function refusalKind(response: LightMyRequestResponse): string {
  const code = /"(?:code|Code)":"([^"]*)"|<return_msg>([^<]*)<\/return_msg>/.exec(response.body);
  return `${response.statusCode} ${code?.[1] ?? code?.[2] ?? ''}`;
}

const requestBytes = (request: HostileRequest) =>
  request.url.length +
  Object.entries(request.headers).reduce((sum, [name, value]) => sum + name.length + [value].flat().join('').length, 0) +
  (request.payload === undefined ? 0 : Buffer.byteLength(request.payload));

/** Records a refused request's cost (re-measured when over the budget; see `remeasurements`). */
export async function recordRefusal(
  context: TestContext,
  surface: Surface | string,
  request: HostileRequest,
  first: { response: LightMyRequestResponse; cpuMs: number; wallMs: number },
  what: string,
  /** The same request signed afresh (a new nonce), where sending it again as it was would be a replay. */
  resend: () => HostileRequest = () => request,
) {
  let { cpuMs, wallMs } = first;
  const kind = refusalKind(first.response);
  const runs = [first.cpuMs.toFixed(2)];
  // Re-measured above the SPEC's 5 ms even where a wider budget is set, so the figures printed stay comparable.
  for (let run = 0; run < remeasurements && cpuMs > Math.min(refusalBudgetMs, specRefusalBudgetMs); run++) {
    const next = resend();
    collectGarbage();
    // The collector sweeps on helper threads after a full collection, and process CPU counts every thread.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await measuredSend(context.app, next);
    runs.push(`${again.cpuMs.toFixed(2)}${refusalKind(again.response) === kind ? '' : ` (${refusalKind(again.response)})`}`);
    if (refusalKind(again.response) !== kind) break;
    if (again.cpuMs < cpuMs) ({ cpuMs, wallMs } = again);
  }
  // A re-sent request may have written what refusals may write: take a fresh baseline.
  if (cpuMs !== first.cpuMs) forgetBaseline(context);
  const label = timingLabel(surface, context.kind);
  const timings = refusalTimings.get(label) ?? [];
  timings.push({
    cpuMs,
    runs,
    wallMs,
    bytes: requestBytes(request),
    what: `${what}: ${request.method} ${request.url.slice(0, 80)}`,
  });
  refusalTimings.set(label, timings);
}

/** Times a refusal the suite sent itself (not through expectHostileRequestHandled). */
export async function expectTimedRefusal(
  context: TestContext,
  surface: Surface,
  request: HostileRequest,
  what: string,
): Promise<LightMyRequestResponse> {
  const measured = await measuredSend(context.app, request);
  expect(checkAnswer(surface, measured.response, `${what}: ${request.method} ${request.url.slice(0, 200)}`).refused, what).toBe(true);
  await recordRefusal(context, surface, request, measured, what);
  return measured.response;
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;

export interface RefusalSummary {
  label: string;
  count: number;
  p50: number;
  p99: number;
  max: number;
  remeasured: number;
  slowest: RefusalTiming[];
}

export function summarizeRefusals(label: string): RefusalSummary {
  const timings = refusalTimings.get(label) ?? [];
  const cpu = timings.map((timing) => timing.cpuMs).sort((a, b) => a - b);
  return {
    label,
    count: timings.length,
    p50: percentile(cpu, 0.5),
    p99: percentile(cpu, 0.99),
    max: cpu.at(-1) ?? 0,
    remeasured: timings.filter((timing) => timing.runs.length > 1).length,
    slowest: [...timings].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 5),
  };
}

/**
 * The check every hostile suite ends with: each surface it attacked refused at least one request, every
 * refusal was timed, and the p99 of their server CPU is within the budget. Prints one line per surface.
 */
export function expectRefusalsWithinBudget(kind: DatabaseKind, surfaces: readonly Surface[]) {
  const figures = (ms: number) => `${ms.toFixed(2)} ms`;
  const budgetMs = refusalBudgetFor(kind);
  const failures: string[] = [];
  // Every surface's line is printed before anything fails, so one run gives every figure.
  for (const surface of surfaces) {
    const summary = summarizeRefusals(timingLabel(surface, kind));
    console.log(
      `refusal CPU ${summary.label}: ${summary.count} refusals, p50 ${figures(summary.p50)}, ` +
        `p99 ${figures(summary.p99)}, max ${figures(summary.max)} (budget p99 ≤ ${budgetMs} ms; ${summary.remeasured} re-measured)`,
    );
    if (process.env.PAYTHROUGH_HOSTILE_SLOWEST === '1')
      for (const timing of summary.slowest)
        console.log(`  ${figures(timing.cpuMs)} (runs ${timing.runs.join(', ')} ms; ${timing.bytes} bytes) ${timing.what}`);
    if (summary.count === 0) failures.push(`${summary.label}: no refusal was timed`);
    else if (summary.p99 > budgetMs) {
      const slowest = summary.slowest
        .map((timing) => `${figures(timing.cpuMs)} CPU (${figures(timing.wallMs)} wall, ${timing.bytes} bytes) ${timing.what}`)
        .join('\n    ');
      failures.push(`${summary.label}: p99 ${figures(summary.p99)} over ${budgetMs} ms. Slowest:\n    ${slowest}`);
    }
  }
  expect(failures, `refusals over the SPEC §7 budget:\n${failures.join('\n')}`).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Database state

/**
 * What a refused request may write, and why:
 * - `replay_nonces`: a signature that verifies consumes its nonce even when the body is then refused,
 *   or the same signed request could be replayed;
 * - `rate_limit_counters`: failed sign-ins are counted (brute-force protection);
 * - `api_keys.last_used_at`: a SecretId whose signature verifies is "used", whatever the action answers;
 * - the `settings` row `demo.merchant.notifications`: the demo merchant's log of what its notify_url
 *   received shows refused notifications too (that is its purpose; sandbox only).
 */
export const writableByRefusals = {
  tables: ['replay_nonces', 'rate_limit_counters'],
  columns: { api_keys: ['last_used_at'] } as Record<string, string[]>,
  settings: ['demo.merchant.notifications'],
};

export async function stateOf(context: TestContext): Promise<Record<string, string[]>> {
  const snapshot = await snapshotDatabase(context.database.db);
  for (const table of writableByRefusals.tables) delete snapshot[table];
  snapshot.settings = (snapshot.settings ?? []).filter(
    (row) => !writableByRefusals.settings.includes((JSON.parse(row) as { setting_key: string }).setting_key),
  );
  for (const [table, columns] of Object.entries(writableByRefusals.columns)) {
    snapshot[table] = (snapshot[table] ?? [])
      .map((row) => {
        const value = JSON.parse(row) as Record<string, unknown>;
        for (const column of columns) delete value[column];
        return JSON.stringify(value, Object.keys(value).sort());
      })
      .sort();
  }
  return snapshot;
}

/** The tables whose rows differ between two snapshots (for a readable failure). */
export function changedTables(before: Record<string, string[]>, after: Record<string, string[]>): string[] {
  return Object.keys({ ...before, ...after }).filter((table) => JSON.stringify(before[table]) !== JSON.stringify(after[table]));
}

/** No generated key ever lands on Object.prototype. */
export function expectNoPrototypePollution() {
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted, 'Object.prototype was polluted').toBeUndefined();
  expect(Object.keys(Object.prototype)).toEqual([]);
}

/**
 * Runs one generated request: the answer is in the surface's format and never a 5xx, and a refused
 * request changes nothing. `mayAccept` says whether this request may legitimately succeed (then the
 * database may change, and the new state becomes the baseline).
 */
export async function expectHostileRequestHandled(
  context: TestContext,
  surface: Surface,
  request: HostileRequest,
  options: { mayAccept: boolean; what: string; resend?: () => HostileRequest },
): Promise<LightMyRequestResponse> {
  const before = baselines.get(context) ?? (await stateOf(context));
  const { response, cpuMs, wallMs } = await measuredSend(context.app, request);
  const what = `${options.what}: ${request.method} ${request.url.slice(0, 200)}`;
  const { refused } = checkAnswer(surface, response, what);
  expectNoPrototypePollution();
  if (!refused && !options.mayAccept)
    throw new Error(`${what}: accepted (${response.statusCode} ${response.body.slice(0, 300)}) although it must be refused`);
  const after = await stateOf(context);
  baselines.set(context, after);
  if (refused) {
    const changed = changedTables(before, after);
    expect(changed, `${what}: refused (${response.statusCode} ${response.body.slice(0, 200)}) yet changed ${changed.join(', ')}`).toEqual(
      [],
    );
    await recordRefusal(context, surface, request, { response, cpuMs, wallMs }, options.what, options.resend);
  }
  return response;
}

/** The state after the last generated request, so each request costs one snapshot, not two. */
const baselines = new WeakMap<TestContext, Record<string, string[]>>();

/** Anything the suite itself changes between generated requests (a sign-in) must drop the baseline. */
export function forgetBaseline(context: TestContext) {
  baselines.delete(context);
}

// ---------------------------------------------------------------------------------------------
// The world the suites attack

export interface HostileWorld {
  context: TestContext;
  manifest: DemoManifest;
  merchant: MerchantCredentials;
  other: Tenant;
  /** Real identifiers of this tenant and of another one, for id guessing. */
  ids: {
    applicationIds: string[];
    teamIds: string[];
    mnpIds: string[];
    outTradeNos: string[];
    transactionIds: string[];
    outRefundNos: string[];
    prepayIds: string[];
    cashierTokens: string[];
    orderIds: string[];
    refundIds: string[];
    userIds: string[];
  };
  /** A superapp on the HTTP channel protocol and its channel key. */
  httpChannel: { applicationId: string; channelKey: string };
  /** A superapp in host-reported mode, its host key and one of its orders. */
  hostReported: { applicationId: string; hostKey: string; prepayId: string; outTradeNo: string; total: number };
}

export const httpChannelKey = 'HostileSuiteChannelKey-0123456789abcdef';

/** The demo world (sandbox), a paid and refunded order, and two other tenants: one on the HTTP channel, one host-reported. */
export async function createHostileWorld(context: TestContext): Promise<HostileWorld> {
  const manifest = await context.services.demoWorld.ensure();
  const merchant = readyMerchant(manifest);
  const client = new V3InjectClient(context.app, merchant, context.clock);
  const outTradeNo = `HOSTILE${Date.now().toString(36)}`;
  const prepay = await client.prepay({ outTradeNo, total: 1000 });
  await payInSandbox(context.app, prepay.body.prepay_id);
  const paid = await client.queryByOutTradeNo(outTradeNo);
  const refund = await client.refund({ outTradeNo, outRefundNo: `R${outTradeNo}`, refund: 100, total: 1000 });
  const waiting = await client.prepay({ outTradeNo: `${outTradeNo}W`, total: 500 });

  const other = await createTenant(context, `hostile${Math.random().toString(36).slice(2, 6)}`);
  const otherAdmin = await actorOf(context, other.members['sa:administrator']);
  await context.services.paymentConfig.update(otherAdmin, other.applicationId, {
    paymentEnabled: true,
    currencies: ['CNY'],
    channel: { kind: 'sandbox' },
  });
  // The other tenant's superapp talks the HTTP channel protocol (sealed as the console seals it).
  await context.database.db
    .updateTable('superapp_payment_configs')
    .set({
      channel_kind: 'http',
      channel_settings_json: JSON.stringify({ baseUrl: 'https://channel.example/' }),
      channel_key_sealed: context.services.paymentConfig.sealChannelSecret(other.applicationId, httpChannelKey),
    })
    .where('superapp_id', '=', other.applicationId)
    .execute();

  const third = await createTenant(context, `hostilehost${Math.random().toString(36).slice(2, 6)}`);
  const thirdAdmin = await actorOf(context, third.members['sa:administrator']);
  await context.services.paymentConfig.update(thirdAdmin, third.applicationId, {
    paymentEnabled: true,
    currencies: ['CNY'],
    channel: { kind: 'host_reported', webhookUrl: 'https://webhook.example/refunds' },
  });
  const hostKey = (await context.services.hostKeys.rotate(thirdAdmin, third.applicationId)).hostKey;
  const hostOrder = {
    ...orderRow(
      {
        mnpId: third.mnpId,
        applicationId: third.applicationId,
        miniProgramTeamId: third.miniProgramTeamId,
        superappTeamId: third.superappTeamId,
      },
      { createdAt: context.clock.nowMs(), tradeState: 'WAIT_PAY', amount: 777, mchid: '1900777777' },
    ),
    channel_kind: 'host_reported',
    sandbox: 0,
  };
  await context.database.db.insertInto('orders').values(hostOrder).execute();

  const orders = await context.database.db
    .selectFrom('orders')
    .select(['id', 'out_trade_no', 'transaction_id', 'prepay_id', 'cashier_token'])
    .execute();
  const refunds = await context.database.db.selectFrom('refunds').select(['id', 'out_refund_no']).execute();
  const users = await context.database.db.selectFrom('users').select('id').execute();
  return {
    context,
    manifest,
    merchant,
    other,
    ids: {
      applicationIds: [manifest.superapp.applicationId, other.applicationId, third.applicationId],
      teamIds: [manifest.superapp.teamId, manifest.miniProgramTeam.teamId, manifest.unboundTeam.teamId, ...other.teamIds, ...third.teamIds],
      mnpIds: [merchant.mnpId, manifest.miniPrograms.fresh.mnpId, manifest.miniPrograms.unbound.mnpId, ...other.mnpIds, ...third.mnpIds],
      outTradeNos: orders.map((order) => order.out_trade_no),
      transactionIds: [
        paid.body.transaction_id as string,
        ...orders.map((order) => order.transaction_id).filter((id): id is string => !!id),
      ],
      outRefundNos: [refund.body.out_refund_no as string, ...refunds.map((row) => row.out_refund_no)],
      prepayIds: [waiting.body.prepay_id as string, ...orders.map((order) => order.prepay_id)],
      cashierTokens: orders.map((order) => order.cashier_token).filter((token): token is string => !!token),
      orderIds: orders.map((order) => String(order.id)),
      refundIds: refunds.map((row) => String(row.id)),
      userIds: users.map((user) => user.id),
    },
    httpChannel: { applicationId: other.applicationId, channelKey: httpChannelKey },
    hostReported: {
      applicationId: third.applicationId,
      hostKey,
      prepayId: hostOrder.prepay_id,
      outTradeNo: hostOrder.out_trade_no,
      total: 777,
    },
  };
}

export const allIds = (world: HostileWorld) => Object.values(world.ids).flat();

// ---------------------------------------------------------------------------------------------
// Credentials: forged, stale, for another body, and genuine

export function v3Authorization(
  world: HostileWorld,
  method: string,
  url: string,
  body: string,
  options: { nowMs?: number; nonce?: string } = {},
): string {
  const { merchant, context } = world;
  return signV3Request(
    { mchid: merchant.mchid, serialNo: merchant.serialNo, privateKey: merchant.privateKeyPem },
    { method, url, body },
    { nowMs: options.nowMs ?? context.clock.nowMs(), ...(options.nonce ? { nonce: options.nonce } : {}) },
  );
}

export interface Tc3Key {
  secretId: string;
  secretKey: string;
}

/** A TC3 Authorization over exactly what is sent (`content-type;host`, as the Node SDK signs). */
export function tc3Authorization(
  key: Tc3Key,
  request: { body: string; contentType: string; host: string; timestampSeconds: number; service?: string; date?: string },
): string {
  const service = request.service ?? 'paythrough';
  const date = request.date ?? tc3Date(request.timestampSeconds);
  const signature = tc3Signature({
    method: 'POST',
    path: '/',
    query: '',
    canonicalHeaders: [
      ['content-type', request.contentType],
      ['host', request.host],
    ],
    body: request.body,
    timestampSeconds: request.timestampSeconds,
    date,
    service,
    secretKey: key.secretKey,
  });
  return (
    `TC3-HMAC-SHA256 Credential=${key.secretId}/${date}/${service}/tc3_request, ` +
    `SignedHeaders=content-type;host, Signature=${signature}`
  );
}

export const channelHeaders = (key: string, body: string, nowMs: number): Record<string, string> => ({
  ...signChannelMessage(key, body, { nowMs }),
});

/** Forged v3 Authorization headers: wrong scheme, missing fields, random or truncated signatures, other merchants. */
export function forgedV3Authorization(
  world: HostileWorld,
  method: string,
  url: string,
  body: string,
): fc.Arbitrary<{ kind: string; value: string | undefined }> {
  const { merchant, context } = world;
  const now = Math.floor(context.clock.nowMs() / 1000);
  const genuine = () => v3Authorization(world, method, url, body);
  return fc.oneof(
    fc.constant({ kind: 'none', value: undefined }),
    hostileHeaderValue.map((value) => ({ kind: 'garbage', value })),
    fc
      .record({
        mchid: fc.oneof(
          fc.constant(merchant.mchid),
          hostileString.map((s) => s.slice(0, 100)),
        ),
        serial: fc.oneof(fc.constant(merchant.serialNo), fc.string({ unit: fc.constantFrom(...'0123456789ABCDEF'), maxLength: 40 })),
        signature: base64Garbage,
        timestamp: fc.oneof(
          fc.constant(String(now)),
          hostileNumber.map(String),
          hostileString.map((s) => s.slice(0, 30)),
        ),
        nonce: fc.string({ maxLength: 40 }),
      })
      .map(({ mchid, serial, signature, timestamp, nonce }) => ({
        kind: 'forged fields',
        value:
          `WECHATPAY2-SHA256-RSA2048 mchid="${mchid.replace(/"/g, '')}",nonce_str="${nonce.replace(/"/g, '')}",` +
          `signature="${signature}",timestamp="${timestamp.replace(/"/g, '')}",serial_no="${serial}"`,
      })),
    fc.integer({ min: 1, max: 300 }).map((cut) => ({
      kind: 'truncated signature',
      value: genuine().replace(
        /signature="([^"]+)"/,
        (_m, signature: string) => `signature="${signature.slice(0, Math.max(0, signature.length - cut))}"`,
      ),
    })),
    fc.constantFrom(-301_000, 301_000, -86_400_000, 10 ** 12).map((skew) => ({
      kind: `stale timestamp (${skew} ms)`,
      value: v3Authorization(world, method, url, body, { nowMs: context.clock.nowMs() + skew }),
    })),
    fc
      .string({ maxLength: 20 })
      .map((other) => ({ kind: 'signature of another body', value: v3Authorization(world, method, url, `${body}${other} `) })),
    fc.constant({ kind: 'signature of another URL', value: v3Authorization(world, method, `${url}x`, body) }),
    fc.constant({ kind: 'duplicated parameter', value: `${genuine()},mchid="1"` }),
  );
}

/** The valid sample of a body schema (real ids where a field names something). */
export function sampleBody(schema: JsonSchema | undefined, overrides: Record<string, unknown> = {}): unknown {
  if (!schema) return {};
  return sampleFromSchema(concreteSchema(schema), overrides);
}

// ---------------------------------------------------------------------------------------------
// Repeat, nest, widen: every count an attacker controls, grown to what the transport lets in (SPEC §7)

/** A part of a request grown by a generator, and what was grown (for the failure message). */
export interface GrownPart {
  kind: string;
  value: string;
}

/** `unit` `count` times, `separator` between. */
export const times = (unit: string, count: number, separator = '') =>
  count <= 0 ? '' : `${`${unit}${separator}`.repeat(count - 1)}${unit}`;

/** How far each generator grows its count: the largest sizes are near the 1 MiB body limit or past it. */
export const growth = {
  jsonDepth: { min: 33, max: 500_000 },
  jsonWidth: { min: 1_001, max: 100_000 },
  jsonItems: { min: 1_001, max: 500_000 },
  xmlElements: { min: 65, max: 12_000 },
  xmlDepth: { min: 2, max: 20_000 },
  queryParams: { min: 100, max: 10_000 },
  queryDepth: { min: 10, max: 10_000 },
  headers: { min: 17, max: 2_000 },
  // Authorization lists stop where the header would no longer fit the 16 KiB head (Node answers 431 past it).
  authorizationFields: { min: 17, max: 1_400 },
  signedHeaders: { min: 17, max: 1_400 },
  multipartParts: { min: 10, max: 10_000 },
} as const;

/** A count spread evenly over its orders of magnitude, so each decade up to the largest is tried as often. */
const count = (range: { min: number; max: number }) =>
  fc
    .double({ min: Math.log(range.min), max: Math.log(range.max), noNaN: true })
    .map((exponent) => Math.min(range.max, Math.max(range.min, Math.round(Math.exp(exponent)))));

/** JSON texts that nest, widen, lengthen or repeat, up to the 1 MiB body limit and a little past it. */
export const grownJsonText: fc.Arbitrary<GrownPart> = fc.oneof(
  count(growth.jsonDepth).map((depth) => ({ kind: `arrays ${depth} deep`, value: '['.repeat(depth) + ']'.repeat(depth) })),
  count({ min: growth.jsonDepth.min, max: 170_000 }).map((depth) => ({
    kind: `objects ${depth} deep`,
    value: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  })),
  count(growth.jsonWidth).map((width) => ({
    kind: `one object of ${width} keys`,
    value: `{${Array.from({ length: width }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`,
  })),
  count({ min: growth.jsonWidth.min, max: 170_000 }).map((repeats) => ({
    kind: `one key ${repeats} times`,
    value: `{${times('"a":1', repeats, ',')}}`,
  })),
  count(growth.jsonItems).map((items) => ({ kind: `an array of ${items} items`, value: `[${times('0', items, ',')}]` })),
  fc.tuple(fc.integer({ min: 30, max: 1_000 }), fc.integer({ min: 30, max: 100 })).map(([rows, columns]) => ({
    kind: `${rows} objects of ${columns} keys`,
    value: `[${times(`{${Array.from({ length: columns }, (_, i) => `"c${i}":${i}`).join(',')}}`, rows, ',')}]`,
  })),
  count({ min: 1_000, max: 30_000 }).map((repeats) => ({
    kind: `__proto__ ${repeats} times`,
    value: `{${times('"__proto__":{"polluted":"yes"}', repeats, ',')}}`,
  })),
  count({ min: 1_000, max: 500_000 }).map((quotes) => ({
    kind: `a string of ${quotes} escaped quotes`,
    value: `{"a":"${'\\"'.repeat(quotes)}"}`,
  })),
  count({ min: 1_000, max: 300_000 }).map((strings) => ({
    kind: `${strings} strings without separators`,
    value: `[${'""'.repeat(strings)}]`,
  })),
);

/** Host API XML that nests, widens and repeats, with entity tricks and CDATA, up to its 64 KiB limit and past it. */
export const grownXml: fc.Arbitrary<GrownPart> = fc.oneof(
  count(growth.xmlDepth).map((depth) => ({
    kind: `elements ${depth} deep`,
    value: `<xml>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</xml>`,
  })),
  count(growth.xmlElements).map((elements) => ({
    kind: `${elements} elements`,
    value: `<xml>${Array.from({ length: elements }, (_, i) => `<f${i}>v</f${i}>`).join('')}</xml>`,
  })),
  count(growth.xmlElements).map((repeats) => ({
    kind: `<prepay_id> ${repeats} times`,
    value: `<xml>${'<prepay_id>wx1</prepay_id>'.repeat(repeats)}</xml>`,
  })),
  fc.tuple(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 5_000 })).map(([length, references]) => ({
    kind: `an entity of ${length} characters referenced ${references} times`,
    value:
      `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "${'x'.repeat(length)}">]>` +
      `<xml><prepay_id>${'&a;'.repeat(references)}</prepay_id></xml>`,
  })),
  count({ min: 2, max: 60 }).map((levels) => ({
    kind: `billion laughs, ${levels} levels`,
    value:
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">` +
      Array.from({ length: levels }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('') +
      `]><xml><prepay_id>&l${levels};</prepay_id></xml>`,
  })),
  fc
    .constantFrom(
      '<!DOCTYPE xml [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]><xml><prepay_id>x</prepay_id></xml>',
      '<!DOCTYPE xml SYSTEM "file:///dev/random"><xml><prepay_id>x</prepay_id></xml>',
      '<?xml version="1.0"?><!DOCTYPE xml PUBLIC "-//x//EN" "http://169.254.169.254/"><xml><prepay_id>x</prepay_id></xml>',
      '<?xml version="1.0"?><?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?><xml><prepay_id>x</prepay_id></xml>',
      '<xml xmlns:xi="http://www.w3.org/2001/XInclude"><prepay_id><xi:include href="file:///etc/passwd"/></prepay_id></xml>',
    )
    .map((value) => ({ kind: 'external entity or include', value })),
  count({ min: 10, max: 8_000 }).map((sections) => ({
    kind: `${sections} CDATA sections in one field`,
    value: `<xml><prepay_id>${'<![CDATA[a]]>'.repeat(sections)}</prepay_id></xml>`,
  })),
  count({ min: 10, max: 30_000 }).map((brackets) => ({
    kind: `an unterminated CDATA of ${brackets} "]]"`,
    value: `<xml><prepay_id><![CDATA[${']]'.repeat(brackets)}</prepay_id></xml>`,
  })),
  count({ min: 10, max: 6_000 }).map((attributes) => ({
    kind: `${attributes} attributes`,
    value: `<xml ${Array.from({ length: attributes }, (_, i) => `a${i}="1"`).join(' ')}><prepay_id>x</prepay_id></xml>`,
  })),
  count({ min: 64, max: 60_000 }).map((length) => ({ kind: `an element name of ${length}`, value: `<xml><${'a'.repeat(length)}>x</xml>` })),
  count({ min: 10, max: 12_000 }).map((references) => ({
    kind: `${references} character references`,
    value: `<xml><prepay_id>${'&#65;'.repeat(references)}</prepay_id></xml>`,
  })),
  count({ min: 10, max: 15_000 }).map((comments) => ({ kind: `${comments} comments`, value: `<xml>${'<!---->'.repeat(comments)}</xml>` })),
  count({ min: 1_000, max: 60_000 }).map((spaces) => ({
    kind: `${spaces} spaces between fields`,
    value: `<xml>${times('<a>1</a>', 60, ' '.repeat(Math.floor(spaces / 60)))}</xml>`,
  })),
);

/**
 * Node answers 431 to a request head (request line and headers) over 16 KiB before the app sees it (the
 * healthz test checks this over a socket): grown query strings stop just short of it, so the suites time
 * what a client can really make the app parse.
 */
export const maxHeadBytes = 16 * 1024;
const withinHead = (part: GrownPart): GrownPart => {
  const limit = maxHeadBytes - 1_024;
  if (part.value.length <= limit) return part;
  const cut = part.value.lastIndexOf('&', limit);
  return { kind: `${part.kind} (cut to ${limit} characters)`, value: part.value.slice(0, cut > 0 ? cut : limit) };
};

/** Query strings with thousands of parameters, one key repeated, and bracket nesting, up to the 16 KiB head. */
export const grownQuery: fc.Arbitrary<GrownPart> = fc
  .oneof(
    count(growth.queryParams).map((params) => ({
      kind: `${params} parameters`,
      value: `?${Array.from({ length: params }, (_, i) => `p${i}=1`).join('&')}`,
    })),
    fc.tuple(fc.constantFrom('mchid', 'limit', 'cursor', 'bill_date', 'token', 'a'), count(growth.queryParams)).map(([key, repeats]) => ({
      kind: `${key} ${repeats} times`,
      value: `?${Array.from({ length: repeats }, (_, i) => `${key}=${i}`).join('&')}`,
    })),
    count(growth.queryDepth).map((depth) => ({ kind: `brackets ${depth} deep`, value: `?a${'[b]'.repeat(depth)}=1` })),
    count(growth.queryParams).map((items) => ({ kind: `a[] ${items} times`, value: `?${times('a%5B%5D=1', items, '&')}` })),
    count(growth.queryParams).map((repeats) => ({
      kind: `__proto__ ${repeats} times`,
      value: `?${times('__proto__%5Bpolluted%5D=yes&constructor%5Bprototype%5D%5Bpolluted%5D=yes', repeats, '&')}`,
    })),
    count(growth.queryParams).map((length) => ({ kind: `${length} encoded percent signs`, value: `?mchid=${'%25'.repeat(length)}` })),
  )
  .map(withinHead);

/** Many headers (distinct names, one name with many values, mixed-case values), as many as fit the 16 KiB head. */
export const grownHeaders = (prefix: string): fc.Arbitrary<{ kind: string; headers: Record<string, string | string[]> }> => {
  const fitting = (bytesEach: number, wanted: number) => Math.min(wanted, Math.floor((maxHeadBytes - 2_048) / bytesEach));
  return fc.oneof(
    count(growth.headers).map((wanted) => {
      const headers = fitting(prefix.length + 16, wanted);
      return {
        kind: `${headers} ${prefix}* headers`,
        headers: Object.fromEntries(Array.from({ length: headers }, (_, i) => [`${prefix}${i}`, `VaLuE-${i}`])),
      };
    }),
    count(growth.headers).map((wanted) => {
      const values = fitting(prefix.length + 16, wanted);
      return {
        kind: `${prefix}repeated with ${values} values`,
        headers: { [`${prefix}repeated`]: Array.from({ length: values }, (_, i) => `v${i}`) },
      };
    }),
  );
};

/**
 * TC3 Authorization headers grown every way: SignedHeaders listing thousands of (sent) headers or one
 * header thousands of times, the fields repeated, a huge SecretId, the header itself repeated, mixed case.
 * `headers` are sent beside it (the signed headers it names); a genuine signature where one can be made.
 */
export function grownTc3Authorization(
  key: Tc3Key,
  request: { body: string; contentType: string; host: string; timestampSeconds: number },
): fc.Arbitrary<{ kind: string; authorization: string | string[]; headers: Record<string, string> }> {
  const date = tc3Date(request.timestampSeconds);
  const scope = `${key.secretId}/${date}/paythrough/tc3_request`;
  const genuine = tc3Authorization(key, request);
  const signedOver = (names: string[], headers: Record<string, string>) =>
    tc3Signature({
      method: 'POST',
      path: '/',
      query: '',
      canonicalHeaders: names.map((name): [string, string] => [
        name,
        name === 'content-type' ? request.contentType : name === 'host' ? request.host : (headers[name] ?? ''),
      ]),
      body: request.body,
      timestampSeconds: request.timestampSeconds,
      date,
      service: 'paythrough',
      secretKey: key.secretKey,
    });
  return fc.oneof(
    count(growth.signedHeaders).map((extra) => {
      const headers = Object.fromEntries(Array.from({ length: Math.min(extra, 200) }, (_, i) => [`x-tc-h${i}`, `V${i}`]));
      const names = ['content-type', 'host', ...Array.from({ length: extra }, (_, i) => `x-tc-h${i}`)];
      return {
        kind: `SignedHeaders of ${names.length} headers, genuinely signed`,
        authorization: `TC3-HMAC-SHA256 Credential=${scope}, SignedHeaders=${names.join(';')}, Signature=${signedOver(names, headers)}`,
        headers,
      };
    }),
    count(growth.signedHeaders).map((repeats) => ({
      kind: `SignedHeaders naming host ${repeats} times`,
      authorization:
        `TC3-HMAC-SHA256 Credential=${scope}, ` + `SignedHeaders=content-type;${times('host', repeats, ';')}, Signature=${'0'.repeat(64)}`,
      headers: {},
    })),
    count({ min: 2, max: 60 }).map((repeats) => ({
      kind: `Credential, SignedHeaders and Signature ${repeats} times`,
      authorization: `TC3-HMAC-SHA256 ${times(genuine.slice('TC3-HMAC-SHA256 '.length), repeats, ', ')}`,
      headers: {},
    })),
    count({ min: 1_000, max: 14_000 }).map((length) => ({
      kind: `a SecretId of ${length} characters`,
      authorization:
        `TC3-HMAC-SHA256 Credential=${'A'.repeat(length)}/${date}/paythrough/tc3_request, ` +
        `SignedHeaders=content-type;host, Signature=${'0'.repeat(64)}`,
      headers: {},
    })),
    count({ min: 2, max: 60 }).map((repeats) => ({
      kind: `the Authorization header ${repeats} times`,
      authorization: Array.from({ length: repeats }, () => genuine),
      headers: {},
    })),
    fc.constant({
      kind: 'scheme, field names and header names in mixed case',
      authorization: genuine
        .replace('TC3-HMAC-SHA256', 'tc3-HMAC-sha256')
        .replace('Credential=', 'credential=')
        .replace('SignedHeaders=content-type;host', 'signedheaders=Content-Type;HOST'),
      headers: {},
    }),
    count({ min: 17, max: 60 }).map((names) => {
      const all = ['content-type', 'host', ...Array.from({ length: names - 2 }, (_, i) => `x-tc-m${i}`)];
      const headers = Object.fromEntries(all.slice(2).map((name, i) => [name, `MiXeD-CaSe-${'Ab'.repeat(i)}`]));
      return {
        kind: `${names} signed headers with mixed-case values`,
        authorization: `TC3-HMAC-SHA256 Credential=${scope}, SignedHeaders=${all.join(';')}, Signature=${signedOver(all, headers)}`,
        headers,
      };
    }),
  );
}

/**
 * v3 Authorization headers grown every way: repeated fields, thousands of fields, long values, nested quotes.
 * Each value is made afresh on every call (a new nonce), so a re-measured request is not a replay.
 */
export function grownV3Authorization(
  world: HostileWorld,
  method: string,
  url: string,
  body: string,
): fc.Arbitrary<{ kind: string; value: () => string | string[] }> {
  const genuine = () => v3Authorization(world, method, url, body);
  const { mchid } = world.merchant;
  return fc.oneof(
    fc
      .tuple(fc.constantFrom('mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no'), count(growth.authorizationFields))
      .map(([field, repeats]) => ({
        kind: `${field} ${repeats} times`,
        value: () => `${genuine()},${times(`${field}="1"`, repeats, ',')}`,
      })),
    count(growth.authorizationFields).map((fields) => ({
      kind: `${fields} unknown fields`,
      value: () => `${genuine()},${Array.from({ length: fields }, (_, i) => `f${i}="x"`).join(',')}`,
    })),
    fc.tuple(fc.constantFrom('mchid', 'nonce_str', 'signature', 'serial_no'), count({ min: 100, max: 14_000 })).map(([field, length]) => ({
      kind: `a ${field} of ${length} characters`,
      value: () => genuine().replace(new RegExp(`${field}="[^"]*"`), `${field}="${'A'.repeat(length)}"`),
    })),
    count({ min: 2, max: 2_000 }).map((quotes) => ({
      kind: `${quotes} nested quotes`,
      value: () =>
        `WECHATPAY2-SHA256-RSA2048 mchid="${'"'.repeat(quotes)}${mchid}${'"'.repeat(quotes)}",nonce_str="${'\\"'.repeat(quotes)}"`,
    })),
    count({ min: 2, max: 45 }).map((repeats) => ({
      kind: `the whole parameter list ${repeats} times`,
      value: () => `WECHATPAY2-SHA256-RSA2048 ${times(genuine().slice('WECHATPAY2-SHA256-RSA2048 '.length), repeats, ',')}`,
    })),
    count({ min: 2, max: 45 }).map((repeats) => ({
      kind: `the Authorization header ${repeats} times`,
      value: () => Array.from({ length: repeats }, genuine),
    })),
    count({ min: 100, max: 14_000 }).map((spaces) => ({
      kind: `${spaces} spaces around separators`,
      value: () => genuine().replace(/,/g, `${' '.repeat(Math.floor(spaces / 8))},${' '.repeat(Math.floor(spaces / 8))}`),
    })),
  );
}

/** A multipart/form-data body of many parts (no route takes uploads: every surface must refuse it cheaply). */
export const grownMultipart: fc.Arbitrary<GrownPart & { contentType: string }> = fc
  .tuple(count(growth.multipartParts), fc.boolean())
  .map(([parts, files]) => {
    const boundary = 'PaythroughHostileBoundary';
    const part = (i: number) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"` +
      `${files ? `; filename="cert${i}.pem"\r\nContent-Type: application/x-pem-file` : ''}\r\n\r\nv${i}\r\n`;
    return {
      kind: `multipart with ${parts} ${files ? 'file ' : ''}parts`,
      value: `${Array.from({ length: parts }, (_, i) => part(i)).join('')}--${boundary}--\r\n`,
      contentType: `multipart/form-data; boundary=${boundary}`,
    };
  });
