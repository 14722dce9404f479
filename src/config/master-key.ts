import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { SecretBox } from '../crypto/secret-box.ts';
import { sqliteFilePath } from '../db/database.ts';

/**
 * The master keys: from PAYTHROUGH_MASTER_KEY (the first seals, all open), or (SQLite only) one generated once
 * into the data folder next to the database file. PostgreSQL deployments must share the keys, so there they are required.
 */
export function resolveMasterKeys(config: Config): string[] {
  if (config.masterKeys) return config.masterKeys;
  return [resolveSingleMasterKey(config)];
}

function resolveSingleMasterKey(config: Config): string {
  if (config.databaseKind === 'postgres') {
    throw new Error('PAYTHROUGH_MASTER_KEY is required with PostgreSQL: every instance must share it (32 bytes, base64)');
  }
  const databaseFile = sqliteFilePath(config.databaseUrl);
  if (databaseFile === ':memory:') return SecretBox.generateMasterKey();
  const keyFile = path.join(path.dirname(path.resolve(databaseFile)), 'master.key');
  if (existsSync(keyFile)) return readFileSync(keyFile, 'utf8').trim();
  mkdirSync(path.dirname(keyFile), { recursive: true });
  const key = SecretBox.generateMasterKey();
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
