import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreateChannelOrderInput } from '../../src/channels/channel.ts';
import type { SandboxChannel } from '../../src/channels/sandbox/sandbox-channel.ts';
import { formatAmount } from '../../src/routes/sandbox/sandbox.routes.ts';
import { RecordingSink } from '../helpers/recording-sink.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('sandbox control API and cashier', (kind) => {
  let context: TestContext;
  let sandbox: SandboxChannel;
  const sink = new RecordingSink();
  let sequence = 0;

  beforeAll(async () => {
    context = await createTestContext(kind);
    sandbox = context.services.sandbox!;
    context.services.channelEvents.attach(sink);
  });
  afterAll(() => context?.close());
  beforeEach(() => sink.clear());

  async function order(overrides: Partial<CreateChannelOrderInput> = {}) {
    sequence += 1;
    const result = await sandbox.createOrder({
      merchantId: '1900000001',
      appId: 'mnp_demo',
      outTradeNo: `C${sequence}`,
      prepayId: `wx_c_${sequence}`,
      amount: { total: 1234, currency: 'CNY' },
      description: 'A <b>bold</b> coffee',
      expiresAt: context.clock.nowMs() + 3600_000,
      attach: null,
      payer: { openid: 'o_payer' },
      ...overrides,
    });
    if (result.outcome !== 'ok') throw new Error(JSON.stringify(result));
    return result.value;
  }
  const post = (url: string, payload?: unknown) =>
    context.app.inject({ method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) });

  it('succeed: 200 with the channel view, the payer as given, and the event sent', async () => {
    const created = await order();
    const response = await post(`/sandbox/v1/payments/${created.prepayId}/succeed`, { payer_openid: 'o_someone' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      prepay_id: created.prepayId,
      out_trade_no: created.outTradeNo,
      merchant_id: '1900000001',
      state: 'SUCCESS',
      payer_openid: 'o_someone',
      amount: { total: 1234, currency: 'CNY' },
    });
    expect(response.json().channel_transaction_id).toMatch(/^sbx_pay_/);
    expect(response.json().paid_time).toBe(new Date(context.clock.nowMs()).toISOString());
    expect(sink.types()).toEqual(['payment.succeeded']);
    // Again: same view, no new event; without a body too.
    const again = await post(`/sandbox/v1/payments/${created.prepayId}/succeed`);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(response.json());
    expect(sink.types()).toEqual(['payment.succeeded']);
    expect((await context.app.inject({ method: 'GET', url: `/sandbox/v1/payments/${created.prepayId}` })).json()).toEqual(response.json());
  });

  it('fail, then succeed is refused; unknown prepay_id is 404', async () => {
    const created = await order();
    const failed = await post(`/sandbox/v1/payments/${created.prepayId}/fail`, { reason: 'card declined' });
    expect(failed.statusCode).toBe(200);
    expect(failed.json()).toMatchObject({ state: 'PAY_ERROR', failure_reason: 'card declined' });
    expect(sink.types()).toEqual(['payment.failed']);
    expect((await post(`/sandbox/v1/payments/${created.prepayId}/succeed`)).statusCode).toBe(409);
    const late = await post(`/sandbox/v1/payments/${created.prepayId}/succeed`, { late: true });
    expect(late.json()).toMatchObject({ state: 'SUCCESS' });
    const missing = await post('/sandbox/v1/payments/wx_nope/succeed');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'ORDER_NOT_EXIST' });
    expect((await context.app.inject({ method: 'GET', url: '/sandbox/v1/payments/wx_nope' })).statusCode).toBe(404);
  });

  it('refunds: succeed | close | abnormal settle at once; a settled refund refuses another outcome', async () => {
    const created = await order();
    await post(`/sandbox/v1/payments/${created.prepayId}/succeed`);
    const refund = (n: string, amount: number) =>
      sandbox.refund({
        merchantId: '1900000001',
        outTradeNo: created.outTradeNo,
        outRefundNo: `${created.outTradeNo}-${n}`,
        channelTransactionId: null,
        amount: { refund: amount, total: 1234, currency: 'CNY' },
        reason: null,
      });
    await refund('a', 100);
    await refund('b', 100);
    await refund('c', 100);
    sink.clear();
    const succeeded = await post(`/sandbox/v1/refunds/${created.outTradeNo}-a/succeed`);
    expect(succeeded.statusCode).toBe(200);
    expect(succeeded.json()).toMatchObject({
      out_refund_no: `${created.outTradeNo}-a`,
      state: 'SUCCESS',
      amount: { refund: 100, total: 1234, currency: 'CNY' },
    });
    expect((await post(`/sandbox/v1/refunds/${created.outTradeNo}-b/close?mchid=1900000001`)).json()).toMatchObject({ state: 'CLOSED' });
    expect((await post(`/sandbox/v1/refunds/${created.outTradeNo}-c/abnormal`, { mchid: '1900000001' })).json()).toMatchObject({
      state: 'ABNORMAL',
    });
    expect(sink.types()).toEqual(['refund.succeeded', 'refund.closed', 'refund.abnormal']);
    expect((await post(`/sandbox/v1/refunds/${created.outTradeNo}-a/close`)).statusCode).toBe(409);
    expect((await post(`/sandbox/v1/refunds/nope/succeed`)).statusCode).toBe(404);
    expect((await post(`/sandbox/v1/refunds/${created.outTradeNo}-a/explode`)).statusCode).toBe(400);
  });

  it('serves the cashier page without inline script, under the CSP', async () => {
    const created = await order();
    const page = await context.app.inject({ method: 'GET', url: `/sandbox/cashier/${created.cashierToken}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="assets/cashier.js"></script>');
    expect(page.body).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=/i);
    for (const button of ['pay', 'fail', 'cancel']) expect(page.body).toContain(`id="${button}"`);
    const script = await context.app.inject({ method: 'GET', url: '/sandbox/cashier/assets/cashier.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toContain('javascript');
    expect(script.body).toContain('paythrough-sandbox-cashier');
    expect((await context.app.inject({ method: 'GET', url: '/sandbox/cashier/assets/cashier.css' })).statusCode).toBe(200);
  });

  it('cashier JSON: summary, then pay / fail / cancel as the user', async () => {
    const created = await order();
    const summary = await context.app.inject({ method: 'GET', url: `/sandbox/v1/cashier/${created.cashierToken}` });
    expect(summary.json()).toMatchObject({
      prepay_id: created.prepayId,
      description: 'A <b>bold</b> coffee',
      amount_display: '12.34 CNY',
      state: 'WAIT_PAY',
      expired: false,
      result: null,
    });
    const cancelled = await post(`/sandbox/v1/cashier/${created.cashierToken}/cancel`);
    expect(cancelled.json()).toMatchObject({ state: 'WAIT_PAY', result: 'cancel' });
    expect(sink.events).toHaveLength(0);
    const paid = await post(`/sandbox/v1/cashier/${created.cashierToken}/pay`);
    expect(paid.json()).toMatchObject({ state: 'SUCCESS', result: 'ok' });
    expect(sink.types()).toEqual(['payment.succeeded']);
    const again = await post(`/sandbox/v1/cashier/${created.cashierToken}/pay`);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'ORDER_PAID' });

    const other = await order();
    expect((await post(`/sandbox/v1/cashier/${other.cashierToken}/fail`)).json()).toMatchObject({ state: 'PAY_ERROR', result: 'fail' });
    expect((await context.app.inject({ method: 'GET', url: '/sandbox/v1/cashier/not-a-token' })).statusCode).toBe(404);
  });

  it('the cashier refuses an expired order', async () => {
    const created = await order({ expiresAt: context.clock.nowMs() + 1000 });
    context.clock.advance(1000);
    expect((await context.app.inject({ method: 'GET', url: `/sandbox/v1/cashier/${created.cashierToken}` })).json()).toMatchObject({
      expired: true,
    });
    const paid = await post(`/sandbox/v1/cashier/${created.cashierToken}/pay`);
    expect(paid.statusCode).toBe(409);
    expect(sink.events).toHaveLength(0);
  });

  it('documents the control API in the OpenAPI document', async () => {
    const document = (await context.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/sandbox/v1/payments/{prepay_id}/succeed', '/sandbox/v1/refunds/{out_refund_no}/{outcome}']),
    );
  });
});

describeOnEachDatabase('sandbox switched off', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind, { config: { sandboxEnabled: false } });
  });
  afterAll(() => context?.close());

  it('has no sandbox channel, control API or cashier', async () => {
    expect(context.services.sandbox).toBeNull();
    expect((await context.app.inject({ method: 'POST', url: '/sandbox/v1/payments/wx_1/succeed' })).statusCode).toBe(404);
    expect((await context.app.inject({ method: 'GET', url: '/sandbox/cashier/abc' })).statusCode).toBe(404);
  });
});

describe('formatAmount', () => {
  it('uses the currency exponent', () => {
    expect(formatAmount(1234, 'CNY')).toBe('12.34 CNY');
    expect(formatAmount(5, 'USD')).toBe('0.05 USD');
    expect(formatAmount(1234, 'JPY')).toBe('1234 JPY');
    expect(formatAmount(1234, 'KWD')).toBe('1.234 KWD');
  });
});
