import { sql, type Insertable, type Selectable } from 'kysely';
import type { DeliveryAttemptTable, OutboxTable } from '../db/gateway-schema.ts';
import { onPostgres } from '../db/batched-delete.ts';
import type { Executor } from '../db/schema.ts';

export type OutboxRow = Selectable<OutboxTable>;
export type DeliveryAttemptRow = Selectable<DeliveryAttemptTable>;
export type NewDeliveryAttempt = Insertable<DeliveryAttemptTable>;

export interface Claim {
  workerId: string;
  token: string;
  now: number;
  leaseUntil: number;
}

/** What a finished attempt changes: the job's status and when it is due next. */
export interface Completion {
  status: OutboxRow['status'];
  roundAttempts: number;
  nextAttemptAt: number | null;
  now: number;
  error: string | null;
  httpStatus: number | null;
}

export const outboxRepository = {
  async insert(db: Executor, row: Insertable<OutboxTable>): Promise<OutboxRow> {
    return db.insertInto('outbox').values(row).returningAll().executeTakeFirstOrThrow();
  },
  findById: (db: Executor, id: number) => db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst(),
  findByEventId: (db: Executor, eventId: string) => db.selectFrom('outbox').selectAll().where('event_id', '=', eventId).executeTakeFirst(),
  listBySubject: (db: Executor, subjectType: string, subjectId: string) =>
    db.selectFrom('outbox').selectAll().where('subject_type', '=', subjectType).where('subject_id', '=', subjectId).orderBy('id').execute(),

  /** Claims one job by compare-and-set; false when another worker claimed it first or it is no longer due. */
  async claim(db: Executor, id: number, claim: Claim): Promise<boolean> {
    const result = await db
      .updateTable('outbox')
      .set({ claimed_by: claim.workerId, claim_token: claim.token, claim_expires_at: claim.leaseUntil, updated_at: claim.now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', claim.now)
      .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<=', claim.now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Claims up to `limit` due jobs in one statement, oldest due first: a compare-and-set on the lease columns
   * (a row another worker claimed meanwhile no longer matches the outer conditions, so it is not taken).
   */
  claimBatch: (db: Executor, claim: Claim, limit: number) =>
    db
      .updateTable('outbox')
      .set({ claimed_by: claim.workerId, claim_token: claim.token, claim_expires_at: claim.leaseUntil, updated_at: claim.now })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('outbox')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', claim.now)
          .where((w) => w.or([w('claim_expires_at', 'is', null), w('claim_expires_at', '<=', claim.now)]))
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(limit),
      )
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', claim.now)
      .where((eb) => eb.or([eb('claim_expires_at', 'is', null), eb('claim_expires_at', '<=', claim.now)]))
      .returningAll()
      .execute(),

  /** PostgreSQL: claims a batch in one statement, skipping rows another instance is claiming right now. */
  claimBatchSkipLocked: (db: Executor, claim: Claim, limit: number) =>
    db
      .updateTable('outbox')
      .set({ claimed_by: claim.workerId, claim_token: claim.token, claim_expires_at: claim.leaseUntil, updated_at: claim.now })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('outbox')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', claim.now)
          .where((w) => w.or([w('claim_expires_at', 'is', null), w('claim_expires_at', '<=', claim.now)]))
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute(),

  /** Extends the lease of the jobs still held under these claims. */
  renewClaims: (db: Executor, tokens: readonly string[], leaseUntil: number) =>
    db
      .updateTable('outbox')
      .set({ claim_expires_at: leaseUntil })
      .where('claim_token', 'in', tokens)
      .where('status', '=', 'pending')
      .execute(),

  /** Gives claimed jobs back before their lease ends (a stopping worker's jobs that never started), 500 per statement. */
  async releaseClaims(db: Executor, jobs: ReadonlyArray<{ id: number; token: string }>): Promise<void> {
    for (let start = 0; start < jobs.length; start += 500)
      await db
        .updateTable('outbox')
        .set({ claimed_by: null, claim_token: null, claim_expires_at: null })
        .where((eb) =>
          eb.or(jobs.slice(start, start + 500).map((job) => eb.and([eb('id', '=', job.id), eb('claim_token', '=', job.token)]))),
        )
        .execute();
  },

  /** Records the outcome of an attempt, only if the claim is still ours (an expired claim changes nothing). */
  async complete(db: Executor, id: number, token: string, completion: Completion): Promise<boolean> {
    const result = await db
      .updateTable('outbox')
      .set((eb) => ({
        status: completion.status,
        attempts: eb('attempts', '+', 1),
        round_attempts: completion.roundAttempts,
        next_attempt_at: completion.nextAttemptAt,
        claimed_by: null,
        claim_token: null,
        claim_expires_at: null,
        manual: 0,
        last_error: completion.error,
        last_http_status: completion.httpStatus,
        updated_at: completion.now,
        ...(completion.status === 'delivered' ? { delivered_at: completion.now } : {}),
        ...(completion.status === 'failed' ? { failed_at: completion.now } : {}),
      }))
      .where('id', '=', id)
      .where('claim_token', '=', token)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  /**
   * Records several delivered attempts in one statement, each only if its claim is still ours (as `complete`
   * does one at a time; under a live claim `round_attempts` is the claimed row's). Returns the ids recorded.
   */
  async completeDelivered(
    db: Executor,
    jobs: ReadonlyArray<{ id: number; token: string; now: number; httpStatus: number | null }>,
  ): Promise<Set<number>> {
    if (jobs.length === 0) return new Set();
    const byId = <T>(value: (job: (typeof jobs)[number]) => T) =>
      sql.join(
        jobs.map((job) => sql`when ${job.id} then ${value(job)}`),
        sql` `,
      );
    // Typed, so that PostgreSQL does not read the bound values as text.
    const finishedAt = sql<number>`cast(case id ${byId((job) => job.now)} end as bigint)`;
    const rows = await db
      .updateTable('outbox')
      .set((eb) => ({
        status: 'delivered',
        attempts: eb('attempts', '+', 1),
        round_attempts: eb('round_attempts', '+', 1),
        next_attempt_at: null,
        claimed_by: null,
        claim_token: null,
        claim_expires_at: null,
        manual: 0,
        last_error: null,
        last_http_status: sql<number | null>`cast(case id ${byId((job) => job.httpStatus)} end as integer)`,
        updated_at: finishedAt,
        delivered_at: finishedAt,
      }))
      .where(
        'id',
        'in',
        jobs.map((job) => job.id),
      )
      .where('claim_token', '=', sql<string>`case id ${byId((job) => job.token)} end`)
      .returning('id')
      .execute();
    return new Set(rows.map((row) => row.id));
  },
  /** Counts an attempt whose claim was lost meanwhile (it still happened). */
  countAttempt: (db: Executor, id: number) =>
    db
      .updateTable('outbox')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .execute(),

  /** Starts a new delivery round of a delivered or failed job (manual resend). */
  async restart(db: Executor, id: number, from: 'delivered' | 'failed', now: number): Promise<boolean> {
    const result = await db
      .updateTable('outbox')
      .set({ status: 'pending', round_attempts: 0, next_attempt_at: now, manual: 1, failed_at: null, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  /** Brings a pending job's next attempt forward to now (manual resend while retries are waiting). */
  async hurry(db: Executor, id: number, now: number): Promise<boolean> {
    const result = await db
      .updateTable('outbox')
      .set({
        next_attempt_at: sql<number>`case when next_attempt_at > ${now} then ${now} else next_attempt_at end`,
        manual: 1,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  insertAttempt: (db: Executor, row: Insertable<DeliveryAttemptTable>) => db.insertInto('delivery_attempts').values(row).execute(),
  /** Several attempts in one statement per 200 (well under either database's limit of bound parameters). */
  async insertAttempts(db: Executor, rows: ReadonlyArray<Insertable<DeliveryAttemptTable>>): Promise<void> {
    for (let start = 0; start < rows.length; start += 200)
      await db
        .insertInto('delivery_attempts')
        .values(rows.slice(start, start + 200))
        .execute();
  },
  listAttempts: (db: Executor, outboxId: number) =>
    db.selectFrom('delivery_attempts').selectAll().where('outbox_id', '=', outboxId).orderBy('id').execute(),
  /**
   * Deletes up to `limit` attempts started before `before` of notifications that are delivered or failed
   * (a pending one keeps all of its attempts); the range is read by index delivery_attempts_started.
   */
  async deleteFinishedAttemptsBatch(db: Executor, before: number, limit: number): Promise<number> {
    const batch = db
      .selectFrom('delivery_attempts as old')
      .innerJoin('outbox', 'outbox.id', 'old.outbox_id')
      .select('old.id')
      .where('old.started_at', '<', before)
      .where('outbox.status', 'in', ['delivered', 'failed'])
      .limit(limit);
    const result = await db
      .deleteFrom('delivery_attempts')
      .where(onPostgres(db) ? sql<boolean>`id = any(array(${batch}))` : sql<boolean>`id in (${batch})`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },

  /**
   * Backlog size and the creation time of the oldest pending job (for /metrics), read through the pending
   * jobs' partial index. `created_at + 0` keeps it there: asked for min(created_at) alone, PostgreSQL walks
   * `outbox_created` from the oldest job past every delivered one (pending jobs are the newest).
   */
  async backlog(db: Executor): Promise<{ pending: number; oldestCreatedAt: number | null }> {
    const row = await db
      .selectFrom('outbox')
      .select((eb) => [eb.fn.countAll<number>().as('pending'), eb.fn.min<number>(sql<number>`created_at + 0`).as('oldest')])
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    return { pending: Number(row.pending), oldestCreatedAt: row.oldest === null ? null : Number(row.oldest) };
  },
  /** Pending jobs due by `now` and the due time of the most overdue one (for /metrics: how far behind the workers are). */
  async dueBacklog(db: Executor, now: number): Promise<{ due: number; oldestDueAt: number | null }> {
    const row = await db
      .selectFrom('outbox')
      .select((eb) => [eb.fn.countAll<number>().as('due'), eb.fn.min<number>('next_attempt_at').as('oldest')])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .executeTakeFirstOrThrow();
    return { due: Number(row.due), oldestDueAt: row.oldest === null ? null : Number(row.oldest) };
  },
};
