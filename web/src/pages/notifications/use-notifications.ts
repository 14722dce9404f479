import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { notificationQueryKeys, notificationsApi, type NotificationFilter } from '../../api/notifications-api.ts';
import type { RecordSort } from '../../api/records-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { pastSevenDays, useCursorPages } from '../order-record/record-parts.tsx';
import { notificationFilterOf } from './notification-filter-form.tsx';

const pageSize = 20;

/** The Notifications page's data: a cursor page of the filtered log, the team's mini programs to filter by, and Resend. */
export function useNotifications() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const { currentTeam } = useConsole();
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<NotificationFilter>(() => notificationFilterOf(pastSevenDays()));
  const [sort, setSort] = useState<RecordSort>('newest');
  const sorted: NotificationFilter = { ...filter, sort };
  const pages = useCursorPages();
  const { cursor } = pages;

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

  return {
    teamMiniPrograms,
    notifications,
    resend,
    sort,
    pages,
    search: (next: NotificationFilter) => {
      setFilter(next);
      pages.restart();
    },
    sortBy: (next: RecordSort) => {
      setSort(next);
      pages.restart();
    },
  };
}
