import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { managementApiVersion } from '../../src/routes/manage/management.routes.ts';
import { managementActions } from '../../src/routes/manage/actions/index.ts';
import type { JsonSchema } from '../helpers/console-routes.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';
import {
  allIds,
  createHostileWorld,
  describeHostile,
  discoverAppRoutes,
  expectHostileRequestHandled,
  expectRefusalsWithinBudget,
  forgetBaseline,
  hostileContentType,
  hostileHeaderValue,
  hostileId,
  hostileJsonBody,
  hostileNumber,
  hostileSeed,
  hostileString,
  propertyParameters,
  refusalBudgetFor,
  sampleBody,
  tc3Authorization,
  type HostileWorld,
  type Tc3Key,
} from './hostile-input.ts';

/**
 * Hostile input on the management API: `POST /` with every Action the router knows
 * (read from the action list it routes by), forged TC3 credentials (refused in the TC3 envelope) and
 * genuinely signed calls with malformed fields and bodies (never a 5xx, always HTTP 200 with
 * {Response: {Error: {Code, Message}, RequestId}} when refused, and a refusal changes nothing).
 * PAYTHROUGH_FULL_RELIABILITY=1 runs ten times as many cases; PAYTHROUGH_HOSTILE_SEED replays a seed.
 */

const managementRoutes = (await discoverAppRoutes()).filter((route) => route.surface === 'management');

const host = 'paythrough.test';
const contentType = 'application/json';

/** The action's fields as JSON Schema (input side), so the valid sample follows the action's own schema. */
function inputSchemaOf(action: (typeof managementActions)[number]): JsonSchema | undefined {
  try {
    return z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return undefined;
  }
}

describe('hostile management input: generators', () => {
  it(`cover POST / and every action (seed ${hostileSeed})`, () => {
    expect(managementRoutes.map((route) => `${route.method} ${route.url}`)).toEqual(['POST /']);
    expect(managementActions.length).toBeGreaterThanOrEqual(15);
    for (const action of managementActions) expect(inputSchemaOf(action), `no input schema to generate ${action.name} from`).toBeDefined();
  });
});

describe('hostile management input: the signature-failure limit', () => {
  it('past PAYTHROUGH_SIGNATURE_FAILURE_LIMIT failures an address gets RequestLimitExceeded in the TC3 envelope (HTTP 200)', async () => {
    const limited = await createTestContext('sqlite', { config: { signatureFailureLimit: 3 } });
    try {
      const forged = () =>
        limited.app.inject({
          method: 'POST',
          url: '/',
          remoteAddress: '203.0.113.8',
          headers: {
            host,
            'content-type': contentType,
            'x-tc-action': managementActions[0]!.name,
            'x-tc-version': managementApiVersion,
            'x-tc-timestamp': String(Math.floor(limited.clock.nowMs() / 1000)),
            authorization: 'TC3-HMAC-SHA256 forged',
          },
          payload: '{}',
        });
      for (let i = 0; i < 3; i++) expect((await forged()).json().Response.Error.Code).toMatch(/^AuthFailure/);
      const refused = await forged();
      expect([refused.statusCode, refused.json()]).toEqual([
        200,
        { Response: { Error: { Code: 'RequestLimitExceeded', Message: expect.any(String) }, RequestId: expect.any(String) } },
      ]);
    } finally {
      await limited.close();
    }
  });
});

