import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Col, Form, Input, InputNumber, Row, Select, Table, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { recordQueryKeys, recordsApi, tradeStates, type OrderFilter, type OrderListItem, type RecordSort, type TradeState } from '../../api/records-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { fromLocalInputValue } from '../../components/date-time.ts';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { OrderDetailDrawer } from './order-detail-drawer.tsx';
import { createdSorter, CursorPager, ExportsPanel, SearchActions, sortOfTableChange, toMinorUnits, TotalText, TradeStateTag } from './record-parts.tsx';

interface FilterForm {
  createdFrom?: string;
  createdTo?: string;
  mnpIds?: string[];
  tradeStates?: TradeState[];
  outTradeNo?: string;
  transactionId?: string;
  amountMin?: number | null;
  amountMax?: number | null;
  currency?: string;
}

const pageSize = 20;
const trimmed = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

/**
 * Order record (SPEC §5): the orders the caller's roles reach, newest first (or oldest first from the
 * Created column), filtered on the server and read a cursor page at a time; details in a drawer; exports of everything the filter matches.
 */
export default function OrderRecordPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { currentTeam } = useConsole();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<FilterForm>();
  const [filter, setFilter] = useState<OrderFilter>({});
  const [sort, setSort] = useState<RecordSort>('newest');
  // The list and the export follow the sort; the total does not depend on it.
  const sorted: OrderFilter = { ...filter, sort };
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [openOrderId, setOpenOrderId] = useState<number | null>(null);
  const cursor = cursors[cursors.length - 1];

  const currencies = useQuery({ queryKey: queryKeys.currencies, queryFn: () => consoleApi.listCurrencies() });
  const teamMiniPrograms = useQuery({
    queryKey: queryKeys.miniPrograms(currentTeam?.id ?? ''),
    queryFn: () => consoleApi.listMiniPrograms(currentTeam!.id),
    enabled: currentTeam?.kind === 'miniprogram',
  });
  const orders = useQuery({
    queryKey: recordQueryKeys.orders(sorted, cursor),
    queryFn: () => recordsApi.listOrders(sorted, { cursor, limit: pageSize, withTotal: false }),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const total = useQuery({
    queryKey: ['records', 'orders-total', filter],
    queryFn: () => recordsApi.listOrders(filter, { limit: 1, withTotal: true }).then((page) => page.total),
    retry: false,
  });
  const startExport = useMutation({
    mutationFn: (format: 'csv' | 'xlsx') => recordsApi.exportOrders(format, sorted),
    onSuccess: async (job) => {
      if (job.status === 'done') message.success(t('records.exportDone', { rows: job.rowsWritten }));
      else message.info(t('records.exportStarted'));
      await queryClient.invalidateQueries({ queryKey: recordQueryKeys.exports });
    },
    onError: (error) => message.error(error.message),
  });

  const search = (values: FilterForm) => {
    const exponent = currencies.data?.items.find((currency) => currency.code === (values.currency ?? 'CNY'))?.exponent ?? 2;
    const amountMin = toMinorUnits(values.amountMin, exponent);
    const amountMax = toMinorUnits(values.amountMax, exponent);
    setFilter({
      createdFrom: fromLocalInputValue(values.createdFrom) ?? undefined,
      createdTo: fromLocalInputValue(values.createdTo) ?? undefined,
      mnpIds: values.mnpIds?.length ? values.mnpIds : undefined,
      tradeStates: values.tradeStates?.length ? values.tradeStates : undefined,
      outTradeNo: trimmed(values.outTradeNo),
      transactionId: trimmed(values.transactionId),
      amountMin,
      amountMax,
      currency: amountMin !== undefined || amountMax !== undefined ? (values.currency ?? 'CNY') : undefined,
    });
    setCursors([undefined]);
  };

  const columns: TableColumnsType<OrderListItem> = [
    { title: t('records.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at), width: 170, ...createdSorter<OrderListItem>(sort) },
    { title: t('records.miniProgram'), dataIndex: 'mnpId', ellipsis: true },
    { title: 'out_trade_no', dataIndex: 'outTradeNo' },
    { title: 'transaction_id', dataIndex: 'transactionId', render: (id: string | null) => id ?? t('common.none') },
    { title: t('records.tradeState'), dataIndex: 'tradeState', render: (state: TradeState) => <TradeStateTag state={state} /> },
    { title: t('records.amount'), key: 'amount', align: 'right', render: (_, order) => `${order.amount} ${order.currency}` },
    { title: t('records.refunded'), key: 'refunded', align: 'right', render: (_, order) => (/[1-9]/.test(order.refundTotal) ? order.refundTotal : '') },
    {
      title: t('common.actions'),
      key: 'details',
      render: (_, order) => (
        <Button type="link" onClick={() => setOpenOrderId(order.id)}>
          {t('records.details')}
        </Button>
      ),
    },
  ];

  const miniProgramOptions = (teamMiniPrograms.data?.items ?? []).map((miniProgram) => ({ value: miniProgram.mnpId, label: `${miniProgram.name} (${miniProgram.mnpId})` }));
  const error = orders.error ?? total.error;

  return (
    <>
      <PageHeader
        title={t('orders.title')}
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
      <Form<FilterForm> form={form} layout="vertical" onFinish={search} initialValues={{ currency: 'CNY' }} data-testid="order-filters">
        <Row gutter={16}>
          <Col xs={24} md={6}>
            <Form.Item name="createdFrom" label={t('records.createdFrom')}>
              <Input type="datetime-local" />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="createdTo" label={t('records.createdTo')}>
              <Input type="datetime-local" />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="mnpIds" label={t('records.miniPrograms')}>
              <Select mode="tags" options={miniProgramOptions} placeholder={t('records.miniProgramsPlaceholder')} tokenSeparators={[',', ' ']} />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="tradeStates" label={t('records.tradeState')}>
              <Select mode="multiple" allowClear placeholder={t('records.anyState')} options={tradeStates.map((state) => ({ value: state, label: state }))} />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="outTradeNo" label={t('records.outTradeNo')}>
              <Input allowClear />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item name="transactionId" label={t('records.transactionId')}>
              <Input allowClear />
            </Form.Item>
          </Col>
          <Col xs={12} md={4}>
            <Form.Item name="amountMin" label={t('records.amountMin')} tooltip={t('records.amountNeedsRange')}>
              <InputNumber min={0} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col xs={12} md={4}>
            <Form.Item name="amountMax" label={t('records.amountMax')}>
              <InputNumber min={0} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col xs={24} md={4}>
            <Form.Item name="currency" label={t('records.currency')}>
              <Select options={(currencies.data?.items ?? [{ code: 'CNY' }]).map((currency) => ({ value: currency.code, label: currency.code }))} />
            </Form.Item>
          </Col>
        </Row>
        <SearchActions
          onReset={() => {
            form.resetFields();
            search({ currency: 'CNY' });
          }}
        >
          <TotalText total={total.data} />
        </SearchActions>
      </Form>
      {error && <Alert type="error" showIcon title={error.message} style={{ marginBottom: 16 }} data-testid="records-error" />}
      <Table<OrderListItem>
        rowKey="id"
        columns={columns}
        dataSource={orders.data?.items ?? []}
        loading={orders.isFetching}
        pagination={false}
        locale={{ emptyText: t('records.noResults') }}
        onChange={(_pagination, _filters, sorter) => {
          setSort(sortOfTableChange(sorter));
          setCursors([undefined]);
        }}
        data-testid="orders-table"
        size="middle"
      />
      <CursorPager
        page={cursors.length}
        hasNext={!!orders.data?.nextCursor}
        loading={orders.isFetching}
        onPrevious={() => setCursors((stack) => stack.slice(0, -1))}
        onNext={() => setCursors((stack) => [...stack, orders.data!.nextCursor!])}
      />
      <ExportsPanel kind="orders" />
      <OrderDetailDrawer orderId={openOrderId} onClose={() => setOpenOrderId(null)} />
    </>
  );
}
