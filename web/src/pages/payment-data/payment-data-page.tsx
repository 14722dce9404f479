import { Alert, Card, Col, Row, Statistic, Table } from 'antd';
import type { PaymentFigures } from '../../api/records-api.ts';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { LineChart, StackedBarChart } from './charts.tsx';
import { PaymentDataFilterForm } from './payment-data-filter-form.tsx';
import { usePaymentDayColumns } from './payment-day-columns.tsx';
import { usePaymentData } from './use-payment-data.ts';

const dayLabel = (dataTime: string) => `${dataTime.slice(4, 6)}-${dataTime.slice(6, 8)}`;

/**
 * Payment data (SPEC §5, §7): orders, paid, unpaid, refunds, amounts and paying users by order creation
 * day, as charts and a table, for the mini programs the caller's roles reach.
 */
export default function PaymentDataPage() {
  const { t } = useI18n();
  const { query, search, data, currencies, teamMiniPrograms } = usePaymentData();
  const columns = usePaymentDayColumns();

  const overview = data.data?.overview;
  const days = data.data?.days ?? [];
  const currency = overview?.Currency ?? query.currency ?? 'CNY';
  const labels = days.map((day) => dayLabel(day.DataTime));
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
      <PaymentDataFilterForm
        currencies={currencies.data?.items ?? []}
        miniPrograms={teamMiniPrograms.data?.items ?? []}
        onSearch={search}
      />
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
        <Table<PaymentFigures>
          rowKey="DataTime"
          size="small"
          columns={columns}
          dataSource={[...days].reverse()}
          loading={data.isFetching}
          pagination={{ pageSize: 31 }}
          data-testid="payment-days"
        />
      </Card>
    </>
  );
}
