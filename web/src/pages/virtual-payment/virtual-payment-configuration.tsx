import { App as AntApp, Alert, Button, Card, Descriptions, Flex, Form, Input, Skeleton, Typography } from 'antd';
import { useState } from 'react';
import { EnablementStatus } from '../../api/payment-status.ts';
import type { EnablementDescription, VirtualDeliveryView } from '../../api/types.ts';
import { virtualPaymentApi } from '../../api/virtual-payment-api.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { EnablementStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import type { useVirtualPayment } from './use-virtual-payment.ts';

type VirtualPayment = ReturnType<typeof useVirtualPayment>;

/** A request with a message to the superapp's reviewer (virtual payment, or the item approval exemption). */
export function ApplyNoteModal({
  title,
  open,
  onSubmit,
  onClose,
}: {
  title: string;
  open: boolean;
  onSubmit(applyNote: string): Promise<unknown>;
  onClose(): void;
}) {
  const { t } = useI18n();
  return (
    <FormModal<{ applyNote: string }>
      title={title}
      open={open}
      okText={t('standardPayment.confirm')}
      onClose={onClose}
      onSubmit={(values) => onSubmit(values.applyNote)}
    >
      <Form.Item
        label={t('virtualPayment.requestNote')}
        name="applyNote"
        rules={[{ required: true, whitespace: true, message: t('virtualPayment.requestNoteRequired') }]}
      >
        <Input.TextArea rows={4} maxLength={500} showCount placeholder={t('virtualPayment.requestNotePlaceholder')} />
      </Form.Item>
    </FormModal>
  );
}

const reapplicable: number[] = [EnablementStatus.NeverApplied, EnablementStatus.Rejected, EnablementStatus.Disabled];

/** The virtual payment permission: its approval state, and Request permission for the MP Administrator. */
function PermissionCard({ status, virtualPayment }: { status: EnablementDescription | undefined; virtualPayment: VirtualPayment }) {
  const { t, formatTime } = useI18n();
  const [applying, setApplying] = useState(false);
  const { can, actions } = virtualPayment;
  const state = status?.approvalStatus;
  return (
    <Card title={t('virtualPayment.permission')} size="small" data-testid="virtual-payment-permission">
      <LoadError error={virtualPayment.status.error} />
      {status ? (
        <Descriptions column={{ xs: 1, lg: 2 }} size="small">
          <Descriptions.Item label={t('virtualPayment.state')}>
            <EnablementStatusTag status={status.approvalStatus} />
          </Descriptions.Item>
          {status.applyTime > 0 && (
            <Descriptions.Item label={t('virtualPayment.appliedAt')}>{formatTime(status.applyTime)}</Descriptions.Item>
          )}
          {status.approvalTime > 0 && (
            <Descriptions.Item label={t('virtualPayment.decidedAt')}>{formatTime(status.approvalTime)}</Descriptions.Item>
          )}
          {status.approvalNote && <Descriptions.Item label={t('virtualPayment.reviewerNote')}>{status.approvalNote}</Descriptions.Item>}
        </Descriptions>
      ) : (
        virtualPayment.status.isPending && <Skeleton active paragraph={{ rows: 1 }} />
      )}
      {state !== undefined && reapplicable.includes(state) && (
        <Flex gap={8} align="center" style={{ marginTop: 12 }}>
          {can.request ? (
            <Button type="primary" onClick={() => setApplying(true)}>
              {state === EnablementStatus.NeverApplied ? t('virtualPayment.request') : t('virtualPayment.reapply')}
            </Button>
          ) : (
            <Typography.Text type="secondary">{t('virtualPayment.requestAdminOnly')}</Typography.Text>
          )}
        </Flex>
      )}
      <ApplyNoteModal
        title={t('virtualPayment.requestTitle')}
        open={applying}
        onSubmit={actions.requestPermission}
        onClose={() => setApplying(false)}
      />
    </Card>
  );
}

const maskedAppKey = '•'.repeat(32);

/** The AppKey: masked; revealed and copied by the MP Administrator and Senior developers, who may also reset it. */
function AppKeyField({ mnpId, canManage, onReset }: { mnpId: string; canManage: boolean; onReset(): Promise<unknown> }) {
  const { t } = useI18n();
  const { message, modal } = AntApp.useApp();
  const [appKey, setAppKey] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const reveal = async () => {
    setLoading(true);
    try {
      setAppKey((await virtualPaymentApi.getAppKey(mnpId)).appKey);
    } catch (error) {
      message.error((error as Error).message);
    } finally {
      setLoading(false);
    }
  };
  const reset = () =>
    modal.confirm({
      title: t('virtualPayment.resetConfirmTitle'),
      content: t('virtualPayment.resetConfirmBody'),
      okText: t('virtualPayment.resetConfirm'),
      okButtonProps: { danger: true },
      cancelText: t('common.cancel'),
      onOk: async () => {
        try {
          const issued = await virtualPaymentApi.resetAppKey(mnpId);
          setAppKey(issued.appKey);
          message.success(t('virtualPayment.resetDone'));
          await onReset();
        } catch (error) {
          message.error((error as Error).message);
        }
      },
    });

  if (!canManage) return <Typography.Text type="secondary">{t('virtualPayment.appKeyNoAccess')}</Typography.Text>;
  return (
    <Flex gap={8} align="center" wrap>
      {appKey ? (
        <Typography.Text code copyable data-testid="app-key">
          {appKey}
        </Typography.Text>
      ) : (
        <Typography.Text code data-testid="app-key">
          {maskedAppKey}
        </Typography.Text>
      )}
      {appKey ? (
        <Button size="small" onClick={() => setAppKey(null)}>
          {t('virtualPayment.hide')}
        </Button>
      ) : (
        <Button size="small" loading={loading} onClick={() => void reveal()}>
          {t('virtualPayment.reveal')}
        </Button>
      )}
      <Button size="small" danger onClick={reset}>
        {t('virtualPayment.resetAppKey')}
      </Button>
    </Flex>
  );
}

