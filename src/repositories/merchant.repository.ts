import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { SuperappMerchantTable } from '../db/payment-schema.ts';
import type { Executor } from '../db/schema.ts';
import { BindingStatus } from '../domain/approval-state.ts';

export type MerchantRow = Selectable<SuperappMerchantTable>;

export interface MerchantSearch {
  search?: string | undefined;
  offset: number;
  limit: number;
}

/** LIKE pattern for a substring search, with the wildcards of the input escaped. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const merchantRepository = {
  insert: async (db: Executor, row: Insertable<SuperappMerchantTable>) =>
    Number((await db.insertInto('superapp_merchants').values(row).returning('id').executeTakeFirstOrThrow()).id),
  findById: (db: Executor, id: number) => db.selectFrom('superapp_merchants').selectAll().where('id', '=', id).executeTakeFirst(),
  findByMerchantId: (db: Executor, superappId: string, merchantId: string) =>
    db
      .selectFrom('superapp_merchants')
      .selectAll()
      .where('superapp_id', '=', superappId)
      .where('merchant_id', '=', merchantId)
      .executeTakeFirst(),
  findByName: (db: Executor, superappId: string, merchantName: string) =>
    db
      .selectFrom('superapp_merchants')
      .selectAll()
      .where('superapp_id', '=', superappId)
      .where('merchant_name', '=', merchantName)
      .executeTakeFirst(),
  /** A page of the superapp's merchants (ID or name containing `search`), oldest first, with the total. */
  async search(db: Executor, superappId: string, query: MerchantSearch) {
    let base = db.selectFrom('superapp_merchants').where('superapp_merchants.superapp_id', '=', superappId);
    if (query.search) {
      // Case-insensitive on both databases (SQLite's LIKE already is; PostgreSQL's is not).
      const pattern = containing(query.search.toLowerCase());
      const idMatches = sql<boolean>`lower(superapp_merchants.merchant_id) like ${pattern} escape '\\'`;
      const nameMatches = sql<boolean>`lower(superapp_merchants.merchant_name) like ${pattern} escape '\\'`;
      base = base.where(sql<boolean>`(${idMatches} or ${nameMatches})`);
    }
    const total = Number((await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow()).total);
    const items = await base
      .leftJoin('merchant_bindings', (join) =>
        join
          .onRef('merchant_bindings.merchant_ref', '=', 'superapp_merchants.id')
          .on('merchant_bindings.status', '=', BindingStatus.Effective),
      )
      .selectAll('superapp_merchants')
      .select('merchant_bindings.team_id as bound_team_id')
      .orderBy('superapp_merchants.id', 'asc')
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    return { total, items };
  },
  /** Merchants of the superapp that no team other than `teamId` holds as its effective binding. */
  listFreeFor: (db: Executor, superappId: string, teamId: string) =>
    db
      .selectFrom('superapp_merchants')
      .selectAll()
      .where('superapp_id', '=', superappId)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('merchant_bindings')
              .select('merchant_bindings.id')
              .whereRef('merchant_bindings.superapp_id', '=', 'superapp_merchants.superapp_id')
              .whereRef('merchant_bindings.merchant_id', '=', 'superapp_merchants.merchant_id')
              .where('merchant_bindings.status', '=', BindingStatus.Effective)
              .where('merchant_bindings.team_id', '<>', teamId),
          ),
        ),
      )
      .orderBy('id', 'asc')
      .execute(),
  update: (db: Executor, id: number, changes: Updateable<SuperappMerchantTable>) =>
    db.updateTable('superapp_merchants').set(changes).where('id', '=', id).executeTakeFirst(),
};
