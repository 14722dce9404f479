import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, makeAppendOnly, withSerialId } from './column-types.ts';

/** Payment configuration, merchant list, merchant binding, payment enablement and credentials (SPEC §2). */
export function paymentEnablementMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  // Partial unique indexes state the "one at a time" rules of SPEC §2 in the schema itself.
  const partialUnique = (name: string, table: string, columns: string[], where: string) =>
    sql.raw(`CREATE UNIQUE INDEX ${name} ON ${table} (${columns.join(', ')}) WHERE ${where}`);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('superapp_payment_configs')
        .addColumn('superapp_id', 'text', (c) => c.primaryKey().references('superapps.id'))
        .addColumn('payment_enabled', 'integer', (c) => c.notNull())
        .addColumn('currencies_json', 'text', (c) => c.notNull())
        .addColumn('channel_kind', 'text')
        .addColumn('channel_settings_json', 'text', (c) => c.notNull())
        .addColumn('channel_secret_sealed', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();

      await withSerialId(kind, db.schema.createTable('superapp_merchants'))
        .addColumn('superapp_id', 'text', (c) => c.notNull().references('superapps.id'))
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('merchant_name', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addUniqueConstraint('superapp_merchants_id_unique', ['superapp_id', 'merchant_id'])
        .addUniqueConstraint('superapp_merchants_name_unique', ['superapp_id', 'merchant_name'])
        .execute();

      await withSerialId(kind, db.schema.createTable('merchant_bindings'))
        .addColumn('approval_no', 'text', (c) => c.notNull().unique())
        .addColumn('superapp_id', 'text', (c) => c.notNull().references('superapps.id'))
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
        .addColumn('merchant_ref', bigint, (c) => c.notNull().references('superapp_merchants.id'))
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('merchant_name', 'text', (c) => c.notNull())
        .addColumn('request_kind', 'text', (c) => c.notNull())
        .addColumn('replaces_binding_id', bigint)
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('requested_at', bigint, (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', bigint)
        .addColumn('approval_note', 'text', (c) => c.notNull())
        .addColumn('ended_by', 'text')
        .addColumn('ended_at', bigint)
        .addColumn('end_reason', 'text')
        .execute();
      await db.schema.createIndex('merchant_bindings_team').on('merchant_bindings').columns(['team_id', 'id']).execute();
      await db.schema.createIndex('merchant_bindings_superapp').on('merchant_bindings').columns(['superapp_id', 'requested_at']).execute();
      // One pending request and one effective binding per team; a merchant effective for one team at most.
      await partialUnique('merchant_bindings_one_pending_per_team', 'merchant_bindings', ['team_id'], 'status = 0').execute(db);
      await partialUnique('merchant_bindings_one_effective_per_team', 'merchant_bindings', ['team_id'], 'status = 10').execute(db);
      await partialUnique(
        'merchant_bindings_one_team_per_merchant',
        'merchant_bindings',
        ['superapp_id', 'merchant_id'],
        'status = 10',
      ).execute(db);

      await withSerialId(kind, db.schema.createTable('payment_enablements'))
        .addColumn('approval_no', 'text', (c) => c.notNull().unique())
        .addColumn('superapp_id', 'text', (c) => c.notNull().references('superapps.id'))
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
        .addColumn('mnp_id', 'text', (c) => c.notNull().references('mini_programs.id'))
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('merchant_name', 'text', (c) => c.notNull())
        .addColumn('apply_note', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('requested_at', bigint, (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', bigint)
        .addColumn('approval_note', 'text', (c) => c.notNull())
        .addColumn('disabled_by', 'text')
        .addColumn('disabled_at', bigint)
        .execute();
      await db.schema.createIndex('payment_enablements_mnp').on('payment_enablements').columns(['mnp_id', 'id']).execute();
      await db.schema.createIndex('payment_enablements_team').on('payment_enablements').columns(['team_id', 'status']).execute();
      await db.schema
        .createIndex('payment_enablements_superapp')
        .on('payment_enablements')
        .columns(['superapp_id', 'requested_at'])
        .execute();
      // One pending application and one approved record per mini program.
      await partialUnique('payment_enablements_one_pending_per_mnp', 'payment_enablements', ['mnp_id'], 'status = 0').execute(db);
      await partialUnique('payment_enablements_one_approved_per_mnp', 'payment_enablements', ['mnp_id'], 'status = 10').execute(db);

      await withSerialId(kind, db.schema.createTable('approval_transitions'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('record_id', bigint, (c) => c.notNull())
        .addColumn('approval_no', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('from_status', 'integer')
        .addColumn('to_status', 'integer', (c) => c.notNull())
        .addColumn('actor_user_id', 'text')
        .addColumn('actor_account', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('at', bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('approval_transitions_record').on('approval_transitions').columns(['kind', 'record_id', 'id']).execute();
      await makeAppendOnly(kind, db, 'approval_transitions');

      await db.schema
        .createTable('payment_accounts')
        .addColumn('mnp_id', 'text', (c) => c.primaryKey().references('mini_programs.id'))
        .addColumn('superapp_id', 'text', (c) => c.notNull().references('superapps.id'))
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
        .addColumn('mchid', 'text', (c) => c.notNull())
        .addColumn('api_v3_key_sealed', 'text')
        .addColumn('api_v3_key_set_at', bigint)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payment_accounts_team').on('payment_accounts').column('team_id').execute();
      await db.schema.createIndex('payment_accounts_mchid').on('payment_accounts').column('mchid').execute();

      await db.schema
        .createTable('merchant_api_keys')
        .addColumn('serial_no', 'text', (c) => c.primaryKey())
        .addColumn('mnp_id', 'text', (c) => c.notNull().references('payment_accounts.mnp_id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('certificate_pem', 'text', (c) => c.notNull())
        .addColumn('private_key_sealed', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('not_after', bigint, (c) => c.notNull())
        .addColumn('downloaded_at', bigint)
        .addColumn('revoked_at', bigint)
        .execute();
      await db.schema.createIndex('merchant_api_keys_mnp').on('merchant_api_keys').columns(['mnp_id', 'created_at']).execute();
      await partialUnique('merchant_api_keys_one_active_per_mnp', 'merchant_api_keys', ['mnp_id'], "status = 'active'").execute(db);

      await db.schema
        .createTable('platform_signing_keys')
        .addColumn('serial_no', 'text', (c) => c.primaryKey())
        .addColumn('generation', 'integer', (c) => c.notNull().unique())
        .addColumn('public_key_id', 'text', (c) => c.notNull().unique())
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('certificate_pem', 'text', (c) => c.notNull())
        .addColumn('private_key_sealed', 'text', (c) => c.notNull())
        .addColumn('published_at', bigint, (c) => c.notNull())
        .addColumn('signing_from', bigint, (c) => c.notNull())
        .addColumn('grace_ms', bigint, (c) => c.notNull())
        .addColumn('not_after', bigint, (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .execute();
    },
  };
}
