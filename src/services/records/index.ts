export { ExportService } from './export.service.ts';
export {
  NotificationLogService,
  notificationEventTypes,
  notificationStatuses,
  type NotificationStatus,
} from './notification-log.service.ts';
export { OperationsMetricsService, type OperationsSnapshot } from './operations-metrics.service.ts';
export { OrderRecordService } from './order-record.service.ts';
export { PaymentDataService, standardPaymentIndexes, type StandardPaymentIndexId } from './payment-data.service.ts';
export { PaymentStatsService } from './payment-stats.service.ts';
export { RefundRecordService } from './refund-record.service.ts';
// The CSV conventions of the exports (SPEC §5), for other groups' CSV files.
export { csvRecords, neutraliseFormula, zonedDateTimeFormatter } from './export-format.ts';
export { MiniGamePaymentDataService, miniGamePaymentIndexes, type MiniGamePaymentIndexId } from './mini-game-payment-data.service.ts';
