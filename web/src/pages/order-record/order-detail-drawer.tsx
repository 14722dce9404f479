import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Descriptions, Drawer, Empty, Skeleton, Table, Tag, Typography, type TableColumnsType } from 'antd';
import type { ReactNode } from 'react';
import { recordQueryKeys, recordsApi, type Notification, type OrderDetail } from '../../api/records-api.ts';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { RefundStatusTag, TradeStateTag } from './record-parts.tsx';

type OrderFields = OrderDetail['order'];
type Refund = OrderDetail['refunds'][number];
type HistoryEntry = OrderDetail['history'][number];

const notificationColors = { pending: 'processing', delivered: 'success', failed: 'error' } as const;

/** The state history of an order or refund, oldest first. */
export function HistoryTable({ history }: { history: HistoryEntry[] }) {
  const { t, formatTime } = useI18n();
  const columns: TableColumnsType<HistoryEntry> = [
    { title: t('orders.at'), dataIndex: 'at', render: (at: number) => formatTime(at), width: 170 },
    { title: t('orders.event'), key: 'subject', render: (_, entry) => `${entry.subject} ${entry.subjectId}` },
    { title: t('orders.from'), dataIndex: 'fromState', render: (state: string | null) => state ?? t('common.none') },
    { title: t('orders.to'), dataIndex: 'toState' },
    { title: t('orders.reason'), dataIndex: 'reason' },
  ];
  return <Table<HistoryEntry> rowKey="id" size="small" columns={columns} dataSource={history} pagination={false} />;
}

/** Notifications with every delivery attempt; resend starts a new round of the retry schedule. */
export function NotificationsTable({
  notifications,
  onResend,
  resending,
}: {
  notifications: Notification[];
  onResend?(notification: Notification): void;
  resending?: boolean;
}) {
  const { t, formatTime } = useI18n();
  if (notifications.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('orders.noNotifications')} />;
  const columns: TableColumnsType<Notification> = [
    { title: t('orders.event'), dataIndex: 'eventType', render: (eventType: string | null) => eventType ?? t('common.none') },
    {
      title: t('common.status'),
      dataIndex: 'status',
      render: (status: Notification['status']) => <Tag color={notificationColors[status]}>{status}</Tag>,
    },
    { title: t('orders.attempts'), dataIndex: 'attempts' },
    { title: t('orders.lastError'), dataIndex: 'lastError', render: (error: string | null) => error ?? t('common.none') },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    ...(onResend
      ? [
          {
            title: t('common.actions'),
            key: 'resend',
            render: (_: unknown, notification: Notification) => (
              <Button size="small" onClick={() => onResend(notification)} loading={resending}>
                {t('orders.resend')}
              </Button>
            ),
          },
        ]
      : []),
  ];
  return (
    <Table<Notification>
      rowKey="id"
      size="small"
      columns={columns}
      dataSource={notifications}
      pagination={false}
      expandable={{
        expandedRowRender: (notification) => (
          <>
            <Typography.Paragraph type="secondary">
              {t('orders.target')}: {notification.targetUrl ?? t('common.none')}
            </Typography.Paragraph>
            {notification.attempts > notification.deliveryAttempts.length && (
              <Typography.Paragraph type="secondary" data-testid="attempts-purged">
                {t('notifications.attemptsPurged', { purged: notification.attempts - notification.deliveryAttempts.length })}
              </Typography.Paragraph>
            )}
            <Table
              rowKey="attemptNo"
              size="small"
              pagination={false}
              dataSource={notification.deliveryAttempts}
              columns={[
                { title: '#', dataIndex: 'attemptNo', width: 50 },
                { title: t('orders.at'), dataIndex: 'startedAt', render: (at: number) => formatTime(at) },
                { title: t('common.status'), dataIndex: 'outcome' },
                { title: 'HTTP', dataIndex: 'httpStatus', render: (status: number | null) => status ?? t('common.none') },
                { title: 'ms', dataIndex: 'latencyMs' },
                { title: t('orders.lastError'), dataIndex: 'error', render: (error: string | null) => error ?? '' },
              ]}
            />
          </>
        ),
      }}
    />
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <>
      <Typography.Title level={5} style={{ marginTop: 24 }}>
        {title}
      </Typography.Title>
      {children}
    </>
  );
}

