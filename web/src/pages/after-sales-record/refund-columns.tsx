import { Button, type TableColumnsType } from 'antd';
import type { RecordSort, RefundListItem, RefundStatus } from '../../api/records-api.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { createdSorter, RefundStatusTag } from '../order-record/record-parts.tsx';

interface RefundColumnsOptions {
  sort: RecordSort;
  onOpenDetails(refundId: number): void;
}

/** The After-sales record table's columns; Details opens the refund's drawer. */
export function useRefundColumns({ sort, onOpenDetails }: RefundColumnsOptions): TableColumnsType<RefundListItem> {
  const { t, formatTime } = useI18n();
  return [
    {
      title: t('refunds.range'),
      dataIndex: 'createdAt',
      render: (at: number) => formatTime(at),
      width: 170,
      ...createdSorter<RefundListItem>(sort),
    },
    { title: t('records.miniProgram'), dataIndex: 'mnpId', ellipsis: true },
    { title: 'out_refund_no', dataIndex: 'outRefundNo' },
    { title: 'refund_id', dataIndex: 'refundId', ellipsis: true },
    { title: 'out_trade_no', dataIndex: 'outTradeNo' },
    { title: t('refunds.status'), dataIndex: 'status', render: (status: RefundStatus) => <RefundStatusTag status={status} /> },
    { title: t('refunds.refundAmount'), key: 'refund', align: 'right', render: (_, refund) => `${refund.refund} ${refund.currency}` },
    {
      title: t('common.actions'),
      key: 'details',
      render: (_, refund) => (
        <Button type="link" onClick={() => onOpenDetails(refund.id)}>
          {t('records.details')}
        </Button>
      ),
    },
  ];
}
