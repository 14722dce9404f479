import { Button, Col, Flex, Form, Input, Row, Segmented, Select, Typography } from 'antd';
import type { Currency, MiniProgram } from '../../api/types.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { dateInputToMs, dateInputValue } from '../order-record/record-parts.tsx';

interface FilterValues {
  from?: string;
  to?: string;
  mnpIds?: string[];
  dataType?: 'all' | '1' | '0';
  platform?: 0 | 2 | 3;
  currency?: string;
}

/** The figures' query string: creation days, mini programs, production or sandbox, client platform, currency. */
export interface PaymentDataQuery {
  timeBegin?: number;
  timeEnd?: number;
  mnpIds?: string[];
  dataType?: 0 | 1;
  platform?: 0 | 2 | 3;
  currency?: string;
}

export function lastThirtyDays(): Pick<FilterValues, 'from' | 'to'> {
  const today = new Date();
  return { from: dateInputValue(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29)), to: dateInputValue(today) };
}

export function paymentDataQueryOf(values: FilterValues): PaymentDataQuery {
  return {
    timeBegin: dateInputToMs(values.from),
    timeEnd: dateInputToMs(values.to, true),
    mnpIds: values.mnpIds?.length ? values.mnpIds : undefined,
    dataType: values.dataType === '1' ? 1 : values.dataType === '0' ? 0 : undefined,
    platform: values.platform || undefined,
    currency: values.currency,
  };
}

interface PaymentDataFilterFormProps {
  currencies: Currency[];
  miniPrograms: MiniProgram[];
  onSearch(query: PaymentDataQuery): void;
}

/** The Payment data filter: the last 30 days of every mini program, production and sandbox, all platforms. */
export function PaymentDataFilterForm({ currencies, miniPrograms, onSearch }: PaymentDataFilterFormProps) {
  const { t } = useI18n();
  const [form] = Form.useForm<FilterValues>();
  return (
    <Form<FilterValues>
      form={form}
      layout="vertical"
      initialValues={{ ...lastThirtyDays(), dataType: 'all', platform: 0 }}
      onFinish={(values) => onSearch(paymentDataQueryOf(values))}
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
              options={miniPrograms.map((miniProgram) => ({
                value: miniProgram.mnpId,
                label: `${miniProgram.name} (${miniProgram.mnpId})`,
              }))}
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
            <Select allowClear options={currencies.map((item) => ({ value: item.code, label: item.code }))} />
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
  );
}
