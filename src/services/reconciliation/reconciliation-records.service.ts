import type { Config } from '../../config/config.ts';
import type { ReconciliationExceptionKind, ReconciliationExceptionStatus, ReconciliationStatus } from '../../db/reconciliation-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { accessLevel, isPlatformAdmin, requireAllowed, type Actor } from '../../domain/access.ts';
import { addCalendarDays, businessDateOf, businessDayRange, businessTimeOn } from '../../domain/business-time.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, forbidden, notFound } from '../../domain/errors.ts';
import { currencyExponent, formatMinorUnits } from '../../domain/money.ts';
import {
  reconciliationRepository,
  type ReconciliationExceptionFilter,
  type ReconciliationExceptionRow,
  type ReconciliationReach,
  type ReconciliationRunRow,
  type SideTotals,
} from '../../repositories/reconciliation.repository.ts';
import { miniProgramRepository } from '../../repositories/mini-program.repository.ts';
import { superappRepository } from '../../repositories/superapp.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import { csvRecords, neutraliseFormula, zonedDateTimeFormatter } from '../records/index.ts';
import { recordAudit } from '../tenancy/index.ts';
import type { ReconciliationReport, StatementReconciliationService } from './statement-reconciliation.service.ts';

/** The longest range of days a list covers (SPEC §9.5: `.TimeRangeExceeded` beyond it). */
export const maxReconciliationRangeDays = 31;

/** Per currency: both sides' figures of a day (every connection's runs added up), amounts in minor units as decimal strings. */
export interface DayTotals {
  currency: string;
  ours: { paymentCount: number; paymentAmount: string; refundCount: number; refundAmount: string };
  channel: { paymentCount: number; paymentAmount: string; refundCount: number; refundAmount: string };
  /** Channel minus ours. */
  difference: { paymentCount: number; paymentAmount: string; refundCount: number; refundAmount: string };
}

export interface ReconciliationDay {
  billDate: string;
  /** The day's status over its runs: the least advanced one's (RUNNING, RETRYING, PENDING, FAILED, NO_STATEMENT, DONE). */
  status: ReconciliationStatus;
  totals: DayTotals[];
  /** Statement lines no exception names. */
  matchedNum: number;
  exceptionNum: number;
  openExceptionNum: number;
}

export interface ReconciliationDayDetail extends ReconciliationDay {
  attempts: number;
  lineNum: number;
  /** Exceptions per kind and status as they stand now (resolutions by hand included). */
  outcomes: { kind: string; status: string; n: number }[];
  /** The day's runs, one per channel connection: their totals are added up in `totals`. */
  runs: {
    connectionId: number;
    status: ReconciliationStatus;
    attempts: number;
    lastError: string | null;
    finishedAt: number | null;
  }[];
  updatedAt: number | null;
}

export interface ReconciliationExceptionView {
  id: string;
  billDate: string;
  kind: ReconciliationExceptionKind;
  status: ReconciliationExceptionStatus;
  action: string | null;
  mnpId: string | null;
  mchid: string;
  outTradeNo: string;
  transactionId: string | null;
  outRefundNo: string | null;
  refundId: string | null;
  currency: string | null;
  /** Major units of the currency, as text. */
  ourAmount: string | null;
  channelAmount: string | null;
  ourState: string | null;
  channelState: string | null;
  ourTime: number | null;
  channelTime: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  resolutionNote: string | null;
}

export interface DayListFilter {
  applicationId: string;
  /** YYYY-MM-DD; defaults: the 31 days up to yesterday. */
  fromDate?: string | undefined;
  toDate?: string | undefined;
  status?: ReconciliationStatus | undefined;
}

export interface ExceptionListFilter {
  /** One superapp's; every one the actor reaches when absent. */
  applicationId?: string | undefined;
  fromDate?: string | undefined;
  toDate?: string | undefined;
  kinds?: ReconciliationExceptionKind[] | undefined;
  statuses?: ReconciliationExceptionStatus[] | undefined;
  mnpIds?: string[] | undefined;
  orderNo?: string | undefined;
  refundNo?: string | undefined;
}

