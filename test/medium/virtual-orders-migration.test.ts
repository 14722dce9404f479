import type { Kysely } from 'kysely';
import { expect, it } from 'vitest';
import type { DatabaseKind } from '../../src/config/config.ts';
import { migrateTo, migrateToLatest } from '../../src/db/migrator.ts';
import type { Database } from '../../src/db/schema.ts';
import { isUniqueViolation } from '../../src/repositories/constraint-errors.ts';
import { orderRow } from '../helpers/record-factory.ts';
import { describeOnEachDatabase, openEmptyDatabase, withSchemaCatalogLock } from '../helpers/test-context.ts';

const owner = { mnpId: 'mnp_v', applicationId: 'sa_v', miniProgramTeamId: 'team_mp', superappTeamId: 'team_sa' };
const createdAt = Date.UTC(2026, 0, 15, 4, 0, 0);

const withCatalogLock = <T>(kind: DatabaseKind, run: () => Promise<T>) =>
  kind === 'postgres' ? withSchemaCatalogLock('shared', run) : run();

describeOnEachDatabase('migration 0028: virtual orders as order rows', (kind) => {
  it('existing orders become payment_type 1 with no virtual fields; wx_order_id is unique', async () => {
    const { handle, dispose } = await openEmptyDatabase(kind);
    try {
      const db = handle.db as Kysely<Database>;
      await withCatalogLock(kind, () => migrateTo(db, kind, '0025-config-generation'));
      await db
        .insertInto('orders')
        .values(orderRow(owner, { createdAt, outTradeNo: 'BEFORE-0028' }))
        .execute();
      await withCatalogLock(kind, () => migrateToLatest(db, kind));
      const before = await db.selectFrom('orders').selectAll().where('out_trade_no', '=', 'BEFORE-0028').executeTakeFirstOrThrow();
      expect(before).toMatchObject({ payment_type: 1, wx_order_id: null, product_id: null, delivery_status: null, order_fee: null });

      const virtual = (outTradeNo: string, wxOrderId: string) => ({
        ...orderRow(owner, { createdAt, outTradeNo }),
        payment_type: 2 as const,
        wx_order_id: wxOrderId,
        product_id: 'gem_pack_60',
        quantity: 2,
        order_fee: 1200,
      });
      await db
        .insertInto('orders')
        .values(virtual('V-1', `wx${'1'.repeat(30)}`))
        .execute();
      const duplicate = await db
        .insertInto('orders')
        .values(virtual('V-2', `wx${'1'.repeat(30)}`))
        .execute()
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(isUniqueViolation(duplicate)).toBe(true);
    } finally {
      await dispose();
    }
  });
});
