import { sql, type Insertable, type Selectable } from 'kysely';
import type { Executor } from '../db/schema.ts';
import type { SandboxStatementFaultKind, SandboxStatementFaultTable } from '../db/gateway-schema.ts';

export type SandboxStatementFaultRow = Selectable<SandboxStatementFaultTable>;

/** A day of one superapp in the sandbox: paid times and settle times in [from, to). */
export interface SandboxDay {
  superappId: string;
  from: number;
  to: number;
}

/** Where a keyset read resumes: at (time, id), that row included or not. */
export interface SandboxKeyset {
  time: number;
  id: string;
  inclusive: boolean;
}

export interface SandboxCurrencyTotal {
  currency: string;
  count: number;
  /** Exact decimal digits (a day's sum may pass 2^53). */
  amount: string;
}

const settledRefundStates = ['SUCCESS', 'CLOSED', 'ABNORMAL'] as const;

/**
 * The sandbox channel's statement (SPEC §9.1): a superapp's payments by `paid_at` and settled refunds by
 * `settled_at`, read in (time, id) order on the indexes of migration 0022; and the faults that bend them.
 */
export const sandboxStatementRepository = {
  /** What names a snapshot of the day: how many rows it has and when the latest of them changed. */
  async dayFingerprint(db: Executor, day: SandboxDay) {
    const payments = await db
      .selectFrom('sandbox_orders')
      .select((eb) => [eb.fn.countAll<number | string>().as('count'), eb.fn.max('updated_at').as('latest')])
      .where('superapp_id', '=', day.superappId)
      .where('paid_at', '>=', day.from)
      .where('paid_at', '<', day.to)
      .where('state', '=', 'SUCCESS')
      .executeTakeFirstOrThrow();
    const refunds = await db
      .selectFrom('sandbox_refunds')
      .select((eb) => [eb.fn.countAll<number | string>().as('count'), eb.fn.max('updated_at').as('latest')])
      .where('superapp_id', '=', day.superappId)
      .where('settled_at', '>=', day.from)
      .where('settled_at', '<', day.to)
      .where('state', 'in', settledRefundStates)
      .executeTakeFirstOrThrow();
    return {
      payments: Number(payments.count),
      paymentsLatest: payments.latest === null ? null : Number(payments.latest),
      refunds: Number(refunds.count),
      refundsLatest: refunds.latest === null ? null : Number(refunds.latest),
    };
  },

  /** Paid orders of the day in (paid_at, id) order from `after`; `outTradeNos` narrows to those numbers. */
  payments(db: Executor, day: SandboxDay, after: SandboxKeyset | null, limit: number, outTradeNos?: readonly string[]) {
    let query = db
      .selectFrom('sandbox_orders')
      .selectAll()
      .where('superapp_id', '=', day.superappId)
      .where('paid_at', '>=', day.from)
      .where('paid_at', '<', day.to)
      .where('state', '=', 'SUCCESS');
    if (after)
      query = query.where((eb) =>
        eb.or([eb('paid_at', '>', after.time), eb.and([eb('paid_at', '=', after.time), eb('id', after.inclusive ? '>=' : '>', after.id)])]),
      );
    if (outTradeNos) query = query.where('out_trade_no', 'in', outTradeNos.length > 0 ? outTradeNos : ['']);
    return query.orderBy('paid_at').orderBy('id').limit(limit).execute();
  },

  /** Settled refunds of the day in (settled_at, id) order from `after`, with the payment they refund. */
  refunds(db: Executor, day: SandboxDay, after: SandboxKeyset | null, limit: number, outRefundNos?: readonly string[]) {
    let query = db
      .selectFrom('sandbox_refunds as r')
      .innerJoin('sandbox_orders as o', 'o.id', 'r.order_id')
      .selectAll('r')
      .select('o.channel_transaction_id as order_channel_transaction_id')
      .where('r.superapp_id', '=', day.superappId)
      .where('r.settled_at', '>=', day.from)
      .where('r.settled_at', '<', day.to)
      .where('r.state', 'in', settledRefundStates);
    if (after)
      query = query.where((eb) =>
        eb.or([
          eb('r.settled_at', '>', after.time),
          eb.and([eb('r.settled_at', '=', after.time), eb('r.id', after.inclusive ? '>=' : '>', after.id)]),
        ]),
      );
    if (outRefundNos) query = query.where('r.out_refund_no', 'in', outRefundNos.length > 0 ? outRefundNos : ['']);
    return query.orderBy('r.settled_at').orderBy('r.id').limit(limit).execute();
  },

  /** Per currency: the day's payments, less the orders named (their lines are counted as bent). */
  paymentTotals: (db: Executor, day: SandboxDay, exceptOutTradeNos: readonly string[]) => {
    let query = db
      .selectFrom('sandbox_orders')
      .select((eb) => [
        'currency',
        eb.fn.countAll<number | string>().as('count'),
        sql<string>`cast(sum(amount_total) as text)`.as('amount'),
      ])
      .where('superapp_id', '=', day.superappId)
      .where('paid_at', '>=', day.from)
      .where('paid_at', '<', day.to)
      .where('state', '=', 'SUCCESS');
    if (exceptOutTradeNos.length > 0) query = query.where('out_trade_no', 'not in', exceptOutTradeNos);
    return query
      .groupBy('currency')
      .execute()
      .then((rows): SandboxCurrencyTotal[] =>
        rows.map((row) => ({ currency: row.currency, count: Number(row.count), amount: row.amount })),
      );
  },

  /** Per currency: the day's SUCCESS refunds, less the refunds named. */
  successfulRefundTotals: (db: Executor, day: SandboxDay, exceptOutRefundNos: readonly string[]) => {
    let query = db
      .selectFrom('sandbox_refunds')
      .select((eb) => [
        'currency',
        eb.fn.countAll<number | string>().as('count'),
        sql<string>`cast(sum(amount_refund) as text)`.as('amount'),
      ])
      .where('superapp_id', '=', day.superappId)
      .where('settled_at', '>=', day.from)
      .where('settled_at', '<', day.to)
      .where('state', '=', 'SUCCESS');
    if (exceptOutRefundNos.length > 0) query = query.where('out_refund_no', 'not in', exceptOutRefundNos);
    return query
      .groupBy('currency')
      .execute()
      .then((rows): SandboxCurrencyTotal[] =>
        rows.map((row) => ({ currency: row.currency, count: Number(row.count), amount: row.amount })),
      );
  },

  /** The superapp's orders with these numbers, whatever their state or day (extra payment lines name them). */
  ordersByNumber: (db: Executor, superappId: string, outTradeNos: readonly string[]) =>
    outTradeNos.length === 0
      ? Promise.resolve([])
      : db
          .selectFrom('sandbox_orders')
          .selectAll()
          .where('superapp_id', '=', superappId)
          .where('out_trade_no', 'in', outTradeNos)
          .orderBy('created_at')
          .orderBy('id')
          .execute(),
  /** The superapp's latest order: the merchant and currency of an extra line for an order it does not have. */
  latestOrder: (db: Executor, superappId: string) =>
    db
      .selectFrom('sandbox_orders')
      .select(['merchant_id', 'currency'])
      .where('superapp_id', '=', superappId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst(),

  /** Adds a fault unless the same one is there; true when added. */
  async insertFault(db: Executor, row: Insertable<SandboxStatementFaultTable>): Promise<boolean> {
    const result = await db
      .insertInto('sandbox_statement_faults')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },
  faultsOfDay: (db: Executor, superappId: string, billDate: string) =>
    db
      .selectFrom('sandbox_statement_faults')
      .selectAll()
      .where('superapp_id', '=', superappId)
      .where('bill_date', '=', billDate)
      .orderBy('id')
      .execute(),
  /** Removes the day's faults, or those of one kind and/or one number; how many went. */
  async deleteFaults(
    db: Executor,
    superappId: string,
    billDate: string,
    only: { kind?: SandboxStatementFaultKind | undefined; outTradeNo?: string | undefined; outRefundNo?: string | undefined },
  ): Promise<number> {
    let query = db.deleteFrom('sandbox_statement_faults').where('superapp_id', '=', superappId).where('bill_date', '=', billDate);
    if (only.kind) query = query.where('kind', '=', only.kind);
    if (only.outTradeNo) query = query.where('out_trade_no', '=', only.outTradeNo);
    if (only.outRefundNo) query = query.where('out_refund_no', '=', only.outRefundNo);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  },
};
