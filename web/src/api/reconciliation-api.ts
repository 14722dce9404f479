import { apiRequest, consoleApiBase } from './client.ts';

// The reconciliation console routes (src/routes/console/reconciliation.routes.ts). The value lists are the
// service's (src/services/reconciliation), repeated here so the browser bundle takes no server module.
export const reconciliationRunStatuses = ['PENDING', 'RUNNING', 'DONE', 'RETRYING', 'FAILED', 'NO_STATEMENT'] as const;
export const reconciliationExceptionKinds = [
  'MISSING_AT_PAYTHROUGH',
  'MISSING_AT_CHANNEL',
  'AMOUNT_MISMATCH',
  'STATE_MISMATCH',
  'TIME_DRIFT',
  'DUPLICATE_LINE',
] as const;
export const reconciliationExceptionStatuses = ['OPEN', 'RESOLVED', 'AUTO_RESOLVED'] as const;
export type RunStatus = (typeof reconciliationRunStatuses)[number];
export type ExceptionKind = (typeof reconciliationExceptionKinds)[number];
export type ExceptionStatus = (typeof reconciliationExceptionStatuses)[number];

/** One side's counts and major-unit sums. */
export interface Side {
  paymentCount: number;
  paymentAmount: string;
  refundCount: number;
  refundAmount: string;
}
export interface CurrencyTotals {
  currency: string;
  ours: Side;
  channel: Side;
  difference: Side;
}
export interface ReconciliationDay {
  billDate: string;
  status: RunStatus;
  totals: CurrencyTotals[];
  matchedNum: number;
  exceptionNum: number;
  openExceptionNum: number;
}
export interface ReconciliationDayDetail extends ReconciliationDay {
  attempts: number;
  lineNum: number;
  outcomes: { kind: string; status: string; n: number }[];
  runs: { connectionId: number; status: RunStatus; attempts: number; lastError: string | null; finishedAt: number | null }[];
  updatedAt: number | null;
}
export interface ReconciliationException {
  id: string;
  billDate: string;
  kind: ExceptionKind;
  status: ExceptionStatus;
  action: string | null;
  mnpId: string | null;
  mchid: string;
  outTradeNo: string;
  transactionId: string | null;
  outRefundNo: string | null;
  refundId: string | null;
  currency: string | null;
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

export interface ExceptionFilter {
  /** Every superapp the caller reaches when absent (mini program roles: their own mini programs' exceptions). */
  applicationId?: string;
  from?: string;
  to?: string;
  kind?: ExceptionKind;
  status?: ExceptionStatus;
  mnpId?: string;
  orderNo?: string;
  refundNo?: string;
}

const segment = encodeURIComponent;
const superappPath = (applicationId: string) => `/superapps/${segment(applicationId)}/reconciliation`;
const filterQuery = (filter: ExceptionFilter) => ({ ...filter });

export const reconciliationApi = {
  listDays: (applicationId: string, range: { from?: string; to?: string }) =>
    apiRequest<{ total: number; items: ReconciliationDay[] }>('GET', `${superappPath(applicationId)}/days`, {
      query: { from: range.from, to: range.to, limit: 31 },
    }),
  getDay: (applicationId: string, billDate: string) =>
    apiRequest<ReconciliationDayDetail>('GET', `${superappPath(applicationId)}/days/${segment(billDate)}`),
  rerun: (applicationId: string, billDate: string) =>
    apiRequest<{ status: RunStatus }>('POST', `${superappPath(applicationId)}/days/${segment(billDate)}/rerun`),
  listExceptions: (filter: ExceptionFilter, page: { offset: number; limit: number }) =>
    apiRequest<{ total: number; items: ReconciliationException[] }>('GET', '/reconciliation/exceptions', {
      query: { ...filterQuery(filter), offset: page.offset, limit: page.limit },
    }),
  resolve: (applicationId: string, exceptionId: string, note: string) =>
    apiRequest<ReconciliationException>('POST', `${superappPath(applicationId)}/exceptions/${segment(exceptionId)}/resolve`, {
      body: { note },
    }),
  openCount: () => apiRequest<{ open: number }>('GET', '/reconciliation/open-count'),
  /** A plain link: the browser downloads the CSV with the session cookie. */
  csvUrl: (filter: ExceptionFilter) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(filter)) if (value) params.set(name, String(value));
    return `${consoleApiBase}/reconciliation/exceptions.csv?${params.toString()}`;
  },
};

export const reconciliationQueryKeys = {
  all: ['reconciliation'] as const,
  days: (applicationId: string, range: object) => ['reconciliation', 'days', applicationId, range] as const,
  day: (applicationId: string, billDate: string) => ['reconciliation', 'day', applicationId, billDate] as const,
  exceptions: (filter: ExceptionFilter, offset: number) => ['reconciliation', 'exceptions', filter, offset] as const,
  openCount: ['reconciliation', 'open-count'] as const,
};
