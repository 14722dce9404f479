import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DatabaseKind } from '../config/config.ts';
import { foundationMigration } from './migrations/0001-foundation.ts';
import { sandboxChannelMigration } from './migrations/0003-sandbox-channel.ts';
import { outboxMigration } from './migrations/0004-outbox.ts';
import type { Database } from './schema.ts';

/** Every migration, in order; the same list runs on SQLite and PostgreSQL. */
function migrationsFor(kind: DatabaseKind): Record<string, Migration> {
  return {
    '0001-foundation': foundationMigration(kind),
    '0003-sandbox-channel': sandboxChannelMigration(kind),
    '0004-outbox': outboxMigration(kind),
  };
}

export async function migrateToLatest(db: Kysely<Database>, kind: DatabaseKind): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(kind) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
