import type { Kysely, Migration } from 'kysely';

/**
 * Where a superapp's daily statement comes from (SPEC §9.1): `statements_supported` says whether its HTTP channel
 * serves `/v1/statements/query` (0 for every configuration saved before this migration, so no HTTP channel is asked
 * for what it never implemented; the console switches it on), and `statement_url` is where a host-reported superapp
 * serves the same endpoint, beside its refund webhook (null: no statement).
 */
export function statementSourcesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('superapp_payment_configs')
        .addColumn('statements_supported', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('superapp_payment_configs').addColumn('statement_url', 'text').execute();
    },
  };
}