/** Every field of an order as label → value, times formatted. */
export function OrderFieldsList({ order }: { order: OrderFields }) {
  const { t, formatTime } = useI18n();
  const none = t('common.none');
  const time = (ms: number | null) => (ms === null ? none : formatTime(ms));
  const text = (value: string | number | null) => (value === null || value === '' ? none : String(value));
  const items: [string, ReactNode][] = [
    ['id', order.id],
    ['out_trade_no', order.outTradeNo],
    ['transaction_id', text(order.transactionId)],
    ['prepay_id', order.prepayId],
    ['trade_state', <TradeStateTag key="state" state={order.tradeState} />],
    ['mchid', order.mchid],
    ['appid (MNPId)', order.mnpId],
    ['application_id', order.applicationId],
    ['description', order.description],
    ['attach', text(order.attach)],
    ['amount', `${order.amount} ${order.currency}`],
    ['refunded', `${order.refundedAmount} ${order.currency}`],
    ['refund_reserved', `${order.refundReserved} ${order.currency}`],
    ['refund_count', order.refundCount],
    ['payer openid', order.payerOpenid],
    ['notify_url', order.notifyUrl],
    ['client platform', order.clientPlatform === 2 ? 'Android' : order.clientPlatform === 3 ? 'iOS' : none],
    ['sandbox', order.sandbox ? 'yes' : 'no'],
    ['channel', order.channelKind],
    ['channel order id', text(order.channelOrderId)],
    ['channel transaction id', text(order.channelTransactionId)],
    ['anomalies', order.anomalies.length ? order.anomalies.join(', ') : none],
    ['pending operation', text(order.pendingOperation)],
    ['created', time(order.createdAt)],
    ['time_expire', time(order.timeExpire)],
    ['success_time', time(order.successTime)],
    ['closed', time(order.closedAt)],
    ['updated', time(order.updatedAt)],
    ['next reconciliation', time(order.reconcileAt)],
  ];
  return (
    <Descriptions size="small" bordered column={2} data-testid="order-fields">
      {items.map(([label, value]) => (
        <Descriptions.Item key={label} label={label}>
          {value}
        </Descriptions.Item>
      ))}
    </Descriptions>
  );
}

/** An order's details: every field, its refunds, state history, channel payments and notifications. */
export function OrderDetailDrawer({ orderId, onClose }: { orderId: number | null; onClose(): void }) {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: recordQueryKeys.order(orderId ?? 0),
    queryFn: () => recordsApi.getOrder(orderId!),
    enabled: orderId !== null,
  });
  const resend = useMutation({
    mutationFn: (notification: Notification) => recordsApi.resendNotification(orderId!, notification.id),
    onSuccess: async () => {
      message.success(t('orders.resent'));
      await queryClient.invalidateQueries({ queryKey: recordQueryKeys.order(orderId ?? 0) });
    },
    onError: (error) => message.error(error.message),
  });
  const data = detail.data;
  const refundColumns: TableColumnsType<Refund> = [
    { title: t('refunds.outRefundNo'), dataIndex: 'outRefundNo' },
    { title: t('refunds.refundId'), dataIndex: 'refundId' },
    { title: t('common.status'), dataIndex: 'status', render: (status: Refund['status']) => <RefundStatusTag status={status} /> },
    { title: t('refunds.refundAmount'), key: 'refund', render: (_, refund) => `${refund.refund} ${refund.currency}` },
    { title: t('orders.reason'), dataIndex: 'reason', render: (reason: string | null) => reason ?? t('common.none') },
    { title: t('records.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
  ];
  return (
    <Drawer
      open={orderId !== null}
      onClose={onClose}
      size={960}
      title={data ? t('orders.detailTitle', { outTradeNo: data.order.outTradeNo }) : t('records.details')}
      destroyOnHidden
    >
      <LoadError error={detail.error} />
      {detail.isPending && orderId !== null && <Skeleton active />}
      {data && (
        <>
          <OrderFieldsList order={data.order} />
          <Section title={t('orders.refunds')}>
            {data.refunds.length ? (
              <Table<Refund> rowKey="id" size="small" columns={refundColumns} dataSource={data.refunds} pagination={false} />
            ) : (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('orders.noRefunds')} />
            )}
          </Section>
          <Section title={t('orders.history')}>
            <HistoryTable history={data.history} />
          </Section>
          {data.channelPayments.length > 0 && (
            <Section title={t('orders.channelPayments')}>
              <Table
                rowKey="id"
                size="small"
                pagination={false}
                dataSource={data.channelPayments}
                columns={[
                  {
                    title: 'channel transaction id',
                    dataIndex: 'channelTransactionId',
                    // A host report without a transaction_id has none (SPEC §9.3).
                    render: (id: string | null) => id ?? t('common.none'),
                  },
                  {
                    title: t('records.amount'),
                    key: 'amount',
                    render: (_: unknown, payment: OrderDetail['channelPayments'][number]) => `${payment.amount} ${payment.currency}`,
                  },
                  { title: t('records.paidAt'), dataIndex: 'paidAt', render: (at: number) => formatTime(at) },
                  { title: t('common.status'), dataIndex: 'disposition' },
                ]}
              />
            </Section>
          )}
          <Section title={t('orders.notifications')}>
            <NotificationsTable
              notifications={data.notifications}
              onResend={(notification) => resend.mutate(notification)}
              resending={resend.isPending}
            />
          </Section>
        </>
      )}
    </Drawer>
  );
}
