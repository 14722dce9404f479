import type { DatabaseClient, Executor } from '../../db/schema.ts';
import { replayWindowMinutes } from '../../config/config.ts';
import { deleteInBatches } from '../../db/batched-delete.ts';
import type { Clock } from '../../domain/clock.ts';
import { replayNonceRepository } from '../../repositories/replay-nonce.repository.ts';

/** How long a signed message's timestamp is accepted either way (SPEC §4.1, §7: 5 minutes). */
export const replayWindowMs = replayWindowMinutes * 60 * 1000;

/** What signature checkers need: one call per signed message, after its signature and timestamp passed. */
export interface NonceStore {
  /**
   * Remembers `nonce` in `scope` (e.g. `v3:<applicationId>:<mchid>`, `channel-callback:<applicationId>`); false when
   * it was already seen inside the window, i.e. the message is a replay and must be refused. `db`: a transaction to
   * remember it in (the store's own database otherwise).
   */
  rememberNonce(scope: string, nonce: string, timestampSeconds: number, db?: Executor): Promise<boolean>;
}

/**
 * Replay protection shared by every instance: nonces live in the database until their message's
 * timestamp has left the window, so the same signed message is accepted at most once. A used nonce is
 * kept `retentionMs` from its timestamp (PAYTHROUGH_NONCE_RETENTION_MINUTES, never less than the window),
 * then purged; past the window a kept row no longer refuses anything (`expires_at` stays the window's end).
 */
export class NonceService implements NonceStore {
  private readonly retentionMs: number;

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    options: { retentionMs?: number } = {},
    private readonly windowMs = replayWindowMs,
  ) {
    this.retentionMs = Math.max(options.retentionMs ?? windowMs, windowMs);
  }

  async rememberNonce(scope: string, nonce: string, timestampSeconds: number, db: Executor = this.db): Promise<boolean> {
    const now = this.clock.nowMs();
    // A message with this timestamp is accepted until the end of second timestamp + window; keep the
    // nonce that long (and a window from now at least, should a caller pass a timestamp it did not check).
    const expiresAt = Math.max(timestampSeconds * 1000, now) + this.windowMs + 1000;
    return replayNonceRepository.remember(db, { scope, nonce, seenAt: now, expiresAt });
  }

  /** Deletes nonces whose retention has passed (their window ended `retentionMs - windowMs` ago); returns how many went. */
  purgeExpired(batchSize?: number): Promise<number> {
    const before = this.clock.nowMs() - (this.retentionMs - this.windowMs);
    return deleteInBatches((limit) => replayNonceRepository.deleteExpiredBatch(this.db, before, limit), batchSize);
  }
}
