import { Alert, Table } from 'antd';
import { useState } from 'react';
import type { RefundListItem } from '../../api/records-api.ts';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { CursorPager, ExportButtons, ExportsPanel, sortOfTableChange } from '../order-record/record-parts.tsx';
import { useRefundColumns } from './refund-columns.tsx';
import { RefundDetailDrawer } from './refund-detail-drawer.tsx';
import { RefundFilterForm } from './refund-filter-form.tsx';
import { useAfterSalesRecord } from './use-after-sales-record.ts';

/**
 * After-sales record (SPEC §5, §7): refunds by initiation date, opening on the past 7 days; searchable by
 * order number or refund number; never further back than 12 months (the server's message says so).
 */
export default function AfterSalesRecordPage() {
  const { t } = useI18n();
  const record = useAfterSalesRecord();
  const { refunds, pages } = record;
  const [openRefundId, setOpenRefundId] = useState<number | null>(null);
  const columns = useRefundColumns({ sort: record.sort, onOpenDetails: setOpenRefundId });

  return (
    <>
      <PageHeader title={t('refunds.title')} extra={<ExportButtons startExport={record.startExport} />} />
      <RefundFilterForm range={refunds.data?.range} total={record.firstPage?.total} onSearch={record.search} />
      {refunds.error && (
        <Alert type="error" showIcon title={refunds.error.message} style={{ marginBottom: 16 }} data-testid="records-error" />
      )}
      <Table<RefundListItem>
        rowKey="id"
        columns={columns}
        dataSource={refunds.error ? [] : (refunds.data?.items ?? [])}
        loading={refunds.isFetching}
        pagination={false}
        locale={{ emptyText: t('records.noResults') }}
        onChange={(_pagination, _filters, sorter) => record.sortBy(sortOfTableChange(sorter))}
        data-testid="refunds-table"
        size="middle"
      />
      <CursorPager
        page={pages.page}
        hasNext={!!refunds.data?.nextCursor}
        loading={refunds.isFetching}
        onPrevious={pages.previous}
        onNext={() => pages.next(refunds.data!.nextCursor!)}
      />
      <ExportsPanel kind="refunds" />
      <RefundDetailDrawer refundId={openRefundId} onClose={() => setOpenRefundId(null)} />
    </>
  );
}
