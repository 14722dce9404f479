import type { Config } from './config/config.ts';
import { PasswordHasher, type PasswordHashingCost } from './crypto/passwords.ts';
import { SecretBox } from './crypto/secret-box.ts';
import { openDatabase, type OpenDatabaseOptions } from './db/database.ts';
import { migrateToLatest } from './db/migrator.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { type AppContext, createServices, type VirtualPaymentDirectoryFactory } from './composition.ts';
import { resolveMasterKeys } from './config/master-key.ts';

export interface ContextOptions extends OpenDatabaseOptions {
  clock?: Clock;
  hashingCost?: PasswordHashingCost;
  /** A hasher of the caller's (tests hold verifications open with one); else one of `hashingCost`. */
  passwordHasher?: PasswordHasher;
  /** Apply migrations before use (the server and the CLI do; default true). */
  migrate?: boolean;
  /** Virtual payment setup as orders read it (tests pass their in-memory one). */
  virtualPaymentDirectory?: VirtualPaymentDirectoryFactory;
}

/** Opens the database, applies migrations and builds the services: everything but HTTP. */
export async function createAppContext(config: Config, options: ContextOptions = {}): Promise<AppContext> {
  const secretBox = new SecretBox(resolveMasterKeys(config));
  const database = openDatabase(config.databaseUrl, options);
  try {
    if (options.migrate ?? true) await migrateToLatest(database.db, database.kind);
  } catch (error) {
    await database.close();
    throw error;
  }
  const clock = options.clock ?? systemClock;
  const services = createServices({
    db: database.db,
    clock,
    secretBox,
    passwordHasher: options.passwordHasher ?? new PasswordHasher(options.hashingCost),
    config,
    ...(options.virtualPaymentDirectory ? { virtualPaymentDirectory: options.virtualPaymentDirectory } : {}),
  });
  await refuseUnheldMasterKeys(services, database);
  return { config, database, clock, services };
}

/** SPEC §7: a value sealed under a key none of PAYTHROUGH_MASTER_KEY's keys is an error at start, naming the key id. */
async function refuseUnheldMasterKeys(services: AppContext['services'], database: AppContext['database']): Promise<void> {
  try {
    await services.masterKeyRotation.assertEveryKeyHeld();
  } catch (error) {
    await database.close();
    throw error;
  }
}
