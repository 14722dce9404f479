import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../../src/db/migrator.ts';
import { describeOnEachDatabase, openEmptyDatabase, withSchemaCatalogLock } from '../helpers/test-context.ts';

const at = Date.UTC(2026, 0, 15);

/**
 * Migration 0023 (SPEC §9.1): an HTTP channel configured before statements existed is never asked for one
 * (`statements_supported` off until its administrator switches it on), and no superapp has a statement URL yet.
 */
describeOnEachDatabase('migration 0023: statement sources', (kind) => {
  it('leaves every existing configuration with statements off and no statement URL', async () => {
    const { handle, dispose } = await openEmptyDatabase(kind);
    const migrate = (run: () => Promise<string[]>) => (kind === 'postgres' ? withSchemaCatalogLock('shared', run) : run());
    try {
      const { db } = handle;
      await migrate(() => migrateTo(db, kind, '0021-host-payments-without-transaction-id'));
      const configs = [
        { id: 'app_http', kind: 'http', settings: { baseUrl: 'https://pay.one.example/pt' } },
        { id: 'app_host', kind: 'host_reported', settings: { webhookUrl: 'https://pay.two.example/hook' } },
      ] as const;
      for (const config of configs) {
        await sql`insert into superapps (id, team_id, name, description, created_at, updated_at)
          values (${config.id}, ${`team_${config.id}`}, ${config.id}, '', ${at}, ${at})`.execute(db);
        await sql`insert into superapp_payment_configs (superapp_id, payment_enabled, currencies_json, channel_kind,
            channel_settings_json, created_at, updated_at)
          values (${config.id}, 1, '["CNY"]', ${config.kind}, ${JSON.stringify(config.settings)}, ${at}, ${at})`.execute(db);
      }

      expect(await migrate(() => migrateToLatest(db, kind))).toContain('0023-statement-sources');

      const saved = await db
        .selectFrom('superapp_payment_configs')
        .select(['superapp_id', 'statements_supported', 'statement_url'])
        .orderBy('superapp_id')
        .execute();
      expect(saved.map((row) => ({ ...row, statements_supported: Number(row.statements_supported) }))).toEqual([
        { superapp_id: 'app_host', statements_supported: 0, statement_url: null },
        { superapp_id: 'app_http', statements_supported: 0, statement_url: null },
      ]);
    } finally {
      await dispose();
    }
  });
});
