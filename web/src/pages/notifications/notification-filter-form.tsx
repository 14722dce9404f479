import { Col, Form, Input, Row, Select, Typography } from 'antd';
import {
  notificationEventTypes,
  notificationStatuses,
  type NotificationFilter,
  type NotificationLogPage,
  type NotificationStatus,
} from '../../api/notifications-api.ts';
import type { MiniProgram } from '../../api/types.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { dateInputToMs, pastSevenDays, SearchActions } from '../order-record/record-parts.tsx';

interface FilterValues {
  from?: string;
  to?: string;
  mnpIds?: string[];
  statuses?: NotificationStatus[];
  eventTypes?: string[];
  outTradeNo?: string;
  outRefundNo?: string;
}

const trimmed = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

export function notificationFilterOf(values: FilterValues): NotificationFilter {
  return {
    createdFrom: dateInputToMs(values.from),
    createdTo: dateInputToMs(values.to, true),
    mnpIds: values.mnpIds?.length ? values.mnpIds : undefined,
    statuses: values.statuses?.length ? values.statuses : undefined,
    eventTypes: values.eventTypes?.length ? values.eventTypes : undefined,
    outTradeNo: trimmed(values.outTradeNo),
    outRefundNo: trimmed(values.outRefundNo),
  };
}

interface NotificationFilterFormProps {
  miniPrograms: MiniProgram[];
  /** The created-time range the server searched. */
  range: NotificationLogPage['range'] | undefined;
  onSearch(filter: NotificationFilter): void;
}

/** The Notifications filter: the past 7 days until changed; Reset goes back to them. */
export function NotificationFilterForm({ miniPrograms, range, onSearch }: NotificationFilterFormProps) {
  const { t, formatTime } = useI18n();
  const [form] = Form.useForm<FilterValues>();
  const miniProgramOptions = miniPrograms.map((miniProgram) => ({
    value: miniProgram.mnpId,
    label: `${miniProgram.name} (${miniProgram.mnpId})`,
  }));

  const search = (values: FilterValues) => {
    // An order or refund number searches the past 31 days, unless the dates were changed by hand.
    const byNumber = !!(trimmed(values.outTradeNo) ?? trimmed(values.outRefundNo));
    const datesUntouched = !form.isFieldsTouched(['from', 'to']);
    onSearch(notificationFilterOf(byNumber && datesUntouched ? { ...values, from: undefined, to: undefined } : values));
  };

  return (
    <Form<FilterValues> form={form} layout="vertical" onFinish={search} initialValues={pastSevenDays()} data-testid="notification-filters">
      <Row gutter={16}>
        <Col xs={12} md={4}>
          <Form.Item name="from" label={t('notifications.createdFrom')}>
            <Input type="date" />
          </Form.Item>
        </Col>
        <Col xs={12} md={4}>
          <Form.Item name="to" label={t('notifications.createdTo')}>
            <Input type="date" />
          </Form.Item>
        </Col>
        <Col xs={24} md={8}>
          <Form.Item name="mnpIds" label={t('records.miniPrograms')}>
            <Select
              mode="tags"
              options={miniProgramOptions}
              placeholder={t('records.miniProgramsPlaceholder')}
              tokenSeparators={[',', ' ']}
            />
          </Form.Item>
        </Col>
        <Col xs={12} md={4}>
          <Form.Item name="statuses" label={t('notifications.status')}>
            <Select
              mode="multiple"
              allowClear
              placeholder={t('notifications.anyStatus')}
              options={notificationStatuses.map((status) => ({ value: status, label: status }))}
            />
          </Form.Item>
        </Col>
        <Col xs={12} md={4}>
          <Form.Item name="eventTypes" label={t('notifications.eventType')}>
            <Select
              mode="multiple"
              allowClear
              placeholder={t('notifications.anyEvent')}
              options={notificationEventTypes.map((eventType) => ({ value: eventType, label: eventType }))}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={8}>
          <Form.Item name="outTradeNo" label={t('notifications.outTradeNo')}>
            <Input allowClear />
          </Form.Item>
        </Col>
        <Col xs={24} md={8}>
          <Form.Item name="outRefundNo" label={t('notifications.outRefundNo')}>
            <Input allowClear />
          </Form.Item>
        </Col>
      </Row>
      <Typography.Paragraph type="secondary">{t('notifications.help')}</Typography.Paragraph>
      <SearchActions
        onReset={() => {
          form.resetFields();
          search(pastSevenDays());
        }}
      >
        {range && (
          <Typography.Text type="secondary" data-testid="notifications-range">
            {t('notifications.searching', { from: formatTime(range.createdFrom), to: formatTime(range.createdTo) })}
          </Typography.Text>
        )}
      </SearchActions>
    </Form>
  );
}
