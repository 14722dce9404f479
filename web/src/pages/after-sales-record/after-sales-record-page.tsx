import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Col, Descriptions, Drawer, Form, Input, Row, Select, Skeleton, Table, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { recordQueryKeys, recordsApi, refundStatuses, type RecordSort, type RefundFilter, type RefundListItem, type RefundStatus } from '../../api/records-api.ts';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { HistoryTable, NotificationsTable, OrderFieldsList } from '../order-record/order-detail-drawer.tsx';
import { createdSorter, CursorPager, dateInputToMs, dateInputValue, ExportsPanel, RefundStatusTag, SearchActions, sortOfTableChange, TotalText } from '../order-record/record-parts.tsx';

interface FilterForm {
  from?: string;
  to?: string;
  orderNo?: string;
  refundNo?: string;
  statuses?: RefundStatus[];
}

const pageSize = 20;
const trimmed = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

/** The past 7 days as date inputs: six days ago through today. */
function pastSevenDays(): Pick<FilterForm, 'from' | 'to'> {
  const today = new Date();
  const from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  return { from: dateInputValue(from), to: dateInputValue(today) };
}

function filterOf(values: FilterForm): RefundFilter {
  return {
    createdFrom: dateInputToMs(values.from),
    createdTo: dateInputToMs(values.to, true),
    orderNo: trimmed(values.orderNo),
    refundNo: trimmed(values.refundNo),
    statuses: values.statuses?.length ? values.statuses : undefined,
  };
}

function RefundDetailDrawer({ refundId, onClose }: { refundId: number | null; onClose(): void }) {
  const { t, formatTime } = useI18n();
  const detail = useQuery({ queryKey: recordQueryKeys.refund(refundId ?? 0), queryFn: () => recordsApi.getRefund(refundId!), enabled: refundId !== null });
  const data = detail.data;
  const none = t('common.none');
  return (
    <Drawer open={refundId !== null} onClose={onClose} size={960} title={data ? t('refunds.detailTitle', { outRefundNo: data.refund.outRefundNo }) : t('records.details')} destroyOnHidden>
      <LoadError error={detail.error} />
      {detail.isPending && refundId !== null && <Skeleton active />}
      {data && (
        <>
          <Descriptions size="small" bordered column={2} data-testid="refund-fields">
            <Descriptions.Item label="out_refund_no">{data.refund.outRefundNo}</Descriptions.Item>
            <Descriptions.Item label="refund_id">{data.refund.refundId}</Descriptions.Item>
            <Descriptions.Item label="status">
              <RefundStatusTag status={data.refund.status} />
            </Descriptions.Item>
            <Descriptions.Item label="kind">{data.refund.kind}</Descriptions.Item>
            <Descriptions.Item label={t('refunds.refundAmount')}>{`${data.refund.refund} ${data.refund.currency}`}</Descriptions.Item>
            <Descriptions.Item label={t('refunds.orderAmount')}>{`${data.refund.total} ${data.refund.currency}`}</Descriptions.Item>
            <Descriptions.Item label="out_trade_no">{data.refund.outTradeNo}</Descriptions.Item>
            <Descriptions.Item label="transaction_id">{data.refund.transactionId}</Descriptions.Item>
            <Descriptions.Item label="mchid">{data.refund.mchid}</Descriptions.Item>
            <Descriptions.Item label="appid (MNPId)">{data.refund.mnpId}</Descriptions.Item>
            <Descriptions.Item label={t('orders.reason')}>{data.refund.reason ?? none}</Descriptions.Item>
            <Descriptions.Item label="user_received_account">{data.refund.userReceivedAccount ?? none}</Descriptions.Item>
            <Descriptions.Item label="channel refund id">{data.refund.channelRefundId ?? none}</Descriptions.Item>
            <Descriptions.Item label="notify_url">{data.refund.notifyUrl ?? none}</Descriptions.Item>
            <Descriptions.Item label={t('records.createdAt')}>{formatTime(data.refund.createdAt)}</Descriptions.Item>
            <Descriptions.Item label="success_time">{data.refund.successTime === null ? none : formatTime(data.refund.successTime)}</Descriptions.Item>
          </Descriptions>
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('orders.history')}
          </Typography.Title>
          <HistoryTable history={data.history} />
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('orders.notifications')}
          </Typography.Title>
          <NotificationsTable notifications={data.notifications} />
          {data.order && (
            <>
              <Typography.Title level={5} style={{ marginTop: 24 }}>
                {t('refunds.order')}
              </Typography.Title>
              <OrderFieldsList order={data.order} />
            </>
          )}
        </>
      )}
    </Drawer>
  );
}

/**
 * After-sales record (SPEC §5, §7): refunds by initiation date, opening on the past 7 days; searchable by
 * order number or refund number; never further back than 12 months (the server's message says so).
 */
