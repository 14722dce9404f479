import { Alert, Table } from 'antd';
import { useState } from 'react';
import type { NotificationLogItem } from '../../api/notifications-api.ts';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { CursorPager, sortOfTableChange } from '../order-record/record-parts.tsx';
import { useNotificationColumns } from './notification-columns.tsx';
import { NotificationDrawer } from './notification-drawer.tsx';
import { NotificationFilterForm } from './notification-filter-form.tsx';
import { useNotifications } from './use-notifications.ts';

/**
 * Notification delivery log (SPEC §5): the notifications of the orders and refunds the caller's Order
 * record reaches, newest first, a cursor page at a time; at most 31 days of created time at once (the
 * server's message says so); details with every attempt, and Resend as in the order's details.
 */
export default function NotificationsPage() {
  const { t } = useI18n();
  const log = useNotifications();
  const { notifications, resend, pages } = log;
  const [openId, setOpenId] = useState<number | null>(null);
  const columns = useNotificationColumns({ sort: log.sort, onOpenDetails: setOpenId, resend });

  return (
    <>
      <PageHeader title={t('notifications.title')} />
      <NotificationFilterForm
        miniPrograms={log.teamMiniPrograms.data?.items ?? []}
        range={notifications.data?.range}
        onSearch={log.search}
      />
      {notifications.error && (
        <Alert type="error" showIcon title={notifications.error.message} style={{ marginBottom: 16 }} data-testid="records-error" />
      )}
      <Table<NotificationLogItem>
        rowKey="id"
        columns={columns}
        dataSource={notifications.error ? [] : (notifications.data?.items ?? [])}
        loading={notifications.isFetching}
        pagination={false}
        locale={{ emptyText: t('records.noResults') }}
        onChange={(_pagination, _filters, sorter) => log.sortBy(sortOfTableChange(sorter))}
        data-testid="notifications-table"
        size="middle"
        scroll={{ x: 'max-content' }}
      />
      <CursorPager
        page={pages.page}
        hasNext={!!notifications.data?.nextCursor}
        loading={notifications.isFetching}
        onPrevious={pages.previous}
        onNext={() => pages.next(notifications.data!.nextCursor!)}
      />
      <NotificationDrawer
        notificationId={openId}
        onClose={() => setOpenId(null)}
        onResend={(id) => resend.mutate(id)}
        resending={resend.isPending}
      />
    </>
  );
}