/** The virtual payment account (OfferId, mchid, AppKey) and the delivery URL. */
function AccountCard({ view, virtualPayment }: { view: VirtualDeliveryView; virtualPayment: VirtualPayment }) {
  const { t, formatTime } = useI18n();
  const [editing, setEditing] = useState(false);
  const { can, actions, refresh } = virtualPayment;
  const account = view.account;
  return (
    <Card title={t('virtualPayment.account')} size="small" data-testid="virtual-payment-account">
      {!can.manageDelivery && (
        <Alert
          type="info"
          showIcon
          title={t('virtualPayment.readOnly')}
          style={{ marginBottom: 16 }}
          data-testid="virtual-payment-read-only"
        />
      )}
      {account ? (
        <Descriptions column={1} bordered size="small">
          <Descriptions.Item label={t('virtualPayment.offerId')}>
            <Typography.Text code copyable data-testid="offer-id">
              {account.offerId}
            </Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('virtualPayment.mchid')}>
            <Typography.Text code copyable>
              {account.mchid}
            </Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('virtualPayment.appKey')}>
            <Flex vertical gap={4}>
              <AppKeyField key={view.mnpId} mnpId={view.mnpId} canManage={can.manageAppKey} onReset={refresh} />
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('virtualPayment.appKeySetAt', { time: formatTime(account.appKeySetAt), generation: account.appKeyGeneration })}
              </Typography.Text>
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('virtualPayment.appKeyHelp')}
              </Typography.Text>
            </Flex>
          </Descriptions.Item>
          <Descriptions.Item label={t('virtualPayment.deliveryUrl')}>
            <Flex vertical gap={4} align="start">
              <Flex gap={8} align="center" wrap>
                {view.deliveryUrl ? (
                  <Typography.Text copyable data-testid="delivery-url">
                    {view.deliveryUrl}
                  </Typography.Text>
                ) : (
                  <Typography.Text type="warning" data-testid="delivery-url">
                    {t('virtualPayment.deliveryUrlNotSet')}
                  </Typography.Text>
                )}
                {can.manageDelivery && (
                  <Button size="small" onClick={() => setEditing(true)}>
                    {t('virtualPayment.editDeliveryUrl')}
                  </Button>
                )}
              </Flex>
              {view.deliveryUrlUpdatedAt !== null && (
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {t('virtualPayment.deliveryUrlUpdatedAt', { time: formatTime(view.deliveryUrlUpdatedAt) })}
                </Typography.Text>
              )}
            </Flex>
          </Descriptions.Item>
        </Descriptions>
      ) : (
        <Typography.Text type="secondary">{t('virtualPayment.noAccount')}</Typography.Text>
      )}
      <FormModal<{ deliveryUrl: string }>
        title={t('virtualPayment.editDeliveryUrl')}
        open={editing}
        okText={t('common.save')}
        initialValues={{ deliveryUrl: view.deliveryUrl ?? '' }}
        onClose={() => setEditing(false)}
        onSubmit={(values) => actions.setDeliveryUrl(values.deliveryUrl)}
      >
        <Form.Item
          label={t('virtualPayment.deliveryUrl')}
          name="deliveryUrl"
          extra={t('virtualPayment.deliveryUrlHelp')}
          rules={[{ required: true, whitespace: true, message: t('virtualPayment.deliveryUrlRequired') }]}
        >
          <Input maxLength={1024} placeholder="https://merchant.example.com/virtual-payment/delivery" />
        </Form.Item>
      </FormModal>
    </Card>
  );
}

/** Basic configuration: Request permission, then the account, the AppKey and the delivery URL. */
export function VirtualPaymentConfiguration({ virtualPayment }: { virtualPayment: VirtualPayment }) {
  const { config, status, can } = virtualPayment;
  return (
    <Flex vertical gap={16}>
      <PermissionCard status={status.data} virtualPayment={virtualPayment} />
      {can.viewConfig && <LoadError error={config.error} />}
      {can.viewConfig && config.isPending && <Skeleton active />}
      {config.data && <AccountCard view={config.data} virtualPayment={virtualPayment} />}
    </Flex>
  );
}
