import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Col, Descriptions, Drawer, Empty, Form, Input, Row, Select, Skeleton, Space, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import {
  notificationEventTypes,
  notificationQueryKeys,
  notificationsApi,
  notificationStatuses,
  type NotificationFilter,
  type NotificationLogDetail,
  type NotificationLogItem,
  type NotificationStatus,
} from '../../api/notifications-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n, type Translate } from '../../i18n/i18n-context.tsx';
import type { RecordSort } from '../../api/records-api.ts';
import { createdSorter, CursorPager, dateInputToMs, dateInputValue, SearchActions, sortOfTableChange } from '../order-record/record-parts.tsx';

interface FilterForm {
  from?: string;
  to?: string;
  mnpIds?: string[];
  statuses?: NotificationStatus[];
  eventTypes?: string[];
  outTradeNo?: string;
  outRefundNo?: string;
}

type Attempt = NotificationLogDetail['deliveryAttempts'][number];

const pageSize = 20;
const trimmed = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);
const statusColors: Record<NotificationStatus, string> = { pending: 'processing', delivered: 'success', failed: 'error' };

/** The past 7 days as date inputs: six days ago through today. */
function pastSevenDays(): Pick<FilterForm, 'from' | 'to'> {
  const today = new Date();
  const from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  return { from: dateInputValue(from), to: dateInputValue(today) };
}

function filterOf(values: FilterForm): NotificationFilter {
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

function StatusTag({ notification }: { notification: Pick<NotificationLogItem, 'status' | 'delivering'> }) {
  const { t } = useI18n();
  if (notification.delivering) return <Tag color="processing">{t('notifications.delivering')}</Tag>;
  return <Tag color={statusColors[notification.status]}>{notification.status}</Tag>;
}

function subjectText(t: Translate, subject: NotificationLogItem['subject']): string {
  if (subject.type === 'refund') return t('notifications.refund', { number: subject.outRefundNo ?? String(subject.id) });
  return t('notifications.order', { number: subject.outTradeNo ?? String(subject.id) });
}

/** "time · HTTP 500 · error", or a dash before the first attempt. */
function lastAttemptText(notification: Pick<NotificationLogItem, 'lastAttemptAt' | 'lastHttpStatus' | 'lastError'>, formatTime: (ms: number) => string, none: string): string {
  if (notification.lastAttemptAt === null && notification.lastHttpStatus === null && notification.lastError === null) return none;
  const status = notification.lastHttpStatus === null ? null : `HTTP ${notification.lastHttpStatus}`;
  // An error that only restates the status ("HTTP 500") is said once.
  const error = notification.lastError === status ? null : notification.lastError;
  return [notification.lastAttemptAt === null ? null : formatTime(notification.lastAttemptAt), status, error].filter((part) => part !== null && part !== '').join(' · ');
}

/** One notification: its fields, every delivery attempt, and Resend. */
function NotificationDrawer({ notificationId, onClose, onResend, resending }: { notificationId: number | null; onClose(): void; onResend(id: number): void; resending: boolean }) {
  const { t, formatTime } = useI18n();
  const detail = useQuery({
    queryKey: notificationQueryKeys.detail(notificationId ?? 0),
    queryFn: () => notificationsApi.get(notificationId!),
    enabled: notificationId !== null,
    retry: false,
  });
  const data = detail.data;
  const none = t('common.none');
  const attemptColumns: TableColumnsType<Attempt> = [
    { title: '#', dataIndex: 'attemptNo', width: 50 },
    { title: t('orders.at'), dataIndex: 'startedAt', render: (at: number) => formatTime(at) },
    { title: t('common.status'), dataIndex: 'outcome', render: (outcome: Attempt['outcome']) => <Tag color={outcome === 'delivered' ? 'success' : 'error'}>{outcome}</Tag> },
    { title: 'HTTP', dataIndex: 'httpStatus', render: (status: number | null) => status ?? none },
    { title: 'ms', dataIndex: 'latencyMs' },
    { title: t('orders.lastError'), dataIndex: 'error', render: (error: string | null) => error ?? '' },
    { title: t('notifications.response'), dataIndex: 'responseExcerpt', ellipsis: true, render: (excerpt: string | null) => excerpt ?? '' },
    { title: '', dataIndex: 'manual', width: 90, render: (manual: boolean) => (manual ? <Tag>{t('notifications.manual')}</Tag> : null) },
  ];
  return (
    <Drawer
      open={notificationId !== null}
      onClose={onClose}
      size={960}
      title={data ? t('notifications.detailTitle', { eventId: data.eventId }) : t('records.details')}
      destroyOnHidden
      extra={
        data && (
          <Button type="primary" onClick={() => onResend(data.id)} loading={resending} data-testid="notification-resend">
            {t('notifications.resend')}
          </Button>
        )
      }
    >
      <LoadError error={detail.error} />
      {detail.isPending && notificationId !== null && <Skeleton active />}
      {data && (
        <>
          <Descriptions size="small" bordered column={2} data-testid="notification-fields">
            <Descriptions.Item label={t('notifications.eventType')}>{data.eventType ?? none}</Descriptions.Item>
            <Descriptions.Item label={t('common.status')}>
              <StatusTag notification={data} />
            </Descriptions.Item>
            <Descriptions.Item label={t('notifications.subject')}>{subjectText(t, data.subject)}</Descriptions.Item>
            <Descriptions.Item label="out_trade_no">{data.subject.outTradeNo ?? none}</Descriptions.Item>
            <Descriptions.Item label={t('records.miniProgram')}>{data.mnpName ? `${data.mnpName} (${data.mnpId})` : (data.mnpId ?? none)}</Descriptions.Item>
            <Descriptions.Item label={t('notifications.attempts')}>{data.attempts}</Descriptions.Item>
            <Descriptions.Item label={t('notifications.targetUrl')} span={2}>
              {data.targetUrl ?? none}
            </Descriptions.Item>
            <Descriptions.Item label={t('records.createdAt')}>{formatTime(data.createdAt)}</Descriptions.Item>
            <Descriptions.Item label={t('notifications.nextAttempt')}>{formatTime(data.nextAttemptAt)}</Descriptions.Item>
            <Descriptions.Item label={t('notifications.lastAttempt')} span={2}>
              {lastAttemptText(data, formatTime, none)}
            </Descriptions.Item>
            <Descriptions.Item label="id">{data.eventId}</Descriptions.Item>
            <Descriptions.Item label={t('records.sandbox')}>{data.sandbox ? 'yes' : 'no'}</Descriptions.Item>
          </Descriptions>
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('notifications.deliveryAttempts')}
          </Typography.Title>
          {data.attempts > data.deliveryAttempts.length && (
            <Typography.Paragraph type="secondary" data-testid="attempts-purged">
              {t('notifications.attemptsPurged', { purged: data.attempts - data.deliveryAttempts.length })}
            </Typography.Paragraph>
          )}
          {data.deliveryAttempts.length ? (
            <Table<Attempt> rowKey="attemptNo" size="small" columns={attemptColumns} dataSource={data.deliveryAttempts} pagination={false} data-testid="notification-attempts" />
          ) : (
            data.attempts === 0 && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('notifications.noAttempts')} />
          )}
        </>
      )}
    </Drawer>
  );
}

