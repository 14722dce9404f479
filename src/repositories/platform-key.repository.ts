import type { Insertable, Selectable } from 'kysely';
import type { PlatformSigningKeyTable } from '../db/payment-schema.ts';
import type { Executor } from '../db/schema.ts';

export type PlatformSigningKeyRow = Selectable<PlatformSigningKeyTable>;

export const platformKeyRepository = {
  listAll: (db: Executor) => db.selectFrom('platform_signing_keys').selectAll().orderBy('generation', 'asc').execute(),
  insert: (db: Executor, row: Insertable<PlatformSigningKeyTable>) => db.insertInto('platform_signing_keys').values(row).execute(),
};