export const reconciliationRunStatuses = [
  'PENDING',
  'RUNNING',
  'DONE',
  'RETRYING',
  'FAILED',
  'NO_STATEMENT',
] as const satisfies readonly ReconciliationStatus[];
export const reconciliationExceptionKinds = [
  'MISSING_AT_PAYTHROUGH',
  'MISSING_AT_CHANNEL',
  'AMOUNT_MISMATCH',
  'STATE_MISMATCH',
  'TIME_DRIFT',
  'DUPLICATE_LINE',
] as const satisfies readonly ReconciliationExceptionKind[];
export const reconciliationExceptionStatuses = [
  'OPEN',
  'RESOLVED',
  'AUTO_RESOLVED',
] as const satisfies readonly ReconciliationExceptionStatus[];

const statusOrder: ReconciliationStatus[] = ['RUNNING', 'RETRYING', 'PENDING', 'FAILED', 'NO_STATEMENT', 'DONE'];

/** Minor units (a decimal string or number) as major units in the currency's exponent; an unknown currency stays as given. */
export function majorUnits(amount: string | number | null, currency: string | null): string | null {
  if (amount === null) return null;
  try {
    if (currency === null) return String(amount);
    currencyExponent(currency);
    return formatMinorUnits(BigInt(amount), currency);
  } catch {
    return String(amount);
  }
}

const billDateError = (message: string) => new AppError('InvalidParameterValue.InvalidBillDate', message);

/**
 * What the console and the management API read of daily reconciliation (SPEC §9.4, §9.5): the days of a superapp
 * with their totals, a day's report, its exceptions, resolving one by hand, and re-running a day.
 *
 * Days and reports are the superapp's: its team's roles and the platform admins read them; mini program roles are
 * refused (`UnauthorizedOperation`). Exceptions are also shown to mini program roles, only those of their own mini
 * programs. A day with several channel connections is combined: totals added per currency, the status the least
 * advanced run's; the day's detail also lists its runs.
 */
