import { Col, Form, Input, Row, Select, Typography } from 'antd';
import { refundStatuses, type CappedTotal, type RefundFilter, type RefundPage, type RefundStatus } from '../../api/records-api.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { dateInputToMs, pastSevenDays, SearchActions, TotalText } from '../order-record/record-parts.tsx';

interface FilterValues {
  from?: string;
  to?: string;
  orderNo?: string;
  refundNo?: string;
  statuses?: RefundStatus[];
}

const trimmed = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

export function refundFilterOf(values: FilterValues): RefundFilter {
  return {
    createdFrom: dateInputToMs(values.from),
    createdTo: dateInputToMs(values.to, true),
    orderNo: trimmed(values.orderNo),
    refundNo: trimmed(values.refundNo),
    statuses: values.statuses?.length ? values.statuses : undefined,
  };
}

interface RefundFilterFormProps {
  /** The created-time range the server searched. */
  range: RefundPage['range'] | undefined;
  total: CappedTotal | undefined;
  onSearch(filter: RefundFilter): void;
}

/** The After-sales record's filter: the past 7 days until changed; Reset goes back to them. */
export function RefundFilterForm({ range, total, onSearch }: RefundFilterFormProps) {
  const { t, formatTime } = useI18n();
  const [form] = Form.useForm<FilterValues>();

  const search = (values: FilterValues) => {
    // An order or refund number searches the last 12 months, unless the dates were changed by hand.
    const byNumber = !!(trimmed(values.orderNo) ?? trimmed(values.refundNo));
    const datesUntouched = !form.isFieldsTouched(['from', 'to']);
    onSearch(refundFilterOf(byNumber && datesUntouched ? { ...values, from: undefined, to: undefined } : values));
  };

  return (
    <Form<FilterValues> form={form} layout="vertical" onFinish={search} initialValues={pastSevenDays()} data-testid="refund-filters">
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
            <Select
              mode="multiple"
              allowClear
              placeholder={t('refunds.anyStatus')}
              options={refundStatuses.map((status) => ({ value: status, label: status }))}
            />
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
        <TotalText total={total} />
      </SearchActions>
    </Form>
  );
}