/**
 * Notification delivery log (SPEC §5): the notifications of the orders and refunds the caller's Order
 * record reaches, newest first, a cursor page at a time; at most 31 days of created time at once (the
 * server's message says so); details with every attempt, and Resend as in the order's details.
 */
export default function NotificationsPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { currentTeam } = useConsole();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<FilterForm>();
  const [filter, setFilter] = useState<NotificationFilter>(() => filterOf(pastSevenDays()));
  const [sort, setSort] = useState<RecordSort>('newest');
  const sorted: NotificationFilter = { ...filter, sort };
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [openId, setOpenId] = useState<number | null>(null);
  const cursor = cursors[cursors.length - 1];

  const teamMiniPrograms = useQuery({
    queryKey: queryKeys.miniPrograms(currentTeam?.id ?? ''),
    queryFn: () => consoleApi.listMiniPrograms(currentTeam!.id),
    enabled: currentTeam?.kind === 'miniprogram',
  });
  const notifications = useQuery({
    queryKey: notificationQueryKeys.list(sorted, cursor),
    queryFn: () => notificationsApi.list(sorted, { cursor, limit: pageSize }),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const resend = useMutation({
    mutationFn: (id: number) => notificationsApi.resend(id),
    onSuccess: async () => {
      message.success(t('notifications.resent'));
      await queryClient.invalidateQueries({ queryKey: notificationQueryKeys.all });
    },
    onError: (error) => message.error(error.message),
  });

  const search = (values: FilterForm) => {
    // An order or refund number searches the past 31 days, unless the dates were changed by hand.
    const byNumber = !!(trimmed(values.outTradeNo) ?? trimmed(values.outRefundNo));
    const datesUntouched = !form.isFieldsTouched(['from', 'to']);
    setFilter(filterOf(byNumber && datesUntouched ? { ...values, from: undefined, to: undefined } : values));
    setCursors([undefined]);
  };

  const none = t('common.none');
  const columns: TableColumnsType<NotificationLogItem> = [
    { title: t('records.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at), width: 170, ...createdSorter<NotificationLogItem>(sort) },
    { title: t('notifications.subject'), key: 'subject', render: (_, notification) => subjectText(t, notification.subject) },
    { title: t('records.miniProgram'), key: 'mnp', ellipsis: true, render: (_, notification) => notification.mnpName ?? notification.mnpId ?? none },
    { title: t('notifications.eventType'), dataIndex: 'eventType', render: (eventType: string | null) => eventType ?? none },
    { title: t('notifications.status'), key: 'status', render: (_, notification) => <StatusTag notification={notification} /> },
    { title: t('notifications.attempts'), dataIndex: 'attempts', align: 'right' },
    { title: t('notifications.lastAttempt'), key: 'last', render: (_, notification) => lastAttemptText(notification, formatTime, none) },
    { title: t('notifications.nextAttempt'), dataIndex: 'nextAttemptAt', render: (at: number | null) => formatTime(at) },
    { title: t('notifications.target'), dataIndex: 'targetHost', ellipsis: true, render: (host: string | null) => host ?? none },
    {
      title: t('common.actions'),
      key: 'actions',
      fixed: 'right',
      render: (_, notification) => (
        <Space size={0}>
          <Button type="link" onClick={() => setOpenId(notification.id)}>
            {t('records.details')}
          </Button>
          <Button type="link" onClick={() => resend.mutate(notification.id)} disabled={resend.isPending && resend.variables === notification.id}>
            {t('notifications.resend')}
          </Button>
        </Space>
      ),
    },
  ];
  const miniProgramOptions = (teamMiniPrograms.data?.items ?? []).map((miniProgram) => ({ value: miniProgram.mnpId, label: `${miniProgram.name} (${miniProgram.mnpId})` }));
  const range = notifications.data?.range;

  return (
    <>
      <PageHeader title={t('notifications.title')} />
      <Form<FilterForm> form={form} layout="vertical" onFinish={search} initialValues={pastSevenDays()} data-testid="notification-filters">
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
              <Select mode="tags" options={miniProgramOptions} placeholder={t('records.miniProgramsPlaceholder')} tokenSeparators={[',', ' ']} />
            </Form.Item>
          </Col>
          <Col xs={12} md={4}>
            <Form.Item name="statuses" label={t('notifications.status')}>
              <Select mode="multiple" allowClear placeholder={t('notifications.anyStatus')} options={notificationStatuses.map((status) => ({ value: status, label: status }))} />
            </Form.Item>
          </Col>
          <Col xs={12} md={4}>
            <Form.Item name="eventTypes" label={t('notifications.eventType')}>
              <Select mode="multiple" allowClear placeholder={t('notifications.anyEvent')} options={notificationEventTypes.map((eventType) => ({ value: eventType, label: eventType }))} />
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
      {notifications.error && <Alert type="error" showIcon title={notifications.error.message} style={{ marginBottom: 16 }} data-testid="records-error" />}
      <Table<NotificationLogItem>
        rowKey="id"
        columns={columns}
        dataSource={notifications.error ? [] : (notifications.data?.items ?? [])}
        loading={notifications.isFetching}
        pagination={false}
        locale={{ emptyText: t('records.noResults') }}
        onChange={(_pagination, _filters, sorter) => {
          setSort(sortOfTableChange(sorter));
          setCursors([undefined]);
        }}
        data-testid="notifications-table"
        size="middle"
        scroll={{ x: 'max-content' }}
      />
      <CursorPager
        page={cursors.length}
        hasNext={!!notifications.data?.nextCursor}
        loading={notifications.isFetching}
        onPrevious={() => setCursors((stack) => stack.slice(0, -1))}
        onNext={() => setCursors((stack) => [...stack, notifications.data!.nextCursor!])}
      />
      <NotificationDrawer notificationId={openId} onClose={() => setOpenId(null)} onResend={(id) => resend.mutate(id)} resending={resend.isPending} />
    </>
  );
}