export class ReconciliationRecordsService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone' | 'reconciliationCutoff'>,
    private readonly reconciliation: Pick<StatementReconciliationService, 'rerunDay'>,
  ) {}

  /** The days of a superapp in a range (at most 31 days), newest first. */
  async listDays(
    actor: Actor,
    filter: DayListFilter,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: ReconciliationDay[] }> {
    await this.requireSuperappView(actor, filter.applicationId);
    const { fromDate, toDate } = this.range(filter.fromDate, filter.toDate);
    const runs = await reconciliationRepository.listRunsBetween(this.db, filter.applicationId, fromDate, toDate);
    const counts = await reconciliationRepository.countExceptionsPerDay(this.db, filter.applicationId, fromDate, toDate);
    const byDay = new Map<string, ReconciliationRunRow[]>();
    for (const run of runs) byDay.set(run.bill_date, [...(byDay.get(run.bill_date) ?? []), run]);
    const days = [...byDay.entries()]
      .map(([billDate, dayRuns]) => this.day(billDate, dayRuns, counts.get(billDate)))
      .filter((day) => filter.status === undefined || day.status === filter.status);
    return { total: days.length, items: days.slice(offset, offset + limit) };
  }

  /** A day's report (SPEC §9.4) less its exceptions; not found when the day has no run. */
  async dayDetail(actor: Actor, applicationId: string, billDate: string): Promise<ReconciliationDayDetail> {
    await this.requireSuperappView(actor, applicationId);
    this.validDate(billDate);
    const runs = await reconciliationRepository.listRunsOfDay(this.db, applicationId, billDate);
    if (runs.length === 0) throw notFound(`Reconciliation of ${billDate}`);
    const counts = await reconciliationRepository.countExceptionsPerDay(this.db, applicationId, billDate, billDate);
    const day = this.day(billDate, runs, counts.get(billDate));
    return {
      ...day,
      attempts: runs.reduce((sum, run) => sum + run.attempts, 0),
      lineNum: runs.reduce((sum, run) => sum + (this.report(run)?.lines ?? 0), 0),
      outcomes: await reconciliationRepository.countExceptionsOfDay(this.db, applicationId, billDate),
      runs: runs.map((run) => ({
        connectionId: run.channel_connection_id,
        status: run.status,
        attempts: run.attempts,
        lastError: run.last_error,
        finishedAt: run.finished_at,
      })),
      updatedAt: runs.reduce<number | null>((latest, run) => Math.max(latest ?? 0, run.updated_at), null),
    };
  }

  /** A page of a superapp's exceptions; mini program roles see only their own mini programs'. */
  async listExceptions(
    actor: Actor,
    filter: ExceptionListFilter,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: ReconciliationExceptionView[] }> {
    const query = await this.exceptionQuery(actor, filter);
    const page = await reconciliationRepository.listExceptionsPage(this.db, query, offset, limit);
    return { total: page.total, items: page.rows.map(exceptionView) };
  }

  /** Every exception a filter matches, a batch at a time (for the CSV export). */
  async *exceptionBatches(actor: Actor, filter: ExceptionListFilter, batchSize = 500): AsyncGenerator<ReconciliationExceptionView[]> {
    const query = await this.exceptionQuery(actor, filter);
    let after: { billDate: string; id: number } | null = null;
    for (;;) {
      const rows = await reconciliationRepository.listExceptionsAfter(this.db, query, after, batchSize);
      if (rows.length === 0) return;
      yield rows.map(exceptionView);
      const last = rows.at(-1)!;
      after = { billDate: last.bill_date, id: last.id };
      if (rows.length < batchSize) return;
    }
  }

  /**
   * The exceptions a filter matches as CSV (SPEC §5 exports): UTF-8 with a BOM, CRLF, amounts in major units, times
   * in PAYTHROUGH_TIMEZONE, ids of digits only ending with a tab, text never a formula. Yields the file in pieces;
   * the visibility check runs before the first piece, so a refusal is an ordinary error answer.
   */
  async exceptionsCsv(actor: Actor, filter: ExceptionListFilter): Promise<AsyncGenerator<string>> {
    const batches = this.exceptionBatches(actor, filter);
    const first = await batches.next();
    const time = zonedDateTimeFormatter(this.config.timezone);
    const zone = this.config.timezone;
    const id = (value: string | null) => (value === null ? '' : /^\d+$/.test(value) ? `${value}\t` : neutraliseFormula(value));
    const text = (value: string | null) => (value === null ? '' : neutraliseFormula(value));
    const at = (ms: number | null) => (ms === null ? '' : time(ms));
    const row = (e: ReconciliationExceptionView) => [
      id(e.id),
      e.billDate,
      e.kind,
      e.status,
      text(e.action),
      id(e.mnpId),
      id(e.mchid),
      id(e.outTradeNo),
      id(e.transactionId),
      id(e.outRefundNo),
      id(e.refundId),
      text(e.currency),
      e.ourAmount ?? '',
      e.channelAmount ?? '',
      text(e.ourState),
      text(e.channelState),
      at(e.ourTime),
      at(e.channelTime),
      text(e.resolvedBy),
      at(e.resolvedAt),
      text(e.resolutionNote),
    ];
    const header = [
      'Exception ID',
      'Bill date',
      'Kind',
      'Status',
      'Action',
      'Mini program ID',
      'Merchant ID',
      'Merchant order no.',
      'Transaction ID',
      'Merchant refund no.',
      'Refund ID',
      'Currency',
      'Our amount',
      'Channel amount',
      'Our state',
      'Channel state',
      `Our time (${zone})`,
      `Channel time (${zone})`,
      'Resolved by',
      `Resolved at (${zone})`,
      'Resolution note',
    ];
    return (async function* () {
      yield '\ufeff' + csvRecords([header]);
      if (first.done) return;
      yield csvRecords(first.value.map(row));
      for await (const batch of batches) yield csvRecords(batch.map(row));
    })();
  }

  /** OPEN exceptions the actor reaches (the console's badge). */
  async openExceptionCount(actor: Actor): Promise<number> {
    if (isPlatformAdmin(actor) && accessLevel(actor, 'reconciliation.view', {})) {
      return reconciliationRepository.countOpenExceptions(this.db, 'all');
    }
    return reconciliationRepository.countOpenExceptions(this.db, await this.reach(actor));
  }

  /** Resolves an OPEN exception with a note (SPEC §9.5): compare-and-set, audited with the actor. */
  async resolve(
    actor: Actor,
    input: { applicationId: string; exceptionId: string; note: string },
    requestId?: string,
  ): Promise<ReconciliationExceptionView> {
    const id = /^\d{1,15}$/.test(input.exceptionId) ? Number(input.exceptionId) : undefined;
    const found = id === undefined ? undefined : await reconciliationRepository.findException(this.db, id);
    const superapp =
      found && found.application_id === input.applicationId ? await superappRepository.findById(this.db, found.application_id) : undefined;
    if (!found || !superapp || !(await this.seesException(actor, found, superapp.team_id))) throw notFound('Reconciliation exception');
    requireAllowed(actor, 'reconciliation.resolve', { superappTeamId: superapp.team_id });
    const note = input.note.trim();
    if (!note) throw new AppError('InvalidParameterValue.ResolutionNoteRequired', 'A note saying why is required to resolve an exception');
    const alreadyResolved = () =>
      new AppError('FailedOperation.ExceptionAlreadyResolved', `The exception is ${found.status === 'OPEN' ? 'resolved' : found.status}`);
    if (found.status !== 'OPEN') throw alreadyResolved();
    const now = this.clock.nowMs();
    await this.db.transaction().execute(async (trx) => {
      if (!(await reconciliationRepository.resolveException(trx, found.id, actor.account, note, now))) throw alreadyResolved();
      await recordAudit(
        trx,
        this.clock,
        actor,
        {
          action: 'reconciliation.resolve_exception',
          targetType: 'reconciliation_exception',
          targetId: String(found.id),
          teamId: superapp.team_id,
          before: { status: found.status },
          after: { status: 'RESOLVED', note },
        },
        requestId,
      );
    });
    return exceptionView((await reconciliationRepository.findException(this.db, found.id))!);
  }

  /** Re-runs a finished day (SPEC §9.2): refused while it runs, for a day not yet due, and for a malformed one. */
  async rerun(actor: Actor, applicationId: string, billDate: string, requestId?: string): Promise<ReconciliationStatus> {
    const superapp = await this.requireSuperappView(actor, applicationId);
    requireAllowed(actor, 'reconciliation.rerun', { superappTeamId: superapp.team_id });
    this.validDate(billDate);
    const dueAt = businessTimeOn(addCalendarDays(billDate, 1), this.config.reconciliationCutoff, this.config.timezone);
    if (this.clock.nowMs() < dueAt)
      throw billDateError(`${billDate} is not due yet: it can be reconciled from the cut-off on the next day`);
    const status = await this.reconciliation.rerunDay(applicationId, billDate);
    await recordAudit(
      this.db,
      this.clock,
      actor,
      { action: 'reconciliation.rerun', targetType: 'superapp', targetId: applicationId, teamId: superapp.team_id, after: { billDate } },
      requestId,
    );
    return status;
  }

  // ---------------------------------------------------------------------------------------------

  /** The superapp, when the actor reads its reconciliation; mini program roles and review staff are refused. */
  private async requireSuperappView(actor: Actor, applicationId: string) {
    const superapp = await this.requireSuperappInTenancy(actor, applicationId);
    if (accessLevel(actor, 'reconciliation.view', { superappTeamId: superapp.team_id })) return superapp;
    if ((await this.reach(actor)).mnpIds.length > 0) throw forbidden('Mini program roles see exceptions of their own mini programs only');
    throw forbidden('Your role does not reach reconciliation');
  }

  /**
   * The superapp, when the actor belongs to its tenant (its team, a mini program team on it, or the platform), else
   * not found: another tenant's id confirms nothing, whatever the role (SPEC §7).
   */
  private async requireSuperappInTenancy(actor: Actor, applicationId: string) {
    const superapp = await superappRepository.findById(this.db, applicationId);
    if (superapp && accessLevel(actor, 'superapp.view', { superappTeamId: superapp.team_id })) return superapp;
    if (superapp && (await this.teamsOf(actor)).some((team) => team.superapp_id === superapp.id)) return superapp;
    throw notFound(`Superapp ${applicationId}`);
  }

  /** The mini program must be the actor's tenant's (its team, its superapp's team, or the platform), else not found. */
  private async requireMiniProgramInTenancy(actor: Actor, mnpId: string): Promise<void> {
    const [row] = await miniProgramRepository.listWithSuperapp(this.db, [mnpId]);
    if (row && actor.memberships.has(row.team_id)) return;
    const superapp = row?.superapp_id ? await superappRepository.findById(this.db, row.superapp_id) : undefined;
    if (superapp && accessLevel(actor, 'superapp.view', { superappTeamId: superapp.team_id })) return;
    throw notFound(`Mini program ${mnpId}`);
  }

  private teamsOf(actor: Actor) {
    return teamRepository.listByIds(this.db, [...actor.memberships.keys()]);
  }

  /** The superapps whose team and the mini programs whose team give the actor reconciliation.view. */
  private async reach(actor: Actor): Promise<{ applicationIds: string[]; mnpIds: string[] }> {
    const teamIds = [...actor.memberships.keys()];
    const superappTeams = teamIds.filter((teamId) => accessLevel(actor, 'reconciliation.view', { superappTeamId: teamId }));
    const miniProgramTeams = teamIds.filter((teamId) => accessLevel(actor, 'reconciliation.view', { miniProgramTeamId: teamId }));
    const superapps = superappTeams.length > 0 ? await superappRepository.listByTeams(this.db, superappTeams) : [];
    return {
      applicationIds: superapps.map((row) => row.id),
      mnpIds: await reconciliationRepository.miniProgramIdsOfTeams(this.db, miniProgramTeams),
    };
  }

  /** What the actor reads of the exceptions; refused when its roles read none. */
  private async viewReach(actor: Actor): Promise<ReconciliationReach> {
    if (isPlatformAdmin(actor) && accessLevel(actor, 'reconciliation.view', {})) return 'all';
    const reach = await this.reach(actor);
    if (reach.applicationIds.length === 0 && reach.mnpIds.length === 0) throw forbidden('Your role does not reach reconciliation');
    return reach;
  }

  private async seesException(actor: Actor, exception: ReconciliationExceptionRow, superappTeamId: string): Promise<boolean> {
    if (accessLevel(actor, 'reconciliation.view', { superappTeamId })) return true;
    return exception.mnp_id !== null && (await this.reach(actor)).mnpIds.includes(exception.mnp_id);
  }

  /**
   * The repository filter for an actor: superapp roles every exception of their superapps, mini program roles their
   * own mini programs'. A superapp or mini program named that is not the actor's tenant's is not found (before any
   * refusal by role, so it confirms nothing).
   */
  private async exceptionQuery(actor: Actor, filter: ExceptionListFilter): Promise<ReconciliationExceptionFilter> {
    const { fromDate, toDate } = this.range(filter.fromDate, filter.toDate);
    if (filter.applicationId !== undefined) await this.requireSuperappInTenancy(actor, filter.applicationId);
    for (const mnpId of new Set(filter.mnpIds ?? [])) await this.requireMiniProgramInTenancy(actor, mnpId);
    return {
      reach: await this.viewReach(actor),
      applicationId: filter.applicationId,
      fromDate,
      toDate,
      kinds: filter.kinds,
      statuses: filter.statuses,
      mnpIds: filter.mnpIds,
      orderNo: filter.orderNo,
      refundNo: filter.refundNo,
    };
  }

  /** A range of days: both given or defaulted (the 31 days up to yesterday), at most 31 days, the end not after today. */
  private range(from: string | undefined, to: string | undefined): { fromDate: string; toDate: string } {
    const today = businessDateOf(this.clock.nowMs(), this.config.timezone);
    if (from !== undefined) this.validDate(from);
    if (to !== undefined) this.validDate(to);
    const toDate = to ?? (from ? minDate(addCalendarDays(from, maxReconciliationRangeDays - 1), today) : addCalendarDays(today, -1));
    const fromDate = from ?? addCalendarDays(toDate, -(maxReconciliationRangeDays - 1));
    const start = this.validDate(fromDate);
    const end = this.validDate(toDate);
    if (start.startMs > end.startMs) throw billDateError('BillDateBegin is after BillDateEnd');
    if (addCalendarDays(fromDate, maxReconciliationRangeDays - 1) < toDate) {
      throw new AppError('InvalidParameterValue.TimeRangeExceeded', `A range covers at most ${maxReconciliationRangeDays} days`, {
        field: 'BillDateEnd',
      });
    }
    return { fromDate, toDate };
  }

  private validDate(billDate: string): { startMs: number; endMs: number } {
    const range = /^\d{4}-\d{2}-\d{2}$/.test(billDate) ? businessDayRange(billDate, this.config.timezone) : undefined;
    if (!range) throw billDateError(`${billDate} is not a date`);
    if (range.startMs > this.clock.nowMs()) throw billDateError(`${billDate} is in the future`);
    return range;
  }

  private report(run: ReconciliationRunRow): ReconciliationReport | undefined {
    if (!run.report_json) return undefined;
    try {
      return JSON.parse(run.report_json) as ReconciliationReport;
    } catch {
      return undefined;
    }
  }

  private day(
    billDate: string,
    runs: ReconciliationRunRow[],
    counts: { total: number; open: number; channelSided: number } | undefined,
  ): ReconciliationDay {
    const status = statusOrder.find((candidate) => runs.some((run) => run.status === candidate)) ?? 'PENDING';
    const reports = runs.map((run) => this.report(run)).filter((report) => report !== undefined);
    const lines = reports.reduce((sum, report) => sum + report.lines, 0);
    return {
      billDate,
      status,
      totals: combineTotals(reports),
      matchedNum: Math.max(0, lines - (counts?.channelSided ?? 0)),
      exceptionNum: counts?.total ?? 0,
      openExceptionNum: counts?.open ?? 0,
    };
  }
}