export default function AfterSalesRecordPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<FilterForm>();
  const [filter, setFilter] = useState<RefundFilter>(() => filterOf(pastSevenDays()));
  const [sort, setSort] = useState<RecordSort>('newest');
  // The list and the export follow the sort (the Created column's).
  const sorted: RefundFilter = { ...filter, sort };
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [openRefundId, setOpenRefundId] = useState<number | null>(null);
  const cursor = cursors[cursors.length - 1];

  const refunds = useQuery({
    queryKey: recordQueryKeys.refunds(sorted, cursor),
    queryFn: () => recordsApi.listRefunds(sorted, { cursor, limit: pageSize, withTotal: cursor === undefined }),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const startExport = useMutation({
    mutationFn: (format: 'csv' | 'xlsx') => recordsApi.exportRefunds(format, sorted),
    onSuccess: async (job) => {
      if (job.status === 'done') message.success(t('records.exportDone', { rows: job.rowsWritten }));
      else message.info(t('records.exportStarted'));
      await queryClient.invalidateQueries({ queryKey: recordQueryKeys.exports });
    },
    onError: (error) => message.error(error.message),
  });

  const search = (values: FilterForm) => {
    // An order or refund number searches the last 12 months, unless the dates were changed by hand.
    const byNumber = !!(trimmed(values.orderNo) ?? trimmed(values.refundNo));
    const datesUntouched = !form.isFieldsTouched(['from', 'to']);
    setFilter(filterOf(byNumber && datesUntouched ? { ...values, from: undefined, to: undefined } : values));
    setCursors([undefined]);
  };

  const columns: TableColumnsType<RefundListItem> = [
    { title: t('refunds.range'), dataIndex: 'createdAt', render: (at: number) => formatTime(at), width: 170, ...createdSorter<RefundListItem>(sort) },
    { title: t('records.miniProgram'), dataIndex: 'mnpId', ellipsis: true },
    { title: 'out_refund_no', dataIndex: 'outRefundNo' },
    { title: 'refund_id', dataIndex: 'refundId', ellipsis: true },
    { title: 'out_trade_no', dataIndex: 'outTradeNo' },
    { title: t('refunds.status'), dataIndex: 'status', render: (status: RefundStatus) => <RefundStatusTag status={status} /> },
    { title: t('refunds.refundAmount'), key: 'refund', align: 'right', render: (_, refund) => `${refund.refund} ${refund.currency}` },
    {
      title: t('common.actions'),
      key: 'details',
      render: (_, refund) => (
        <Button type="link" onClick={() => setOpenRefundId(refund.id)}>
          {t('records.details')}
        </Button>
      ),
    },
  ];
  const range = refunds.data?.range;
  const firstPage = cursor === undefined ? refunds.data : undefined;

  return (
    <>
      <PageHeader
        title={t('refunds.title')}
        extra={
          <>
            <Button onClick={() => startExport.mutate('csv')} loading={startExport.isPending && startExport.variables === 'csv'}>
              {t('records.exportCsv')}
            </Button>
            <Button onClick={() => startExport.mutate('xlsx')} loading={startExport.isPending && startExport.variables === 'xlsx'}>
              {t('records.exportXlsx')}
            </Button>
          </>
        }
      />
      <Form<FilterForm> form={form} layout="vertical" onFinish={search} initialValues={pastSevenDays()} data-testid="refund-filters">
        <Row gutter={16}>
          <Col xs={12} md={4}>
            <Form.Item name="from" label={t('refunds.rangeFrom')}>
              <Input type="date" />
            </Form.Item>
          </Col>
          <Col xs={12} md={4}>
            <Form.Item name="to" label={t('refunds.rangeTo')}>
              <Input type="date" />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="orderNo" label={t('refunds.orderNo')}>
              <Input allowClear />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="refundNo" label={t('refunds.refundNo')}>
              <Input allowClear />
            </Form.Item>
          </Col>
          <Col xs={24} md={4}>
            <Form.Item name="statuses" label={t('refunds.status')}>
              <Select mode="multiple" allowClear placeholder={t('refunds.anyStatus')} options={refundStatuses.map((status) => ({ value: status, label: status }))} />
            </Form.Item>
          </Col>
        </Row>
        <Typography.Paragraph type="secondary">{t('refunds.rangeHelp')}</Typography.Paragraph>
        <SearchActions
          onReset={() => {
            form.resetFields();
            search(pastSevenDays());
          }}
        >
          {range && (
            <Typography.Text type="secondary" data-testid="refunds-range">
              {t('refunds.searching', { from: formatTime(range.createdFrom), to: formatTime(range.createdTo) })}
            </Typography.Text>
          )}
          <TotalText total={firstPage?.total} />
        </SearchActions>
      </Form>
      {refunds.error && <Alert type="error" showIcon title={refunds.error.message} style={{ marginBottom: 16 }} data-testid="records-error" />}
      <Table<RefundListItem>
        rowKey="id"
        columns={columns}
        dataSource={refunds.error ? [] : (refunds.data?.items ?? [])}
        loading={refunds.isFetching}
        pagination={false}
        locale={{ emptyText: t('records.noResults') }}
        onChange={(_pagination, _filters, sorter) => {
          setSort(sortOfTableChange(sorter));
          setCursors([undefined]);
        }}
        data-testid="refunds-table"
        size="middle"
      />
      <CursorPager
        page={cursors.length}
        hasNext={!!refunds.data?.nextCursor}
        loading={refunds.isFetching}
        onPrevious={() => setCursors((stack) => stack.slice(0, -1))}
        onNext={() => setCursors((stack) => [...stack, refunds.data!.nextCursor!])}
      />
      <ExportsPanel kind="refunds" />
      <RefundDetailDrawer refundId={openRefundId} onClose={() => setOpenRefundId(null)} />
    </>
  );
}
