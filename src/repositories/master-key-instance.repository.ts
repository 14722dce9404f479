import type { Selectable } from 'kysely';
import type { Executor, MasterKeyInstanceTable } from '../db/schema.ts';

export type MasterKeyInstanceRow = Selectable<MasterKeyInstanceTable>;

export const masterKeyInstanceRepository = {
  /** Records the instance's keys as it starts, or refreshes them and its last-seen time. */
  upsert: (db: Executor, row: MasterKeyInstanceRow) =>
    db
      .insertInto('master_key_instances')
      .values(row)
      .onConflict((oc) =>
        oc.column('instance_id').doUpdateSet({ key_ids: row.key_ids, sealing_key_id: row.sealing_key_id, last_seen_at: row.last_seen_at }),
      )
      .execute(),
  listSeenSince: (db: Executor, since: number) =>
    db.selectFrom('master_key_instances').selectAll().where('last_seen_at', '>=', since).orderBy('started_at').execute(),
  delete: (db: Executor, instanceId: string) => db.deleteFrom('master_key_instances').where('instance_id', '=', instanceId).execute(),
  deleteSeenBefore: (db: Executor, before: number) => db.deleteFrom('master_key_instances').where('last_seen_at', '<', before).execute(),
};
