import { afterAll, beforeAll, expect, it } from 'vitest';
import { signV3Request } from '../../src/crypto/wechatpay-v3.ts';
import { generateApiV3Key } from '../../src/domain/credentials.ts';
import { ApprovalType } from '../../src/domain/approval-state.ts';
import { merchantRequestWindowMs } from '../../src/services/auth/merchant-request-limiter.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { actorOf, createTenant } from '../helpers/factories.ts';
import { payInSandbox, readyMerchant, V3InjectClient, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Merchant IDs are each superapp's own (SPEC §7 "Credential scope"): two superapps that both list merchant X keep
 * everything keyed by it apart — order and refund numbers, nonces, the per-merchant request limit, the sandbox
 * channel's records and its control API. Nothing one does is visible to, or blocks, the other.
 */
describeOnEachDatabase('the same merchant ID on two superapps', (kind) => {
  const limit = 40;
  let context: TestContext;
  let manifest: DemoManifest;
  let first: V3InjectClient;
  let second: V3InjectClient;
  let secondApplicationId: string;
  let sequence = 0;
  const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`;

  /** A second superapp listing the demo superapp's merchant ID, with a mini program bound to it and paying. */
  async function twinMerchant(): Promise<MerchantCredentials> {
    const { services } = context;
    const tenant = await createTenant(context, 'twin');
    secondApplicationId = tenant.applicationId;
    const saAdmin = await actorOf(context, tenant.members['sa:administrator']);
    const reviewer = await actorOf(context, tenant.members['sa:reviewer']);
    const mpAdmin = await actorOf(context, tenant.members['mp:administrator']);
    const ready = readyMerchant(manifest);
    await services.paymentConfig.update(saAdmin, tenant.applicationId, {
      paymentEnabled: true,
      currencies: ['CNY'],
      channel: { kind: 'sandbox' },
    });
    const merchant = { merchantId: ready.mchid, merchantName: 'Twin merchant' };
    await services.merchants.create(saAdmin, tenant.applicationId, merchant);
    const binding = await services.bindings.request(mpAdmin, { teamId: tenant.miniProgramTeamId, ...merchant });
    const decision = { applicationId: tenant.applicationId, approvalType: ApprovalType.Approve, approvalNote: 'ok' };
    await services.bindings.decide(reviewer, { ...decision, approvalNo: binding.approvalNo });
    const enablement = await services.enablements.request(mpAdmin, { mnpId: tenant.mnpId, applyNote: 'twin shop' });
    await services.enablements.decide(reviewer, { ...decision, approvalNo: enablement.approvalNo });
    const key = await services.credentials.downloadPrivateKey(mpAdmin, tenant.mnpId);
    const apiV3Key = generateApiV3Key();
    await services.credentials.setApiV3Key(mpAdmin, tenant.mnpId, apiV3Key);
    return { ...ready, mnpId: tenant.mnpId, serialNo: key.serialNo, privateKeyPem: key.privateKeyPem, apiV3Key };
  }

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { mchidRateLimit: limit } });
    manifest = await context.services.demoWorld.ensure();
    first = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    second = new V3InjectClient(context.app, await twinMerchant(), context.clock);
    expect(second.merchant.mchid).toBe(first.merchant.mchid);
  });
  afterAll(() => context?.close());

  it('takes the same out_trade_no on both, each its own order, paid and queried apart', async () => {
    const outTradeNo = number('TWIN');
    const ours = await first.prepay({ outTradeNo, total: 1100 });
    const theirs = await second.prepay({ outTradeNo, total: 2200 });
    expect(ours.statusCode).toBe(200);
    expect(theirs.statusCode).toBe(200);
    expect(theirs.body.prepay_id).not.toBe(ours.body.prepay_id);

    await payInSandbox(context.app, ours.body.prepay_id);
    await expect.poll(async () => (await first.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('SUCCESS');
    const theirView = await second.queryByOutTradeNo(outTradeNo);
    expect(theirView.body).toMatchObject({ trade_state: 'WAIT_PAY', amount: { total: 2200 }, appid: second.merchant.mnpId });
    expect((await first.queryByOutTradeNo(outTradeNo)).body).toMatchObject({ amount: { total: 1100 }, appid: first.merchant.mnpId });

    // Repeats stay each superapp's own: the same fields again is the same order, other fields are refused.
    expect((await second.prepay({ outTradeNo, total: 2200 })).body.prepay_id).toBe(theirs.body.prepay_id);
    expect((await second.prepay({ outTradeNo, total: 1100 })).body.code).toBe('OUT_TRADE_NO_USED');
    // One superapp's close does not reach the other's order.
    expect((await second.close(outTradeNo)).statusCode).toBe(204);
    expect((await first.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('SUCCESS');
  });

  it('takes the same out_refund_no on both, and the sandbox settles each by its superapp', async () => {
    const outTradeNo = number('TWR');
    const outRefundNo = `${outTradeNo}-R`;
    for (const client of [first, second]) {
      const prepaid = await client.prepay({ outTradeNo, total: 500 });
      await payInSandbox(context.app, prepaid.body.prepay_id);
      await expect.poll(async () => (await client.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('SUCCESS');
    }
    const ours = await first.refund({ outTradeNo, outRefundNo, refund: 100, total: 500 });
    const theirs = await second.refund({ outTradeNo, outRefundNo, refund: 300, total: 500 });
    expect(ours.statusCode).toBe(200);
    expect(theirs.statusCode).toBe(200);
    expect(theirs.body.refund_id).not.toBe(ours.body.refund_id);

    // The control API cannot tell the two apart by the merchant alone, and says what settles it.
    const mchid = first.merchant.mchid;
    const ambiguous = await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${outRefundNo}/succeed?mchid=${mchid}` });
    expect(ambiguous.statusCode).toBeGreaterThanOrEqual(400);
    expect(ambiguous.json().message).toMatch(/application_id/);
    const settled = await context.app.inject({
      method: 'POST',
      url: `/sandbox/v1/refunds/${outRefundNo}/succeed?mchid=${mchid}&application_id=${secondApplicationId}`,
    });
    expect(settled.statusCode).toBe(200);
    await expect.poll(async () => (await second.queryRefund(outRefundNo)).body.status).toBe('SUCCESS');
    expect((await second.queryRefund(outRefundNo)).body.amount.refund).toBe(300);
    expect((await first.queryRefund(outRefundNo)).body).toMatchObject({ status: 'PROCESSING', amount: { refund: 100 } });
  });

  it('accepts the same nonce from each superapp merchant once', async () => {
    const nonce = `twin-nonce-${sequence}`;
    const signedWith = (client: V3InjectClient, url: string) =>
      signV3Request(
        { mchid: client.merchant.mchid, serialNo: client.merchant.serialNo, privateKey: client.merchant.privateKeyPem },
        { method: 'GET', url, body: '' },
        { nowMs: context.clock.nowMs(), nonce },
      );
    for (const client of [first, second]) {
      const url = `/v3/pay/transactions/out-trade-no/${number('NONCE')}?mchid=${client.merchant.mchid}`;
      const answer = await client.request('GET', url, undefined, { authorization: signedWith(client, url) });
      expect(answer.statusCode).toBe(404);
      expect(answer.body.code).toBe('ORDER_NOT_EXIST');
    }
    const url = `/v3/pay/transactions/out-trade-no/${number('NONCE')}?mchid=${second.merchant.mchid}`;
    const replay = await context.app.inject({ method: 'GET', url, headers: { authorization: signedWith(second, url) } });
    expect(replay.statusCode).toBe(401);
  });

  it("counts each superapp merchant's requests apart: one at its limit does not slow the other", async () => {
    context.clock.advance(merchantRequestWindowMs - (context.clock.nowMs() % merchantRequestWindowMs));
    for (let i = 0; i < limit; i++) await first.queryByOutTradeNo(number('LIM'));
    expect((await first.queryByOutTradeNo(number('LIM'))).statusCode).toBe(429);
    expect((await second.queryByOutTradeNo(number('LIM'))).statusCode).toBe(404);
    context.clock.advance(merchantRequestWindowMs);
  });
});
