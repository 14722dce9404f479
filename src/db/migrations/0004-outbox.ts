import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/**
 * Shared state for the gateway's delivery and replay protection (SPEC §4.2, §7): the outbox with its
 * delivery log, and the nonces seen inside the signature window. Any instance may claim any job.
 */
export function outboxMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await withSerialId(kind, db.schema.createTable('outbox'))
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('payload_json', 'text', (c) => c.notNull())
        .addColumn('target_url', 'text')
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('subject_type', 'text')
        .addColumn('subject_id', 'text')
        .addColumn('mnp_id', 'text')
        .addColumn('application_id', 'text')
        .addColumn('mini_program_team_id', 'text')
        .addColumn('superapp_team_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('round_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', bigint)
        .addColumn('claimed_by', 'text')
        .addColumn('claim_token', 'text')
        .addColumn('claim_expires_at', bigint)
        .addColumn('manual', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('last_http_status', 'integer')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('delivered_at', bigint)
        .addColumn('failed_at', bigint)
        .execute();
      // The work queue: only pending jobs, by due time.
      await db.schema.createIndex('outbox_due').on('outbox').column('next_attempt_at').where(sql.ref('status'), '=', 'pending').execute();
      await db.schema.createIndex('outbox_subject').on('outbox').columns(['subject_type', 'subject_id']).execute();
      await db.schema.createIndex('outbox_mnp_created').on('outbox').columns(['mnp_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('outbox_created').on('outbox').columns(['created_at', 'id']).execute();

      await withSerialId(kind, db.schema.createTable('delivery_attempts'))
        .addColumn('outbox_id', bigint, (c) => c.notNull().references('outbox.id'))
        .addColumn('attempt_no', 'integer', (c) => c.notNull())
        .addColumn('manual', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('target_url', 'text')
        .addColumn('started_at', bigint, (c) => c.notNull())
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('http_status', 'integer')
        .addColumn('response_excerpt', 'text')
        .addColumn('error', 'text')
        .addColumn('worker', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('delivery_attempts_outbox').on('delivery_attempts').columns(['outbox_id', 'id']).execute();
      await db.schema.createIndex('delivery_attempts_started').on('delivery_attempts').column('started_at').execute();

      await db.schema
        .createTable('replay_nonces')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('seen_at', bigint, (c) => c.notNull())
        .addColumn('expires_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('replay_nonces_pk', ['scope', 'nonce'])
        .execute();
      await db.schema.createIndex('replay_nonces_expires').on('replay_nonces').column('expires_at').execute();
    },
  };
}
