import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Descriptions, Drawer, Form, Input, Radio, Skeleton, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { recordQueryKeys, recordsApi, type RefundDetail } from '../../api/records-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { HistoryTable, NotificationsTable, OrderFieldsList } from '../order-record/order-detail-drawer.tsx';
import { RefundStatusTag } from '../order-record/record-parts.tsx';

/** A refund's details: every field, its state history, its notifications and the order it refunds. */
export function RefundDetailDrawer({ refundId, onClose }: { refundId: number | null; onClose(): void }) {
  const { t, formatTime } = useI18n();
  const detail = useQuery({
    queryKey: recordQueryKeys.refund(refundId ?? 0),
    queryFn: () => recordsApi.getRefund(refundId!),
    enabled: refundId !== null,
  });
  const data = detail.data;
  const none = t('common.none');
  return (
    <Drawer
      open={refundId !== null}
      onClose={onClose}
      size={960}
      title={data ? t('refunds.detailTitle', { outRefundNo: data.refund.outRefundNo }) : t('records.details')}
      extra={data && data.refund.status === 'ABNORMAL' ? <SettleRefundButton refund={data.refund} /> : undefined}
      destroyOnHidden
    >
      <LoadError error={detail.error} />
      {detail.isPending && refundId !== null && <Skeleton active />}
      {data && (
        <>
          <Descriptions size="small" bordered column={2} data-testid="refund-fields">
            <Descriptions.Item label="out_refund_no">{data.refund.outRefundNo}</Descriptions.Item>
            <Descriptions.Item label="refund_id">{data.refund.refundId}</Descriptions.Item>
            <Descriptions.Item label="status">
              <RefundStatusTag status={data.refund.status} />
            </Descriptions.Item>
            <Descriptions.Item label="kind">{data.refund.kind}</Descriptions.Item>
            <Descriptions.Item label={t('refunds.refundAmount')}>{`${data.refund.refund} ${data.refund.currency}`}</Descriptions.Item>
            <Descriptions.Item label={t('refunds.orderAmount')}>{`${data.refund.total} ${data.refund.currency}`}</Descriptions.Item>
            <Descriptions.Item label="out_trade_no">{data.refund.outTradeNo}</Descriptions.Item>
            <Descriptions.Item label="transaction_id">{data.refund.transactionId}</Descriptions.Item>
            <Descriptions.Item label="mchid">{data.refund.mchid}</Descriptions.Item>
            <Descriptions.Item label="appid (MNPId)">{data.refund.mnpId}</Descriptions.Item>
            <Descriptions.Item label={t('orders.reason')}>{data.refund.reason ?? none}</Descriptions.Item>
            <Descriptions.Item label="user_received_account">{data.refund.userReceivedAccount ?? none}</Descriptions.Item>
            <Descriptions.Item label="channel refund id">{data.refund.channelRefundId ?? none}</Descriptions.Item>
            <Descriptions.Item label="notify_url">{data.refund.notifyUrl ?? none}</Descriptions.Item>
            <Descriptions.Item label={t('records.createdAt')}>{formatTime(data.refund.createdAt)}</Descriptions.Item>
            <Descriptions.Item label="success_time">
              {data.refund.successTime === null ? none : formatTime(data.refund.successTime)}
            </Descriptions.Item>
            {data.refund.settledBy && <Descriptions.Item label={t('refunds.settledBy')}>{data.refund.settledBy}</Descriptions.Item>}
          </Descriptions>
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('orders.history')}
          </Typography.Title>
          <HistoryTable history={data.history} />
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('orders.notifications')}
          </Typography.Title>
          <NotificationsTable notifications={data.notifications} />
          {data.order && (
            <>
              <Typography.Title level={5} style={{ marginTop: 24 }}>
                {t('refunds.order')}
              </Typography.Title>
              <OrderFieldsList order={data.order} />
            </>
          )}
        </>
      )}
    </Drawer>
  );
}

/**
 * SPEC §7 "ABNORMAL refunds": the superapp administrator settles one by hand; super and platform admins see
 * the button disabled (read-only); roles without the capability do not see it.
 */
function SettleRefundButton({ refund }: { refund: RefundDetail['refund'] }) {
  const { t } = useI18n();
  const { levelInTeam } = useConsole();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const level = levelInTeam('refund.settle', refund.superappTeamId);
  if (!level) return null;
  const button = (
    <Button type="primary" danger disabled={level !== 'write'} onClick={() => setOpen(true)} data-testid="settle-refund">
      {t('refunds.settle')}
    </Button>
  );
  return (
    <>
      {level === 'write' ? button : <Tooltip title={t('refunds.settleReadOnly')}>{button}</Tooltip>}
      <FormModal<{ status: 'SUCCESS' | 'CLOSED'; note: string }>
        title={t('refunds.settleTitle', { outRefundNo: refund.outRefundNo })}
        open={open}
        okText={t('refunds.settle')}
        initialValues={{ status: 'SUCCESS' }}
        onClose={() => setOpen(false)}
        onSubmit={async (values) => {
          await recordsApi.settleRefund(refund.id, values);
          await queryClient.invalidateQueries({ queryKey: ['records'] });
        }}
      >
        <Form.Item label={t('refunds.settleStatus')} name="status" rules={[{ required: true }]}>
          <Radio.Group>
            <Radio value="SUCCESS">{t('refunds.settleSuccess')}</Radio>
            <Radio value="CLOSED">{t('refunds.settleClosed')}</Radio>
          </Radio.Group>
        </Form.Item>
        <Form.Item
          label={t('refunds.settleNote')}
          name="note"
          rules={[{ required: true, whitespace: true, message: t('refunds.settleNoteRequired') }]}
        >
          <Input.TextArea rows={3} maxLength={500} showCount data-testid="settle-note" />
        </Form.Item>
      </FormModal>
    </>
  );
}
