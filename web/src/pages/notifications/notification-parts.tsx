import { Tag } from 'antd';
import type { NotificationLogItem, NotificationStatus } from '../../api/notifications-api.ts';
import { useI18n, type Translate } from '../../i18n/i18n-context.tsx';

// Pieces the Notifications table and a notification's drawer share.

const statusColors: Record<NotificationStatus, string> = { pending: 'processing', delivered: 'success', failed: 'error' };

export function NotificationStatusTag({ notification }: { notification: Pick<NotificationLogItem, 'status' | 'delivering'> }) {
  const { t } = useI18n();
  if (notification.delivering) return <Tag color="processing">{t('notifications.delivering')}</Tag>;
  return <Tag color={statusColors[notification.status]}>{notification.status}</Tag>;
}

export function subjectText(t: Translate, subject: NotificationLogItem['subject']): string {
  if (subject.type === 'refund') return t('notifications.refund', { number: subject.outRefundNo ?? String(subject.id) });
  return t('notifications.order', { number: subject.outTradeNo ?? String(subject.id) });
}

/** "time · HTTP 500 · error", or a dash before the first attempt. */
export function lastAttemptText(
  notification: Pick<NotificationLogItem, 'lastAttemptAt' | 'lastHttpStatus' | 'lastError'>,
  formatTime: (ms: number) => string,
  none: string,
): string {
  if (notification.lastAttemptAt === null && notification.lastHttpStatus === null && notification.lastError === null) return none;
  const status = notification.lastHttpStatus === null ? null : `HTTP ${notification.lastHttpStatus}`;
  // An error that only restates the status ("HTTP 500") is said once.
  const error = notification.lastError === status ? null : notification.lastError;
  return [notification.lastAttemptAt === null ? null : formatTime(notification.lastAttemptAt), status, error]
    .filter((part) => part !== null && part !== '')
    .join(' · ');
}
