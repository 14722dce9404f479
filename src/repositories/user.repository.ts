import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Executor, UserTable } from '../db/schema.ts';

export type UserRow = Selectable<UserTable>;

export const userRepository = {
  insert: (db: Executor, user: Insertable<UserTable>) => db.insertInto('users').values(user).execute(),
  findById: (db: Executor, id: string) => db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst(),
  findByAccount: (db: Executor, account: string) => db.selectFrom('users').selectAll().where('account', '=', account).executeTakeFirst(),
  findSuperAdmin: (db: Executor) => db.selectFrom('users').selectAll().where('platform_role', '=', 'super_admin').executeTakeFirst(),
  list: (db: Executor, filter: { search?: string | undefined }) => {
    let query = db.selectFrom('users').selectAll().orderBy('created_at', 'asc');
    if (filter.search) {
      const pattern = `%${filter.search.toLowerCase()}%`;
      query = query.where((eb) =>
        eb.or([eb(eb.fn('lower', ['account']), 'like', pattern), eb(eb.fn('lower', ['display_name']), 'like', pattern)]),
      );
    }
    return query.execute();
  },
  update: (db: Executor, id: string, changes: Updateable<UserTable>) =>
    db.updateTable('users').set(changes).where('id', '=', id).executeTakeFirst(),
};
