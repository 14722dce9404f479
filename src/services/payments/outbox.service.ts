import { randomUUID } from 'node:crypto';
import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { deleteInBatches } from '../../db/batched-delete.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { notFound } from '../../domain/errors.ts';
import { outboxRepository, type DeliveryAttemptRow, type OutboxRow } from '../../repositories/outbox.repository.ts';

/** What a handler reports about one delivery attempt. */
export interface DeliveryResult {
  delivered: boolean;
  httpStatus?: number | null;
  /** The start of the answer, at most 1 KB. */
  responseExcerpt?: string | null;
  error?: string | null;
}

/** Delivers the jobs of one topic; throwing counts as a failed attempt. */
export interface OutboxHandler {
  deliver(job: OutboxRow): Promise<DeliveryResult>;
}

/**
 * The outbox (SPEC §4.2): work that must leave Paythrough after a state change is written in the same
 * transaction as that change, then delivered by a worker (jobs/outbox-worker.ts) on any instance,
 * at least once, with every attempt logged. A crash or restart loses nothing: a claimed job whose
 * worker died becomes claimable again when its lease expires.
 */
export interface OutboxEventInput {
  /** Which handler delivers it (`merchant_notification`, ...). */
  topic: string;
  /** Unique id of the event; a random UUID by default. */
  eventId?: string;
  /** What the event reports (`TRANSACTION.SUCCESS`, ...), for the delivery log's filter. */
  eventType?: string;
  /** JSON-serialisable; what the handler needs to build the message at delivery time. */
  payload: unknown;
  targetUrl: string | null;
  /** The target's superapp is on the sandbox channel (plain http and loopback allowed while the sandbox is on). */
  sandbox: boolean;
  subject?: { type: string; id: string | number };
  owners?: { mnpId?: string | null; applicationId?: string | null; miniProgramTeamId?: string | null; superappTeamId?: string | null };
  /** The first attempt is not before this time (default: now). */
  notBefore?: number;
}

/** PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS' default: 90 days. */
export const defaultAttemptRetentionMs = 90 * dayMs;

export class OutboxService {
  private readonly attemptRetentionMs: number;
  private readonly enqueueListeners = new Set<() => void>();

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    options: { attemptRetentionMs?: number } = {},
  ) {
    this.attemptRetentionMs = options.attemptRetentionMs ?? defaultAttemptRetentionMs;
  }

  /**
   * Adds an event to the outbox inside the caller's transaction (the one that changes the state the
   * event reports), so either both are saved or neither. Never call it outside that transaction.
   */
  /**
   * Calls `listener` after each enqueue on this instance (the transaction may still be committing), so this
   * instance's worker looks at once; other instances find the row by polling. Returns the unsubscribe.
   */
  onEnqueued(listener: () => void): () => void {
    this.enqueueListeners.add(listener);
    return () => this.enqueueListeners.delete(listener);
  }

  async enqueue(trx: Executor, event: OutboxEventInput): Promise<OutboxRow> {
    const row = await this.insert(trx, event);
    for (const listener of this.enqueueListeners) listener();
    return row;
  }

  private insert(trx: Executor, event: OutboxEventInput): Promise<OutboxRow> {
    const now = this.clock.nowMs();
    return outboxRepository.insert(trx, {
      event_id: event.eventId ?? randomUUID(),
      topic: event.topic,
      event_type: event.eventType ?? null,
      payload_json: JSON.stringify(event.payload),
      target_url: event.targetUrl,
      sandbox: event.sandbox ? 1 : 0,
      subject_type: event.subject?.type ?? null,
      subject_id: event.subject === undefined ? null : String(event.subject.id),
      mnp_id: event.owners?.mnpId ?? null,
      application_id: event.owners?.applicationId ?? null,
      mini_program_team_id: event.owners?.miniProgramTeamId ?? null,
      superapp_team_id: event.owners?.superappTeamId ?? null,
      status: 'pending',
      attempts: 0,
      round_attempts: 0,
      next_attempt_at: Math.max(event.notBefore ?? now, now),
      claimed_by: null,
      claim_token: null,
      claim_expires_at: null,
      manual: 0,
      last_error: null,
      last_http_status: null,
      created_at: now,
      updated_at: now,
      delivered_at: null,
      failed_at: null,
    });
  }

  /**
   * A console user's resend (the caller checks that the user may see the event's subject): a delivered
   * or failed event starts a new round of the retry schedule now; a pending one is tried now.
   */
  async resend(id: number, triesLeft = 3): Promise<OutboxRow> {
    const row = await outboxRepository.findById(this.db, id);
    if (!row) throw notFound('Notification');
    const now = this.clock.nowMs();
    const changed =
      row.status === 'pending'
        ? await outboxRepository.hurry(this.db, id, now)
        : await outboxRepository.restart(this.db, id, row.status, now);
    // Lost a race with the worker (the status moved): try again from the new status.
    if (!changed) {
      if (triesLeft <= 1) throw new Error(`Notification ${id} kept changing; try the resend again`);
      return this.resend(id, triesLeft - 1);
    }
    return (await outboxRepository.findById(this.db, id))!;
  }

  get(id: number): Promise<OutboxRow | undefined> {
    return outboxRepository.findById(this.db, id);
  }

  findByEventId(eventId: string): Promise<OutboxRow | undefined> {
    return outboxRepository.findByEventId(this.db, eventId);
  }

  /** Every event about one order or refund (the console's details). */
  listForSubject(type: string, id: string | number): Promise<OutboxRow[]> {
    return outboxRepository.listBySubject(this.db, type, String(id));
  }

  attempts(outboxId: number): Promise<DeliveryAttemptRow[]> {
    return outboxRepository.listAttempts(this.db, outboxId);
  }

  backlog() {
    return outboxRepository.backlog(this.db);
  }

  /**
   * Retention (SPEC §7): deletes the delivery attempts older than the retention of notifications that are
   * delivered or failed, in batches; the outbox row (status, attempt counters) stays, and a pending
   * notification keeps every attempt. Returns how many went.
   */
  purgeOldAttempts(batchSize?: number): Promise<number> {
    const before = this.clock.nowMs() - this.attemptRetentionMs;
    return deleteInBatches((limit) => outboxRepository.deleteFinishedAttemptsBatch(this.db, before, limit), batchSize);
  }
}
