import type { UseMutationResult } from '@tanstack/react-query';
import { Button, Space, type TableColumnsType } from 'antd';
import type { NotificationLogDetail, NotificationLogItem } from '../../api/notifications-api.ts';
import type { RecordSort } from '../../api/records-api.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { createdSorter } from '../order-record/record-parts.tsx';
import { lastAttemptText, NotificationStatusTag, subjectText } from './notification-parts.tsx';

interface NotificationColumnsOptions {
  sort: RecordSort;
  onOpenDetails(notificationId: number): void;
  /** A row's Resend is disabled while that row's own resend runs. */
  resend: UseMutationResult<NotificationLogDetail, Error, number>;
}

/** The Notifications table's columns; each row has Details and Resend. */
export function useNotificationColumns({ sort, onOpenDetails, resend }: NotificationColumnsOptions): TableColumnsType<NotificationLogItem> {
  const { t, formatTime } = useI18n();
  const none = t('common.none');
  return [
    {
      title: t('records.createdAt'),
      dataIndex: 'createdAt',
      render: (at: number) => formatTime(at),
      width: 170,
      ...createdSorter<NotificationLogItem>(sort),
    },
    { title: t('notifications.subject'), key: 'subject', render: (_, notification) => subjectText(t, notification.subject) },
    {
      title: t('records.miniProgram'),
      key: 'mnp',
      ellipsis: true,
      render: (_, notification) => notification.mnpName ?? notification.mnpId ?? none,
    },
    { title: t('notifications.eventType'), dataIndex: 'eventType', render: (eventType: string | null) => eventType ?? none },
    { title: t('notifications.status'), key: 'status', render: (_, notification) => <NotificationStatusTag notification={notification} /> },
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
          <Button type="link" onClick={() => onOpenDetails(notification.id)}>
            {t('records.details')}
          </Button>
          <Button
            type="link"
            onClick={() => resend.mutate(notification.id)}
            disabled={resend.isPending && resend.variables === notification.id}
          >
            {t('notifications.resend')}
          </Button>
        </Space>
      ),
    },
  ];
}
