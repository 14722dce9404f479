import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../../src/db/migrator.ts';
import { insertRefund, orderRow } from '../helpers/record-factory.ts';
import { describeOnEachDatabase, openEmptyDatabase, withSchemaCatalogLock } from '../helpers/test-context.ts';

const at = Date.UTC(2026, 0, 15);

/**
 * Migration 0020 on a database with money in flight (SPEC §7 "Channel change with live money"): each configured
 * superapp gets one connection from its configuration, its existing orders and refunds point at it, and its one
 * channel secret becomes the key of its kind.
 */
describeOnEachDatabase('migration 0020: channel connections', (kind) => {
  it('backfills a connection per configured superapp, points its orders and refunds at it, keeps its key under its kind', async () => {
    const { handle, dispose } = await openEmptyDatabase(kind);
    const migrate = (run: () => Promise<string[]>) => (kind === 'postgres' ? withSchemaCatalogLock('shared', run) : run());
    try {
      const { db } = handle;
      await migrate(() => migrateTo(db, kind, '0018-manual-refund-settlement'));
      const configs = [
        { id: 'app_http', kind: 'http', settings: { baseUrl: 'https://pay.one.example/pt' }, secret: 'v2.sealed-http-key' },
        { id: 'app_host', kind: 'host_reported', settings: { webhookUrl: 'https://pay.two.example/hook' }, secret: 'v2.sealed-host-key' },
        { id: 'app_sandbox', kind: 'sandbox', settings: {}, secret: null },
      ] as const;
      for (const config of [...configs, { id: 'app_unset' }]) {
        await sql`insert into superapps (id, team_id, name, description, created_at, updated_at)
          values (${config.id}, ${`team_${config.id}`}, ${config.id}, '', ${at}, ${at})`.execute(db);
      }
      for (const config of configs) {
        await sql`insert into superapp_payment_configs (superapp_id, payment_enabled, currencies_json, channel_kind,
            channel_settings_json, channel_secret_sealed, created_at, updated_at)
          values (${config.id}, 1, '["CNY"]', ${config.kind}, ${JSON.stringify(config.settings)}, ${config.secret}, ${at}, ${at})`.execute(
          db,
        );
      }
      const owner = (applicationId: string) => ({
        mnpId: `mnp_${applicationId}`,
        applicationId,
        miniProgramTeamId: 'team_mp',
        superappTeamId: `team_${applicationId}`,
      });
      const orderIds: Record<string, number[]> = {};
      for (const config of configs) {
        for (const tradeState of ['SUCCESS', 'WAIT_PAY'] as const) {
          const row = orderRow(owner(config.id), { createdAt: at, tradeState, mchid: `mch_${config.id}` });
          const order = await db
            .insertInto('orders')
            .values({ ...row, channel_kind: config.kind })
            .returningAll()
            .executeTakeFirstOrThrow();
          (orderIds[config.id] ??= []).push(Number(order.id));
          if (tradeState === 'SUCCESS')
            await insertRefund(db, { ...order, id: Number(order.id) }, { createdAt: at, amount: 1, status: 'PROCESSING' });
        }
      }

      expect(await migrate(() => migrateToLatest(db, kind))).toContain('0020-channel-connections');

      const connections = await db.selectFrom('channel_connections').selectAll().orderBy('application_id').execute();
      expect(connections.map(({ application_id, kind, base_url, retired_at }) => ({ application_id, kind, base_url, retired_at }))).toEqual(
        [
          { application_id: 'app_host', kind: 'host_reported', base_url: 'https://pay.two.example/hook', retired_at: null },
          { application_id: 'app_http', kind: 'http', base_url: 'https://pay.one.example/pt', retired_at: null },
          { application_id: 'app_sandbox', kind: 'sandbox', base_url: null, retired_at: null },
        ],
      );
      const connectionOf = (applicationId: string) => Number(connections.find((c) => c.application_id === applicationId)?.id);
      const saved = await db.selectFrom('superapp_payment_configs').selectAll().orderBy('superapp_id').execute();
      expect(
        saved.map((row) => ({
          superapp_id: row.superapp_id,
          channel_connection_id: row.channel_connection_id === null ? null : Number(row.channel_connection_id),
          channel_key_sealed: row.channel_key_sealed,
          host_key_sealed: row.host_key_sealed,
          previous: [row.previous_channel_key_sealed, row.previous_host_key_sealed],
        })),
      ).toEqual([
        {
          superapp_id: 'app_host',
          channel_connection_id: connectionOf('app_host'),
          channel_key_sealed: null,
          host_key_sealed: 'v2.sealed-host-key',
          previous: [null, null],
        },
        {
          superapp_id: 'app_http',
          channel_connection_id: connectionOf('app_http'),
          channel_key_sealed: 'v2.sealed-http-key',
          host_key_sealed: null,
          previous: [null, null],
        },
        {
          superapp_id: 'app_sandbox',
          channel_connection_id: connectionOf('app_sandbox'),
          channel_key_sealed: null,
          host_key_sealed: null,
          previous: [null, null],
        },
      ]);
      for (const config of configs) {
        const orders = await db
          .selectFrom('orders')
          .select(['id', 'channel_connection_id'])
          .where('application_id', '=', config.id)
          .execute();
        expect(orders.map((o) => Number(o.id)).sort()).toEqual([...(orderIds[config.id] ?? [])].sort());
        expect(orders.every((o) => Number(o.channel_connection_id) === connectionOf(config.id))).toBe(true);
        const refunds = await db.selectFrom('refunds').select('channel_connection_id').where('application_id', '=', config.id).execute();
        expect(refunds).toHaveLength(1);
        expect(Number(refunds[0]?.channel_connection_id)).toBe(connectionOf(config.id));
      }
    } finally {
      await dispose();
    }
  });
});
