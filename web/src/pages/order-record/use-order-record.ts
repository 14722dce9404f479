import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { recordQueryKeys, recordsApi, type OrderFilter, type RecordSort } from '../../api/records-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { useCursorPages, useStartExport } from './record-parts.tsx';

const pageSize = 20;

/** The Order record's data: a cursor page of the filtered orders, their total, the filter's choices, and exports. */
export function useOrderRecord() {
  const { currentTeam } = useConsole();
  const [filter, setFilter] = useState<OrderFilter>({});
  const [sort, setSort] = useState<RecordSort>('newest');
  // The list and the export follow the sort; the total does not depend on it.
  const sorted: OrderFilter = { ...filter, sort };
  const pages = useCursorPages();
  const { cursor } = pages;

  const currencies = useQuery({ queryKey: queryKeys.currencies, queryFn: () => consoleApi.listCurrencies() });
  const teamMiniPrograms = useQuery({
    queryKey: queryKeys.miniPrograms(currentTeam?.id ?? ''),
    queryFn: () => consoleApi.listMiniPrograms(currentTeam!.id),
    enabled: currentTeam?.kind === 'miniprogram',
  });
  const orders = useQuery({
    queryKey: recordQueryKeys.orders(sorted, cursor),
    queryFn: () => recordsApi.listOrders(sorted, { cursor, limit: pageSize, withTotal: false }),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const total = useQuery({
    queryKey: ['records', 'orders-total', filter],
    queryFn: () => recordsApi.listOrders(filter, { limit: 1, withTotal: true }).then((page) => page.total),
    retry: false,
  });
  const startExport = useStartExport((format) => recordsApi.exportOrders(format, sorted));

  return {
    currencies,
    teamMiniPrograms,
    orders,
    total,
    startExport,
    sort,
    pages,
    search: (next: OrderFilter) => {
      setFilter(next);
      pages.restart();
    },
    sortBy: (next: RecordSort) => {
      setSort(next);
      pages.restart();
    },
  };
}
