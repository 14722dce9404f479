import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Flex, Form, Input, Row, Segmented, Select, Statistic, Table, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { recordQueryKeys, recordsApi, type PaymentFigures } from '../../api/records-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { dateInputToMs, dateInputValue } from '../order-record/record-parts.tsx';
import { LineChart, StackedBarChart } from './charts.tsx';

interface FilterForm {
  from?: string;
  to?: string;
  mnpIds?: string[];
  dataType?: 'all' | '1' | '0';
  platform?: 0 | 2 | 3;
  currency?: string;
}

interface Query {
  timeBegin?: number;
  timeEnd?: number;
  mnpIds?: string[];
  dataType?: 0 | 1;
  platform?: 0 | 2 | 3;
  currency?: string;
}

function lastThirtyDays(): Pick<FilterForm, 'from' | 'to'> {
  const today = new Date();
  return { from: dateInputValue(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29)), to: dateInputValue(today) };
}

function queryOf(values: FilterForm): Query {
  return {
    timeBegin: dateInputToMs(values.from),
    timeEnd: dateInputToMs(values.to, true),
    mnpIds: values.mnpIds?.length ? values.mnpIds : undefined,
    dataType: values.dataType === '1' ? 1 : values.dataType === '0' ? 0 : undefined,
    platform: values.platform || undefined,
    currency: values.currency,
  };
}

const dayLabel = (dataTime: string) => `${dataTime.slice(4, 6)}-${dataTime.slice(6, 8)}`;

/**
 * Payment data (SPEC §5, §7): orders, paid, unpaid, refunds, amounts and paying users by order creation
 * day, as charts and a table, for the mini programs the caller's roles reach.
 */