describeHostile('hostile management input', (kind) => {
  let context: TestContext;
  let world: HostileWorld;
  let key: Tc3Key;
  let platformId: string;

  beforeAll(async () => {
    // Hundreds of forged signatures come from one address here: the limiter's own behaviour is checked above and in brute-force.test.ts.
    context = await createTestContext(kind, { config: { signatureFailureLimit: 1_000_000 } });
    world = await createHostileWorld(context);
    key = world.manifest.superapp.users.admin;
    platformId = world.manifest.platformId;
  });
  afterAll(() => context?.close());
  beforeEach(() => context && forgetBaseline(context));

  const base = kind === 'sqlite' ? 2 : 1;
  const nowSeconds = () => Math.floor(context.clock.nowMs() / 1000);
  const headersFor = (
    action: string,
    authorization: string | undefined,
    timestamp: string,
    type: string | undefined = contentType,
  ): Record<string, string> => ({
    host,
    'x-tc-action': action,
    'x-tc-version': managementApiVersion,
    'x-tc-timestamp': timestamp,
    'x-tc-region': 'ap-guangzhou',
    ...(type === undefined ? {} : { 'content-type': type }),
    ...(authorization === undefined ? {} : { authorization }),
  });

  /** A valid call's body: the action's sample with real ids where a field names something. */
  const validBody = (action: (typeof managementActions)[number]) => {
    const ids = world.ids;
    return {
      PlatformId: platformId,
      ...(sampleBody(inputSchemaOf(action), {
        ApplicationId: ids.applicationIds[0],
        TeamId: ids.teamIds[1],
        QueryTeamID: ids.teamIds[1],
        MNPId: ids.mnpIds[0],
        MNPIds: [ids.mnpIds[0]],
        MerchantID: world.manifest.superapp.merchants.at(-1)!.merchantId,
        MerchantName: world.manifest.superapp.merchants.at(-1)!.merchantName,
      }) as object),
    };
  };

  const actionNames = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...managementActions.map((action) => action.name)) },
    { weight: 1, arbitrary: hostileString.map((name) => name.replace(/[^\t\x20-\x7e]/g, '?').slice(0, 200)) },
  );

  it('forged, stale or misplaced TC3 signatures are refused in the envelope; nothing changes', async () => {
    const forged = fc.record({
      action: actionNames,
      body: fc.constantFrom(...managementActions).chain((action) => hostileJsonBody(validBody(action))),
      credential: fc.oneof(
        fc.constant({ kind: 'none', value: (): string | undefined => undefined, timestamp: () => String(nowSeconds()) }),
        hostileHeaderValue.map((value) => ({ kind: 'garbage', value: () => value, timestamp: () => String(nowSeconds()) })),
        fc
          .record({
            secretId: fc.oneof(
              fc.constant(key.secretId),
              hostileId(allIds(world)).map((id) => id.replace(/[/,\s]/g, '')),
            ),
            signature: fc.oneof(
              fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 64 }),
              hostileString.map((s) => s.slice(0, 100)),
            ),
          })
          .map(({ secretId, signature }) => ({
            kind: 'forged signature',
            value: () =>
              `TC3-HMAC-SHA256 Credential=${secretId}/${new Date(nowSeconds() * 1000).toISOString().slice(0, 10)}` +
              `/paythrough/tc3_request, SignedHeaders=content-type;host, Signature=${signature}`,
            timestamp: () => String(nowSeconds()),
          })),
        // Clamped to what a Date can hold: the test's own signer dates the scope from the timestamp.
        fc
          .record({
            skew: fc.oneof(
              fc.constantFrom(-301, 301, -86_400 * 365),
              hostileNumber.map((n) => Math.max(-1e12, Math.min(1e12, Math.trunc(n) || 1e9))),
            ),
          })
          .map(({ skew }) => ({
            kind: `timestamp ${skew} s away`,
            value: (body: string) => tc3Authorization(key, { body, contentType, host, timestampSeconds: nowSeconds() + skew }),
            timestamp: () => String(nowSeconds() + skew),
          })),
        hostileString.map((timestamp) => ({
          kind: 'unreadable timestamp',
          value: (body: string) => tc3Authorization(key, { body, contentType, host, timestampSeconds: nowSeconds() }),
          timestamp: () => timestamp.replace(/[^\t\x20-\x7e]/g, '?').slice(0, 100),
        })),
        fc.string({ minLength: 1, maxLength: 20 }).map((other) => ({
          kind: 'signature of another body',
          value: (body: string) => tc3Authorization(key, { body: `${body}${other}`, contentType, host, timestampSeconds: nowSeconds() }),
          timestamp: () => String(nowSeconds()),
        })),
        fc.constant({
          kind: 'another SecretKey',
          value: (body: string) =>
            tc3Authorization({ ...key, secretKey: `${key.secretKey}x` }, { body, contentType, host, timestampSeconds: nowSeconds() }),
          timestamp: () => String(nowSeconds()),
        }),
        fc.constant({
          kind: 'scope date not the timestamp date',
          value: (body: string) => tc3Authorization(key, { body, contentType, host, timestampSeconds: nowSeconds(), date: '2000-01-01' }),
          timestamp: () => String(nowSeconds()),
        }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(forged, async ({ action, body, credential }) => {
        const authorization = credential.value(body.payload);
        const headers = headersFor(action, authorization, credential.timestamp(), contentType);
        const response = await expectHostileRequestHandled(
          context,
          'management',
          { method: 'POST', url: '/', headers, payload: body.payload },
          { mayAccept: false, what: `forged TC3 (${credential.kind})` },
        );
        if (action !== '') expect(response.statusCode, response.body).toBe(200);
      }),
      propertyParameters(base * 12),
    );
  });

  it('a call without X-TC-Action is not an API call: refused outside the envelope, nothing changes', async () => {
    await fc.assert(
      fc.asyncProperty(hostileJsonBody({ PlatformId: platformId }), hostileContentType, async (body, type) => {
        const headers = headersFor(
          '',
          tc3Authorization(key, { body: body.payload, contentType, host, timestampSeconds: nowSeconds() }),
          String(nowSeconds()),
          type ?? undefined,
        );
        delete headers['x-tc-action'];
        // Refused either way: 400 outside the envelope, or (a body Fastify refuses before routing) the envelope.
        await expectHostileRequestHandled(
          context,
          'management',
          { method: 'POST', url: '/', headers, payload: body.payload },
          { mayAccept: false, what: 'no action' },
        );
      }),
      propertyParameters(base * 2),
    );
  });

  for (const action of managementActions) {
    it(`${action.name}: genuinely signed hostile fields and bodies never get a 5xx, a refusal changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(
          hostileJsonBody(validBody(action)),
          fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'),
          async (body, signedType) => {
            const type = body.kind === 'wrong content type' ? (body.contentType ?? signedType) : signedType;
            const headers = headersFor(
              action.name,
              tc3Authorization(key, { body: body.payload, contentType: type, host, timestampSeconds: nowSeconds() }),
              String(nowSeconds()),
              type,
            );
            const response = await expectHostileRequestHandled(
              context,
              'management',
              { method: 'POST', url: '/', headers, payload: body.payload },
              { mayAccept: true, what: `${action.name} signed (${body.kind})` },
            );
            expect(response.statusCode, response.body).toBe(200);
          },
        ),
        propertyParameters(base * 3),
      );
    });
  }

  it(`every refusal was timed: p99 server CPU ≤ ${refusalBudgetFor(kind)} ms per surface (SPEC §7)`, () => {
    expectRefusalsWithinBudget(kind, ['management']);
  });
});
