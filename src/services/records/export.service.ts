import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, renameSync, rmSync, statSync, type ReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ulid } from 'ulid';
import type { Config } from '../../config/config.ts';
import { driverOf, sqliteFilePath } from '../../db/database.ts';
import type { ExportFormat, ExportKind } from '../../db/records-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import type { Capability } from '../../domain/permissions.ts';
import { exportJobRepository, type ExportJobRow } from '../../repositories/export-job.repository.ts';
import { userRepository } from '../../repositories/user.repository.ts';
import { recordAudit } from '../tenancy/index.ts';
import { loadActor } from '../auth/index.ts';
import { businessDateTimeOf } from '../../domain/business-time.ts';
import { exportContentTypes, exportWriter, xlsxRowsPerSheet, type ExportWriter } from './export-format.ts';
import { writeOrdersCsv } from './order-csv-export.ts';
import type { OrderRecordQuery, OrderRecordService } from './order-record.service.ts';
import type { RefundRecordQuery, RefundRecordService } from './refund-record.service.ts';
import type { OrderListItem, RefundListItem } from './record-views.ts';

export interface ExportOptions {
  /** Where export files are written. */
  folder: string;
  /** Exports of at most this many rows are written during the request; larger ones by the background worker. */
  inlineRowLimit: number;
  /** How long a file stays downloadable (PAYTHROUGH_EXPORT_RETENTION_HOURS; SPEC §7: 24 hours by default). */
  lifetimeMs: number;
  /** Rows per database batch (memory stays bounded by one batch). */
  batchSize: number;
  /** A worker's claim on a job; renewed with every progress update. */
  leaseMs: number;
  /** XLSX rows per sheet before the next sheet starts (SPEC §7: 1,000,000). */
  xlsxRowsPerSheet: number;
  /** Order CSVs through the driver (order-csv-export.ts) rather than row objects; off only to compare the two. */
  fastCsv: boolean;
}

/** Per user (SPEC §5: heavy exports must not starve the server): one export running, a few more waiting their turn. */
export const exportsRunningPerUser = 1;
export const exportsWaitingPerUser = 3;
const unfinishedExportsPerUser = exportsRunningPerUser + exportsWaitingPerUser;

export const defaultExportOptions = {
  inlineRowLimit: 5_000,
  lifetimeMs: dayMs,
  batchSize: 5_000,
  leaseMs: 60_000,
  xlsxRowsPerSheet,
  fastCsv: true,
} as const;

/** The data folder's `exports/`: next to the SQLite file, else `./data/exports` (shared storage when scaled out). */
export function exportsFolderFor(config: Pick<Config, 'databaseKind' | 'databaseUrl'>): string {
  if (config.databaseKind === 'sqlite') {
    const file = sqliteFilePath(config.databaseUrl);
    if (file === ':memory:') return path.join(tmpdir(), 'paythrough-exports');
    return path.join(path.dirname(path.resolve(file)), 'exports');
  }
  return path.resolve('data', 'exports');
}

export type ExportRequest =
  { kind: 'orders'; format: ExportFormat; query: OrderRecordQuery } | { kind: 'refunds'; format: ExportFormat; query: RefundRecordQuery };

const capabilityOf: Record<ExportKind, Capability> = { orders: 'order.export', refunds: 'refund.view' };

export function exportView(row: ExportJobRow) {
  return {
    id: row.id,
    kind: row.kind,
    format: row.format,
    status: row.status,
    totalRows: row.total_rows,
    rowsWritten: row.rows_written,
    progress: row.progress,
    fileName: row.file_name,
    fileSize: row.file_size,
    error: row.error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    expiresAt: row.expires_at,
  };
}

export type ExportView = ReturnType<typeof exportView>;

/** `24 hours`, `1 hour`, `0.5 hours`: an export's lifetime as its error message states it. */
function hoursText(ms: number): string {
  const hours = Math.round((ms / 3_600_000) * 100) / 100;
  return `${hours} ${hours === 1 ? 'hour' : 'hours'}`;
}

