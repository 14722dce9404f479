import type { TableColumnsType } from 'antd';
import type { PaymentFigures } from '../../api/records-api.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';

/** The By day table's columns: one day's figures (`DataTime` is YYYYMMDD). */
export function usePaymentDayColumns(): TableColumnsType<PaymentFigures> {
  const { t } = useI18n();
  return [
    {
      title: t('paymentData.day'),
      dataIndex: 'DataTime',
      render: (value: string) => `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`,
    },
    { title: t('paymentData.orders'), dataIndex: 'OrderNum', align: 'right' },
    { title: t('paymentData.paid'), dataIndex: 'OrderPaidNum', align: 'right' },
    { title: t('paymentData.unpaid'), dataIndex: 'OrderUnpaidNum', align: 'right' },
    { title: t('paymentData.refunded'), dataIndex: 'OrderRefundNum', align: 'right' },
    { title: t('paymentData.totalAmount'), dataIndex: 'TotalAmount', align: 'right' },
    { title: t('paymentData.paidAmount'), dataIndex: 'PaidAmount', align: 'right' },
    { title: t('paymentData.refundAmount'), dataIndex: 'RefundAmount', align: 'right' },
    { title: t('paymentData.users'), dataIndex: 'OrderUserNum', align: 'right' },
    { title: t('paymentData.paidUsers'), dataIndex: 'PaidUserNum', align: 'right' },
  ];
}
