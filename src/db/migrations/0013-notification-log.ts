import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';

/**
 * The notification delivery log (SPEC §5): the outbox read across orders, newest first, by the owners the
 * record scope names. Its event type becomes a column (the filter would otherwise parse every payload),
 * filled in for the rows already there; the (owner, created_at, id) indexes the mini program id already
 * had are added for the mini program team and the superapp, so every record part is one keyset range.
 */
export function notificationLogMigration(kind: DatabaseKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('outbox').addColumn('event_type', 'text').execute();
      const eventType = kind === 'postgres' ? sql`(payload_json::json ->> 'event_type')` : sql`json_extract(payload_json, '$.event_type')`;
      await sql`update outbox set event_type = ${eventType} where topic = 'merchant_notification'`.execute(db);
      // A host-reported superapp's refund webhook carries one event only.
      await sql`update outbox set event_type = 'refund.requested' where topic = 'host_refund_webhook'`.execute(db);
      await db.schema.createIndex('outbox_mp_team_created').on('outbox').columns(['mini_program_team_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('outbox_application_created').on('outbox').columns(['application_id', 'created_at', 'id']).execute();
    },
  };
}
