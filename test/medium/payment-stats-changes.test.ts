import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PaymentStatsService } from '../../src/services/records/index.ts';
import { createRecordTenants, orderRow, type OrderOwner } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const hour = 60 * 60 * 1000;
// 2026-03-01 00:00 in Shanghai; the orders spread over three business days around it.
const day1 = Date.UTC(2026, 1, 28, 16, 0, 0);

type Step =
  | {
      kind: 'create';
      owner: number;
      at: number;
      amount: number;
      currency: 'CNY' | 'USD';
      paid: boolean;
      platform: 0 | 2 | 3;
      paymentType: 1 | 2;
    }
  | { kind: 'retype'; order: number }
  | { kind: 'pay'; order: number }
  | { kind: 'refund'; order: number; amount: number }
  | { kind: 'move'; order: number; at: number }
  | { kind: 'recurrency'; order: number }
  | { kind: 'refuse'; order: number; refused: 0 | 1 }
  | { kind: 'delete'; order: number }
  | { kind: 'refresh'; instances: 1 | 2 };

const instant = fc.integer({ min: -6, max: 60 }).map((hours) => day1 + hours * hour + 17_000);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('create' as const),
    owner: fc.integer({ min: 0, max: 1 }),
    at: instant,
    amount: fc.integer({ min: 1, max: 2_000_000_000 }),
    currency: fc.constantFrom('CNY' as const, 'USD' as const),
    paid: fc.boolean(),
    platform: fc.constantFrom(0 as const, 2 as const, 3 as const),
    paymentType: fc.constantFrom(1 as const, 2 as const),
  }),
  fc.record({ kind: fc.constant('retype' as const), order: fc.nat() }),
  fc.record({ kind: fc.constant('pay' as const), order: fc.nat() }),
  fc.record({ kind: fc.constant('refund' as const), order: fc.nat(), amount: fc.integer({ min: 1, max: 1_000 }) }),
  fc.record({ kind: fc.constant('move' as const), order: fc.nat(), at: instant }),
  fc.record({ kind: fc.constant('recurrency' as const), order: fc.nat() }),
  fc.record({ kind: fc.constant('refuse' as const), order: fc.nat(), refused: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ kind: fc.constant('delete' as const), order: fc.nat() }),
  fc.record({ kind: fc.constant('refresh' as const), instances: fc.constantFrom(1 as const, 2 as const) }),
);

