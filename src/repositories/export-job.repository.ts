import type { ExpressionBuilder, Insertable, Selectable, Updateable } from 'kysely';
import type { DatabaseKind } from '../config/config.ts';
import type { ExportJobTable } from '../db/records-schema.ts';
import type { Database, Executor } from '../db/schema.ts';

export type ExportJobRow = Selectable<ExportJobTable>;

export interface ExportClaim {
  workerId: string;
  token: string;
  now: number;
  leaseUntil: number;
}

/** Another export of the same user is running under a live claim (so this one waits: one running export per user). */
const ownerBusy = (eb: ExpressionBuilder<Database, 'export_jobs'>, now: number) =>
  eb.exists(
    eb
      .selectFrom('export_jobs as other')
      .select('other.id')
      .whereRef('other.user_id', '=', 'export_jobs.user_id')
      .whereRef('other.id', '!=', 'export_jobs.id')
      .where('other.status', '=', 'running')
      .where('other.claim_expires_at', '>', now),
  );

export const exportJobRepository = {
  insert: (db: Executor, row: Insertable<ExportJobTable>) =>
    db.insertInto('export_jobs').values(row).returningAll().executeTakeFirstOrThrow(),
  findById: (db: Executor, id: string) => db.selectFrom('export_jobs').selectAll().where('id', '=', id).executeTakeFirst(),

  /**
   * Serialises one user's export bookkeeping until the transaction ends (PostgreSQL: the user's row, locked on every
   * instance); SQLite has one writer anyway. Taken before counting a user's exports and before claiming one of them.
   */
  async lockOwner(db: Executor, kind: DatabaseKind, userId: string): Promise<void> {
    if (kind === 'postgres') await db.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().execute();
  },

  /** The user's exports not finished yet: queued, or running (a dead worker's job is taken over, so it counts). */
  async countUnfinishedOfUser(db: Executor, userId: string): Promise<number> {
    const row = await db
      .selectFrom('export_jobs')
      .select((eb) => eb.fn.countAll<number>().as('jobs'))
      .where('user_id', '=', userId)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    return Number(row.jobs);
  },
  listByUser: (db: Executor, userId: string, limit: number) =>
    db
      .selectFrom('export_jobs')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute(),

  /** Queued and running jobs, and the oldest queued one's creation time (for /metrics; the `(status, created_at)` index). */
  async workload(db: Executor): Promise<{ queued: number; running: number; oldestQueuedAt: number | null }> {
    const rows = await db
      .selectFrom('export_jobs')
      .select((eb) => ['status', eb.fn.countAll<number>().as('jobs'), eb.fn.min<number>('created_at').as('oldest')])
      .where('status', 'in', ['queued', 'running'])
      .groupBy('status')
      .execute();
    const of = (status: string) => rows.find((row) => row.status === status);
    const oldest = of('queued')?.oldest;
    return {
      queued: Number(of('queued')?.jobs ?? 0),
      running: Number(of('running')?.jobs ?? 0),
      oldestQueuedAt: oldest === undefined || oldest === null ? null : Number(oldest),
    };
  },

  /** Jobs any worker may take: queued, or running under a claim that has expired (its worker died); none of a user already running one. */
  claimable: (db: Executor, now: number, limit: number) =>
    db
      .selectFrom('export_jobs')
      .select(['id', 'user_id'])
      .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('claim_expires_at', '<=', now)])]))
      .where((eb) => eb.not(ownerBusy(eb, now)))
      .orderBy('created_at')
      .limit(limit)
      .execute(),

  /** Compare-and-set claim: false when another worker took the job first, or another export of its user is running. */
  async claim(db: Executor, id: string, claim: ExportClaim): Promise<boolean> {
    const result = await db
      .updateTable('export_jobs')
      .set({
        status: 'running',
        claimed_by: claim.workerId,
        claim_token: claim.token,
        claim_expires_at: claim.leaseUntil,
        started_at: claim.now,
        rows_written: 0,
        progress: 0,
      })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('claim_expires_at', '<=', claim.now)])]))
      .where((eb) => eb.not(ownerBusy(eb, claim.now)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Progress (and a longer lease) while the claim is still ours; false once it is not. */
  async update(db: Executor, id: string, token: string, changes: Updateable<ExportJobTable>): Promise<boolean> {
    const result = await db
      .updateTable('export_jobs')
      .set(changes)
      .where('id', '=', id)
      .where('claim_token', '=', token)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Jobs past their expiry that still hold (or may hold) a file. */
  expired: (db: Executor, now: number, limit: number) =>
    db
      .selectFrom('export_jobs')
      .selectAll()
      .where('expires_at', '<=', now)
      .where('status', '!=', 'expired')
      .orderBy('expires_at')
      .limit(limit)
      .execute(),

  async markExpired(db: Executor, id: string): Promise<void> {
    await db
      .updateTable('export_jobs')
      .set({ status: 'expired', file_path: null, claim_token: null, claimed_by: null, claim_expires_at: null })
      .where('id', '=', id)
      .execute();
  },
};
