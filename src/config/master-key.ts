import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { SecretBox } from '../crypto/secret-box.ts';
import { sqliteFilePath } from '../db/database.ts';

/**
 * The master key: from PAYTHROUGH_MASTER_KEY, or (SQLite only) generated once into the data folder
 * next to the database file. PostgreSQL deployments must share one key, so there it is required.
 */
export function resolveMasterKey(config: Config): string {
  if (config.masterKey) return config.masterKey;
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
