import type { Kysely, Migration } from 'kysely';

/**
 * Record lists filtered by state (measured with the records benchmark): a rare trade_state or
 * refund status under a big owner would otherwise scan the owner's whole `(owner, created_at, id)` range.
 * With these, every (owner, state) pair is one keyset range, merged in created order by the services.
 */
export function recordIndexesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const [table, state] of [
        ['orders', 'trade_state'],
        ['refunds', 'status'],
      ] as const) {
        await db.schema.createIndex(`${table}_state_created`).on(table).columns([state, 'created_at', 'id']).execute();
        await db.schema.createIndex(`${table}_mnp_state_created`).on(table).columns(['mnp_id', state, 'created_at', 'id']).execute();
        await db.schema
          .createIndex(`${table}_application_state_created`)
          .on(table)
          .columns(['application_id', state, 'created_at', 'id'])
          .execute();
        await db.schema
          .createIndex(`${table}_mp_team_state_created`)
          .on(table)
          .columns(['mini_program_team_id', state, 'created_at', 'id'])
          .execute();
      }
    },
  };
}