export default function PaymentDataPage() {
  const { t } = useI18n();
  const { currentTeam } = useConsole();
  const [form] = Form.useForm<FilterForm>();
  const [query, setQuery] = useState<Query>(() => queryOf(lastThirtyDays()));
  const data = useQuery({ queryKey: recordQueryKeys.paymentData(query), queryFn: () => recordsApi.getPaymentData(query), placeholderData: keepPreviousData, retry: false });
  const currencies = useQuery({ queryKey: queryKeys.currencies, queryFn: () => consoleApi.listCurrencies() });
  const teamMiniPrograms = useQuery({
    queryKey: queryKeys.miniPrograms(currentTeam?.id ?? ''),
    queryFn: () => consoleApi.listMiniPrograms(currentTeam!.id),
    enabled: currentTeam?.kind === 'miniprogram',
  });

  const overview = data.data?.overview;
  const days = data.data?.days ?? [];
  const currency = overview?.Currency ?? query.currency ?? 'CNY';
  const labels = days.map((day) => dayLabel(day.DataTime));
  const columns: TableColumnsType<PaymentFigures> = [
    { title: t('paymentData.day'), dataIndex: 'DataTime', render: (value: string) => `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}` },
    { title: t('paymentData.orders'), dataIndex: 'OrderNum', align: 'right' },
    { title: t('paymentData.paid'), dataIndex: 'OrderPaidNum', align: 'right' },
    { title: t('paymentData.unpaid'), dataIndex: 'OrderUnpaidNum', align: 'right' },
    { title: t('paymentData.refunded'), dataIndex: 'OrderRefundNum', align: 'right' },
    { title: t('paymentData.totalAmount'), dataIndex: 'TotalAmount', align: 'right' },
    { title: t('paymentData.paidAmount'), dataIndex: 'PaidAmount', align: 'right' },
    { title: t('paymentData.refundAmount'), dataIndex: 'RefundAmount', align: 'right' },
    { title: t('paymentData.users'), dataIndex: 'OrderUserNum', align: 'right' },
    { title: t('paymentData.paidUsers'), dataIndex: 'PaidUserNum', align: 'right' },
  ];
  const statistics: [string, string | number][] = overview
    ? [
        [t('paymentData.orders'), overview.OrderNum],
        [t('paymentData.paid'), overview.OrderPaidNum],
        [t('paymentData.unpaid'), overview.OrderUnpaidNum],
        [t('paymentData.refunded'), overview.OrderRefundNum],
        [`${t('paymentData.totalAmount')} (${currency})`, overview.TotalAmount],
        [`${t('paymentData.paidAmount')} (${currency})`, overview.PaidAmount],
        [`${t('paymentData.refundAmount')} (${currency})`, overview.RefundAmount],
        [t('paymentData.users'), overview.OrderUserNum],
        [t('paymentData.paidUsers'), overview.PaidUserNum],
        [t('paymentData.miniPrograms'), overview.OrderMNPNum],
      ]
    : [];

  return (
    <>
      <PageHeader title={t('paymentData.title')} />
      <Form<FilterForm>
        form={form}
        layout="vertical"
        initialValues={{ ...lastThirtyDays(), dataType: 'all', platform: 0 }}
        onFinish={(values) => setQuery(queryOf(values))}
        data-testid="payment-data-filters"
      >
        <Row gutter={16}>
          <Col xs={12} md={4}>
            <Form.Item name="from" label={t('paymentData.from')}>
              <Input type="date" />
            </Form.Item>
          </Col>
          <Col xs={12} md={4}>
            <Form.Item name="to" label={t('paymentData.to')}>
              <Input type="date" />
            </Form.Item>
          </Col>
          <Col xs={24} md={5}>
            <Form.Item name="mnpIds" label={t('records.miniPrograms')}>
              <Select
                mode="tags"
                tokenSeparators={[',', ' ']}
                placeholder={t('records.miniProgramsPlaceholder')}
                options={(teamMiniPrograms.data?.items ?? []).map((miniProgram) => ({ value: miniProgram.mnpId, label: `${miniProgram.name} (${miniProgram.mnpId})` }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={5}>
            <Form.Item name="dataType" label={t('paymentData.dataType')}>
              <Segmented
                options={[
                  { value: 'all', label: t('paymentData.dataTypeAll') },
                  { value: '1', label: t('paymentData.dataTypeProduction') },
                  { value: '0', label: t('paymentData.dataTypeSandbox') },
                ]}
              />
            </Form.Item>
          </Col>
          <Col xs={12} md={3}>
            <Form.Item name="platform" label={t('paymentData.platform')}>
              <Select
                options={[
                  { value: 0, label: t('paymentData.platformAll') },
                  { value: 2, label: 'Android' },
                  { value: 3, label: 'iOS' },
                ]}
              />
            </Form.Item>
          </Col>
          <Col xs={12} md={3}>
            <Form.Item name="currency" label={t('records.currency')}>
              <Select allowClear options={(currencies.data?.items ?? []).map((item) => ({ value: item.code, label: item.code }))} />
            </Form.Item>
          </Col>
        </Row>
        <Flex gap={8} align="center" style={{ marginBottom: 16 }}>
          <Button type="primary" htmlType="submit">
            {t('records.search')}
          </Button>
          <Typography.Text type="secondary">{t('paymentData.countedBy')}</Typography.Text>
        </Flex>
      </Form>
      {data.error && <Alert type="error" showIcon title={data.error.message} style={{ marginBottom: 16 }} data-testid="records-error" />}
      <Row gutter={[16, 16]} data-testid="payment-overview">
        {statistics.map(([title, value]) => (
          <Col key={title} xs={12} md={6} xl={4}>
            <Card size="small">
              <Statistic title={title} value={value} />
            </Card>
          </Col>
        ))}
      </Row>
      <Row gutter={16} style={{ marginTop: 16 }}>
        <Col xs={24} xl={12}>
          <Card size="small" title={t('paymentData.ordersChart')}>
            <StackedBarChart
              testId="orders-chart"
              labels={labels}
              series={[
                { name: t('paymentData.paid'), color: '#52c41a', values: days.map((day) => day.OrderPaidNum) },
                { name: t('paymentData.unpaid'), color: '#d9d9d9', values: days.map((day) => day.OrderUnpaidNum) },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card size="small" title={t('paymentData.amountChart', { currency })}>
            <LineChart
              testId="amounts-chart"
              labels={labels}
              format={(value) => value.toLocaleString()}
              series={[
                { name: t('paymentData.paidAmount'), color: '#1677ff', values: days.map((day) => Number(day.PaidAmount)) },
                { name: t('paymentData.refundAmount'), color: '#fa8c16', values: days.map((day) => Number(day.RefundAmount)) },
              ]}
            />
          </Card>
        </Col>
      </Row>
      <Card size="small" title={t('paymentData.byDay')} style={{ marginTop: 16 }}>
        <Table<PaymentFigures> rowKey="DataTime" size="small" columns={columns} dataSource={[...days].reverse()} loading={data.isFetching} pagination={{ pageSize: 31 }} data-testid="payment-days" />
      </Card>
    </>
  );
}
