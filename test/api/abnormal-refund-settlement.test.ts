import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SandboxRefundState } from '../../src/db/gateway-schema.ts';
import { OrderAnomaly } from '../../src/db/order-schema.ts';
import { auditRepository } from '../../src/repositories/audit.repository.ts';
import { paymentStateHistoryRepository } from '../../src/repositories/channel-payment.repository.ts';
import { orderRepository } from '../../src/repositories/order.repository.ts';
import { outboxRepository } from '../../src/repositories/outbox.repository.ts';
import { refundRepository, type RefundRow } from '../../src/repositories/refund.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { actorOf, createTenant, createUser } from '../helpers/factories.ts';
import { demoActor, payInSandbox, readyMerchant, V3InjectClient, refundOfMerchant } from '../helpers/gateway-client.ts';
import { callAction, managementClient, type ManagementCredentials } from '../helpers/management-client.ts';
import { insertOrder, insertRefund } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

/** SPEC §7 "ABNORMAL refunds": settlement by hand (SettleAbnormalRefund and the console) and later contradicting channel results. */
describeOnEachDatabase('settling ABNORMAL refunds by hand', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let baseUrl: string;
  let applicationId: string;
  let admins: { superAdmin: ManagementCredentials; platformAdmin: ManagementCredentials };
  const db = () => context.database.db;
  const call = (user: ManagementCredentials, params: Record<string, unknown>) =>
    callAction(managementClient(baseUrl, user), 'SettleAbnormalRefund', { PlatformId: manifest.platformId, ...params });

  beforeAll(async () => {
    context = await createTestContext(kind);
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    // The demo world's super admin, and a platform admin, each with an API key.
    const platformAdmin = await actorOf(context, await createUser(context, { platformRole: 'platform_admin' }));
    admins = {
      superAdmin: await context.services.apiKeys.create(await demoActor(context, manifest.superAdmin.account), 'settlement test'),
      platformAdmin: await context.services.apiKeys.create(platformAdmin, 'settlement test'),
    };
  });
  afterAll(() => context?.close());

  /** A paid order with a refund the channel reported ABNORMAL (the sandbox holds it ABNORMAL too). */
  async function abnormalRefund(total = 1000, amount = 300): Promise<RefundRow> {
    const outTradeNo = number('AB');
    const { body } = await client.prepay({ outTradeNo, total });
    expect((await payInSandbox(context.app, body.prepay_id)).statusCode).toBe(200);
    const outRefundNo = `${outTradeNo}-R`;
    expect((await client.refund({ outTradeNo, outRefundNo, refund: amount, total })).statusCode).toBe(200);
    const abnormal = await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${outRefundNo}/abnormal` });
    expect(abnormal.statusCode).toBe(200);
    // The sandbox's event reaches Paythrough through its event sink, which a busy machine may answer a moment later.
    const current = async () => (await refundOfMerchant(db(), client.merchant, outRefundNo))!;
    await expect.poll(async () => (await current()).status).toBe('ABNORMAL');
    return current();
  }

  /** What the channel holds, set as if its callback about it had been lost (Paythrough is not told). */
  async function setChannelState(refund: RefundRow, state: SandboxRefundState | 'forgotten') {
    const rows = db().updateTable('sandbox_refunds').where('out_refund_no', '=', refund.out_refund_no);
    if (state === 'forgotten') await db().deleteFrom('sandbox_refunds').where('out_refund_no', '=', refund.out_refund_no).execute();
    else await rows.set({ state }).execute();
  }

  const reload = async (refund: RefundRow) => (await refundRepository.findById(db(), refund.id))!;
  const orderOf = async (refund: RefundRow) => (await orderRepository.findById(db(), refund.order_id))!;
  const eventsOf = async (refund: RefundRow) =>
    (await outboxRepository.listBySubject(db(), 'refund', String(refund.id))).map((event) => JSON.parse(event.payload_json).event_type);
  const settle = (
    refund: RefundRow,
    status: 'SUCCESS' | 'CLOSED',
    note: unknown = 'the user confirmed receipt',
    user = manifest.superapp.users.admin,
  ) => call(user, { ApplicationId: applicationId, RefundId: refund.refund_id, Status: status, Note: note });

  it('SUCCESS by the superapp administrator: no channel check; note and actor in history and audit; notified', async () => {
    const refund = await abnormalRefund(1000, 300);
    const admin = manifest.superapp.users.admin;
    expect(await settle(refund, 'SUCCESS', 'bank statement shows the credit')).toEqual({
      Result: true,
      RefundId: refund.refund_id,
      OutRefundNo: refund.out_refund_no,
      Status: 'SUCCESS',
    });
    const settled = await reload(refund);
    expect(settled).toMatchObject({ status: 'SUCCESS', settled_by: admin.account });
    expect(settled.success_time).toBe(context.clock.nowMs());
    expect(await orderOf(refund)).toMatchObject({ refund_reserved: 300, refund_succeeded: 300 });
    const history = await paymentStateHistoryRepository.listOf(db(), 'refund', refund.id);
    expect(history.at(-1)).toMatchObject({ from_state: 'ABNORMAL', to_state: 'SUCCESS' });
    expect(history.at(-1)!.reason).toContain(admin.account);
    expect(history.at(-1)!.reason).toContain('bank statement shows the credit');
    const audit = await auditRepository.list(db(), { teamIds: undefined, beforeId: undefined, limit: 20 });
    expect(audit.find((entry) => entry.action === 'refund.settle_abnormal' && entry.target_id === refund.refund_id)).toMatchObject({
      actor_account: admin.account,
      team_id: refund.superapp_team_id,
      after_json: JSON.stringify({ status: 'SUCCESS', note: 'bank statement shows the credit' }),
    });
    expect(await eventsOf(refund)).toEqual(['REFUND.ABNORMAL', 'REFUND.SUCCESS']);
    expect((await client.queryRefund(refund.out_refund_no)).body.status).toBe('SUCCESS');
  });

  it('needs a note', async () => {
    const refund = await abnormalRefund();
    const missing = await call(manifest.superapp.users.admin, {
      ApplicationId: applicationId,
      RefundId: refund.refund_id,
      Status: 'SUCCESS',
    });
    expect(missing.error.code).toBe('InvalidParameter');
    expect((await settle(refund, 'SUCCESS', '   ')).error.code).toBe('InvalidParameterValue');
    expect((await settle(refund, 'SETTLED' as 'SUCCESS')).error.code).toBe('InvalidParameterValue');
    expect((await reload(refund)).status).toBe('ABNORMAL');
  });

  it.each(['PROCESSING', 'SUCCESS', 'ABNORMAL'] as const)('CLOSED is refused while the channel answers %s', async (channelState) => {
    const refund = await abnormalRefund(1000, 400);
    await setChannelState(refund, channelState);
    const refused = await settle(refund, 'CLOSED');
    expect(refused.error.code).toBe('FailedOperation.RefundStillAtChannel');
    expect(refused.error.message).toContain(channelState);
    expect(await reload(refund)).toMatchObject({ status: 'ABNORMAL', settled_by: null });
    expect((await orderOf(refund)).refund_reserved).toBe(400);
    expect(await eventsOf(refund)).toEqual(['REFUND.ABNORMAL']);
  });

  it.each(['CLOSED', 'forgotten'] as const)(
    'CLOSED is allowed while the channel answers %s, and releases the amount',
    async (channelState) => {
      const refund = await abnormalRefund(1000, 400);
      await setChannelState(refund, channelState);
      expect((await settle(refund, 'CLOSED', 'the channel gave the money back')).Status).toBe('CLOSED');
      expect(await reload(refund)).toMatchObject({ status: 'CLOSED', settled_by: manifest.superapp.users.admin.account });
      expect(await orderOf(refund)).toMatchObject({ refund_reserved: 0, refund_succeeded: 0 });
      expect(await eventsOf(refund)).toEqual(['REFUND.ABNORMAL', 'REFUND.CLOSED']);
      // The amount is refundable again.
      const again = await client.refund({
        outTradeNo: refund.out_trade_no,
        outRefundNo: `${refund.out_trade_no}-2`,
        refund: 1000,
        total: 1000,
      });
      expect(again.statusCode).toBe(200);
    },
  );

  it('settles only ABNORMAL refunds', async () => {
    const settled = await abnormalRefund();
    expect((await settle(settled, 'SUCCESS')).Status).toBe('SUCCESS');
    for (const status of ['SUCCESS', 'CLOSED'] as const)
      expect((await settle(settled, status)).error.code).toBe('FailedOperation.RefundNotAbnormal');
    const outTradeNo = number('PR');
    const { body } = await client.prepay({ outTradeNo, total: 500 });
    await payInSandbox(context.app, body.prepay_id);
    await client.refund({ outTradeNo, outRefundNo: `${outTradeNo}-R`, refund: 100, total: 500 });
    const processing = (await refundOfMerchant(db(), client.merchant, `${outTradeNo}-R`))!;
    expect(processing.status).toBe('PROCESSING');
    const refused = await settle(processing, 'SUCCESS');
    expect(refused.error.code).toBe('FailedOperation.RefundNotAbnormal');
    expect(refused.error.message).toContain('PROCESSING');
    expect((await reload(processing)).status).toBe('PROCESSING');
  });

  it('super and platform admins see it read-only, other roles may not act, review staff do not see it', async () => {
    const refund = await abnormalRefund();
    const { superapp, miniProgramTeam } = manifest;
    const expected: [ManagementCredentials, string][] = [
      [admins.superAdmin, 'UnauthorizedOperation'],
      [admins.platformAdmin, 'UnauthorizedOperation'],
      [superapp.users.seniorDeveloper, 'UnauthorizedOperation'],
      [superapp.users.developer, 'UnauthorizedOperation'],
      [superapp.users.operator, 'UnauthorizedOperation'],
      [miniProgramTeam.users.admin, 'UnauthorizedOperation'],
      [miniProgramTeam.users.memberAdmin, 'ResourceNotFound'],
      [superapp.users.reviewer, 'ResourceNotFound'],
    ];
    for (const [user, code] of expected) {
      expect((await settle(refund, 'SUCCESS', 'not mine to settle', user as never)).error.code, code).toBe(code);
    }
    expect(await reload(refund)).toMatchObject({ status: 'ABNORMAL', settled_by: null });
  });

  it("another superapp's refund does not exist for the superapp administrator", async () => {
    const other = await createTenant(context, number('other'));
    const owner = {
      mnpId: other.mnpId,
      applicationId: other.applicationId,
      miniProgramTeamId: other.miniProgramTeamId,
      superappTeamId: other.superappTeamId,
    };
    const order = await insertOrder(db(), owner, { createdAt: context.clock.nowMs() - 60_000, tradeState: 'REFUND', amount: 500 });
    const foreign = await insertRefund(db(), order, { createdAt: context.clock.nowMs() - 30_000, amount: 100, status: 'ABNORMAL' });
    const admin = manifest.superapp.users.admin;
    const attempts = [
      { ApplicationId: other.applicationId, RefundId: foreign.refund_id },
      { ApplicationId: applicationId, RefundId: foreign.refund_id },
      { ApplicationId: applicationId, RefundId: '50300000000000000000000999999' },
    ];
    for (const ids of attempts) {
      expect((await call(admin, { ...ids, Status: 'SUCCESS', Note: 'n' })).error.code).toBe('ResourceNotFound');
    }
    // Its own superapp's administrator can.
    const otherAdmin = await context.services.apiKeys.create(await actorOf(context, other.members['sa:administrator']), 'k');
    expect((await call(otherAdmin, { ...attempts[0], Status: 'SUCCESS', Note: 'n' })).Status).toBe('SUCCESS');
  });

  it('the console route settles from the After-sales record, with the same rules', async () => {
    const admin = await ConsoleClient.signIn(context.app, manifest.superapp.users.admin.account, manifest.superapp.users.admin.password);
    const superAdmin = await ConsoleClient.signIn(context.app, manifest.superAdmin.account, manifest.superAdmin.password);
    const refund = await abnormalRefund(1000, 250);
    const url = `/refunds/${refund.id}/settle`;
    expect((await superAdmin.post(url, { status: 'SUCCESS', note: 'x' })).statusCode).toBe(403);
    expect((await admin.post(url, { status: 'SUCCESS', note: ' ' })).statusCode).toBe(400);
    const stillThere = await admin.post(url, { status: 'CLOSED', note: 'closing' });
    expect([stillThere.statusCode, stillThere.body.error.code]).toEqual([409, 'FailedOperation.RefundStillAtChannel']);
    await setChannelState(refund, 'CLOSED');
    const closed = await admin.post(url, { status: 'CLOSED', note: 'the channel closed it' });
    expect([closed.statusCode, closed.body]).toEqual([
      200,
      { id: refund.id, refundId: refund.refund_id, outRefundNo: refund.out_refund_no, status: 'CLOSED' },
    ]);
    const detail = (await admin.get(`/refunds/${refund.id}`)).body;
    expect(detail.refund).toMatchObject({ status: 'CLOSED', settledBy: manifest.superapp.users.admin.account });
    expect(detail.history.at(-1).reason).toContain('the channel closed it');
    const again = await admin.post(url, { status: 'SUCCESS', note: 'again' });
    expect([again.statusCode, again.body.error.code]).toEqual([409, 'FailedOperation.RefundNotAbnormal']);
    expect((await admin.post('/refunds/999999999/settle', { status: 'SUCCESS', note: 'x' })).statusCode).toBe(404);
  });

  it('a later channel CLOSED contradicting a settlement as SUCCESS is recorded and flagged, not applied', async () => {
    const refund = await abnormalRefund(1000, 300);
    await settle(refund, 'SUCCESS');
    // The sandbox channel closes the refund after all and tells Paythrough (a channel event).
    expect((await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${refund.out_refund_no}/close` })).statusCode).toBe(200);
    expect((await reload(refund)).status).toBe('SUCCESS');
    const order = await orderOf(refund);
    expect(order).toMatchObject({ refund_reserved: 300, refund_succeeded: 300 });
    expect(order.anomaly_flags & OrderAnomaly.RefundMismatch).toBe(OrderAnomaly.RefundMismatch);
    const history = await paymentStateHistoryRepository.listOf(db(), 'refund', refund.id);
    expect(history.at(-1)).toMatchObject({ from_state: 'SUCCESS', to_state: 'SUCCESS' });
    expect(history.at(-1)!.reason).toMatch(/^not applied: channel reports CLOSED, contradicting the settlement by hand as SUCCESS/);
    expect(await eventsOf(refund)).toEqual(['REFUND.ABNORMAL', 'REFUND.SUCCESS']);
  });

  it('a later channel SUCCESS contradicting a settlement as CLOSED is flagged, not applied; an agreeing one is not', async () => {
    const refund = await abnormalRefund(1000, 300);
    await setChannelState(refund, 'forgotten');
    await settle(refund, 'CLOSED');
    const closed = await reload(refund);
    const view = {
      channelRefundId: 'CH-LATE',
      merchantId: refund.mchid,
      outRefundNo: refund.out_refund_no,
      outTradeNo: refund.out_trade_no,
      amount: { refund: refund.amount_refund, total: refund.amount_total, currency: refund.currency },
      reason: null,
      createdAt: refund.created_at,
      settledAt: null,
    };
    await context.services.refunds.recordChannelView(closed, { ...view, state: 'CLOSED' });
    expect((await orderOf(refund)).anomaly_flags & OrderAnomaly.RefundMismatch).toBe(0);
    const historyLength = (await paymentStateHistoryRepository.listOf(db(), 'refund', refund.id)).length;
    await context.services.refunds.recordChannelView(closed, { ...view, state: 'SUCCESS' });
    await context.services.refunds.recordChannelView(closed, { ...view, state: 'SUCCESS' });
    expect(await reload(refund)).toMatchObject({ status: 'CLOSED', success_time: null });
    const order = await orderOf(refund);
    expect(order).toMatchObject({ refund_reserved: 0, refund_succeeded: 0 });
    expect(order.anomaly_flags & OrderAnomaly.RefundMismatch).toBe(OrderAnomaly.RefundMismatch);
    const history = await paymentStateHistoryRepository.listOf(db(), 'refund', refund.id);
    // Recorded once, however often the channel repeats it.
    expect(history.length).toBe(historyLength + 1);
    expect(history.at(-1)!.reason).toContain('contradicting the settlement by hand as CLOSED');
    expect(await eventsOf(refund)).toEqual(['REFUND.ABNORMAL', 'REFUND.CLOSED']);
  });
});
