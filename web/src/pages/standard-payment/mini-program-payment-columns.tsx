import { Avatar, Button, Flex, Tooltip, Typography, type TableColumnsType } from 'antd';
import { EnablementStatus } from '../../api/payment-status.ts';
import type { MiniProgramPayment } from '../../api/types.ts';
import { SecondaryText } from '../../components/secondary-text.tsx';
import { EnablementStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

/** Statuses from which a mini program may (re-)apply, when its team's binding and the superapp allow it. */
const appliable = new Set<number>([EnablementStatus.NeverApplied, EnablementStatus.Rejected, EnablementStatus.Disabled]);

function StatusCell({ miniProgram }: { miniProgram: MiniProgramPayment }) {
  const { t } = useI18n();
  const note = miniProgram.approvalNote;
  return (
    <Flex vertical gap={4} align="start">
      <EnablementStatusTag status={miniProgram.approvalStatus} />
      {miniProgram.approvalStatus === EnablementStatus.Rejected && (
        <Typography.Text type="danger" data-testid="reviewer-note">
          {t('standardPayment.reviewerNote', { note: note || t('common.none') })}
        </Typography.Text>
      )}
      {miniProgram.approvalStatus === EnablementStatus.Disabled && (
        <Typography.Text type="warning">{t('standardPayment.disabledBySuperapp')}</Typography.Text>
      )}
    </Flex>
  );
}

interface PaymentActionsProps {
  miniProgram: MiniProgramPayment;
  canRequest: boolean;
  canManageCredentials: boolean;
  onApply(miniProgram: MiniProgramPayment): void;
  onShowCredentials(mnpId: string): void;
}

/** Request permission (or re-apply) where the status allows it, explained when disabled; Credentials once it has an account. */
function PaymentActions({ miniProgram, canRequest, canManageCredentials, onApply, onShowCredentials }: PaymentActionsProps) {
  const { t } = useI18n();
  const buttons = [];
  if (canRequest && appliable.has(miniProgram.approvalStatus)) {
    const label =
      miniProgram.approvalStatus === EnablementStatus.NeverApplied ? t('standardPayment.request') : t('standardPayment.reapply');
    const button = (
      <Button key="apply" size="small" type="primary" disabled={miniProgram.applyShow !== 1} onClick={() => onApply(miniProgram)}>
        {label}
      </Button>
    );
    buttons.push(
      miniProgram.applyShow === 1 ? (
        button
      ) : (
        <Tooltip key="apply" title={t('standardPayment.cannotApplyNow')}>
          {button}
        </Tooltip>
      ),
    );
  }
  if (canManageCredentials && miniProgram.mchid !== null) {
    buttons.push(
      <Button key="credentials" size="small" onClick={() => onShowCredentials(miniProgram.mnpId)}>
        {t('standardPayment.credentials')}
      </Button>,
    );
  }
  return buttons.length > 0 ? <Flex gap={8}>{buttons}</Flex> : null;
}

/** The Standard payment table's columns: the mini program, its payment status, its request, its merchant and the actions. */
export function useMiniProgramPaymentColumns(actions: Omit<PaymentActionsProps, 'miniProgram'>): TableColumnsType<MiniProgramPayment> {
  const { t, formatTime } = useI18n();
  return [
    {
      title: t('miniPrograms.name'),
      dataIndex: 'name',
      render: (name: string, miniProgram) => (
        <Flex gap={8} align="center">
          <Avatar shape="square" size="small" src={miniProgram.iconUrl || undefined}>
            {name.slice(0, 1)}
          </Avatar>
          <Flex vertical>
            <Typography.Text strong>{name}</Typography.Text>
            <Typography.Text type="secondary" copyable={{ text: miniProgram.mnpId }} style={{ fontSize: 12 }}>
              {miniProgram.mnpId}
            </Typography.Text>
          </Flex>
        </Flex>
      ),
    },
    { title: t('standardPayment.status'), key: 'status', width: 300, render: (_, miniProgram) => <StatusCell miniProgram={miniProgram} /> },
    {
      title: t('standardPayment.requestMessage'),
      key: 'request',
      render: (_, miniProgram) => (
        <Flex vertical gap={2}>
          <Typography.Text>{miniProgram.applyNote || t('common.none')}</Typography.Text>
          {miniProgram.applyTime > 0 && (
            <SecondaryText>{t('standardPayment.appliedAt', { time: formatTime(miniProgram.applyTime) })}</SecondaryText>
          )}
          {miniProgram.approvalTime > 0 && (
            <SecondaryText>{t('standardPayment.decidedAt', { time: formatTime(miniProgram.approvalTime) })}</SecondaryText>
          )}
        </Flex>
      ),
    },
    {
      title: t('credentials.mchid'),
      dataIndex: 'mchid',
      render: (mchid: string | null) => (mchid ? <Typography.Text code>{mchid}</Typography.Text> : t('common.none')),
    },
    ...(actions.canRequest || actions.canManageCredentials
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, miniProgram: MiniProgramPayment) => <PaymentActions miniProgram={miniProgram} {...actions} />,
          },
        ]
      : []),
  ];
}