describeOnEachDatabase('payment data kept by adding changes (migration 0028)', (kind) => {
  let context: TestContext;
  let owners: OrderOwner[];
  // Two instances' refreshers over one database; small batches so a refresh takes several rounds.
  let first: PaymentStatsService;
  let second: PaymentStatsService;

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    const tenants = await createRecordTenants(context);
    owners = [tenants.teamA, tenants.teamB];
    const config = { timezone: 'Asia/Shanghai', databaseKind: kind };
    first = new PaymentStatsService(context.database.db, context.clock, config, 3);
    second = new PaymentStatsService(context.database.db, context.clock, config, 3);
  });
  afterAll(() => context?.close());

  const db = () => context.database.db;
  const kept = async () =>
    (
      await db()
        .selectFrom('payment_daily_stats')
        .select([
          'mnp_id',
          'business_day',
          'currency',
          'sandbox',
          'client_platform',
          'payment_type',
          'order_count',
          'paid_count',
          'refund_order_count',
          'total_amount',
          'paid_amount',
          'refund_amount',
        ])
        .orderBy('mnp_id')
        .orderBy('business_day')
        .orderBy('currency')
        .orderBy('sandbox')
        .orderBy('client_platform')
        .orderBy('payment_type')
        .execute()
    ).map((row) => Object.values(row).map(String).join(' '));

  async function apply(steps: Step[]): Promise<void> {
    const ids: number[] = [];
    const pick = (index: number) => (ids.length ? ids[index % ids.length] : undefined);
    for (const current of steps) {
      if (current.kind === 'create') {
        const row = orderRow(owners[current.owner]!, {
          createdAt: current.at,
          amount: current.amount,
          currency: current.currency,
          tradeState: current.paid ? 'SUCCESS' : 'WAIT_PAY',
          clientPlatform: current.platform,
        });
        const typed = { ...row, payment_type: current.paymentType };
        ids.push(Number((await db().insertInto('orders').values(typed).returning('id').executeTakeFirstOrThrow()).id));
        continue;
      }
      if (current.kind === 'refresh') {
        await Promise.all(current.instances === 2 ? [first.refresh(), second.refresh()] : [first.refresh()]);
        continue;
      }
      const id = pick(current.order);
      if (id === undefined) continue;
      const order = db().updateTable('orders').where('id', '=', id);
      if (current.kind === 'pay') await order.set({ trade_state: 'SUCCESS', success_time: current.order }).execute();
      if (current.kind === 'refund') await order.set((eb) => ({ refund_succeeded: eb('refund_succeeded', '+', current.amount) })).execute();
      if (current.kind === 'move') await order.set({ created_at: current.at }).execute();
      if (current.kind === 'recurrency')
        await order.set((eb) => ({ currency: eb.case().when('currency', '=', 'CNY').then('USD').else('CNY').end() })).execute();
      if (current.kind === 'retype')
        await order
          .set((eb) => ({
            payment_type: eb
              .case()
              .when('payment_type', '=', 1)
              .then(2 as const)
              .else(1 as const)
              .end(),
          }))
          .execute();
      if (current.kind === 'refuse') await order.set({ channel_refused: current.refused }).execute();
      if (current.kind === 'delete') {
        await db().deleteFrom('orders').where('id', '=', id).execute();
        ids.splice(ids.indexOf(id), 1);
      }
    }
  }

  it('adds up to exactly what a recount of the orders gives, whatever changed in between', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        await db().deleteFrom('orders').execute();
        await first.rebuild();
        await apply(steps);
        await Promise.all([first.refresh(), second.refresh()]);
        const added = await kept();
        expect(await db().selectFrom('payment_stats_changes').select('id').execute()).toEqual([]);
        await first.rebuild();
        expect(added).toEqual(await kept());
      }),
      { numRuns: kind === 'sqlite' ? 60 : 40 },
    );
  });

  it('keeps no row for a day whose orders all left it', async () => {
    await db().deleteFrom('orders').execute();
    await first.rebuild();
    const order = await db()
      .insertInto('orders')
      .values(orderRow(owners[0]!, { createdAt: day1 + hour }))
      .returning('id')
      .executeTakeFirstOrThrow();
    await first.refresh();
    expect(await kept()).toHaveLength(1);
    await db()
      .updateTable('orders')
      .set({ created_at: day1 + 30 * hour })
      .where('id', '=', order.id)
      .execute();
    await first.refresh();
    expect((await kept()).map((row) => row.split(' ')[1])).toEqual(['2026-03-02']);
    await db().deleteFrom('orders').where('id', '=', order.id).execute();
    await first.refresh();
    expect(await kept()).toEqual([]);
  });

  it('refreshes with work that follows the changes, not the orders the day holds', async () => {
    await db().deleteFrom('orders').execute();
    await first.rebuild();
    const busyDay = Array.from({ length: 2_000 }, (_, index) => orderRow(owners[0]!, { createdAt: day1 + hour + index }));
    for (let index = 0; index < busyDay.length; index += 500)
      await db()
        .insertInto('orders')
        .values(busyDay.slice(index, index + 500))
        .execute();
    await first.refresh();
    await db()
      .insertInto('orders')
      .values(orderRow(owners[0]!, { createdAt: day1 + 2 * hour }))
      .execute();
    // One change waits: the refresh adds one row of changes, it does not recount the day's 2,001 orders.
    expect(await first.refresh()).toBe(1);
    const [row] = await db().selectFrom('payment_daily_stats').select('order_count').execute();
    expect(Number(row!.order_count)).toBe(2_001);
  });
});
