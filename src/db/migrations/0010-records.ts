import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/** The order columns that payment data is computed from: a change to any of them makes its day dirty. */
export const paymentStatsColumns = [
  'mnp_id',
  'created_at',
  'amount_total',
  'currency',
  'sandbox',
  'client_platform',
  'success_time',
  'refund_succeeded',
] as const;

/**
 * The statements that mark a changed order's (mini program, creation time) dirty for payment data. Kept
 * apart so the records benchmark's seeder can drop and recreate them around a bulk load.
 */
export function paymentStatsTriggerStatements(kind: DatabaseKind): { create: string[]; drop: string[] } {
  const changed = paymentStatsColumns
    .map((column) => (kind === 'postgres' ? `OLD.${column} IS DISTINCT FROM NEW.${column}` : `OLD.${column} IS NOT NEW.${column}`))
    .join(' OR ');
  const keyChanged =
    kind === 'postgres'
      ? 'OLD.mnp_id IS DISTINCT FROM NEW.mnp_id OR OLD.created_at IS DISTINCT FROM NEW.created_at'
      : 'OLD.mnp_id IS NOT NEW.mnp_id OR OLD.created_at IS NOT NEW.created_at';
  const drop = ['orders_stats_dirty_insert', 'orders_stats_dirty_update', 'orders_stats_dirty_delete'].map((name) =>
    kind === 'postgres' ? `DROP TRIGGER IF EXISTS ${name} ON orders` : `DROP TRIGGER IF EXISTS ${name}`,
  );
  if (kind === 'postgres') {
    return {
      drop,
      create: [
        `CREATE OR REPLACE FUNCTION paythrough_orders_stats_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF TG_OP <> 'INSERT' THEN
             INSERT INTO payment_stats_dirty (mnp_id, created_at) VALUES (OLD.mnp_id, OLD.created_at);
           END IF;
           IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (${keyChanged})) THEN
             INSERT INTO payment_stats_dirty (mnp_id, created_at) VALUES (NEW.mnp_id, NEW.created_at);
           END IF;
           RETURN NULL;
         END $$`,
        'CREATE TRIGGER orders_stats_dirty_insert AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION paythrough_orders_stats_dirty()',
        `CREATE TRIGGER orders_stats_dirty_update AFTER UPDATE ON orders FOR EACH ROW WHEN (${changed}) ` +
          'EXECUTE FUNCTION paythrough_orders_stats_dirty()',
        'CREATE TRIGGER orders_stats_dirty_delete AFTER DELETE ON orders FOR EACH ROW EXECUTE FUNCTION paythrough_orders_stats_dirty()',
      ],
    };
  }
  return {
    drop,
    create: [
      `CREATE TRIGGER orders_stats_dirty_insert AFTER INSERT ON orders
       BEGIN INSERT INTO payment_stats_dirty (mnp_id, created_at) VALUES (NEW.mnp_id, NEW.created_at); END`,
      `CREATE TRIGGER orders_stats_dirty_update AFTER UPDATE ON orders WHEN ${changed}
       BEGIN
         INSERT INTO payment_stats_dirty (mnp_id, created_at) VALUES (OLD.mnp_id, OLD.created_at);
         INSERT INTO payment_stats_dirty (mnp_id, created_at) SELECT NEW.mnp_id, NEW.created_at WHERE ${keyChanged};
       END`,
      `CREATE TRIGGER orders_stats_dirty_delete AFTER DELETE ON orders
       BEGIN INSERT INTO payment_stats_dirty (mnp_id, created_at) VALUES (OLD.mnp_id, OLD.created_at); END`,
    ],
  };
}

/**
 * Records: export jobs, daily payment figures and the queue of orders whose figures changed.
 * The queue is filled by triggers on `orders`, so every writer (gateway, reconciler, a bulk load) keeps
 * payment data current without knowing about it. Orders older than this migration are counted by the
 * stats refresh's first full rebuild.
 */
export function recordsMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('export_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('filter_json', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('total_rows', bigint)
        .addColumn('rows_written', bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('file_path', 'text')
        .addColumn('file_size', bigint)
        .addColumn('error', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('claim_token', 'text')
        .addColumn('claim_expires_at', bigint)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('started_at', bigint)
        .addColumn('finished_at', bigint)
        .addColumn('expires_at', bigint, (c) => c.notNull())
        .addCheckConstraint('export_jobs_progress_range', sql`progress >= 0 and progress <= 100`)
        .execute();
      await db.schema.createIndex('export_jobs_user_created').on('export_jobs').columns(['user_id', 'created_at']).execute();
      // The work queue: queued jobs and running ones whose claim may have expired.
      await db.schema.createIndex('export_jobs_status_created').on('export_jobs').columns(['status', 'created_at']).execute();
      await db.schema.createIndex('export_jobs_expires').on('export_jobs').column('expires_at').execute();

      await db.schema
        .createTable('payment_daily_stats')
        .addColumn('mnp_id', 'text', (c) => c.notNull())
        .addColumn('business_day', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('sandbox', 'integer', (c) => c.notNull())
        .addColumn('client_platform', 'integer', (c) => c.notNull())
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('mini_program_team_id', 'text', (c) => c.notNull())
        .addColumn('order_count', bigint, (c) => c.notNull())
        .addColumn('paid_count', bigint, (c) => c.notNull())
        .addColumn('refund_order_count', bigint, (c) => c.notNull())
        .addColumn('total_amount', bigint, (c) => c.notNull())
        .addColumn('paid_amount', bigint, (c) => c.notNull())
        .addColumn('refund_amount', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('payment_daily_stats_pk', ['mnp_id', 'business_day', 'currency', 'sandbox', 'client_platform'])
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

      await withSerialId(kind, db.schema.createTable('payment_stats_dirty'))
        .addColumn('mnp_id', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .execute();
      for (const statement of paymentStatsTriggerStatements(kind).create) await sql.raw(statement).execute(db);
    },
  };
}
