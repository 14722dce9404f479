import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/** The order columns a row of `payment_daily_stats` is keyed by: a change to one moves the order to another row. */
const statsKeyColumns = ['mnp_id', 'created_at', 'currency', 'sandbox', 'client_platform', 'payment_type', 'channel_refused'] as const;

/** The order columns the figures are computed from. */
const statsValueColumns = ['amount_total', 'success_time', 'refund_succeeded'] as const;

/** The columns of one change: where it counts, then the signed figures. */
const changeColumns =
  'mnp_id, created_at, currency, sandbox, client_platform, payment_type, application_id, mini_program_team_id, ' +
  'order_count, paid_count, refund_order_count, total_amount, paid_amount, refund_amount';

/** What one order adds to its day's figures (SPEC §7: an order the channel refused counts nowhere). */
const contribution = (row: 'NEW' | 'OLD', sign: '' | '-') =>
  `${row}.mnp_id, ${row}.created_at, ${row}.currency, ${row}.sandbox, ${row}.client_platform, ${row}.payment_type, ` +
  `${row}.application_id, ` +
  `${row}.mini_program_team_id, ${sign}1, ${sign}(CASE WHEN ${row}.success_time IS NOT NULL THEN 1 ELSE 0 END), ` +
  `${sign}(CASE WHEN ${row}.refund_succeeded > 0 THEN 1 ELSE 0 END), ${sign}${row}.amount_total, ` +
  `${sign}(CASE WHEN ${row}.success_time IS NOT NULL THEN ${row}.amount_total ELSE 0 END), ${sign}${row}.refund_succeeded`;

/** A payment on an order whose key did not move: one change of the difference, counted once. */
const difference =
  'NEW.mnp_id, NEW.created_at, NEW.currency, NEW.sandbox, NEW.client_platform, NEW.payment_type, NEW.application_id, ' +
  'NEW.mini_program_team_id, 0, ' +
  '(CASE WHEN NEW.success_time IS NOT NULL THEN 1 ELSE 0 END) - (CASE WHEN OLD.success_time IS NOT NULL THEN 1 ELSE 0 END), ' +
  '(CASE WHEN NEW.refund_succeeded > 0 THEN 1 ELSE 0 END) - (CASE WHEN OLD.refund_succeeded > 0 THEN 1 ELSE 0 END), ' +
  'NEW.amount_total - OLD.amount_total, ' +
  '(CASE WHEN NEW.success_time IS NOT NULL THEN NEW.amount_total ELSE 0 END) - ' +
  '(CASE WHEN OLD.success_time IS NOT NULL THEN OLD.amount_total ELSE 0 END), ' +
  'NEW.refund_succeeded - OLD.refund_succeeded';

/**
 * The triggers that write every order's change to its day's payment figures as a signed change row, so a refresh adds
 * what changed instead of recounting the day. Kept apart so the records benchmark's seeder can drop and recreate them
 * around a bulk load.
 */
export function paymentStatsChangeTriggerStatements(kind: DatabaseKind): { create: string[]; drop: string[] } {
  const differs = kind === 'postgres' ? 'IS DISTINCT FROM' : 'IS NOT';
  const anyOf = (columns: readonly string[]) => columns.map((column) => `OLD.${column} ${differs} NEW.${column}`).join(' OR ');
  const keyMoved = anyOf(statsKeyColumns);
  const changed = anyOf([...statsKeyColumns, ...statsValueColumns]);
  const insert = `INSERT INTO payment_stats_changes (${changeColumns})`;
  const names = ['orders_stats_change_insert', 'orders_stats_change_update', 'orders_stats_change_delete'];
  const drop = names.map((name) => (kind === 'postgres' ? `DROP TRIGGER IF EXISTS ${name} ON orders` : `DROP TRIGGER IF EXISTS ${name}`));
  if (kind === 'postgres') {
    return {
      drop,
      create: [
        `CREATE OR REPLACE FUNCTION paythrough_orders_stats_change() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF TG_OP = 'UPDATE' AND NOT (${keyMoved}) THEN
             IF NEW.channel_refused = 0 THEN ${insert} VALUES (${difference}); END IF;
             RETURN NULL;
           END IF;
           IF TG_OP <> 'INSERT' AND OLD.channel_refused = 0 THEN ${insert} VALUES (${contribution('OLD', '-')}); END IF;
           IF TG_OP <> 'DELETE' AND NEW.channel_refused = 0 THEN ${insert} VALUES (${contribution('NEW', '')}); END IF;
           RETURN NULL;
         END $$`,
        'CREATE TRIGGER orders_stats_change_insert AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION paythrough_orders_stats_change()',
        `CREATE TRIGGER orders_stats_change_update AFTER UPDATE ON orders FOR EACH ROW WHEN (${changed}) ` +
          'EXECUTE FUNCTION paythrough_orders_stats_change()',
        'CREATE TRIGGER orders_stats_change_delete AFTER DELETE ON orders FOR EACH ROW EXECUTE FUNCTION paythrough_orders_stats_change()',
      ],
    };
  }
  return {
    drop,
    create: [
      `CREATE TRIGGER orders_stats_change_insert AFTER INSERT ON orders WHEN NEW.channel_refused = 0
       BEGIN ${insert} VALUES (${contribution('NEW', '')}); END`,
      `CREATE TRIGGER orders_stats_change_update AFTER UPDATE ON orders WHEN ${changed}
       BEGIN
         ${insert} SELECT ${difference} WHERE NOT (${keyMoved}) AND NEW.channel_refused = 0;
         ${insert} SELECT ${contribution('OLD', '-')} WHERE (${keyMoved}) AND OLD.channel_refused = 0;
         ${insert} SELECT ${contribution('NEW', '')} WHERE (${keyMoved}) AND NEW.channel_refused = 0;
       END`,
      `CREATE TRIGGER orders_stats_change_delete AFTER DELETE ON orders WHEN OLD.channel_refused = 0
       BEGIN ${insert} VALUES (${contribution('OLD', '-')}); END`,
    ],
  };
}

