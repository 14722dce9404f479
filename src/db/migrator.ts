import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { DatabaseKind } from '../config/config.ts';
import { foundationMigration } from './migrations/0001-foundation.ts';
import { paymentEnablementMigration } from './migrations/0002-payment-enablement.ts';
import { sandboxChannelMigration } from './migrations/0003-sandbox-channel.ts';
import { outboxMigration } from './migrations/0004-outbox.ts';
import { ordersMigration } from './migrations/0005-orders.ts';
import { recordsMigration } from './migrations/0010-records.ts';
import { recordIndexesMigration } from './migrations/0011-record-indexes.ts';
import { reconcileInDoubtIndexMigration } from './migrations/0012-reconcile-in-doubt-index.ts';
import { notificationLogMigration } from './migrations/0013-notification-log.ts';
import { channelTimesMigration } from './migrations/0014-channel-times.ts';
import { backoffCountersMigration } from './migrations/0015-backoff-counters.ts';
import { refusedOrdersMigration } from './migrations/0016-refused-orders.ts';
import { masterKeyInstancesMigration } from './migrations/0017-master-key-instances.ts';
import { manualRefundSettlementMigration } from './migrations/0018-manual-refund-settlement.ts';
import { merchantKeysPerSuperappMigration } from './migrations/0019-merchant-keys-per-superapp.ts';
import { channelConnectionsMigration } from './migrations/0020-channel-connections.ts';
import { hostPaymentsWithoutTransactionIdMigration } from './migrations/0021-host-payments-without-transaction-id.ts';
import { sandboxStatementFaultsMigration } from './migrations/0022-sandbox-statement-faults.ts';
import { statementSourcesMigration } from './migrations/0023-statement-sources.ts';
import { reconciliationMigration } from './migrations/0024-reconciliation.ts';
import { configGenerationMigration } from './migrations/0025-config-generation.ts';
import { virtualOrdersMigration } from './migrations/0026-virtual-orders.ts';
import { virtualPaymentSetupMigration } from './migrations/0027-virtual-payment-setup.ts';
import { paymentStatsChangesMigration } from './migrations/0028-payment-stats-changes.ts';
import type { Database } from './schema.ts';

/** Every migration, in order; the same list runs on SQLite and PostgreSQL. */
function migrationsFor(kind: DatabaseKind): Record<string, Migration> {
  return {
    '0001-foundation': foundationMigration(kind),
    '0002-payment-enablement': paymentEnablementMigration(kind),
    '0003-sandbox-channel': sandboxChannelMigration(kind),
    '0004-outbox': outboxMigration(kind),
    '0005-orders': ordersMigration(kind),
    '0010-records': recordsMigration(kind),
    '0011-record-indexes': recordIndexesMigration(),
    '0012-reconcile-in-doubt-index': reconcileInDoubtIndexMigration(),
    '0013-notification-log': notificationLogMigration(kind),
    '0014-channel-times': channelTimesMigration(kind),
    '0015-backoff-counters': backoffCountersMigration(kind),
    '0016-refused-orders': refusedOrdersMigration(),
    '0017-master-key-instances': masterKeyInstancesMigration(kind),
    '0018-manual-refund-settlement': manualRefundSettlementMigration(),
    '0019-merchant-keys-per-superapp': merchantKeysPerSuperappMigration(kind),
    '0020-channel-connections': channelConnectionsMigration(kind),
    '0021-host-payments-without-transaction-id': hostPaymentsWithoutTransactionIdMigration(kind),
    '0022-sandbox-statement-faults': sandboxStatementFaultsMigration(kind),
    '0023-statement-sources': statementSourcesMigration(),
    '0024-reconciliation': reconciliationMigration(kind),
    '0025-config-generation': configGenerationMigration(kind),
    '0026-virtual-orders': virtualOrdersMigration(kind),
    '0027-virtual-payment-setup': virtualPaymentSetupMigration(kind),
    '0028-payment-stats-changes': paymentStatsChangesMigration(kind),
  };
}

export async function migrateToLatest(db: Kysely<Database>, kind: DatabaseKind): Promise<string[]> {
  const migrator = await migratorFor(db, kind);
  return applied(await migrator.migrateToLatest());
}

/** Runs the migrations up to and including `name` (a migration test sets up the data a later migration converts). */
export async function migrateTo(db: Kysely<Database>, kind: DatabaseKind, name: string): Promise<string[]> {
  const migrator = await migratorFor(db, kind);
  return applied(await migrator.migrateTo(name));
}

async function migratorFor(db: Kysely<Database>, kind: DatabaseKind): Promise<Migrator> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(kind) };
  // Kysely finds its bookkeeping tables in any schema of the database; on PostgreSQL name ours, so that
  // another schema's tables (another deployment, a parallel test) are never taken for them.
  const migrationTableSchema =
    kind === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  return new Migrator({ db, provider, ...(migrationTableSchema ? { migrationTableSchema } : {}) });
}

function applied({ error, results }: MigrationResultSet): string[] {
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
