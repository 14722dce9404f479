import type { Kysely, Migration } from 'kysely';

/**
 * A channel create the channel refused leaves no unpaid order behind (SPEC §7): the order is closed with the
 * refusal in its history and marked, so payment data does not count it and a later prepay with the same
 * out_trade_no takes its row over.
 */
export function refusedOrdersMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('orders')
        .addColumn('channel_refused', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
