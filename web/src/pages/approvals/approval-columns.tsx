import { Button, Flex, Popconfirm, Tag, Typography, type TableColumnsType } from 'antd';
import { BindingStatus, EnablementStatus, ExemptionStatus } from '../../api/payment-status.ts';
import type { ApprovalItem } from '../../api/types.ts';
import { SecondaryText } from '../../components/secondary-text.tsx';
import { BindingStatusTag, EnablementStatusTag, ExemptionStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import type { ApprovalTab, Decision } from './use-approvals.ts';

interface ApprovalActionsProps {
  item: ApprovalItem;
  onDecide(decision: Decision): void;
  /** Disables an approved payment or unbinds an effective binding. */
  onEnd(item: ApprovalItem): Promise<unknown>;
}

/** Approve and Reject while pending; afterwards, Disable payment, Revoke exemption or Unbind while what was approved stands. */
function ApprovalActions({ item, onDecide, onEnd }: ApprovalActionsProps) {
  const { t } = useI18n();
  if (item.approvalStatus === 0) {
    return (
      <Flex gap={8}>
        <Button size="small" type="primary" onClick={() => onDecide({ item, approve: true })}>
          {t('approvals.approve')}
        </Button>
        <Button size="small" danger onClick={() => onDecide({ item, approve: false })}>
          {t('approvals.reject')}
        </Button>
      </Flex>
    );
  }
  // An exemption is revoked by its mini program, not by a record id.
  if (item.kind === 'item_exemption' && item.approvalStatus === ExemptionStatus.Approved && item.mnpId) {
    return (
      <Popconfirm title={t('approvals.revokeExemptionConfirm', { mnpId: item.mnpId })} onConfirm={() => onEnd(item)}>
        <Button size="small" danger>
          {t('approvals.revokeExemption')}
        </Button>
      </Popconfirm>
    );
  }
  if (item.id === null) return null;
  if (item.kind === 'payment_enable' && item.approvalStatus === EnablementStatus.Approved) {
    return (
      <Popconfirm title={t('approvals.disableConfirm', { mnpId: item.mnpId ?? '' })} onConfirm={() => onEnd(item)}>
        <Button size="small" danger>
          {t('approvals.disablePayment')}
        </Button>
      </Popconfirm>
    );
  }
  if (item.kind === 'virtual_payment_enable' && item.approvalStatus === EnablementStatus.Approved) {
    return (
      <Popconfirm title={t('approvals.disableVirtualConfirm', { mnpId: item.mnpId ?? '' })} onConfirm={() => onEnd(item)}>
        <Button size="small" danger>
          {t('approvals.disablePayment')}
        </Button>
      </Popconfirm>
    );
  }
  if (item.kind === 'merchant_binding' && item.approvalStatus === BindingStatus.Effective) {
    return (
      <Popconfirm title={t('approvals.unbindConfirm', { merchantId: item.merchantId })} onConfirm={() => onEnd(item)}>
        <Button size="small" danger>
          {t('approvals.unbind')}
        </Button>
      </Popconfirm>
    );
  }
  return null;
}

const kindColors: Record<ApprovalItem['kind'], string> = {
  merchant_binding: 'geekblue',
  payment_enable: 'purple',
  virtual_payment_enable: 'magenta',
  virtual_item: 'cyan',
  item_exemption: 'orange',
};

/** A request's status in its kind's own words (an item revision and an exemption share pending/approved/rejected). */
function ApprovalStatusTag({ item }: { item: ApprovalItem }) {
  const { t } = useI18n();
  switch (item.kind) {
    case 'payment_enable':
    case 'virtual_payment_enable':
      return <EnablementStatusTag status={item.approvalStatus} />;
    case 'item_exemption':
      return <ExemptionStatusTag status={item.approvalStatus} />;
    case 'virtual_item':
      // A revision ends withdrawn (30) when a newer one replaces it; otherwise it reads as an exemption does.
      return item.approvalStatus === 30 ? <Tag>{t('revisionStatus.withdrawn')}</Tag> : <ExemptionStatusTag status={item.approvalStatus} />;
    default:
      return <BindingStatusTag status={item.approvalStatus} />;
  }
}

interface ApprovalColumnsOptions extends Omit<ApprovalActionsProps, 'item'> {
  tab: ApprovalTab;
  /** Only deciders get the Actions column. */
  canDecide: boolean;
  miniProgramNames: Map<string, string>;
  teamName(teamId: string): string;
}

/** The Approvals table's columns: the request, who asks, their note, the status and, for deciders, the actions. */
export function useApprovalColumns({
  tab,
  canDecide,
  miniProgramNames,
  teamName,
  onDecide,
  onEnd,
}: ApprovalColumnsOptions): TableColumnsType<ApprovalItem> {
  const { t, formatTime } = useI18n();
  return [
    {
      title: t('approvals.request'),
      key: 'request',
      render: (_, item) => (
        <Flex vertical gap={2} align="start">
          <Tag color={kindColors[item.kind]}>{t(`approvalKind.${item.kind}`)}</Tag>
          {item.productId && <Typography.Text code>{t('approvals.productIs', { productId: item.productId })}</Typography.Text>}
          <SecondaryText>{item.approvalNo}</SecondaryText>
        </Flex>
      ),
    },
    {
      title: t('approvals.from'),
      key: 'from',
      render: (_, item) => (
        <Flex vertical gap={2}>
          {item.mnpId && miniProgramNames.has(item.mnpId) && <Typography.Text strong>{miniProgramNames.get(item.mnpId)}</Typography.Text>}
          {item.mnpId && (
            <Typography.Text copyable={{ text: item.mnpId }} style={{ fontSize: 12 }}>
              {item.mnpId}
            </Typography.Text>
          )}
          <SecondaryText>{t('approvals.teamOf', { team: teamName(item.teamId) })}</SecondaryText>
          <SecondaryText>{t('approvals.merchantIs', { merchantId: item.merchantId, merchantName: item.merchantName })}</SecondaryText>
        </Flex>
      ),
    },
    {
      title: t('approvals.applyNote'),
      key: 'applyNote',
      width: 240,
      render: (_, item) => (
        <Flex vertical gap={2}>
          <Typography.Text>{item.applyNote || t('common.none')}</Typography.Text>
          <SecondaryText>{t('approvals.requestedAt', { time: formatTime(item.applyTime) })}</SecondaryText>
        </Flex>
      ),
    },
    {
      title: t('common.status'),
      key: 'status',
      width: tab === 'decided' ? 220 : undefined,
      render: (_, item) => (
        <Flex vertical gap={2} align="start">
          <ApprovalStatusTag item={item} />
          {item.approvalTime !== null && <SecondaryText>{t('approvals.decidedAt', { time: formatTime(item.approvalTime) })}</SecondaryText>}
          {item.approvalNote && <Typography.Text>{t('approvals.noteIs', { note: item.approvalNote })}</Typography.Text>}
        </Flex>
      ),
    },
    ...(canDecide
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            fixed: 'right' as const,
            render: (_: unknown, item: ApprovalItem) => <ApprovalActions item={item} onDecide={onDecide} onEnd={onEnd} />,
          },
        ]
      : []),
  ];
}
