import type { Executor } from '../db/schema.ts';
import type { RecordScope } from '../services/record-scope.ts';

export interface PaymentDataQuery {
  scope: RecordScope;
  createdFrom: number;
  createdTo: number;
  currency: string;
  mnpIds?: readonly string[] | undefined;
  /** 1 production superapps' orders, 0 sandbox ones; undefined both. */
  sandbox?: 0 | 1 | undefined;
  /** 2 Android, 3 iOS; undefined all. */
  clientPlatform?: 2 | 3 | undefined;
}

export const paymentDataRepository = {
  /** The orders counted by payment data: created in the window, in one currency, inside the scope. */
  ordersCreatedIn(db: Executor, query: PaymentDataQuery) {
    let select = db
      .selectFrom('orders')
      .select(['mnp_id', 'created_at', 'amount_total', 'refund_succeeded', 'payer_openid', 'success_time'])
      .where('created_at', '>=', query.createdFrom)
      .where('created_at', '<=', query.createdTo)
      .where('currency', '=', query.currency);
    const { scope } = query;
    if (!scope.all) {
      select = select.where((eb) =>
        eb.or([
          ...(scope.miniProgramTeamIds.length ? [eb('mini_program_team_id', 'in', scope.miniProgramTeamIds)] : []),
          ...(scope.applicationIds.length ? [eb('application_id', 'in', scope.applicationIds)] : []),
        ]),
      );
    }
    if (query.mnpIds?.length) select = select.where('mnp_id', 'in', query.mnpIds);
    if (query.sandbox !== undefined) select = select.where('sandbox', '=', query.sandbox);
    if (query.clientPlatform !== undefined) select = select.where('client_platform', '=', query.clientPlatform);
    return select.execute();
  },
};
