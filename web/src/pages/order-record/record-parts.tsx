import { useMutation, useQuery, useQueryClient, type UseMutationResult } from '@tanstack/react-query';
import {
  App as AntApp,
  Button,
  Card,
  Flex,
  Progress,
  Table,
  Tag,
  Typography,
  type TableColumnType,
  type TableColumnsType,
  type TableProps,
} from 'antd';
import { useState, type ReactNode } from 'react';
import {
  recordQueryKeys,
  recordsApi,
  type CappedTotal,
  type ExportJob,
  type RecordSort,
  type RefundStatus,
  type TradeState,
} from '../../api/records-api.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';

// Pieces the Order record and After-sales record pages share.

const tradeStateColors: Record<TradeState, string> = {
  WAIT_PAY: 'processing',
  SUCCESS: 'success',
  REFUND: 'purple',
  CLOSED: 'default',
  AUTO_CLOSED: 'default',
  PAY_ERROR: 'error',
};

const refundStatusColors: Record<RefundStatus, string> = {
  PROCESSING: 'processing',
  SUCCESS: 'success',
  CLOSED: 'default',
  ABNORMAL: 'error',
};

export function TradeStateTag({ state }: { state: TradeState }) {
  return <Tag color={tradeStateColors[state]}>{state}</Tag>;
}

export function RefundStatusTag({ status }: { status: RefundStatus }) {
  return <Tag color={refundStatusColors[status]}>{status}</Tag>;
}

/** "N matching", or "more than 10,000" where counting stopped. */
export function TotalText({ total }: { total: CappedTotal | undefined }) {
  const { t } = useI18n();
  if (!total) return null;
  const count = total.value.toLocaleString();
  return (
    <Typography.Text type="secondary" data-testid="records-total">
      {total.exact ? t('records.total', { count }) : t('records.totalMoreThan', { count })}
    </Typography.Text>
  );
}

export interface CursorPages {
  /** Where the shown page starts; undefined on the first page. */
  cursor: string | undefined;
  /** 1 on the first page. */
  page: number;
  next(cursor: string): void;
  previous(): void;
  /** Back to the first page, as after a new search or sort. */
  restart(): void;
}

/** The cursors of the pages read so far: going back is forgetting the last one. */
export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    next: (cursor) => setCursors((stack) => [...stack, cursor]),
    previous: () => setCursors((stack) => stack.slice(0, -1)),
    restart: () => setCursors([undefined]),
  };
}

/** Previous / next over cursor pages (the server has no page numbers: it continues after a row). */
export function CursorPager(props: { page: number; hasNext: boolean; loading: boolean; onPrevious(): void; onNext(): void }) {
  const { t } = useI18n();
  return (
    <Flex justify="flex-end" align="center" gap={12} style={{ marginTop: 12 }}>
      <Typography.Text type="secondary">{t('records.page', { page: props.page })}</Typography.Text>
      <Button onClick={props.onPrevious} disabled={props.page <= 1 || props.loading}>
        {t('records.previous')}
      </Button>
      <Button onClick={props.onNext} disabled={!props.hasNext || props.loading}>
        {t('records.next')}
      </Button>
    </Flex>
  );
}

export type ExportFormat = 'csv' | 'xlsx';
export type StartExport = UseMutationResult<ExportJob, Error, ExportFormat>;

/** Starts an export of what the filter matches; a small one is done at once, a large one goes to the panel. */
export function useStartExport(exportRecords: (format: ExportFormat) => Promise<ExportJob>): StartExport {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: exportRecords,
    onSuccess: async (job) => {
      if (job.status === 'done') message.success(t('records.exportDone', { rows: job.rowsWritten }));
      else message.info(t('records.exportStarted'));
      await queryClient.invalidateQueries({ queryKey: recordQueryKeys.exports });
    },
    onError: (error) => message.error(error.message),
  });
}

/** Export CSV and Export XLSX, each spinning while its own export starts. */
export function ExportButtons({ startExport }: { startExport: StartExport }) {
  const { t } = useI18n();
  return (
    <>
      <Button onClick={() => startExport.mutate('csv')} loading={startExport.isPending && startExport.variables === 'csv'}>
        {t('records.exportCsv')}
      </Button>
      <Button onClick={() => startExport.mutate('xlsx')} loading={startExport.isPending && startExport.variables === 'xlsx'}>
        {t('records.exportXlsx')}
      </Button>
    </>
  );
}

const inProgress = (job: ExportJob) => job.status === 'queued' || job.status === 'running';

