import { afterAll, beforeAll, expect, it } from 'vitest';
import { orderRepository, type NewOrderRow } from '../../src/repositories/order.repository.ts';
import { refundRepository } from '../../src/repositories/refund.repository.ts';
import { paymentStateHistoryRepository } from '../../src/repositories/channel-payment.repository.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

let sequence = 0;
function orderRow(overrides: Partial<NewOrderRow> = {}): NewOrderRow {
  sequence += 1;
  const now = Date.UTC(2026, 0, 15);
  return {
    prepay_id: `wx-test-${sequence}-${Math.random()}`,
    transaction_id: null,
    mchid: '1900000101',
    out_trade_no: `T-${sequence}-${Math.random().toString(36).slice(2)}`,
    mnp_id: 'mnp_a',
    application_id: 'app_a',
    mini_program_team_id: 'team_mp',
    superapp_team_id: 'team_sa',
    description: 'd',
    attach: null,
    notify_url: 'https://merchant.example/notify',
    amount_total: 1000,
    currency: 'CNY',
    payer_openid: 'openid',
    time_expire: now + 7_200_000,
    client_platform: 0,
    sandbox: 1,
    trade_state: 'WAIT_PAY',
    channel_kind: 'sandbox',
    channel_order_id: null,
    channel_transaction_id: null,
    cashier_token: null,
    fingerprint: 'f',
    refund_reserved: 0,
    refund_count: 0,
    refund_succeeded: 0,
    anomaly_flags: 0,
    pending_operation: null,
    reconcile_at: null,
    created_at: now,
    updated_at: now,
    success_time: null,
    closed_at: null,
    ...overrides,
  };
}

describeOnEachDatabase('order storage (migration 0005)', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());
  const db = () => context.database.db;

  it('keeps one order per (mchid, out_trade_no) and says which insert won', async () => {
    const first = orderRow();
    const id = await orderRepository.insertIfAbsent(db(), first);
    expect(id).toBeTypeOf('number');
    expect(await orderRepository.insertIfAbsent(db(), { ...orderRow(), out_trade_no: first.out_trade_no })).toBeUndefined();
    // Another merchant may use the same number.
    expect(await orderRepository.insertIfAbsent(db(), { ...orderRow(), out_trade_no: first.out_trade_no, mchid: '1900000102' })).toBeTypeOf(
      'number',
    );
  });

  it('refuses a reservation above the paid amount at the database level', async () => {
    const id = (await orderRepository.insertIfAbsent(
      db(),
      orderRow({ trade_state: 'SUCCESS', transaction_id: `42${Date.now()}${sequence}`, success_time: 1 }),
    ))!;
    await expect(db().updateTable('orders').set({ refund_reserved: 1001 }).where('id', '=', id).execute()).rejects.toThrow();
    expect(
      await orderRepository.admitRefund(db(), id, {
        tradeState: 'SUCCESS',
        refundReserved: 0,
        refundCount: 0,
        amount: 400,
        nextTradeState: 'REFUND',
        nowMs: 2,
      }),
    ).toBe(1);
    // A stale compare-and-set changes nothing.
    expect(
      await orderRepository.admitRefund(db(), id, {
        tradeState: 'SUCCESS',
        refundReserved: 0,
        refundCount: 0,
        amount: 400,
        nextTradeState: 'REFUND',
        nowMs: 3,
      }),
    ).toBe(0);
    expect(await orderRepository.findById(db(), id)).toMatchObject({ trade_state: 'REFUND', refund_reserved: 400, refund_count: 1 });
  });

  it('moves trade_state only from the state read (compare-and-set)', async () => {
    const id = (await orderRepository.insertIfAbsent(db(), orderRow()))!;
    expect(await orderRepository.transition(db(), id, 'WAIT_PAY', 'CLOSED', { closed_at: 5 })).toBe(1);
    expect(await orderRepository.transition(db(), id, 'WAIT_PAY', 'SUCCESS', {})).toBe(0);
    expect((await orderRepository.findById(db(), id))!.trade_state).toBe('CLOSED');
  });

  it('keeps refunds unique per (mchid, out_refund_no) and the state history append-only', async () => {
    const orderId = (await orderRepository.insertIfAbsent(
      db(),
      orderRow({ trade_state: 'SUCCESS', transaction_id: `43${Date.now()}${sequence}`, success_time: 1 }),
    ))!;
    const order = (await orderRepository.findById(db(), orderId))!;
    const refund = {
      refund_id: `50-${sequence}-${Math.random()}`,
      mchid: order.mchid,
      out_refund_no: 'R-1',
      order_id: orderId,
      mnp_id: order.mnp_id,
      application_id: order.application_id,
      mini_program_team_id: order.mini_program_team_id,
      superapp_team_id: order.superapp_team_id,
      sandbox: 1,
      out_trade_no: order.out_trade_no,
      transaction_id: order.transaction_id!,
      kind: 'merchant' as const,
      channel_payment_id: null,
      amount_refund: 100,
      amount_total: 1000,
      currency: 'CNY',
      reason: null,
      notify_url: null,
      status: 'PROCESSING' as const,
      channel_kind: 'sandbox',
      channel_refund_id: null,
      user_received_account: null,
      reconcile_at: null,
      created_at: 1,
      updated_at: 1,
      success_time: null,
    };
    expect((await refundRepository.insertIfAbsent(db(), refund))?.out_refund_no).toBe(refund.out_refund_no);
    expect(await refundRepository.insertIfAbsent(db(), { ...refund, refund_id: `${refund.refund_id}-2` })).toBeUndefined();

    await paymentStateHistoryRepository.append(db(), {
      subject: 'order',
      subject_id: orderId,
      from_state: null,
      to_state: 'WAIT_PAY',
      at: 1,
      reason: 'test',
    });
    await expect(db().updateTable('payment_state_history').set({ reason: 'rewritten' }).execute()).rejects.toThrow(/append-only/);
    await expect(db().deleteFrom('payment_state_history').execute()).rejects.toThrow(/append-only/);
  });
});
