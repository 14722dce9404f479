import { Tag } from 'antd';
import { BindingStatus, EnablementStatus, ExemptionStatus, ItemStatus } from '../api/payment-status.ts';
import { useI18n } from '../i18n/i18n-context.tsx';

const bindingColors: Record<number, string> = {
  [BindingStatus.Pending]: 'processing',
  [BindingStatus.Effective]: 'success',
  [BindingStatus.Rejected]: 'error',
  [BindingStatus.Unbound]: 'default',
};

const enablementColors: Record<number, string> = {
  [EnablementStatus.NeverApplied]: 'default',
  [EnablementStatus.Pending]: 'processing',
  [EnablementStatus.Approved]: 'success',
  [EnablementStatus.Rejected]: 'error',
  [EnablementStatus.Disabled]: 'warning',
};

/** A merchant binding's status (0 pending, 10 effective, 20 rejected, 30 unbound). */
export function BindingStatusTag({ status }: { status: number }) {
  const { t } = useI18n();
  const key = (
    {
      [BindingStatus.Pending]: 'bindingStatus.pending',
      [BindingStatus.Effective]: 'bindingStatus.effective',
      [BindingStatus.Rejected]: 'bindingStatus.rejected',
      [BindingStatus.Unbound]: 'bindingStatus.unbound',
    } as const
  )[status as BindingStatus];
  return <Tag color={bindingColors[status] ?? 'default'}>{key ? t(key) : String(status)}</Tag>;
}

/** A mini program's payment status (-1 never applied, 0 pending, 10 approved, 20 rejected, 30 disabled). */
export function EnablementStatusTag({ status }: { status: number }) {
  const { t } = useI18n();
  const key = (
    {
      [EnablementStatus.NeverApplied]: 'enablementStatus.neverApplied',
      [EnablementStatus.Pending]: 'enablementStatus.pending',
      [EnablementStatus.Approved]: 'enablementStatus.approved',
      [EnablementStatus.Rejected]: 'enablementStatus.rejected',
      [EnablementStatus.Disabled]: 'enablementStatus.disabled',
    } as const
  )[status as EnablementStatus];
  return <Tag color={enablementColors[status] ?? 'default'}>{key ? t(key) : String(status)}</Tag>;
}

const itemStatusTags: Record<
  number,
  { key: 'itemStatus.pending' | 'itemStatus.approved' | 'itemStatus.rejected' | 'itemStatus.offline'; color: string }
> = {
  [ItemStatus.Pending]: { key: 'itemStatus.pending', color: 'processing' },
  [ItemStatus.Approved]: { key: 'itemStatus.approved', color: 'success' },
  [ItemStatus.Rejected]: { key: 'itemStatus.rejected', color: 'error' },
  [ItemStatus.Offline]: { key: 'itemStatus.offline', color: 'default' },
};

/** An item's status (0 PENDING, 10 APPROVED, 20 REJECTED, 30 OFFLINE). */
export function ItemStatusTag({ status }: { status: number }) {
  const { t } = useI18n();
  const tag = itemStatusTags[status];
  return <Tag color={tag?.color ?? 'default'}>{tag ? t(tag.key) : String(status)}</Tag>;
}

const exemptionKeys = {
  [ExemptionStatus.NeverApplied]: 'exemptionStatus.neverApplied',
  [ExemptionStatus.Pending]: 'exemptionStatus.pending',
  [ExemptionStatus.Approved]: 'exemptionStatus.approved',
  [ExemptionStatus.Rejected]: 'exemptionStatus.rejected',
  [ExemptionStatus.Revoked]: 'exemptionStatus.revoked',
} as const;
const exemptionColors: Record<number, string> = { 0: 'processing', 10: 'success', 20: 'error', 30: 'warning' };

/** An approval exemption's status (-1 never requested, 0 pending, 10 approved, 20 rejected, 30 revoked). */
export function ExemptionStatusTag({ status }: { status: number }) {
  const { t } = useI18n();
  const key = exemptionKeys[status as keyof typeof exemptionKeys];
  return <Tag color={exemptionColors[status] ?? 'default'}>{key ? t(key) : String(status)}</Tag>;
}
