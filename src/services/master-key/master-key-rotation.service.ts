import { sealedKeyIdLayout, type SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import {
  type KnownSealedColumn,
  type SealedColumn,
  sealedColumns,
  sealedValueRepository,
  type SealedValueRow,
} from '../../repositories/sealed-value.repository.ts';
import { recordAudit } from '../tenancy/index.ts';
import type { MasterKeyInstance, MasterKeyInstanceService } from './master-key-instance.service.ts';
import { sealedContexts } from './sealed-contexts.ts';

export interface MasterKeyRotationOptions {
  /** Rows re-sealed per transaction (default 100). */
  batchSize?: number;
  /** Called after each committed batch (the CLI prints progress; tests act between batches). */
  onBatch?: (progress: { table: string; column: string; resealed: number }) => Promise<void> | void;
}

export interface MasterKeyRotationSummary {
  /** The key every secret is sealed under now. */
  keyId: string;
  liveInstances: number;
  /** Per table: values re-sealed, and values another instance changed during the pass (sealed anew by it). */
  tables: Record<string, { resealed: number; changedMeanwhile: number }>;
  resealed: number;
  /** Values still not under `keyId` after the pass (0 unless something sealed under another key meanwhile). */
  remaining: number;
}

interface ColumnCounts {
  resealed: number;
  changedMeanwhile: number;
}

/**
 * Master key rotation (SPEC §7): the start-up check that every sealed value's key is held, and the re-sealing of
 * every secret under the sealing key, in batches while the service runs, once every live instance seals with it.
 */
export class MasterKeyRotationService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly instances: MasterKeyInstanceService,
  ) {}

  /** Throws naming the key id when a sealed value's key is not among the configured ones: one scan per column. */
  async assertEveryKeyHeld(): Promise<void> {
    const held = new Set<string>([...this.secretBox.keyIds, sealedKeyIdLayout.legacyId]);
    for (const column of sealedColumns) {
      const keyIds = await sealedValueRepository.distinctKeyIds(this.db, column, sealedKeyIdLayout);
      const unknown = keyIds.find((keyId) => !held.has(keyId));
      if (unknown !== undefined) throw unknownKeyError(column, unknown, this.secretBox.keyIds);
    }
  }

  /** Refuses unless every live instance seals with this process's first key; then re-seals every secret under it. */
  async rotate(actor: Actor, options: MasterKeyRotationOptions = {}): Promise<MasterKeyRotationSummary> {
    const keyId = this.secretBox.sealingKeyId;
    const live = await this.instances.liveInstances();
    refuseUnlessEverySeals(live, keyId);
    const tables: MasterKeyRotationSummary['tables'] = {};
    for (const column of sealedColumns) {
      const counts = await this.resealColumn(column, options);
      const total = (tables[column.table] ??= { resealed: 0, changedMeanwhile: 0 });
      total.resealed += counts.resealed;
      total.changedMeanwhile += counts.changedMeanwhile;
    }
    const resealed = Object.values(tables).reduce((sum, counts) => sum + counts.resealed, 0);
    const summary = { keyId, liveInstances: live.length, tables, resealed, remaining: await this.countRemaining() };
    await this.audit(actor, summary);
    return summary;
  }

  /** One pass in key order; a value another instance rewrote meanwhile is left as it now is. */
  private async resealColumn(column: KnownSealedColumn, options: MasterKeyRotationOptions): Promise<ColumnCounts> {
    const counts: ColumnCounts = { resealed: 0, changedMeanwhile: 0 };
    const under = { layout: sealedKeyIdLayout, keyId: this.secretBox.sealingKeyId };
    let afterKey = '';
    for (;;) {
      const batch = await sealedValueRepository.batchNotSealedUnder(this.db, column, under, afterKey, options.batchSize ?? 100);
      if (batch.length === 0) return counts;
      const resealed = await this.resealBatch(column, batch);
      counts.resealed += resealed;
      counts.changedMeanwhile += batch.length - resealed;
      afterKey = batch.at(-1)!.row_key;
      await options.onBatch?.({ table: column.table, column: column.sealedColumn, resealed: counts.resealed });
    }
  }

  /** Decrypts and encrypts before the transaction (no I/O in it), then swaps each value if it is still the one read. */
  private async resealBatch(column: KnownSealedColumn, batch: SealedValueRow[]): Promise<number> {
    const contextOf = sealedContexts[column.name];
    const swaps = batch.map((row) => {
      const context = contextOf(row.context_value);
      return { row, next: this.secretBox.seal(this.secretBox.open(row.sealed, context), context) };
    });
    return this.db.transaction().execute(async (trx) => {
      let replaced = 0;
      for (const { row, next } of swaps) {
        if (await sealedValueRepository.replace(trx, column, row.row_key, row.sealed, next)) replaced += 1;
      }
      return replaced;
    });
  }

  private async countRemaining(): Promise<number> {
    const under = { layout: sealedKeyIdLayout, keyId: this.secretBox.sealingKeyId };
    let remaining = 0;
    for (const column of sealedColumns) remaining += await sealedValueRepository.countNotSealedUnder(this.db, column, under);
    return remaining;
  }

  private async audit(actor: Actor, summary: MasterKeyRotationSummary): Promise<void> {
    await this.db.transaction().execute((trx) =>
      recordAudit(trx, this.clock, actor, {
        action: 'master_key.rotate',
        targetType: 'master_key',
        targetId: summary.keyId,
        after: { tables: summary.tables, resealed: summary.resealed, remaining: summary.remaining },
      }),
    );
  }
}

function unknownKeyError(column: SealedColumn, keyId: string, held: string[]): Error {
  return new Error(
    `A secret in ${column.table}.${column.sealedColumn} is sealed under master key ${keyId}, which PAYTHROUGH_MASTER_KEY ` +
      `does not hold (it holds ${held.join(', ')}); add that key to the list (new,old) and start again`,
  );
}

function refuseUnlessEverySeals(live: MasterKeyInstance[], keyId: string): void {
  const lacking = live.filter((instance) => instance.sealingKeyId !== keyId);
  if (lacking.length === 0) return;
  const described = lacking.map(
    (instance) =>
      `${instance.hostLabel} (instance ${instance.instanceId}: holds ${instance.keyIds.join(', ')}, ` +
      `last seen ${new Date(instance.lastSeenAt).toISOString()})`,
  );
  throw new AppError(
    'FailedOperation',
    `Refused: ${lacking.length} live instance(s) do not seal with the new master key ${keyId}; set PAYTHROUGH_MASTER_KEY=new,old ` +
      `on each and restart it, then run rotate-master-key again. Lacking it: ${described.join('; ')}`,
  );
}
