import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { managementActions } from '../../src/routes/manage/actions/index.ts';
import { managementApiVersion } from '../../src/routes/manage/management.routes.ts';
import { bodySchemaOf, consolePrefix, fillPath, type JsonSchema, listConsoleRoutes, sampleFromSchema } from '../helpers/console-routes.ts';
import { snapshotDatabase } from '../helpers/factories.ts';
import { approvePayment, bindTeam, createPaymentWorld, type PaymentWorld } from '../helpers/payment-world.ts';
import { insertNotification, insertOrder, insertReconciliationException, insertRefund, orderRow } from '../helpers/record-factory.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';
import { listAppRoutes, sampleBody, tc3Authorization, type Tc3Key } from './hostile-input.ts';

/**
 * Cross-tenant id guessing (SPEC §7 "Not found versus forbidden"): another tenant's id
 * must be answered exactly as an id that does not exist — same status, code and message (the probed
 * value itself aside), an empty page where the action is a filtered list — so a guess confirms nothing.
 * The cases are generated from the management action list and each action's input fields.
 */

/** Fields that name a record; every action taking one is probed with it. */
const idFields = [
  'TeamId',
  'QueryTeamID',
  'MNPId',
  'MNPIds',
  'ApplicationId',
  'ApprovalNo',
  'ID',
  'OrderNo',
  'RefundNo',
  'OutTradeNo',
  'TransactionId',
  'RefundId',
  'ExceptionId',
] as const;
type IdField = (typeof idFields)[number];
/** Fields named like ids that name no tenant's record: a merchant number, a line chart's report and figure. */
const notTenantIds = ['MerchantID', 'ReportId', 'IndexId'];

/** The values of an id field for an action (integer IDs name a binding or a payment record, by action). */
const idValues = (values: Record<IdField | 'PaymentID', (string | number)[]>, action: string, field: IdField) =>
  field === 'ID' && action === 'DisableMNPPayment' ? values.PaymentID : values[field];

function inputFieldsOf(action: (typeof managementActions)[number]): string[] {
  const schema = z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return Object.keys(schema.properties ?? {});
}

/** A value of the same shape that names nothing: one character changed. */
function nonexistent(value: string | number): string | number {
  if (typeof value === 'number') return value + 7_654_321;
  // Not the last character: ids minted in one millisecond differ only there (monotonic ULIDs), so a made-up id must
  // differ further up to name nothing.
  const at = value.length >= 8 ? value.length - 8 : value.length - 1;
  const original = value[at]!;
  const swapped = /\d/.test(original)
    ? String((Number(original) + 5) % 10)
    : original === 'z' || original === 'Z'
      ? 'q'
      : /[a-y]/i.test(original)
        ? String.fromCharCode(original.charCodeAt(0) + 1)
        : 'Q';
  return `${value.slice(0, at)}${swapped}${value.slice(at + 1)}`;
}

/** The answer with what may legitimately differ removed: the request id, and the probed value wherever it is echoed. */
function normalized(body: string, probed: string | number) {
  return body.replaceAll(String(probed), '<probed>').replace(/"RequestId":"[^"]*"/g, '"RequestId":"-"');
}

interface TenantIds {
  world: PaymentWorld;
  /** An order, its refund and notification, and an export made by the mini program team's operator. */
  records: { orderId: number; refundId: number; notificationId: number; exportId: string };
  keys: { saAdmin: Tc3Key; mpAdmin: Tc3Key };
  values: Record<IdField | 'PaymentID', (string | number)[]>;
}

