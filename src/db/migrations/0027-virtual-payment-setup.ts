import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { addConfigGenerationTriggers } from './0025-config-generation.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/** The tables of virtual payment setup that orders read: raised into the configuration generation like 0025's. */
export const virtualPaymentConfigTables = [
  'mini_programs',
  'virtual_payment_accounts',
  'virtual_delivery_configs',
  'virtual_items',
  'virtual_item_exemptions',
] as const;

/**
 * Virtual payment setup (SPEC §8.1): a mini program's kind, enablement per (mini program, PaymentType), the virtual
 * payment account with its sealed AppKey, the delivery URL, items with their revisions, and the approval exemption.
 */
export function virtualPaymentSetupMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  const partialUnique = (name: string, table: string, columns: string[], where: string) =>
    sql.raw(`CREATE UNIQUE INDEX ${name} ON ${table} (${columns.join(', ')}) WHERE ${where}`);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('mini_programs')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('miniprogram'))
        .execute();

      // Existing rows are standard payment (1); the one-pending / one-approved rules now hold per PaymentType.
      await db.schema
        .alterTable('payment_enablements')
        .addColumn('payment_type', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.dropIndex('payment_enablements_one_pending_per_mnp').execute();
      await db.schema.dropIndex('payment_enablements_one_approved_per_mnp').execute();
      await partialUnique(
        'payment_enablements_one_pending_per_mnp',
        'payment_enablements',
        ['mnp_id', 'payment_type'],
        'status = 0',
      ).execute(db);
      await partialUnique(
        'payment_enablements_one_approved_per_mnp',
        'payment_enablements',
        ['mnp_id', 'payment_type'],
        'status = 10',
      ).execute(db);

      await db.schema
        .createTable('virtual_payment_accounts')
        .addColumn('mnp_id', 'text', (c) => c.primaryKey().references('mini_programs.id'))
        .addColumn('superapp_id', 'text', (c) => c.notNull().references('superapps.id'))
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
        .addColumn('offer_id', 'text', (c) => c.notNull().unique())
        .addColumn('mchid', 'text', (c) => c.notNull())
        .addColumn('app_key_sealed', 'text', (c) => c.notNull())
        .addColumn('app_key_generation', 'integer', (c) => c.notNull())
        .addColumn('app_key_set_at', bigint, (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('virtual_delivery_configs')
        .addColumn('mnp_id', 'text', (c) => c.primaryKey().references('mini_programs.id'))
        .addColumn('delivery_url', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();

      // An item is its identity and state plus the version that sells (null fields until first approved).
      await withSerialId(kind, db.schema.createTable('virtual_items'))
        .addColumn('mnp_id', 'text', (c) => c.notNull().references('mini_programs.id'))
        .addColumn('superapp_id', 'text', (c) => c.notNull().references('superapps.id'))
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('approved_revision_id', bigint)
        .addColumn('name', 'text')
        .addColumn('price', bigint)
        .addColumn('currency', 'text')
        .addColumn('remark', 'text')
        .addColumn('item_url', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addUniqueConstraint('virtual_items_product_unique', ['mnp_id', 'product_id'])
        .execute();
      await db.schema.createIndex('virtual_items_superapp').on('virtual_items').columns(['superapp_id', 'id']).execute();

      // Every submitted version of an item: the superapp decides it by its ApprovalNo (kind virtual_item).
      await withSerialId(kind, db.schema.createTable('virtual_item_revisions'))
        .addColumn('approval_no', 'text', (c) => c.notNull().unique())
        .addColumn('item_id', bigint, (c) => c.notNull().references('virtual_items.id'))
        .addColumn('mnp_id', 'text', (c) => c.notNull())
        .addColumn('superapp_id', 'text', (c) => c.notNull())
        .addColumn('team_id', 'text', (c) => c.notNull())
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('price', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('remark', 'text', (c) => c.notNull())
        .addColumn('item_url', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('exempt', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('requested_at', bigint, (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', bigint)
        .addColumn('approval_note', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('virtual_item_revisions_item').on('virtual_item_revisions').columns(['item_id', 'id']).execute();
      await db.schema
        .createIndex('virtual_item_revisions_superapp')
        .on('virtual_item_revisions')
        .columns(['superapp_id', 'requested_at'])
        .execute();
      await partialUnique('virtual_item_revisions_one_pending', 'virtual_item_revisions', ['item_id'], 'status = 0').execute(db);

      await withSerialId(kind, db.schema.createTable('virtual_item_exemptions'))
        .addColumn('approval_no', 'text', (c) => c.notNull().unique())
        .addColumn('mnp_id', 'text', (c) => c.notNull().references('mini_programs.id'))
        .addColumn('superapp_id', 'text', (c) => c.notNull().references('superapps.id'))
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
        .addColumn('apply_note', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('requested_at', bigint, (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', bigint)
        .addColumn('approval_note', 'text', (c) => c.notNull())
        .addColumn('revoked_by', 'text')
        .addColumn('revoked_at', bigint)
        .execute();
      await db.schema.createIndex('virtual_item_exemptions_mnp').on('virtual_item_exemptions').columns(['mnp_id', 'id']).execute();
      await db.schema
        .createIndex('virtual_item_exemptions_superapp')
        .on('virtual_item_exemptions')
        .columns(['superapp_id', 'requested_at'])
        .execute();
      await partialUnique('virtual_item_exemptions_one_pending', 'virtual_item_exemptions', ['mnp_id'], 'status = 0').execute(db);
      await partialUnique('virtual_item_exemptions_one_approved', 'virtual_item_exemptions', ['mnp_id'], 'status = 10').execute(db);

      await addConfigGenerationTriggers(kind, db, virtualPaymentConfigTables);
    },
  };
}
