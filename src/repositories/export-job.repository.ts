import type { Insertable, Selectable, Updateable } from 'kysely';
import type { ExportJobTable } from '../db/records-schema.ts';
import type { Executor } from '../db/schema.ts';

export type ExportJobRow = Selectable<ExportJobTable>;

export interface ExportClaim {
  workerId: string;
  token: string;
  now: number;
  leaseUntil: number;
}

export const exportJobRepository = {
  insert: (db: Executor, row: Insertable<ExportJobTable>) =>
    db.insertInto('export_jobs').values(row).returningAll().executeTakeFirstOrThrow(),
  findById: (db: Executor, id: string) => db.selectFrom('export_jobs').selectAll().where('id', '=', id).executeTakeFirst(),
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

  /** Jobs any worker may take: queued, or running under a claim that has expired (its worker died). */
  claimable: (db: Executor, now: number, limit: number) =>
    db
      .selectFrom('export_jobs')
      .select('id')
      .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('claim_expires_at', '<=', now)])]))
      .orderBy('created_at')
      .limit(limit)
      .execute(),

  /** Compare-and-set claim: false when another worker took the job first. */
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
