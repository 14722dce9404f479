import { type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database, Executor } from '../db/schema.ts';
import type { PaymentFilter } from './payment-stats.repository.ts';

/** The virtual orders payment data for mini games reads (SPEC §8.7): the filter's scope and narrowing, payment type 2. */
function virtualOrderConditions(eb: ExpressionBuilder<Database, 'orders'>, filter: PaymentFilter): Expression<SqlBool>[] {
  const out: Expression<SqlBool>[] = [eb('orders.payment_type', '=', 2), eb('orders.currency', '=', filter.currency)];
  const { scope } = filter;
  if (!scope.all) {
    out.push(
      eb.or([
        ...(scope.miniProgramTeamIds.length ? [eb('orders.mini_program_team_id', 'in', scope.miniProgramTeamIds)] : []),
        ...(scope.applicationIds.length ? [eb('orders.application_id', 'in', scope.applicationIds)] : []),
      ]),
    );
  }
  if (filter.mnpIds?.length) out.push(eb('orders.mnp_id', 'in', filter.mnpIds));
  if (filter.sandbox !== undefined) out.push(eb('orders.sandbox', '=', filter.sandbox));
  if (filter.clientPlatform !== undefined) out.push(eb('orders.client_platform', '=', filter.clientPlatform));
  // An order the channel refused to create never existed for the payment figures (SPEC §7).
  out.push(eb('orders.channel_refused', '=', 0));
  return out;
}

export const miniGamePaymentRepository = {
  /** Virtual orders paid in [fromMs, toMs): who paid, when, how much (the paid_fee). */
  paidIn: (db: Executor, filter: PaymentFilter, fromMs: number, toMs: number) =>
    db
      .selectFrom('orders')
      .select(['payer_openid', 'success_time', 'amount_total'])
      .where((eb) => eb.and(virtualOrderConditions(eb, filter)))
      .where('success_time', '>=', fromMs)
      .where('success_time', '<', toMs)
      .execute(),

  /** Virtual orders created in [fromMs, toMs): who ordered, when. */
  orderedIn: (db: Executor, filter: PaymentFilter, fromMs: number, toMs: number) =>
    db
      .selectFrom('orders')
      .select(['payer_openid', 'created_at'])
      .where((eb) => eb.and(virtualOrderConditions(eb, filter)))
      .where('created_at', '>=', fromMs)
      .where('created_at', '<', toMs)
      .execute(),

  /** Each of these payers' first payment of a virtual order under the filter, ever. */
  async firstPaidOf(db: Executor, filter: PaymentFilter, openids: readonly string[]): Promise<Map<string, number>> {
    const firsts = new Map<string, number>();
    for (let index = 0; index < openids.length; index += 500) {
      const rows = await db
        .selectFrom('orders')
        .select(['payer_openid', (eb) => eb.fn.min('success_time').as('first_paid')])
        .where((eb) => eb.and(virtualOrderConditions(eb, filter)))
        .where('success_time', 'is not', null)
        .where('payer_openid', 'in', openids.slice(index, index + 500))
        .groupBy('payer_openid')
        .execute();
      for (const row of rows) firsts.set(row.payer_openid, Number(row.first_paid));
    }
    return firsts;
  },

  /** Refunds of virtual orders that succeeded in [fromMs, toMs): when and how much. */
  refundedIn: (db: Executor, filter: PaymentFilter, fromMs: number, toMs: number) =>
    db
      .selectFrom('refunds')
      .innerJoin('orders', 'orders.id', 'refunds.order_id')
      .select(['refunds.success_time', 'refunds.amount_refund'])
      .where((eb) => eb.and(virtualOrderConditions(eb, filter)))
      .where('refunds.status', '=', 'SUCCESS')
      .where('refunds.success_time', '>=', fromMs)
      .where('refunds.success_time', '<', toMs)
      .execute(),
};