describe('cross-tenant ids on the management API answer like nonexistent ones', () => {
  let context: TestContext;
  let platformId: string;
  const tenants = {} as Record<'alpha' | 'beta', TenantIds>;

  beforeAll(async () => {
    context = await createTestContext('sqlite');
    platformId = await context.services.platform.id();
    for (const name of ['alpha', 'beta'] as const) {
      const world = await createPaymentWorld(context);
      const bindingId = await bindTeam(world);
      const paymentId = await approvePayment(world);
      // A pending request too: another tenant's undecided approval number.
      await context.services.bindings.request(world.second.administrator, { teamId: world.second.teamId, ...world.merchants[1]! });
      const bindingNos = await context.database.db
        .selectFrom('merchant_bindings')
        .select('approval_no')
        .where('team_id', '=', world.teamId)
        .execute();
      const enablementNos = await context.database.db
        .selectFrom('payment_enablements')
        .select('approval_no')
        .where('mnp_id', 'in', [world.mnpId, world.second.mnpId])
        .execute();
      const owner = {
        mnpId: world.mnpId,
        applicationId: world.applicationId,
        miniProgramTeamId: world.teamId,
        superappTeamId: world.tenant.superappTeamId,
      };
      const order = await insertOrder(context.database.db, owner, {
        createdAt: context.clock.nowMs() - 60_000,
        tradeState: 'REFUND',
        mchid: world.merchants[0]!.merchantId,
      });
      const refund = await insertRefund(context.database.db, order, { createdAt: context.clock.nowMs() - 30_000, amount: 10 });
      const notification = await insertNotification(context.database.db, { type: 'order', id: order.id }, owner, order.created_at);
      const exported = await context.services.exports.create(world.as['mp:operator'], { kind: 'orders', format: 'csv', query: {} });
      // A reconciliation exception of the superapp's (SPEC §9.5), about the order.
      const exception = await insertReconciliationException(context.database.db, world, {
        billDate: '2026-01-15',
        outTradeNo: order.out_trade_no,
        mchid: order.mchid,
        at: context.clock.nowMs(),
      });
      const key = async (actor: PaymentWorld['saAdmin']) => {
        const created = await context.services.apiKeys.create(actor, `${name} cross-tenant`);
        return { secretId: created.secretId, secretKey: created.secretKey };
      };
      tenants[name] = {
        world,
        records: { orderId: Number(order.id), refundId: Number(refund.id), notificationId: Number(notification.id), exportId: exported.id },
        keys: { saAdmin: await key(world.saAdmin), mpAdmin: await key(world.mpAdmin) },
        values: {
          TeamId: [world.teamId, world.tenant.superappTeamId],
          QueryTeamID: [world.teamId],
          MNPId: [world.mnpId, world.second.mnpId],
          MNPIds: [world.mnpId],
          ApplicationId: [world.applicationId],
          ApprovalNo: [...bindingNos, ...enablementNos].map((row) => row.approval_no),
          // ID is a binding id, except for DisableMNPPayment (a payment record id): see idValues().
          ID: [
            bindingId,
            ...(
              await context.database.db.selectFrom('merchant_bindings').select('id').where('team_id', '=', world.second.teamId).execute()
            ).map((row) => Number(row.id)),
          ],
          PaymentID: [paymentId],
          OrderNo: [order.out_trade_no, order.transaction_id!],
          RefundNo: [refund.out_refund_no, refund.refund_id!],
          OutTradeNo: [order.out_trade_no],
          TransactionId: [order.transaction_id!],
          RefundId: [refund.refund_id],
          ExceptionId: [String(exception.id)],
        },
      };
    }
  });
  afterAll(() => context?.close());

  const decisionsOf = async () => [
    await context.database.db.selectFrom('merchant_bindings').selectAll().execute(),
    await context.database.db.selectFrom('payment_enablements').selectAll().execute(),
  ];

  const call = async (key: Tc3Key, action: string, fields: Record<string, unknown>) => {
    const payload = JSON.stringify({ PlatformId: platformId, ...fields });
    const timestampSeconds = Math.floor(context.clock.nowMs() / 1000);
    const headers = {
      host: 'paythrough.test',
      'content-type': 'application/json',
      'x-tc-action': action,
      'x-tc-version': managementApiVersion,
      'x-tc-timestamp': String(timestampSeconds),
    };
    const authorization = tc3Authorization(key, { body: payload, contentType: 'application/json', host: headers.host, timestampSeconds });
    const response = await context.app.inject({ method: 'POST', url: '/', headers: { ...headers, authorization }, payload });
    expect(response.statusCode).toBe(200);
    return response;
  };

  /** The caller's own valid values for every field the action requires, so only the probed field is foreign. */
  const ownFields = (action: (typeof managementActions)[number], caller: TenantIds) => {
    const now = context.clock.nowMs();
    const own = caller.values;
    return sampleBody(z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema, {
      TeamId: own.TeamId[0],
      QueryTeamID: own.QueryTeamID[0],
      MNPId: own.MNPId[0],
      MNPIds: own.MNPIds,
      ApplicationId: own.ApplicationId[0],
      ApprovalNo: own.ApprovalNo[0],
      ID: idValues(own, action.name, 'ID')[0],
      RefundId: own.RefundId[0],
      ExceptionId: own.ExceptionId[0],
      MerchantID: caller.world.merchants[1]!.merchantId,
      MerchantName: caller.world.merchants[1]!.merchantName,
      TimeBegin: now - 24 * 3600_000,
      TimeEnd: now + 3600_000,
      ApprovalType: 20,
    }) as Record<string, unknown>;
  };

  const probedActions = managementActions.filter((action) =>
    inputFieldsOf(action).some((field) => (idFields as readonly string[]).includes(field)),
  );

  it('every action that takes an id is probed (the list comes from the router)', () => {
    expect(probedActions.length).toBeGreaterThanOrEqual(14);
    for (const action of managementActions) {
      const unknown = inputFieldsOf(action).filter(
        (field) => /(Id|ID|No|Nos|Ids)$/.test(field) && !(idFields as readonly string[]).includes(field) && !notTenantIds.includes(field),
      );
      expect(unknown, `${action.name} takes id fields this test does not probe: add them to idFields`).toEqual([]);
    }
  });

  for (const action of probedActions) {
    const fields = inputFieldsOf(action).filter((field): field is IdField => (idFields as readonly string[]).includes(field));
    it(`${action.name}: ${fields.join(', ')} of another tenant answers as a nonexistent one`, async () => {
      const mismatches: string[] = [];
      for (const [callerName, otherName] of [
        ['alpha', 'beta'],
        ['beta', 'alpha'],
      ] as const) {
        const caller = tenants[callerName];
        const other = tenants[otherName];
        for (const key of [caller.keys.saAdmin, caller.keys.mpAdmin]) {
          for (const field of fields) {
            for (const foreign of idValues(other.values, action.name, field)) {
              const missing = nonexistent(foreign);
              const wrap = (value: string | number) => (field === 'MNPIds' ? [value] : value);
              // A rejection with a note: a decision that passes validation, so the lookup is what answers.
              const base = {
                ...ownFields(action, caller),
                ...(inputFieldsOf(action).includes('ApprovalNote') ? { ApprovalNote: 'probe' } : {}),
              };
              const before = await decisionsOf();
              const guessed = await call(key, action.name, { ...base, [field]: wrap(foreign) });
              const invented = await call(key, action.name, { ...base, [field]: wrap(missing) });
              const answer = guessed.json().Response;
              const what = `${callerName} ${key === caller.keys.saAdmin ? 'SA' : 'MP'} admin, ${field}=${foreign}`;
              if (normalized(guessed.body, foreign) !== normalized(invented.body, missing))
                mismatches.push(`${what}: ${guessed.body} versus nonexistent ${invented.body}`);
              if (answer.Error === undefined && !(answer.Data && answer.Data.Total === 0) && !action.name.startsWith('DescribePaymentData'))
                mismatches.push(`${what}: accepted ${guessed.body}`);
              expect(await decisionsOf(), `${what} changed a binding or an enablement`).toEqual(before);
            }
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }

  const recordRoutesTitle =
    "console record routes: another tenant's order, refund, notification and export, " +
    "and another user's export, answer 404 like nonexistent ids";
  it(recordRoutesTitle, async () => {
    const routes = (await listConsoleRoutes(context.app)).filter((route) =>
      route.params.some((param) => ['orderId', 'refundId', 'notificationId', 'exportId'].includes(param)),
    );
    expect(routes.map((route) => `${route.method} ${route.url}`)).toEqual(
      expect.arrayContaining([
        'GET /api/v1/orders/:orderId',
        'GET /api/v1/refunds/:refundId',
        'POST /api/v1/orders/:orderId/notifications/:notificationId/resend',
        'GET /api/v1/notifications/:notificationId',
        'POST /api/v1/notifications/:notificationId/resend',
        'GET /api/v1/exports/:exportId',
        'GET /api/v1/exports/:exportId/file',
      ]),
    );
    const caller = tenants.alpha;
    const client = await ConsoleClient.signIn(
      context.app,
      caller.world.tenant.members['mp:administrator'].account,
      caller.world.tenant.members['mp:administrator'].password,
    );
    const own = caller.records;
    expect((await client.get(`/orders/${own.orderId}`)).statusCode, 'the caller sees its own order').toBe(200);
    // Each foreign set: the other tenant's records, and (exports belong to their user) the caller's teammate's export.
    const foreignSets = [tenants.beta.records, { ...own, exportId: own.exportId }];
    const mismatches: string[] = [];
    let probes = 0;
    for (const route of routes) {
      for (const foreign of foreignSets) {
        for (const param of route.params) {
          // The teammate's export is foreign to the caller; its orders and refunds are not.
          if (foreign === foreignSets[1] && param !== 'exportId') continue;
          const value = String(foreign[param as keyof typeof foreign]);
          const missing = String(nonexistent(typeof foreign[param as keyof typeof foreign] === 'number' ? Number(value) : value));
          const url = (probe: string) =>
            fillPath(route, (name) => (name === param ? probe : String(own[name as keyof typeof own]))).slice(consolePrefix.length);
          // A valid body, so the lookup (not the body's validation) is what answers.
          const schema = bodySchemaOf(route);
          const body = route.method === 'POST' ? (schema ? sampleFromSchema(schema) : {}) : undefined;
          const guessed = await client.request(route.method as 'GET', url(value), body);
          const invented = await client.request(route.method as 'GET', url(missing), body);
          probes += 1;
          const what = `${route.method} ${route.url} :${param}=${value}`;
          if (guessed.statusCode !== 404) mismatches.push(`${what}: ${guessed.statusCode} ${JSON.stringify(guessed.body)}`);
          if (
            guessed.statusCode !== invented.statusCode ||
            normalized(JSON.stringify(guessed.body), value) !== normalized(JSON.stringify(invented.body), missing)
          ) {
            mismatches.push(
              `${what}: ${guessed.statusCode} ${JSON.stringify(guessed.body)} ` +
                `versus nonexistent ${invented.statusCode} ${JSON.stringify(invented.body)}`,
            );
          }
        }
      }
    }
    expect(probes).toBeGreaterThanOrEqual(8);
    expect(mismatches).toEqual([]);
  });
});

/** A record a gateway caller may try to reach: an order (and its refund) it does not own. */
interface ForeignOrder {
  outTradeNo: string;
  transactionId: string;
  outRefundNo: string;
  mchid: string;
}

/** Each gateway route that names a record, as a request naming `order`'s; the rest name none. */
const gatewayProbes: Record<
  string,
  (order: ForeignOrder, callerMchid: string) => { method: 'GET' | 'POST'; url: string; body?: unknown }[]
> = {
  'GET /v3/pay/transactions/out-trade-no/:out_trade_no': (order, mchid) => [
    { method: 'GET', url: `/v3/pay/transactions/out-trade-no/${order.outTradeNo}?mchid=${mchid}` },
    { method: 'GET', url: `/v3/pay/transactions/out-trade-no/${order.outTradeNo}?mchid=${order.mchid}` },
  ],
  'GET /v3/pay/transactions/id/:transaction_id': (order, mchid) => [
    { method: 'GET', url: `/v3/pay/transactions/id/${order.transactionId}?mchid=${mchid}` },
    { method: 'GET', url: `/v3/pay/transactions/id/${order.transactionId}?mchid=${order.mchid}` },
  ],
  'POST /v3/pay/transactions/out-trade-no/:out_trade_no/close': (order, mchid) => [
    { method: 'POST', url: `/v3/pay/transactions/out-trade-no/${order.outTradeNo}/close`, body: { mchid } },
  ],
  'POST /v3/refund/domestic/refunds': (order) => [
    {
      method: 'POST',
      url: '/v3/refund/domestic/refunds',
      body: {
        out_trade_no: order.outTradeNo,
        out_refund_no: `XR${order.outTradeNo}`.slice(0, 64),
        amount: { refund: 1, total: 1000, currency: 'CNY' },
      },
    },
    {
      method: 'POST',
      url: '/v3/refund/domestic/refunds',
      body: {
        transaction_id: order.transactionId,
        out_refund_no: `XT${order.outTradeNo}`.slice(0, 64),
        amount: { refund: 1, total: 1000, currency: 'CNY' },
      },
    },
    // Another's out_refund_no on one of the caller's own orders is the caller's to use (unique per mchid): not probed.
  ],
  'GET /v3/refund/domestic/refunds/:out_refund_no': (order) => [{ method: 'GET', url: `/v3/refund/domestic/refunds/${order.outRefundNo}` }],
};
/** Routes that name no record of another tenant. Prepay's out_trade_no is unique per mchid (SPEC §7): the merchant's own namespace. */
const gatewayRoutesWithoutRecords = [
  'POST /v3/pay/transactions/jsapi',
  'GET /v3/certificates',
  'GET /v3/bill/tradebill',
  'GET /v3/billdownload/file',
];

describe('cross-tenant ids on the gateway answer like nonexistent ones', () => {
  let context: TestContext;
  let client: V3InjectClient;
  const foreign = {} as Record<'sameMchidOtherMiniProgram' | 'otherMerchant', ForeignOrder>;
  let ownRecord: ForeignOrder;

  beforeAll(async () => {
    context = await createTestContext('sqlite');
    const manifest = await context.services.demoWorld.ensure();
    const merchant = readyMerchant(manifest);
    client = new V3InjectClient(context.app, merchant, context.clock);
    const owners = {
      sameMchidOtherMiniProgram: {
        owner: {
          mnpId: manifest.miniPrograms.fresh.mnpId,
          applicationId: manifest.superapp.applicationId,
          miniProgramTeamId: manifest.miniProgramTeam.teamId,
          superappTeamId: manifest.superapp.teamId,
        },
        mchid: merchant.mchid,
      },
      otherMerchant: {
        owner: {
          mnpId: manifest.miniPrograms.unbound.mnpId,
          applicationId: manifest.superapp.applicationId,
          miniProgramTeamId: manifest.unboundTeam.teamId,
          superappTeamId: manifest.superapp.teamId,
        },
        mchid: '1900888888',
      },
    };
    for (const [name, { owner, mchid }] of Object.entries(owners) as [keyof typeof owners, (typeof owners)[keyof typeof owners]][]) {
      const order = await context.database.db
        .insertInto('orders')
        .values(orderRow(owner, { createdAt: context.clock.nowMs() - 60_000, tradeState: 'REFUND', mchid, amount: 1000 }))
        .returningAll()
        .executeTakeFirstOrThrow();
      const refund = await insertRefund(context.database.db, order, { createdAt: context.clock.nowMs() - 30_000, amount: 10 });
      foreign[name] = { outTradeNo: order.out_trade_no, transactionId: order.transaction_id!, outRefundNo: refund.out_refund_no, mchid };
    }
    // The same kind of rows, owned by the caller, are found: the probes below reach real lookups.
    const ownOwner = {
      mnpId: merchant.mnpId,
      applicationId: manifest.superapp.applicationId,
      miniProgramTeamId: manifest.miniProgramTeam.teamId,
      superappTeamId: manifest.superapp.teamId,
    };
    const ownOrder = await context.database.db
      .insertInto('orders')
      .values(orderRow(ownOwner, { createdAt: context.clock.nowMs() - 60_000, tradeState: 'REFUND', mchid: merchant.mchid, amount: 1000 }))
      .returningAll()
      .executeTakeFirstOrThrow();
    const ownRefund = await insertRefund(context.database.db, ownOrder, { createdAt: context.clock.nowMs() - 30_000, amount: 10 });
    ownRecord = {
      outTradeNo: ownOrder.out_trade_no,
      transactionId: ownOrder.transaction_id!,
      outRefundNo: ownRefund.out_refund_no,
      mchid: merchant.mchid,
    };
  });
  afterAll(() => context?.close());

  it('every gateway route is either probed or names no record (the list comes from the app)', async () => {
    const routes = (await listAppRoutes(context.app))
      .filter((route) => route.surface === 'gateway')
      .map((route) => `${route.method} ${route.url}`);
    expect(routes.length).toBeGreaterThanOrEqual(9);
    for (const route of routes)
      expect(
        route in gatewayProbes || gatewayRoutesWithoutRecords.includes(route),
        `${route}: add it to gatewayProbes or gatewayRoutesWithoutRecords`,
      ).toBe(true);
    for (const read of [
      ...gatewayProbes['GET /v3/pay/transactions/out-trade-no/:out_trade_no']!(ownRecord, ownRecord.mchid),
      ...gatewayProbes['GET /v3/pay/transactions/id/:transaction_id']!(ownRecord, ownRecord.mchid),
      ...gatewayProbes['GET /v3/refund/domestic/refunds/:out_refund_no']!(ownRecord, ownRecord.mchid),
    ]) {
      expect((await client.request(read.method, read.url)).statusCode, `own record: ${read.url}`).toBe(200);
    }
  });

  for (const [route, probes] of Object.entries(gatewayProbes)) {
    it(`${route}: another mini program's order under the same mchid, and another merchant's, answer as a nonexistent one`, async () => {
      const mismatches: string[] = [];
      const before = await snapshotDatabase(context.database.db);
      for (const [name, order] of Object.entries(foreign)) {
        const invented: ForeignOrder = {
          outTradeNo: String(nonexistent(order.outTradeNo)),
          transactionId: String(nonexistent(order.transactionId)),
          outRefundNo: String(nonexistent(order.outRefundNo)),
          mchid: order.mchid,
        };
        const guesses = probes(order, client.merchant.mchid);
        const inventions = probes(invented, client.merchant.mchid);
        for (const [index, guess] of guesses.entries()) {
          const guessed = await client.request(guess.method, guess.url, guess.body);
          const missing = await client.request(inventions[index]!.method, inventions[index]!.url, inventions[index]!.body);
          const what = `${name}: ${guess.method} ${guess.url} ${guess.body ? JSON.stringify(guess.body) : ''}`;
          if (!['ORDER_NOT_EXIST', 'RESOURCE_NOT_EXISTS'].includes(guessed.body?.code))
            mismatches.push(`${what}: ${guessed.statusCode} ${guessed.rawBody}`);
          const strip = (text: string, probe: ForeignOrder) =>
            [probe.outTradeNo, probe.transactionId, probe.outRefundNo].reduce((acc, id) => acc.replaceAll(id, '<probed>'), text);
          if (guessed.statusCode !== missing.statusCode || strip(guessed.rawBody, order) !== strip(missing.rawBody, invented)) {
            mismatches.push(
              `${what}: ${guessed.statusCode} ${guessed.rawBody} versus nonexistent ${missing.statusCode} ${missing.rawBody}`,
            );
          }
        }
      }
      expect(mismatches).toEqual([]);
      const after = await snapshotDatabase(context.database.db);
      for (const table of ['orders', 'refunds', 'outbox']) expect(after[table], `${route} changed ${table}`).toEqual(before[table]);
    });
  }
});
