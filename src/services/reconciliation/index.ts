// Daily reconciliation against the channel's statement (SPEC §9): what the rest of the app uses.
export {
  StatementReconciliationService,
  retryDelayMs,
  type ReconciliationReport,
  type StatementSource,
  type StatementSources,
} from './statement-reconciliation.service.ts';
export {
  ReconciliationRecordsService,
  majorUnits,
  maxReconciliationRangeDays,
  reconciliationExceptionKinds,
  reconciliationExceptionStatuses,
  reconciliationRunStatuses,
  type DayTotals,
  type ReconciliationDay,
  type ReconciliationDayDetail,
  type ReconciliationExceptionView,
} from './reconciliation-records.service.ts';
