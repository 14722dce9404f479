import type { ExpressionBuilder, Insertable, Selectable } from 'kysely';
import type { ChannelConnectionTable, ChannelKind } from '../db/payment-schema.ts';
import type { Database, Executor } from '../db/schema.ts';

export type ChannelConnectionRow = Selectable<ChannelConnectionTable>;

/** What a connection still carries: open orders and open refunds (SPEC §7 "Channel change with live money"). */
export interface ConnectionUse {
  connectionId: number;
  openOrders: number;
  openRefunds: number;
}

// An order is open while it may still be paid, closed or refunded (paid within the refund window, not all refunded).
const openOrderOn = (eb: ExpressionBuilder<Database, 'orders'>, refundableSince: number) =>
  eb.or([
    eb('orders.trade_state', '=', 'WAIT_PAY'),
    eb('orders.pending_operation', 'is not', null),
    eb.and([
      eb('orders.trade_state', 'in', ['SUCCESS', 'REFUND']),
      eb('orders.success_time', '>', refundableSince),
      eb('orders.refund_reserved', '<', eb.ref('orders.amount_total')),
    ]),
  ]);
// A refund is open until its channel settled it (ABNORMAL ones are still asked about).
const openRefundStatuses = ['PROCESSING', 'ABNORMAL'] as const;

export const channelConnectionRepository = {
  findById: (db: Executor, id: number) => db.selectFrom('channel_connections').selectAll().where('id', '=', id).executeTakeFirst(),
  /** A superapp's unretired connection of this kind and URL, to be used again when a configuration returns to it. */
  findLive: (db: Executor, applicationId: string, kind: ChannelKind, baseUrl: string | null) =>
    db
      .selectFrom('channel_connections')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('kind', '=', kind)
      .where((eb) => (baseUrl === null ? eb('base_url', 'is', null) : eb('base_url', '=', baseUrl)))
      .where('retired_at', 'is', null)
      .orderBy('id', 'desc')
      .executeTakeFirst(),
  async insert(db: Executor, row: Insertable<ChannelConnectionTable>): Promise<number> {
    const inserted = await db.insertInto('channel_connections').values(row).returning('id').executeTakeFirstOrThrow();
    return Number(inserted.id);
  },
  /** A superapp's unretired connections other than its current one, oldest first. */
  listPrevious: (db: Executor, applicationId: string, currentId: number | null) =>
    db
      .selectFrom('channel_connections')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('retired_at', 'is', null)
      .where((eb) => (currentId === null ? eb.val(true) : eb('id', '!=', currentId)))
      .orderBy('id', 'asc')
      .execute(),
  /** Unretired connections that are no longer any superapp's current one, after `afterId`: the candidates for retirement. */
  listReplaced: (db: Executor, afterId: number, limit: number) =>
    db
      .selectFrom('channel_connections')
      .selectAll()
      .where('retired_at', 'is', null)
      .where('id', '>', afterId)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('superapp_payment_configs')
              .select('superapp_id')
              .whereRef('superapp_payment_configs.channel_connection_id', '=', 'channel_connections.id'),
          ),
        ),
      )
      .orderBy('id', 'asc')
      .limit(limit)
      .execute(),
  /** Open orders and refunds per connection. */
  async countUse(db: Executor, connectionIds: readonly number[], refundableSince: number): Promise<ConnectionUse[]> {
    if (connectionIds.length === 0) return [];
    const orders = await db
      .selectFrom('orders')
      .select((eb) => ['channel_connection_id', eb.fn.countAll<number | string>().as('count')])
      .where('channel_connection_id', 'in', [...connectionIds])
      .where((eb) => openOrderOn(eb, refundableSince))
      .groupBy('channel_connection_id')
      .execute();
    const refunds = await db
      .selectFrom('refunds')
      .select((eb) => ['channel_connection_id', eb.fn.countAll<number | string>().as('count')])
      .where('channel_connection_id', 'in', [...connectionIds])
      .where('status', 'in', openRefundStatuses)
      .groupBy('channel_connection_id')
      .execute();
    const countOf = (rows: typeof orders, id: number) => Number(rows.find((row) => Number(row.channel_connection_id) === id)?.count ?? 0);
    return connectionIds.map((id) => ({ connectionId: id, openOrders: countOf(orders, id), openRefunds: countOf(refunds, id) }));
  },
  /**
   * Compare-and-set: retires the connection only while it is unretired, nobody's current connection, and carries no
   * open order or refund, all checked in the one statement. False when any of that no longer holds.
   */
  async retireIfIdle(db: Executor, id: number, nowMs: number, refundableSince: number): Promise<boolean> {
    const result = await db
      .updateTable('channel_connections')
      .set({ retired_at: nowMs })
      .where('id', '=', id)
      .where('retired_at', 'is', null)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('superapp_payment_configs')
              .select('superapp_id')
              .whereRef('superapp_payment_configs.channel_connection_id', '=', 'channel_connections.id'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('orders')
              .select('orders.id')
              .whereRef('orders.channel_connection_id', '=', 'channel_connections.id')
              .where((eb) => openOrderOn(eb, refundableSince)),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('refunds')
              .select('refunds.id')
              .whereRef('refunds.channel_connection_id', '=', 'channel_connections.id')
              .where('refunds.status', 'in', openRefundStatuses),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  /** Whether the superapp still has an unretired connection of this kind (its key is needed while it does). */
  async hasLive(db: Executor, applicationId: string, kind: ChannelKind): Promise<boolean> {
    const row = await db
      .selectFrom('channel_connections')
      .select('id')
      .where('application_id', '=', applicationId)
      .where('kind', '=', kind)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
    return row !== undefined;
  },
};
