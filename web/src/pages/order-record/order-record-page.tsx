import { Alert, Table } from 'antd';
import { useState } from 'react';
import type { OrderListItem } from '../../api/records-api.ts';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { useOrderColumns } from './order-columns.tsx';
import { OrderDetailDrawer } from './order-detail-drawer.tsx';
import { OrderFilterForm } from './order-filter-form.tsx';
import { CursorPager, ExportButtons, ExportsPanel, sortOfTableChange } from './record-parts.tsx';
import { useOrderRecord } from './use-order-record.ts';

/**
 * Order record (SPEC §5): the orders the caller's roles reach, newest first (or oldest first from the
 * Created column), filtered on the server and read a cursor page at a time; details in a drawer; exports of everything the filter matches.
 */
export default function OrderRecordPage() {
  const { t } = useI18n();
  const record = useOrderRecord();
  const { orders, total, pages } = record;
  const [openOrderId, setOpenOrderId] = useState<number | null>(null);
  const columns = useOrderColumns({ sort: record.sort, onOpenDetails: setOpenOrderId });
  const error = orders.error ?? total.error;

  return (
    <>
      <PageHeader title={t('orders.title')} extra={<ExportButtons startExport={record.startExport} />} />
      <OrderFilterForm
        currencies={record.currencies.data?.items}
        miniPrograms={record.teamMiniPrograms.data?.items ?? []}
        total={total.data}
        onSearch={record.search}
      />
      {error && <Alert type="error" showIcon title={error.message} style={{ marginBottom: 16 }} data-testid="records-error" />}
      <Table<OrderListItem>
        rowKey="id"
        columns={columns}
        dataSource={orders.data?.items ?? []}
        loading={orders.isFetching}
        pagination={false}
        locale={{ emptyText: t('records.noResults') }}
        onChange={(_pagination, _filters, sorter) => record.sortBy(sortOfTableChange(sorter))}
        data-testid="orders-table"
        size="middle"
      />
      <CursorPager
        page={pages.page}
        hasNext={!!orders.data?.nextCursor}
        loading={orders.isFetching}
        onPrevious={pages.previous}
        onNext={() => pages.next(orders.data!.nextCursor!)}
      />
      <ExportsPanel kind="orders" />
      <OrderDetailDrawer orderId={openOrderId} onClose={() => setOpenOrderId(null)} />
    </>
  );
}
