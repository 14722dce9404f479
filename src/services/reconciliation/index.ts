// Daily reconciliation against the channel's statement (SPEC §9): what the rest of the app uses.
export {
  StatementReconciliationService,
  retryDelayMs,
  type ReconciliationReport,
  type StatementSource,
  type StatementSources,
} from './statement-reconciliation.service.ts';
