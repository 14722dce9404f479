import { Button, type TableColumnsType } from 'antd';
import type { OrderListItem, RecordSort, TradeState } from '../../api/records-api.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { createdSorter, TradeStateTag } from './record-parts.tsx';

interface OrderColumnsOptions {
  sort: RecordSort;
  onOpenDetails(orderId: number): void;
}

/** The Order record table's columns; Details opens the order's drawer. */
export function useOrderColumns({ sort, onOpenDetails }: OrderColumnsOptions): TableColumnsType<OrderListItem> {
  const { t, formatTime } = useI18n();
  return [
    {
      title: t('records.createdAt'),
      dataIndex: 'createdAt',
      render: (at: number) => formatTime(at),
      width: 170,
      ...createdSorter<OrderListItem>(sort),
    },
    { title: t('records.miniProgram'), dataIndex: 'mnpId', ellipsis: true },
    { title: 'out_trade_no', dataIndex: 'outTradeNo' },
    { title: 'transaction_id', dataIndex: 'transactionId', render: (id: string | null) => id ?? t('common.none') },
    { title: t('records.tradeState'), dataIndex: 'tradeState', render: (state: TradeState) => <TradeStateTag state={state} /> },
    { title: t('records.amount'), key: 'amount', align: 'right', render: (_, order) => `${order.amount} ${order.currency}` },
    {
      title: t('records.refunded'),
      key: 'refunded',
      align: 'right',
      render: (_, order) => (/[1-9]/.test(order.refundTotal) ? order.refundTotal : ''),
    },
    {
      title: t('common.actions'),
      key: 'details',
      render: (_, order) => (
        <Button type="link" onClick={() => onOpenDetails(order.id)}>
          {t('records.details')}
        </Button>
      ),
    },
  ];
}
