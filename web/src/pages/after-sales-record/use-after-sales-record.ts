import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { recordQueryKeys, recordsApi, type RecordSort, type RefundFilter } from '../../api/records-api.ts';
import { pastSevenDays, useCursorPages, useStartExport } from '../order-record/record-parts.tsx';
import { refundFilterOf } from './refund-filter-form.tsx';

const pageSize = 20;

/** The After-sales record's data: a cursor page of the filtered refunds (the first with their total), and exports. */
export function useAfterSalesRecord() {
  const [filter, setFilter] = useState<RefundFilter>(() => refundFilterOf(pastSevenDays()));
  const [sort, setSort] = useState<RecordSort>('newest');
  // The list and the export follow the sort (the Created column's).
  const sorted: RefundFilter = { ...filter, sort };
  const pages = useCursorPages();
  const { cursor } = pages;

  const refunds = useQuery({
    queryKey: recordQueryKeys.refunds(sorted, cursor),
    queryFn: () => recordsApi.listRefunds(sorted, { cursor, limit: pageSize, withTotal: cursor === undefined }),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const startExport = useStartExport((format) => recordsApi.exportRefunds(format, sorted));

  return {
    refunds,
    /** The first page carries the total; later pages do not count again. */
    firstPage: cursor === undefined ? refunds.data : undefined,
    startExport,
    sort,
    pages,
    search: (next: RefundFilter) => {
      setFilter(next);
      pages.restart();
    },
    sortBy: (next: RecordSort) => {
      setSort(next);
      pages.restart();
    },
  };
}
