import { useQuery } from '@tanstack/react-query';
import { Button, Descriptions, Drawer, Empty, Skeleton, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { notificationQueryKeys, notificationsApi, type NotificationLogDetail } from '../../api/notifications-api.ts';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { lastAttemptText, NotificationStatusTag, subjectText } from './notification-parts.tsx';

type Attempt = NotificationLogDetail['deliveryAttempts'][number];

interface NotificationDrawerProps {
  notificationId: number | null;
  onClose(): void;
  onResend(id: number): void;
  resending: boolean;
}

/** One notification: its fields, every delivery attempt, and Resend. */
export function NotificationDrawer({ notificationId, onClose, onResend, resending }: NotificationDrawerProps) {
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
    {
      title: t('common.status'),
      dataIndex: 'outcome',
      render: (outcome: Attempt['outcome']) => <Tag color={outcome === 'delivered' ? 'success' : 'error'}>{outcome}</Tag>,
    },
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
              <NotificationStatusTag notification={data} />
            </Descriptions.Item>
            <Descriptions.Item label={t('notifications.subject')}>{subjectText(t, data.subject)}</Descriptions.Item>
            <Descriptions.Item label="out_trade_no">{data.subject.outTradeNo ?? none}</Descriptions.Item>
            <Descriptions.Item label={t('records.miniProgram')}>
              {data.mnpName ? `${data.mnpName} (${data.mnpId})` : (data.mnpId ?? none)}
            </Descriptions.Item>
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
            <Table<Attempt>
              rowKey="attemptNo"
              size="small"
              columns={attemptColumns}
              dataSource={data.deliveryAttempts}
              pagination={false}
              data-testid="notification-attempts"
            />
          ) : (
            data.attempts === 0 && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('notifications.noAttempts')} />
          )}
        </>
      )}
    </Drawer>
  );
}