/** The caller's exports of one kind: progress while they run, the download once done. */
export function ExportsPanel({ kind }: { kind: ExportJob['kind'] }) {
  const { t, formatTime } = useI18n();
  const exports = useQuery({
    queryKey: recordQueryKeys.exports,
    queryFn: () => recordsApi.listExports(),
    refetchInterval: (query) => (query.state.data?.items.some(inProgress) ? 1000 : false),
  });
  const items = (exports.data?.items ?? []).filter((job) => job.kind === kind);
  if (items.length === 0) return null;
  const columns: TableColumnsType<ExportJob> = [
    { title: t('records.exportFile'), dataIndex: 'fileName' },
    {
      title: t('records.exportStatus'),
      key: 'status',
      render: (_, job) =>
        inProgress(job) ? (
          <Progress percent={job.progress} size="small" style={{ width: 160 }} data-testid="export-progress" />
        ) : (
          <Tag color={job.status === 'done' ? 'success' : job.status === 'failed' ? 'error' : 'default'}>
            {t(`exportStatus.${job.status}`)}
          </Tag>
        ),
    },
    {
      title: t('records.exportRows'),
      key: 'rows',
      render: (_, job) => (job.totalRows === null ? job.rowsWritten : `${job.rowsWritten} / ${job.totalRows}`),
    },
    { title: t('records.exportExpires'), dataIndex: 'expiresAt', render: (at: number) => formatTime(at) },
    {
      title: t('common.actions'),
      key: 'download',
      render: (_, job) =>
        job.status === 'done' ? (
          <Button type="link" href={recordsApi.exportFileUrl(job.id)} download={job.fileName} data-testid="export-download">
            {t('records.download')}
          </Button>
        ) : (
          job.error && <Typography.Text type="danger">{job.error}</Typography.Text>
        ),
    },
  ];
  return (
    <Card title={t('records.exports')} size="small" style={{ marginTop: 16 }} data-testid="exports-panel">
      <Typography.Paragraph type="secondary">{t('records.exportsHelp')}</Typography.Paragraph>
      <Table<ExportJob> rowKey="id" size="small" columns={columns} dataSource={items.slice(0, 5)} pagination={false} />
    </Card>
  );
}

/** Major units typed by a person → minor units, in the currency's exponent. */
export function toMinorUnits(major: number | null | undefined, exponent: number): number | undefined {
  if (major === null || major === undefined || Number.isNaN(major)) return undefined;
  return Math.round(major * 10 ** exponent);
}

/** Epoch ms of a `<input type="date">` value at local midnight (`end`: the last millisecond of that day). */
export function dateInputToMs(value: string | undefined, end = false): number | undefined {
  if (!value) return undefined;
  const [year, month, day] = value.split('-').map(Number) as [number, number, number];
  const start = new Date(year, month - 1, day).getTime();
  return end ? new Date(year, month - 1, day + 1).getTime() - 1 : start;
}

/** `YYYY-MM-DD` of a local date, for `<input type="date">`. */
export function dateInputValue(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The past 7 days as date inputs: six days ago through today. */
export function pastSevenDays(): { from: string; to: string } {
  const today = new Date();
  const from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  return { from: dateInputValue(from), to: dateInputValue(today) };
}

/** The Created column's sorter: the server sorts, newest first unless turned; it never goes unsorted. */
export function createdSorter<Row>(sort: RecordSort | undefined): Pick<TableColumnType<Row>, 'sorter' | 'sortOrder' | 'sortDirections'> {
  return { sorter: true, sortOrder: sort === 'oldest' ? 'ascend' : 'descend', sortDirections: ['descend', 'ascend', 'descend'] };
}

/** The order a table's sort change asks for (only the Created column sorts). */
export function sortOfTableChange<Row>(sorter: Parameters<NonNullable<TableProps<Row>['onChange']>>[2]): RecordSort {
  return !Array.isArray(sorter) && sorter.order === 'ascend' ? 'oldest' : 'newest';
}

/** A record filter's Search (the form's submit) and Reset buttons, then what the search covers (its range, its total). */
export function SearchActions({ onReset, children }: { onReset(): void; children?: ReactNode }) {
  const { t } = useI18n();
  return (
    <Flex gap={8} align="center" style={{ marginBottom: 16 }} wrap>
      <Button type="primary" htmlType="submit">
        {t('records.search')}
      </Button>
      <Button onClick={onReset}>{t('records.reset')}</Button>
      {children}
    </Flex>
  );
}
