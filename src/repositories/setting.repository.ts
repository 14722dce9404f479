import type { Executor } from '../db/schema.ts';

export const settingRepository = {
  get: async (db: Executor, key: string) =>
    (await db.selectFrom('settings').select('setting_value').where('setting_key', '=', key).executeTakeFirst())?.setting_value,
  /** Inserts the value unless the key exists; returns the value that is stored afterwards. */
  async putIfAbsent(db: Executor, key: string, value: string): Promise<string> {
    await db
      .insertInto('settings')
      .values({ setting_key: key, setting_value: value })
      .onConflict((oc) => oc.column('setting_key').doNothing())
      .execute();
    return (await settingRepository.get(db, key)) ?? value;
  },
  put: (db: Executor, key: string, value: string) =>
    db
      .insertInto('settings')
      .values({ setting_key: key, setting_value: value })
      .onConflict((oc) => oc.column('setting_key').doUpdateSet({ setting_value: value }))
      .execute(),
};
