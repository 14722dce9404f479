import { hostname } from 'node:os';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { randomString } from '../../domain/ids.ts';
import { masterKeyInstanceRepository, type MasterKeyInstanceRow } from '../../repositories/master-key-instance.repository.ts';

/** An instance seen within this window counts as live; running servers report every `masterKeyHeartbeatMs`. */
export const masterKeyLivenessMs = 5 * 60_000;
export const masterKeyHeartbeatMs = 30_000;
/** Reports older than this are deleted (an instance that died without withdrawing). */
const staleReportMs = dayMs;

export interface MasterKeyInstance {
  instanceId: string;
  hostLabel: string;
  keyIds: string[];
  sealingKeyId: string;
  startedAt: number;
  lastSeenAt: number;
}

/**
 * This instance's report of the master keys it holds (SPEC §7 "Master key rotation"): written as the server starts,
 * refreshed by its heartbeat, withdrawn when it stops; `rotate-master-key` reads the live ones.
 */
export class MasterKeyInstanceService {
  readonly instanceId: string;
  private readonly startedAt: number;

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly hostLabel = `${hostname()}:${process.pid}`,
  ) {
    this.startedAt = clock.nowMs();
    this.instanceId = `inst_${randomString(20)}`;
  }

  /** Records (or refreshes) the key ids this instance holds, and forgets instances silent for a day. */
  async report(): Promise<void> {
    const now = this.clock.nowMs();
    await this.db.transaction().execute(async (trx) => {
      await masterKeyInstanceRepository.upsert(trx, this.reportRow(now));
      await masterKeyInstanceRepository.deleteSeenBefore(trx, now - staleReportMs);
    });
  }

  /** Removes this instance's report as it stops, so it no longer counts as live. */
  async withdraw(): Promise<void> {
    await masterKeyInstanceRepository.delete(this.db, this.instanceId);
  }

  async liveInstances(): Promise<MasterKeyInstance[]> {
    const rows = await masterKeyInstanceRepository.listSeenSince(this.db, this.clock.nowMs() - masterKeyLivenessMs);
    return rows.map(instanceOf);
  }

  private reportRow(now: number): MasterKeyInstanceRow {
    return {
      instance_id: this.instanceId,
      host_label: this.hostLabel,
      key_ids: this.secretBox.keyIds.join(','),
      sealing_key_id: this.secretBox.sealingKeyId,
      started_at: this.startedAt,
      last_seen_at: now,
    };
  }
}

function instanceOf(row: MasterKeyInstanceRow): MasterKeyInstance {
  return {
    instanceId: row.instance_id,
    hostLabel: row.host_label,
    keyIds: row.key_ids.split(','),
    sealingKeyId: row.sealing_key_id,
    startedAt: Number(row.started_at),
    lastSeenAt: Number(row.last_seen_at),
  };
}