/**
 * Payment data kept by adding changes, per payment type: the triggers of migration 0010 queued a changed order's day, and every refresh
 * recounted that whole day from `orders` on the event loop (tens of milliseconds on a busy day, the gateway's p99).
 * Now each change carries its signed figures and a refresh adds them. The old queue is dropped and the next refresh
 * rebuilds the figures once from the orders (the time zone mark is cleared).
 */
export function paymentStatsChangesMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      const oldTriggers = ['orders_stats_dirty_insert', 'orders_stats_dirty_update', 'orders_stats_dirty_delete'];
      const old = oldTriggers.map((name) =>
        kind === 'postgres' ? `DROP TRIGGER IF EXISTS ${name} ON orders` : `DROP TRIGGER IF EXISTS ${name}`,
      );
      for (const statement of old) await sql.raw(statement).execute(db);
      if (kind === 'postgres') await sql.raw('DROP FUNCTION IF EXISTS paythrough_orders_stats_dirty()').execute(db);
      await db.schema.dropTable('payment_stats_dirty').execute();

      // The daily figures gain the payment type (SPEC §8.7: standard and virtual payment data are apart); they are
      // derived, so the table is made again and refilled by the rebuild below.
      await db.schema.dropTable('payment_daily_stats').execute();
      await db.schema
        .createTable('payment_daily_stats')
        .addColumn('mnp_id', 'text', (c) => c.notNull())
        .addColumn('business_day', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('sandbox', 'integer', (c) => c.notNull())
        .addColumn('client_platform', 'integer', (c) => c.notNull())
        .addColumn('payment_type', 'integer', (c) => c.notNull())
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('mini_program_team_id', 'text', (c) => c.notNull())
        .addColumn('order_count', bigint, (c) => c.notNull())
        .addColumn('paid_count', bigint, (c) => c.notNull())
        .addColumn('refund_order_count', bigint, (c) => c.notNull())
        .addColumn('total_amount', bigint, (c) => c.notNull())
        .addColumn('paid_amount', bigint, (c) => c.notNull())
        .addColumn('refund_amount', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('payment_daily_stats_pk', [
          'mnp_id',
          'business_day',
          'currency',
          'sandbox',
          'client_platform',
          'payment_type',
        ])
        .execute();
      await db.schema.createIndex('payment_daily_stats_day').on('payment_daily_stats').columns(['business_day', 'currency']).execute();
      await db.schema
        .createIndex('payment_daily_stats_application_day')
        .on('payment_daily_stats')
        .columns(['application_id', 'business_day'])
        .execute();
      await db.schema
        .createIndex('payment_daily_stats_mp_team_day')
        .on('payment_daily_stats')
        .columns(['mini_program_team_id', 'business_day'])
        .execute();

      await withSerialId(kind, db.schema.createTable('payment_stats_changes'))
        .addColumn('mnp_id', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('sandbox', 'integer', (c) => c.notNull())
        .addColumn('client_platform', 'integer', (c) => c.notNull())
        .addColumn('payment_type', 'integer', (c) => c.notNull())
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('mini_program_team_id', 'text', (c) => c.notNull())
        .addColumn('order_count', bigint, (c) => c.notNull())
        .addColumn('paid_count', bigint, (c) => c.notNull())
        .addColumn('refund_order_count', bigint, (c) => c.notNull())
        .addColumn('total_amount', bigint, (c) => c.notNull())
        .addColumn('paid_amount', bigint, (c) => c.notNull())
        .addColumn('refund_amount', bigint, (c) => c.notNull())
        .execute();
      for (const statement of paymentStatsChangeTriggerStatements(kind).create) await sql.raw(statement).execute(db);
      await sql`delete from settings where setting_key = 'payment_stats.timezone'`.execute(db);
    },
  };
}
