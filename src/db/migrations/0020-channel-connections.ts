import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/**
 * Channel change with live money (SPEC §7): every order and refund keeps the channel connection (kind and URL) it
 * was created under, so a superapp may change its channel while older orders are still paid, refunded and
 * reconciled through the old one. Keys stay per superapp and kind (the HTTP channel key, the host key), each with
 * the key it replaced, still accepted on incoming calls for PAYTHROUGH_KEY_OVERLAP_HOURS. Existing superapps get
 * one connection from their current configuration, and every existing order and refund points at it.
 * Columns are added (never a table rebuild of orders or refunds).
 */
export function channelConnectionsMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await withSerialId(kind, db.schema.createTable('channel_connections'))
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('base_url', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('retired_at', bigint)
        .execute();
      await db.schema
        .createIndex('channel_connections_by_application')
        .on('channel_connections')
        .columns(['application_id', 'retired_at'])
        .execute();

      await db.schema.alterTable('superapp_payment_configs').addColumn('channel_connection_id', bigint).execute();
      for (const column of ['channel_key_sealed', 'previous_channel_key_sealed', 'host_key_sealed', 'previous_host_key_sealed']) {
        await db.schema.alterTable('superapp_payment_configs').addColumn(column, 'text').execute();
      }
      for (const column of ['previous_channel_key_until', 'previous_host_key_until']) {
        await db.schema.alterTable('superapp_payment_configs').addColumn(column, bigint).execute();
      }
      await db.schema.alterTable('orders').addColumn('channel_connection_id', bigint).execute();
      await db.schema.alterTable('refunds').addColumn('channel_connection_id', bigint).execute();

      // One connection per configured superapp, from its current kind and URL (the HTTP base URL or the refund webhook).
      const configs = await sql<{ superapp_id: string; channel_kind: string; channel_settings_json: string; updated_at: number | string }>`
        select superapp_id, channel_kind, channel_settings_json, updated_at from superapp_payment_configs where channel_kind is not null
      `.execute(db);
      for (const config of configs.rows) {
        const settings = JSON.parse(config.channel_settings_json) as { baseUrl?: string; webhookUrl?: string };
        const baseUrl =
          config.channel_kind === 'http'
            ? (settings.baseUrl ?? null)
            : config.channel_kind === 'host_reported'
              ? (settings.webhookUrl ?? null)
              : null;
        const inserted = await sql<{ id: number | string }>`
          insert into channel_connections (application_id, kind, base_url, created_at)
          values (${config.superapp_id}, ${config.channel_kind}, ${baseUrl}, ${Number(config.updated_at)}) returning id
        `.execute(db);
        const connectionId = Number(inserted.rows[0]?.id);
        const superappId = config.superapp_id;
        await sql`update superapp_payment_configs set channel_connection_id = ${connectionId} where superapp_id = ${superappId}`.execute(
          db,
        );
        await sql`update orders set channel_connection_id = ${connectionId} where application_id = ${config.superapp_id}`.execute(db);
        await sql`update refunds set channel_connection_id = ${connectionId} where application_id = ${config.superapp_id}`.execute(db);
      }
      // The one secret of the current kind becomes that kind's key (same sealing context: nothing to re-seal).
      await sql`update superapp_payment_configs set channel_key_sealed = channel_secret_sealed where channel_kind = 'http'`.execute(db);
      await sql`update superapp_payment_configs set host_key_sealed = channel_secret_sealed where channel_kind = 'host_reported'`.execute(
        db,
      );
      await db.schema.alterTable('superapp_payment_configs').dropColumn('channel_secret_sealed').execute();

      await db.schema.createIndex('orders_by_channel_connection').on('orders').columns(['channel_connection_id', 'trade_state']).execute();
      await db.schema.createIndex('refunds_by_channel_connection').on('refunds').columns(['channel_connection_id', 'status']).execute();
    },
  };
}
