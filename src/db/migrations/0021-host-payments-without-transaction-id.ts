import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';

/**
 * A host report without a `transaction_id` is recorded with no channel transaction id (SPEC §7, §9.3: matched
 * by merchant and out_trade_no), instead of an invented `HOST-<prepay_id>`; the invented ones become NULL.
 */
export function hostPaymentsWithoutTransactionIdMigration(kind: DatabaseKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (kind === 'postgres') {
        await db.schema
          .alterTable('channel_payments')
          .alterColumn('channel_transaction_id', (c) => c.dropNotNull())
          .execute();
        await forgetInventedIds(db);
        return;
      }
      // SQLite cannot drop NOT NULL in place: the table is rebuilt, in one transaction (SQLite migrations run outside one).
      await db.transaction().execute(async (trx) => {
        await rebuildSqliteChannelPayments(trx);
        await forgetInventedIds(trx);
      });
    },
  };
}

async function forgetInventedIds(db: Kysely<unknown>): Promise<void> {
  await sql`update channel_payments set channel_transaction_id = null
    where channel_kind = 'host_reported'
      and channel_transaction_id = 'HOST-' || (select prepay_id from orders where orders.id = channel_payments.order_id)`.execute(db);
  await sql`update orders set channel_transaction_id = null
    where channel_kind = 'host_reported' and channel_transaction_id = 'HOST-' || prepay_id`.execute(db);
}

async function rebuildSqliteChannelPayments(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ type: string; name: string; sql: string | null }>`
    select type, name, sql from sqlite_master where tbl_name = 'channel_payments' order by type = 'table' desc, name`.execute(db);
  const table = rows.find((row) => row.type === 'table');
  const notNull = /("channel_transaction_id"\s+text)\s+not null/i;
  if (!table?.sql || !notNull.test(table.sql)) throw new Error('channel_payments is not as migration 0005 created it');
  const createNew = table.sql
    .replace(/^create table\s+"?channel_payments"?/i, 'create table "channel_payments_rebuilt"')
    .replace(notNull, '$1');
  // Indexes and triggers go with the dropped table; the inline unique constraint travels in the CREATE text.
  const dependents = rows.filter((row) => row.type !== 'table' && row.sql !== null).map((row) => row.sql!);
  const sequence = await sql<{ seq: number }>`select seq from sqlite_sequence where name = 'channel_payments'`.execute(db);

  await sql.raw(createNew).execute(db);
  await sql`insert into channel_payments_rebuilt select * from channel_payments`.execute(db);
  await sql`drop table channel_payments`.execute(db);
  await sql`alter table channel_payments_rebuilt rename to channel_payments`.execute(db);
  for (const statement of dependents) await sql.raw(statement).execute(db);
  // AUTOINCREMENT never reuses an id: carry the high-water mark over, even past deleted rows.
  const seq = sequence.rows[0]?.seq;
  if (seq !== undefined) {
    await sql`update sqlite_sequence set seq = max(seq, ${seq}) where name = 'channel_payments'`.execute(db);
    await sql`insert into sqlite_sequence (name, seq) select 'channel_payments', ${seq}
      where not exists (select 1 from sqlite_sequence where name = 'channel_payments')`.execute(db);
  }
}
