import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatabaseKind } from '../../src/config/config.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { migrateTo, migrateToLatest } from '../../src/db/migrator.ts';
import { describeOnEachDatabase, openEmptyDatabase, withSchemaCatalogLock } from '../helpers/test-context.ts';

/**
 * Migration 0019 on a deployment that already holds money (SPEC §7 "Credential scope"): order and refund numbers
 * become unique per (superapp, mchid), the sandbox's records learn their superapp, and nothing else changes — rows,
 * references, indexes and the payment-data triggers all survive SQLite's table rebuild.
 */
describeOnEachDatabase('migration 0019: merchant keys per superapp, on existing data', (kind: DatabaseKind) => {
  let database: DatabaseHandle;
  let cleanup: () => Promise<void>;
  const db = () => database.db as unknown as Kysely<any>;
  const now = Date.UTC(2026, 10, 1);

  const order = (id: number, applicationId: string, outTradeNo: string) => ({
    id,
    prepay_id: `wx-migration-${applicationId}-${outTradeNo}`,
    mchid: '1000001',
    out_trade_no: outTradeNo,
    mnp_id: `mnp_${applicationId}`,
    application_id: applicationId,
    mini_program_team_id: 'team_mp',
    superapp_team_id: 'team_sa',
    description: 'coffee',
    notify_url: 'https://merchant.example/notify',
    amount_total: 1000,
    currency: 'CNY',
    payer_openid: 'openid',
    time_expire: now + 7_200_000,
    client_platform: 0,
    sandbox: 1,
    trade_state: 'SUCCESS',
    channel_kind: 'host_reported',
    fingerprint: 'f',
    refund_reserved: 100,
    refund_count: 1,
    refund_succeeded: 0,
    anomaly_flags: 0,
    created_at: now,
    updated_at: now,
  });
  const refund = (id: number, orderId: number, applicationId: string, outRefundNo: string) => ({
    id,
    refund_id: `5030${id}`,
    mchid: '1000001',
    out_refund_no: outRefundNo,
    order_id: orderId,
    mnp_id: `mnp_${applicationId}`,
    application_id: applicationId,
    mini_program_team_id: 'team_mp',
    superapp_team_id: 'team_sa',
    sandbox: 1,
    out_trade_no: 'OLD-1',
    transaction_id: `4200${id}`,
    kind: 'merchant',
    amount_refund: 100,
    amount_total: 1000,
    currency: 'CNY',
    status: 'PROCESSING',
    channel_kind: 'host_reported',
    created_at: now,
    updated_at: now,
  });

  beforeAll(async () => {
    const empty = await openEmptyDatabase(kind);
    database = empty.handle;
    cleanup = empty.dispose;
    const migrate = (run: () => Promise<unknown>) => (kind === 'postgres' ? withSchemaCatalogLock('shared', run) : run());
    await migrate(() => migrateTo(database.db, kind, '0018-manual-refund-settlement'));

    // What an earlier version left: an order with a refund in flight and its webhook job, a sandbox order and event.
    await db()
      .insertInto('orders')
      .values(order(1, 'app_a', 'OLD-1'))
      .execute();
    // An order made and deleted (a test row, say): its id is never handed out again.
    await db()
      .insertInto('orders')
      .values(order(7, 'app_a', 'GONE-7'))
      .execute();
    await db().deleteFrom('orders').where('id', '=', 7).execute();
    await db()
      .insertInto('refunds')
      .values(refund(1, 1, 'app_a', 'OLD-1-R'))
      .execute();
    await db()
      .insertInto('outbox')
      .values({
        event_id: 'host-refund:1000001:OLD-1-R',
        topic: 'host_refund_webhook',
        event_type: 'refund.requested',
        payload_json: '{}',
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        updated_at: now,
        subject_type: 'refund',
        subject_id: '1',
      })
      .execute();
    await db()
      .insertInto('sandbox_orders')
      .values({
        id: 'sbx_ord_1',
        merchant_id: '1000001',
        appid: 'mnp_app_a',
        out_trade_no: 'OLD-1',
        prepay_id: 'wx-migration-app_a-OLD-1',
        cashier_token: 'token-1',
        description: 'coffee',
        payer_openid: 'openid',
        amount_total: 1000,
        currency: 'CNY',
        expires_at: now + 7_200_000,
        state: 'SUCCESS',
        fingerprint: 'f',
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db()
      .insertInto('sandbox_refunds')
      .values({
        id: 'sbx_ref_1',
        merchant_id: '1000001',
        out_refund_no: 'OLD-1-R',
        order_id: 'sbx_ord_1',
        out_trade_no: 'OLD-1',
        amount_refund: 100,
        amount_total: 1000,
        currency: 'CNY',
        state: 'PROCESSING',
        settle_at: now,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await migrate(() => migrateToLatest(database.db, kind));
  });
  afterAll(() => cleanup?.());

  it('keeps every row and reference, and names the sandbox records and the webhook job by their superapp', async () => {
    expect(await db().selectFrom('orders').select(['id', 'out_trade_no', 'refund_reserved']).execute()).toEqual([
      { id: 1, out_trade_no: 'OLD-1', refund_reserved: 100 },
    ]);
    expect(await db().selectFrom('refunds').select(['id', 'order_id', 'out_refund_no']).execute()).toEqual([
      { id: 1, order_id: 1, out_refund_no: 'OLD-1-R' },
    ]);
    expect((await db().selectFrom('sandbox_orders').select('superapp_id').executeTakeFirstOrThrow()).superapp_id).toBe('app_a');
    expect((await db().selectFrom('sandbox_refunds').select('superapp_id').executeTakeFirstOrThrow()).superapp_id).toBe('app_a');
    expect((await db().selectFrom('outbox').select('event_id').executeTakeFirstOrThrow()).event_id).toBe(
      'host-refund:app_a:1000001:OLD-1-R',
    );
  });

  // PostgreSQL alters its tables in place; SQLite's rebuild must carry the AUTOINCREMENT counter over.
  if (kind === 'sqlite')
    it('hands out ids after every id the rebuilt tables gave before, deleted ones too', async () => {
      const { id: _id, ...withoutId } = order(0, 'app_c', 'NEW-1');
      const inserted = await db().insertInto('orders').values(withoutId).returning('id').executeTakeFirstOrThrow();
      expect(Number(inserted.id)).toBeGreaterThan(7);
    });

  it('takes the same merchant and numbers on another superapp, and refuses them again on the same one', async () => {
    await db()
      .insertInto('orders')
      .values(order(2, 'app_b', 'OLD-1'))
      .execute();
    await db()
      .insertInto('refunds')
      .values(refund(2, 2, 'app_b', 'OLD-1-R'))
      .execute();
    await expect(
      db()
        .insertInto('orders')
        .values(order(3, 'app_a', 'OLD-1'))
        .execute(),
    ).rejects.toThrow(/unique/i);
    await expect(
      db()
        .insertInto('refunds')
        .values(refund(3, 1, 'app_a', 'OLD-1-R'))
        .execute(),
    ).rejects.toThrow(/unique/i);
    // References still hold after the rebuild: a refund of no order is refused.
    await expect(
      db()
        .insertInto('refunds')
        .values(refund(4, 999, 'app_a', 'NEW-R'))
        .execute(),
    ).rejects.toThrow(/foreign key/i);
  });

  it('keeps the indexes and the payment-data triggers of the rebuilt tables', async () => {
    await db().deleteFrom('payment_stats_changes').execute();
    await db().updateTable('orders').set({ amount_total: 1200 }).where('id', '=', 1).execute();
    expect((await db().selectFrom('payment_stats_changes').selectAll().execute()).length).toBeGreaterThan(0);
    const indexes =
      kind === 'sqlite'
        ? (await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'orders'`.execute(db())).rows
        : (
            await sql<{
              name: string;
            }>`select indexname as name from pg_indexes where tablename = 'orders' and schemaname = current_schema()`.execute(db())
          ).rows;
    expect(indexes.map((index) => index.name)).toEqual(expect.arrayContaining(['orders_mnp_created', 'orders_application_success']));
  });
});