const minDate = (a: string, b: string) => (a < b ? a : b);

type Side = DayTotals['ours'];
const emptySide = (): Side => ({ paymentCount: 0, paymentAmount: '0', refundCount: 0, refundAmount: '0' });
const add = (a: string, b: string) => (BigInt(a) + BigInt(b)).toString();
function addSide(side: Side, totals: SideTotals): void {
  side.paymentCount += totals.payment_count;
  side.paymentAmount = add(side.paymentAmount, totals.payment_amount);
  side.refundCount += totals.refund_count;
  side.refundAmount = add(side.refundAmount, totals.refund_amount);
}

/** Both sides per currency over a day's runs, and the channel's figures less ours. */
function combineTotals(reports: ReconciliationReport[]): DayTotals[] {
  const byCurrency = new Map<string, DayTotals>();
  const entry = (currency: string) => {
    let found = byCurrency.get(currency);
    if (!found) {
      found = { currency, ours: emptySide(), channel: emptySide(), difference: emptySide() };
      byCurrency.set(currency, found);
    }
    return found;
  };
  for (const report of reports) {
    for (const totals of report.ours) addSide(entry(totals.currency).ours, totals);
    for (const totals of report.channel) addSide(entry(totals.currency).channel, totals);
  }
  for (const totals of byCurrency.values()) {
    totals.difference = {
      paymentCount: totals.channel.paymentCount - totals.ours.paymentCount,
      paymentAmount: (BigInt(totals.channel.paymentAmount) - BigInt(totals.ours.paymentAmount)).toString(),
      refundCount: totals.channel.refundCount - totals.ours.refundCount,
      refundAmount: (BigInt(totals.channel.refundAmount) - BigInt(totals.ours.refundAmount)).toString(),
    };
  }
  return [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

function exceptionView(row: ReconciliationExceptionRow): ReconciliationExceptionView {
  return {
    id: String(row.id),
    billDate: row.bill_date,
    kind: row.kind,
    status: row.status,
    action: row.action,
    mnpId: row.mnp_id,
    mchid: row.mchid,
    outTradeNo: row.out_trade_no,
    transactionId: row.transaction_id,
    outRefundNo: row.out_refund_no,
    refundId: row.refund_id,
    currency: row.currency,
    ourAmount: majorUnits(row.our_amount === null ? null : Number(row.our_amount), row.currency),
    channelAmount: majorUnits(row.channel_amount === null ? null : Number(row.channel_amount), row.currency),
    ourState: row.our_state,
    channelState: row.channel_state,
    ourTime: row.our_time === null ? null : Number(row.our_time),
    channelTime: row.channel_time === null ? null : Number(row.channel_time),
    resolvedBy: row.resolved_by,
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
    resolutionNote: row.resolution_note,
  };
}
