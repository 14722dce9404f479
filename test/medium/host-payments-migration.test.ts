import { sql, type Kysely } from 'kysely';
import { expect, it } from 'vitest';
import type { DatabaseKind } from '../../src/config/config.ts';
import { migrateTo } from '../../src/db/migrator.ts';
import type { PaymentDisposition } from '../../src/db/order-schema.ts';
import type { Database } from '../../src/db/schema.ts';
import { orderRow } from '../helpers/record-factory.ts';
import { describeOnEachDatabase, openEmptyDatabase, withSchemaCatalogLock } from '../helpers/test-context.ts';

const owner = { mnpId: 'mnp_a', applicationId: 'sa_a', miniProgramTeamId: 'team_mp', superappTeamId: 'team_sa' };
const createdAt = Date.UTC(2026, 0, 15, 4, 0, 0);

/** The database as it was before migration 0021. */
const migrateTo0018 = (db: Kysely<Database>, kind: DatabaseKind) => {
  const run = () => migrateTo(db, kind, '0018-manual-refund-settlement');
  return kind === 'postgres' ? withSchemaCatalogLock('shared', run) : run();
};

/** Indexes and triggers of channel_payments (SQLite), or its constraints and indexes (PostgreSQL). */
async function dependentsOfChannelPayments(db: Kysely<Database>, kind: DatabaseKind): Promise<string[]> {
  const { rows } =
    kind === 'sqlite'
      ? await sql<{ name: string }>`select type || ' ' || name as name from sqlite_master where tbl_name = 'channel_payments'`.execute(db)
      : await sql<{ name: string }>`select indexname as name from pg_indexes
          where tablename = 'channel_payments' and schemaname = current_schema()`.execute(db);
  return rows.map((row) => row.name).sort();
}

describeOnEachDatabase('migration 0021: host payments without a transaction_id', (kind) => {
  it('drops NOT NULL on channel_payments.channel_transaction_id and forgets the invented HOST-<prepay_id> ids', async () => {
    const { handle, dispose } = await openEmptyDatabase(kind);
    try {
      const db = handle.db;
      await migrateTo0018(db, kind);
      const hostRow = orderRow(owner, { createdAt, outTradeNo: 'HOST-NO-ID' });
      const hostOrder = await db
        .insertInto('orders')
        .values({ ...hostRow, channel_kind: 'host_reported', channel_transaction_id: `HOST-${hostRow.prepay_id}` })
        .returningAll()
        .executeTakeFirstOrThrow();
      const namedOrder = await db
        .insertInto('orders')
        .values({
          ...orderRow(owner, { createdAt, outTradeNo: 'HOST-NAMED' }),
          channel_kind: 'host_reported',
          channel_transaction_id: 'SA-1',
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      // Only host-reported payments had invented ids: a channel's own id of that shape is kept.
      const httpRow = orderRow(owner, { createdAt, outTradeNo: 'HTTP' });
      const httpOrder = await db
        .insertInto('orders')
        .values({ ...httpRow, channel_kind: 'http', channel_transaction_id: `HOST-${httpRow.prepay_id}` })
        .returningAll()
        .executeTakeFirstOrThrow();
      const payment = (orderId: number, channelKind: string, channelTransactionId: string, disposition: PaymentDisposition) => ({
        order_id: orderId,
        channel_kind: channelKind,
        channel_transaction_id: channelTransactionId,
        amount: 100,
        currency: 'CNY',
        payer_openid: null,
        paid_at: createdAt,
        reported_at: createdAt,
        disposition,
      });
      await db
        .insertInto('channel_payments')
        .values([
          payment(hostOrder.id, 'host_reported', hostOrder.channel_transaction_id!, 'applied'),
          payment(namedOrder.id, 'host_reported', 'SA-1', 'applied'),
          payment(namedOrder.id, 'host_reported', 'SA-2', 'duplicate_refunded'),
          payment(httpOrder.id, 'http', httpOrder.channel_transaction_id!, 'applied'),
        ])
        .execute();
      // A deleted newest row: its id is never handed out again (AUTOINCREMENT's promise survives the rebuild).
      const dropped = await db
        .insertInto('channel_payments')
        .values(payment(httpOrder.id, 'http', 'GONE', 'applied'))
        .returning('id')
        .executeTakeFirstOrThrow();
      await db.deleteFrom('channel_payments').where('id', '=', dropped.id).execute();
      const dependentsBefore = await dependentsOfChannelPayments(db, kind);

      // Up to 0021 only: later migrations may add their own indexes to the table.
      const upTo0021 = () => migrateTo(db, kind, '0021-host-payments-without-transaction-id');
      const applied = await (kind === 'postgres' ? withSchemaCatalogLock('shared', upTo0021) : upTo0021());
      expect(applied).toContain('0021-host-payments-without-transaction-id');

      const payments = await db.selectFrom('channel_payments').select(['id', 'order_id', 'channel_transaction_id']).orderBy('id').execute();
      expect(payments.map((p) => [p.order_id, p.channel_transaction_id])).toEqual([
        [hostOrder.id, null],
        [namedOrder.id, 'SA-1'],
        [namedOrder.id, 'SA-2'],
        [httpOrder.id, httpOrder.channel_transaction_id],
      ]);
      const orders = await db.selectFrom('orders').select(['id', 'channel_transaction_id']).orderBy('id').execute();
      expect(orders).toEqual([
        { id: hostOrder.id, channel_transaction_id: null },
        { id: namedOrder.id, channel_transaction_id: 'SA-1' },
        { id: httpOrder.id, channel_transaction_id: httpOrder.channel_transaction_id },
      ]);
      expect(await dependentsOfChannelPayments(db, kind)).toEqual(dependentsBefore);

      // NULL is now accepted; the same (order, transaction id) twice is still refused.
      const fresh = await db
        .insertInto('channel_payments')
        .values({ ...payment(namedOrder.id, 'host_reported', 'x', 'applied'), channel_transaction_id: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      expect(Number(fresh.id)).toBeGreaterThan(Number(dropped.id));
      await expect(
        db
          .insertInto('channel_payments')
          .values(payment(namedOrder.id, 'host_reported', 'SA-1', 'applied'))
          .execute(),
      ).rejects.toThrow(/unique|duplicate/i);
      // Still a child of orders.
      await expect(
        db
          .insertInto('channel_payments')
          .values(payment(999_999, 'http', 'ORPHAN', 'applied'))
          .execute(),
      ).rejects.toThrow(/foreign key/i);
    } finally {
      await dispose();
    }
  });
});