/**
 * Exports of record lists (SPEC §5, §7): everything the filter matches, streamed from the database by
 * keyset batches into a file that belongs to the user who asked, downloadable only by them for
 * PAYTHROUGH_EXPORT_RETENTION_HOURS (24 by default).
 * Small exports are written at once; larger ones are jobs any instance's worker claims (compare-and-set,
 * with a lease renewed as it goes, so a dead worker's job is taken over). Every export is audited.
 */
export class ExportService {
  private readonly options: ExportOptions;
  private readonly workerId = `exports-${randomUUID()}`;

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone' | 'databaseKind' | 'databaseUrl' | 'exportRetentionHours'>,
    private readonly records: { orders: OrderRecordService; refunds: RefundRecordService },
    options: Partial<ExportOptions> = {},
  ) {
    this.options = {
      folder: exportsFolderFor(config),
      ...defaultExportOptions,
      lifetimeMs: config.exportRetentionHours * 60 * 60 * 1000,
      ...options,
    };
  }

  get folder(): string {
    return this.options.folder;
  }

  async create(actor: Actor, request: ExportRequest, requestId?: string): Promise<ExportView> {
    if (!actor.userId) throw new AppError('UnauthorizedOperation', 'Exports belong to a user; sign in as one');
    // Resolving checks the caller's reach and the filter before anything is written.
    const counted = await this.countUpTo(actor, request, this.options.inlineRowLimit + 1);
    const now = this.clock.nowMs();
    const id = `exp_${ulid(now).toLowerCase()}`;
    const stamp = businessDateTimeOf(now, this.config.timezone)
      .replace(/[-: ]/g, '')
      .replace(/^(\d{8})/, '$1-');
    const userId = actor.userId;
    const job = await this.db.transaction().execute(async (trx) => {
      // Counted under the owner's lock in the transaction that inserts: parallel requests (on any instance) cannot all slip in.
      await exportJobRepository.lockOwner(trx, this.config.databaseKind, userId);
      const pending = await exportJobRepository.countUnfinishedOfUser(trx, userId);
      if (pending >= unfinishedExportsPerUser) {
        throw new AppError(
          'RequestLimitExceeded',
          `You already have ${pending} exports queued or running (${exportsRunningPerUser} runs at a time, ` +
            `${exportsWaitingPerUser} more may wait); export again once one has finished`,
          { pending, limit: unfinishedExportsPerUser },
        );
      }
      const row = await exportJobRepository.insert(trx, {
        id,
        user_id: userId,
        kind: request.kind,
        format: request.format,
        filter_json: JSON.stringify(request.query),
        status: 'queued',
        total_rows: null,
        rows_written: 0,
        progress: 0,
        file_name: `${request.kind}-${stamp}.${request.format}`,
        file_path: null,
        file_size: null,
        error: null,
        claimed_by: null,
        claim_token: null,
        claim_expires_at: null,
        created_at: now,
        started_at: null,
        finished_at: null,
        expires_at: now + this.options.lifetimeMs,
      });
      await recordAudit(
        trx,
        this.clock,
        actor,
        {
          action: `${request.kind === 'orders' ? 'order' : 'refund'}.export`,
          targetType: 'export',
          targetId: id,
          teamId: firstTeamOf(actor),
          after: { format: request.format, filter: request.query },
        },
        requestId,
      );
      return row;
    });
    if (counted <= this.options.inlineRowLimit) return exportView(await this.runClaimed(job.id, userId));
    return exportView(job);
  }

  async get(actor: Actor, id: string): Promise<ExportView> {
    return exportView(await this.ownJob(actor, id));
  }

  /** The caller's exports, newest first (expired ones included, as a record of what was asked). */
  async list(actor: Actor, limit = 20): Promise<ExportView[]> {
    if (!actor.userId) return [];
    return (await exportJobRepository.listByUser(this.db, actor.userId, limit)).map(exportView);
  }

  /** The finished file, for its owner only, until it expires. */
  async openFile(
    actor: Actor,
    id: string,
    requestId?: string,
  ): Promise<{ stream: ReadStream; fileName: string; size: number; contentType: string }> {
    const job = await this.ownJob(actor, id);
    if (job.status === 'expired' || job.expires_at <= this.clock.nowMs())
      throw new AppError(
        'ResourceNotFound',
        `This export has expired (exports are kept for ${hoursText(this.options.lifetimeMs)}); export again`,
      );
    if (job.status !== 'done' || !job.file_path)
      throw new AppError(
        'FailedOperation',
        job.status === 'failed' ? `This export failed: ${job.error ?? 'unknown error'}` : 'This export is not finished yet',
      );
    const file = path.join(this.options.folder, job.file_path);
    const size = statSync(file).size;
    await recordAudit(
      this.db,
      this.clock,
      actor,
      {
        action: 'export.download',
        targetType: 'export',
        targetId: job.id,
        teamId: firstTeamOf(actor),
        after: { fileName: job.file_name, rows: job.rows_written },
      },
      requestId,
    );
    return { stream: createReadStream(file), fileName: job.file_name, size, contentType: exportContentTypes[job.format] };
  }

  /** The worker's turn: claims and runs the oldest waiting job; false when there was none. */
  async runNext(): Promise<boolean> {
    for (const candidate of await exportJobRepository.claimable(this.db, this.clock.nowMs(), 5)) {
      const token = await this.claim(candidate.id, candidate.user_id);
      if (token) {
        await this.run(candidate.id, token);
        return true;
      }
    }
    return false;
  }

  /** Deletes expired files and marks their jobs expired; returns how many. */
  async purgeExpired(): Promise<number> {
    let purged = 0;
    for (;;) {
      const expired = await exportJobRepository.expired(this.db, this.clock.nowMs(), 100);
      for (const job of expired) {
        rmSync(path.join(this.options.folder, job.file_path ?? `${job.id}.${job.format}`), { force: true });
        rmSync(this.partialPath(job), { force: true });
        await exportJobRepository.markExpired(this.db, job.id);
        purged += 1;
      }
      if (expired.length < 100) return purged;
    }
  }

  /** The claim's token, or undefined when another worker holds the job or another export of its owner is running. */
  private async claim(id: string, userId: string): Promise<string | undefined> {
    const now = this.clock.nowMs();
    const token = randomUUID();
    // Under the owner's lock, so that two workers cannot each start one of the same user's exports.
    const claimed = await this.db.transaction().execute(async (trx) => {
      await exportJobRepository.lockOwner(trx, this.config.databaseKind, userId);
      return exportJobRepository.claim(trx, id, { workerId: this.workerId, token, now, leaseUntil: now + this.options.leaseMs });
    });
    return claimed ? token : undefined;
  }

  /** Writes a small export during the request, unless another export of its owner is running: then it waits for the worker. */
  private async runClaimed(id: string, userId: string): Promise<ExportJobRow> {
    const token = await this.claim(id, userId);
    if (token) await this.run(id, token);
    return (await exportJobRepository.findById(this.db, id))!;
  }

  private async countUpTo(actor: Actor, request: ExportRequest, cap: number): Promise<number> {
    const capability = capabilityOf[request.kind];
    if (request.kind === 'orders') {
      const resolved = await this.records.orders.resolve(actor, request.query, capability);
      return this.records.orders.countUpTo(resolved, cap);
    }
    const resolved = await this.records.refunds.resolve(actor, request.query, capability);
    return this.records.refunds.countUpTo(resolved, cap);
  }

  /** Writes the file, renewing the lease with every batch; a lost claim stops without touching the job. */
  private async run(id: string, token: string): Promise<void> {
    const job = (await exportJobRepository.findById(this.db, id))!;
    const partial = this.partialPath(job);
    let writer: ExportWriter<OrderListItem> | ExportWriter<RefundListItem> | undefined;
    try {
      const actor = await this.ownerActor(job);
      const capability = capabilityOf[job.kind];
      mkdirSync(this.options.folder, { recursive: true });
      rmSync(partial, { force: true });
      let written = 0;
      const progress = async (total: number, done: boolean) => {
        const now = this.clock.nowMs();
        const percent = done ? 100 : total === 0 ? 0 : Math.min(99, Math.floor((written / total) * 100));
        if (
          !(await exportJobRepository.update(this.db, id, token, {
            rows_written: written,
            progress: percent,
            claim_expires_at: now + this.options.leaseMs,
          }))
        ) {
          throw new LostClaim();
        }
      };
      if (job.kind === 'orders') {
        const resolved = await this.records.orders.resolve(actor, JSON.parse(job.filter_json) as OrderRecordQuery, capability);
        const total = await this.records.orders.count(resolved);
        await exportJobRepository.update(this.db, id, token, { total_rows: total });
        const driver = driverOf(this.db);
        if (job.format === 'csv' && driver && this.options.fastCsv) {
          written = await writeOrdersCsv(this.db, driver, resolved, partial, this.config.timezone, this.options.batchSize, (rows) => {
            written = rows;
            return progress(total, false);
          });
        } else {
          const orders = await exportWriter('orders', job.format, partial, this.config.timezone, this.options.xlsxRowsPerSheet);
          writer = orders;
          for await (const batch of this.records.orders.batches(resolved, this.options.batchSize)) {
            await orders.write(batch);
            written += batch.length;
            await progress(total, false);
          }
        }
      } else {
        const resolved = await this.records.refunds.resolve(actor, JSON.parse(job.filter_json) as RefundRecordQuery, capability);
        const total = await this.records.refunds.count(resolved);
        await exportJobRepository.update(this.db, id, token, { total_rows: total });
        const refunds = await exportWriter('refunds', job.format, partial, this.config.timezone, this.options.xlsxRowsPerSheet);
        writer = refunds;
        for await (const batch of this.records.refunds.batches(resolved, this.options.batchSize)) {
          await refunds.write(batch);
          written += batch.length;
          await progress(total, false);
        }
      }
      await writer?.finish();
      const fileName = `${job.id}.${job.format}`;
      renameSync(partial, path.join(this.options.folder, fileName));
      const now = this.clock.nowMs();
      const finished = await exportJobRepository.update(this.db, id, token, {
        status: 'done',
        rows_written: written,
        progress: 100,
        file_path: fileName,
        file_size: statSync(path.join(this.options.folder, fileName)).size,
        finished_at: now,
        claim_token: null,
        claimed_by: null,
        claim_expires_at: null,
      });
      if (!finished) rmSync(path.join(this.options.folder, fileName), { force: true });
    } catch (error) {
      await writer?.abort().catch(() => undefined);
      rmSync(partial, { force: true });
      if (error instanceof LostClaim) return;
      const message = error instanceof AppError ? error.message : 'The export could not be written';
      await exportJobRepository.update(this.db, id, token, {
        status: 'failed',
        error: message,
        finished_at: this.clock.nowMs(),
        claim_token: null,
        claimed_by: null,
        claim_expires_at: null,
      });
      if (!(error instanceof AppError)) throw error;
    }
  }

  /** The owner as they are now: an export never reaches further than its owner still may. */
  private async ownerActor(job: ExportJobRow): Promise<Actor> {
    const user = await userRepository.findById(this.db, job.user_id);
    if (!user || user.status !== 'active')
      throw new AppError('UnauthorizedOperation', 'The user who asked for this export is no longer active');
    return loadActor(this.db, user, this.clock.nowMs());
  }

  private async ownJob(actor: Actor, id: string): Promise<ExportJobRow> {
    const job = await exportJobRepository.findById(this.db, id);
    // Another user's export does not exist for the caller, whatever their role.
    if (!job || !actor.userId || job.user_id !== actor.userId) throw notFound('Export');
    return job;
  }

  private partialPath(job: Pick<ExportJobRow, 'id' | 'format'>): string {
    return path.join(this.options.folder, `${job.id}.${job.format}.part`);
  }
}

class LostClaim extends Error {}

/** The team an export is filed under in the audit log: the caller's first team (none for platform admins). */
function firstTeamOf(actor: Actor): string | null {
  return [...actor.memberships.keys()][0] ?? null;
}
