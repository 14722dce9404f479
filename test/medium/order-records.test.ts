import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, systemActor } from '../../src/domain/access.ts';
import { refundSearchWindow } from '../../src/services/records/refund-record.service.ts';
import { expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import {
  createRecordTenants,
  insertNotification,
  insertOrder,
  insertOrders,
  insertRefund,
  orderRow,
  type OrderOwner,
} from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

const hour = 60 * 60 * 1000;
// 2026-06-15 12:00 in Shanghai.
const now = Date.UTC(2026, 5, 15, 4, 0, 0);

describeOnEachDatabase('order and after-sales records', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let other: PaymentWorld;
  let teamA: OrderOwner;
  let teamB: OrderOwner;
  let otherTenant: OrderOwner;
  let developerB: Actor;
  let paged: number[];

  beforeAll(async () => {
    context = await createTestContext(kind);
    context.clock.set(now);
    ({ world, other, teamA, teamB, otherTenant, developerB } = await createRecordTenants(context));

    // Team A: 45 orders an hour apart (some sharing a created_at, to test ties), states cycling.
    const states = ['SUCCESS', 'WAIT_PAY', 'CLOSED', 'REFUND', 'PAY_ERROR'] as const;
    const rows = [];
    for (let index = 0; index < 45; index++) {
      rows.push(
        orderRow(teamA, {
          createdAt: now - Math.floor(index / 3) * hour - 1000,
          tradeState: states[index % states.length],
          amount: 1000 + index * 100,
        }),
      );
    }
    await insertOrders(context.database.db, rows);
    await insertOrder(context.database.db, teamB, { createdAt: now - 2 * day, outTradeNo: 'B-ORDER-1', amount: 777 });
    await insertOrder(context.database.db, otherTenant, { createdAt: now - 2 * day, outTradeNo: 'OTHER-1', amount: 555 });
    paged = (
      await context.database.db
        .selectFrom('orders')
        .select('id')
        .where('mnp_id', '=', teamA.mnpId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
    ).map((r) => r.id);
  });
  afterAll(() => context?.close());

  describe('order list', () => {
    it('pages by cursor, newest first, ties broken by id, nothing twice or lost', async () => {
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await context.services.orderRecords.list(
          world.as['mp:operator'],
          { mnpIds: [teamA.mnpId] },
          { cursor, limit: 10, withTotal: pages === 0 },
        );
        if (pages === 0) expect(page.total).toEqual({ value: 45, exact: true });
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(5);
      expect(seen).toEqual(paged);
    });

    it('pages oldest first when asked, the exact reverse, and refuses a cursor from the other order', async () => {
      const operator = world.as['sa:operator'];
      const newest = await context.services.orderRecords.list(operator, {}, { limit: 100 });
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await context.services.orderRecords.list(operator, { sort: 'oldest' }, { cursor, limit: 7 });
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toHaveLength(46);
      expect(seen).toEqual(newest.items.map((item) => item.id).reverse());
      const byState = await context.services.orderRecords.list(
        operator,
        { sort: 'oldest', tradeStates: ['SUCCESS', 'REFUND'] },
        { limit: 100 },
      );
      expect(byState.items.map((item) => item.id)).toEqual(
        newest.items
          .filter((item) => item.tradeState === 'SUCCESS' || item.tradeState === 'REFUND')
          .map((item) => item.id)
          .reverse(),
      );

      const firstNewest = await context.services.orderRecords.list(operator, {}, { limit: 5 });
      const firstOldest = await context.services.orderRecords.list(operator, { sort: 'oldest' }, { limit: 5 });
      await expect(
        context.services.orderRecords.list(operator, { sort: 'oldest' }, { cursor: firstNewest.nextCursor!, limit: 5 }),
      ).rejects.toThrow(/cursor: from a list sorted newest first/);
      await expect(context.services.orderRecords.list(operator, {}, { cursor: firstOldest.nextCursor!, limit: 5 })).rejects.toThrow(
        /cursor: from a list sorted oldest first/,
      );
    });

    it('merges the superapp team’s mini program teams in one order (several parts)', async () => {
      const operator = world.as['sa:operator'];
      const all = await context.services.orderRecords.list(operator, {}, { limit: 100, withTotal: true });
      expect(all.total).toEqual({ value: 46, exact: true });
      const createdAt = all.items.map((item) => item.createdAt);
      expect([...createdAt].sort((a, b) => b - a)).toEqual(createdAt);
      expect(all.items.some((item) => item.outTradeNo === 'B-ORDER-1')).toBe(true);
      expect(all.items.some((item) => item.outTradeNo === 'OTHER-1')).toBe(false);
      // Paging the merged list by cursor gives the same rows.
      const ids: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await context.services.orderRecords.list(operator, {}, { cursor, limit: 7 });
        ids.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(ids).toEqual(all.items.map((item) => item.id));
    });

    it('filters by state, created range, exact numbers and amount range', async () => {
      const operator = world.as['mp:operator'];
      const list = (query: Parameters<typeof context.services.orderRecords.list>[1]) =>
        context.services.orderRecords.list(operator, query, { limit: 100 }).then((page) => page.items);
      expect((await list({ tradeStates: ['REFUND'] })).every((item) => item.tradeState === 'REFUND')).toBe(true);
      expect(await list({ tradeStates: ['REFUND'] })).toHaveLength(9);
      expect(await list({ tradeStates: ['CLOSED', 'PAY_ERROR'] })).toHaveLength(18);
      const window = await list({ createdFrom: now - 3 * hour - 1000, createdTo: now - hour - 1000 });
      expect(window).toHaveLength(9);
      const one = (await list({}))[17]!;
      expect((await list({ outTradeNo: one.outTradeNo })).map((item) => item.id)).toEqual([one.id]);
      expect((await list({ transactionId: one.transactionId! })).map((item) => item.id)).toEqual([one.id]);
      const byAmount = await list({ createdFrom: now - 20 * day, createdTo: now, amountMin: 2000, amountMax: 2500 });
      expect(byAmount.map((item) => item.amountTotal).sort()).toEqual([2000, 2100, 2200, 2300, 2400, 2500]);
      expect(byAmount[0]!.amount).toMatch(/^\d+\.\d\d$/);
    });

    it('refuses an amount range without a created range of at most 31 days', async () => {
      const operator = world.as['mp:operator'];
      await expectCode(
        context.services.orderRecords.list(operator, { amountMin: 1 }, { limit: 10 }),
        'InvalidParameterValue.TimeRangeExceeded',
      );
      await expectCode(
        context.services.orderRecords.list(operator, { amountMin: 1, createdFrom: now - 32 * day, createdTo: now }, { limit: 10 }),
        'InvalidParameterValue.TimeRangeExceeded',
      );
      await expectCode(context.services.orderRecords.list(operator, {}, { cursor: 'not-a-cursor', limit: 10 }), 'InvalidParameterValue');
    });

    it('shows each role what SPEC §1.1 says: another team nothing, review staff refused, other tenants not found', async () => {
      const teamBPage = await context.services.orderRecords.list(developerB, {}, { limit: 100, withTotal: true });
      expect(teamBPage.items.map((item) => item.outTradeNo)).toEqual(['B-ORDER-1']);
      await expectCode(context.services.orderRecords.list(developerB, { mnpIds: [teamA.mnpId] }, { limit: 10 }), 'ResourceNotFound');
      await expectCode(context.services.orderRecords.detail(developerB, paged[0]!), 'ResourceNotFound');
      await expectCode(context.services.orderRecords.list(world.reviewer, {}, { limit: 10 }), 'UnauthorizedOperation');
      await expectCode(context.services.orderRecords.list(world.reviewer, { mnpIds: [other.mnpId] }, { limit: 10 }), 'ResourceNotFound');
      await expectCode(context.services.orderRecords.detail(world.reviewer, paged[0]!), 'ResourceNotFound');
      await expectCode(
        context.services.orderRecords.list(other.as['mp:administrator'], { mnpIds: [teamA.mnpId] }, { limit: 10 }),
        'ResourceNotFound',
      );
      await expectCode(context.services.orderRecords.detail(other.as['sa:administrator'], paged[0]!), 'ResourceNotFound');
      const admin = await context.services.orderRecords.list(world.platformAdmin, {}, { limit: 100, withTotal: true });
      expect(admin.total).toEqual({ value: 47, exact: true });
    });
  });

  describe('order details', () => {
    it('shows every field, refunds, state history and notification attempts; resend starts a new round', async () => {
      const order = await insertOrder(context.database.db, teamA, { createdAt: now - 5 * day, tradeState: 'REFUND', amount: 5000 });
      const refund = await insertRefund(context.database.db, order, { createdAt: now - 4 * day, amount: 1200 });
      await context.database.db
        .insertInto('payment_state_history')
        .values([
          { subject: 'order', subject_id: order.id, from_state: null, to_state: 'WAIT_PAY', at: order.created_at, reason: 'prepay' },
          {
            subject: 'order',
            subject_id: order.id,
            from_state: 'WAIT_PAY',
            to_state: 'SUCCESS',
            at: order.created_at + 30_000,
            reason: 'paid',
          },
          { subject: 'refund', subject_id: refund.id, from_state: null, to_state: 'PROCESSING', at: refund.created_at, reason: 'refund' },
        ])
        .execute();
      const notification = await insertNotification(context.database.db, { type: 'order', id: order.id }, teamA, order.created_at);
      await insertNotification(context.database.db, { type: 'refund', id: refund.id }, teamA, refund.created_at);

      const detail = await context.services.orderRecords.detail(world.as['mp:operator'], order.id);
      expect(detail.order).toMatchObject({
        id: order.id,
        outTradeNo: order.out_trade_no,
        prepayId: order.prepay_id,
        notifyUrl: order.notify_url,
        amount: '50.00',
        tradeState: 'REFUND',
      });
      expect(detail.order).not.toHaveProperty('cashierToken');
      expect(detail.refunds).toEqual([expect.objectContaining({ id: refund.id, refund: '12.00', status: 'SUCCESS' })]);
      expect(detail.history.map((entry) => `${entry.subject}:${entry.toState}`)).toEqual([
        'order:WAIT_PAY',
        'order:SUCCESS',
        'refund:PROCESSING',
      ]);
      expect(detail.notifications).toHaveLength(2);
      expect(detail.notifications[0]).toMatchObject({
        status: 'failed',
        eventType: 'TRANSACTION.SUCCESS',
        deliveryAttempts: [expect.objectContaining({ attemptNo: 1, httpStatus: 500 })],
      });

      const resent = await context.services.orderRecords.resendNotification(world.as['mp:operator'], order.id, notification.id);
      expect(resent).toMatchObject({ id: notification.id, status: 'pending' });
      const audit = await context.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'order.notification.resend')
        .execute();
      expect(audit).toHaveLength(1);
      // Another team's order's notification through this order: not found.
      await expectCode(context.services.orderRecords.resendNotification(developerB, order.id, notification.id), 'ResourceNotFound');
      const list = await context.services.orderRecords.list(world.as['mp:operator'], { outTradeNo: order.out_trade_no }, { limit: 10 });
      expect(list.items[0]!.refundTotal).toBe('12.00');
    });
  });

  describe('refund list', () => {
    let orderForRefunds: Awaited<ReturnType<typeof insertOrder>>;

    beforeAll(async () => {
      orderForRefunds = await insertOrder(context.database.db, teamA, {
        createdAt: now - 400 * day,
        tradeState: 'REFUND',
        amount: 90_000,
        outTradeNo: 'REFUND-ORDER',
      });
      const at = (daysAgo: number) => now - daysAgo * day;
      await insertRefund(context.database.db, orderForRefunds, { createdAt: at(1), amount: 100, outRefundNo: 'RF-RECENT' });
      await insertRefund(context.database.db, orderForRefunds, {
        createdAt: at(3),
        amount: 200,
        status: 'PROCESSING',
        outRefundNo: 'RF-PROCESSING',
      });
      await insertRefund(context.database.db, orderForRefunds, { createdAt: at(10), amount: 300, outRefundNo: 'RF-TEN-DAYS' });
      await insertRefund(context.database.db, orderForRefunds, {
        createdAt: at(200),
        amount: 400,
        status: 'CLOSED',
        outRefundNo: 'RF-OLD',
      });
      await insertRefund(context.database.db, orderForRefunds, { createdAt: at(380), amount: 500, outRefundNo: 'RF-TOO-OLD' });
    });

    const numbers = (page: { items: { outRefundNo: string }[] }) => page.items.map((item) => item.outRefundNo);

    it('lists oldest first when asked, by cursor, the reverse of newest first', async () => {
      const query = { mnpIds: [teamA.mnpId], orderNo: 'REFUND-ORDER' };
      const newest = await context.services.refundRecords.list(world.as['mp:operator'], query, { limit: 50 });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await context.services.refundRecords.list(world.as['mp:operator'], { ...query, sort: 'oldest' }, { cursor, limit: 1 });
        seen.push(...numbers(page));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(numbers(newest)).toEqual(['RF-RECENT', 'RF-PROCESSING', 'RF-TEN-DAYS', 'RF-OLD']);
      expect(seen).toEqual(['RF-OLD', 'RF-TEN-DAYS', 'RF-PROCESSING', 'RF-RECENT']);
    });

    it('defaults to the past 7 days (business days in the time zone)', async () => {
      const page = await context.services.refundRecords.list(world.as['mp:operator'], { mnpIds: [teamA.mnpId] }, { limit: 50 });
      expect(numbers(page).filter((n) => n.startsWith('RF-'))).toEqual(['RF-RECENT', 'RF-PROCESSING']);
      // Seven business days in Shanghai: today and the six before, from local midnight.
      expect(new Date(page.range.createdFrom).toISOString()).toBe('2026-06-08T16:00:00.000Z');
      expect(page.range.createdTo).toBe(now);
    });

    it('searches the last 12 months by order number or refund number', async () => {
      const operator = world.as['mp:operator'];
      const byOrder = await context.services.refundRecords.list(operator, { orderNo: 'REFUND-ORDER' }, { limit: 50 });
      expect(numbers(byOrder)).toEqual(['RF-RECENT', 'RF-PROCESSING', 'RF-TEN-DAYS', 'RF-OLD']);
      const byTransaction = await context.services.refundRecords.list(
        operator,
        { orderNo: orderForRefunds.transaction_id! },
        { limit: 50 },
      );
      expect(numbers(byTransaction)).toEqual(numbers(byOrder));
      expect(numbers(await context.services.refundRecords.list(operator, { refundNo: 'RF-OLD' }, { limit: 50 }))).toEqual(['RF-OLD']);
      const refundId = byOrder.items[2]!.refundId;
      expect(numbers(await context.services.refundRecords.list(operator, { refundNo: refundId }, { limit: 50 }))).toEqual(['RF-TEN-DAYS']);
      expect(
        numbers(
          await context.services.refundRecords.list(
            operator,
            { orderNo: 'REFUND-ORDER', statuses: ['PROCESSING', 'CLOSED'] },
            { limit: 50 },
          ),
        ),
      ).toEqual(['RF-PROCESSING', 'RF-OLD']);
    });

    it('refuses a range reaching further back than 12 calendar months, with the earliest date in the message', async () => {
      const operator = world.as['mp:operator'];
      const window = refundSearchWindow(now, 'Asia/Shanghai');
      expect(window.earliestDate).toBe('2025-06-15');
      const error = await expectCode(
        context.services.refundRecords.list(operator, { createdFrom: now - 395 * day, createdTo: now }, { limit: 10 }),
        'InvalidParameterValue.TimeRangeExceeded',
      );
      expect(error.message).toContain('12 months');
      expect(error.message).toContain('2025-06-15');
      // Exactly 12 months back is allowed; one millisecond earlier is not.
      await context.services.refundRecords.list(operator, { createdFrom: window.earliestMs, createdTo: now }, { limit: 10 });
      await expectCode(
        context.services.refundRecords.list(operator, { createdFrom: window.earliestMs - 1, createdTo: now }, { limit: 10 }),
        'InvalidParameterValue.TimeRangeExceeded',
      );
    });

    it('hides refunds from other teams and tenants; details show the order and history', async () => {
      expect(numbers(await context.services.refundRecords.list(developerB, { orderNo: 'REFUND-ORDER' }, { limit: 50 }))).toEqual([]);
      await expectCode(context.services.refundRecords.list(world.reviewer, {}, { limit: 10 }), 'UnauthorizedOperation');
      const page = await context.services.refundRecords.list(world.as['sa:developer'], { refundNo: 'RF-RECENT' }, { limit: 10 });
      const detail = await context.services.refundRecords.detail(world.as['sa:developer'], page.items[0]!.id);
      expect(detail.refund).toMatchObject({ outRefundNo: 'RF-RECENT', refund: '1.00', total: '900.00' });
      expect(detail.order).toMatchObject({ outTradeNo: 'REFUND-ORDER' });
      await expectCode(context.services.refundRecords.detail(developerB, page.items[0]!.id), 'ResourceNotFound');
      await expectCode(context.services.refundRecords.detail(other.as['sa:operator'], page.items[0]!.id), 'ResourceNotFound');
    });
  });

  describe('payment data kept current', () => {
    it('follows order changes through the daily figures', async () => {
      const query = {
        timeBegin: Date.UTC(2026, 0, 1, 16),
        timeEnd: Date.UTC(2026, 0, 3, 16) - 1,
        mnpIds: [teamB.mnpId],
        dataType: 0 as const,
      };
      const order = await insertOrder(context.database.db, teamB, {
        createdAt: Date.UTC(2026, 0, 2, 2),
        tradeState: 'WAIT_PAY',
        amount: 1234,
        payer: 'u-new',
      });
      const before = await context.services.paymentData.overview(world.saAdmin, query);
      expect(before).toMatchObject({ OrderNum: 1, OrderPaidNum: 0, TotalAmount: '12.34', PaidAmount: '0.00' });
      await context.database.db
        .updateTable('orders')
        .set({ trade_state: 'SUCCESS', success_time: order.created_at + 1000, refund_succeeded: 234 })
        .where('id', '=', order.id)
        .execute();
      const after = await context.services.paymentData.overview(world.platformAdmin, query);
      expect(after).toMatchObject({
        OrderNum: 1,
        OrderPaidNum: 1,
        OrderRefundNum: 1,
        PaidAmount: '12.34',
        RefundAmount: '2.34',
        PaidUserNum: 1,
      });
      const rows = await context.database.db
        .selectFrom('payment_daily_stats')
        .selectAll()
        .where('mnp_id', '=', teamB.mnpId)
        .where('business_day', '=', '2026-01-02')
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ order_count: 1, paid_count: 1, paid_amount: 1234 });
      // A range starting mid-day counts only that part of the day.
      const partial = await context.services.paymentData.overview(world.platformAdmin, { ...query, timeBegin: order.created_at + 1 });
      expect(partial.OrderNum).toBe(0);
      const detail = await context.services.paymentData.detail(world.platformAdmin, query);
      expect(detail.map((entry) => [entry.DataTime, entry.OrderNum, entry.PaidUserNum])).toEqual([
        ['20260102', 1, 1],
        ['20260103', 0, 0],
      ]);
    });

    it('rebuilds from the orders when the table is new to them', async () => {
      await context.database.db.deleteFrom('settings').where('setting_key', '=', 'payment_stats.timezone').execute();
      const rebuilt = await context.services.paymentStats.rebuild();
      expect(rebuilt).toBeGreaterThan(0);
      const range = { timeBegin: now - 365 * day, timeEnd: now };
      const overview = await context.services.paymentData.overview(systemActor(), { ...range, dataType: 0 });
      const orders = await context.database.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('currency', '=', 'CNY')
        .where('sandbox', '=', 1)
        .where('created_at', '>=', range.timeBegin)
        .where('created_at', '<=', range.timeEnd)
        .executeTakeFirstOrThrow();
      expect(overview.OrderNum).toBe(Number(orders.n));
    });
  });
});
