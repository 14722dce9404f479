import { Button, Descriptions, Flex, Popconfirm, Tag, Typography } from 'antd';
import type { Binding } from '../../api/types.ts';
import { BindingStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

interface EffectiveBindingDetailsProps {
  binding: Binding;
  /** The superapp's currencies the team's payments may use; the first is the default. */
  currencies: string[];
  canManage: boolean;
  onUnbind(binding: Binding): Promise<unknown>;
}

/** The merchant the team's payments go to now, since when, in which currencies; Unbind for a manager. */
export function EffectiveBindingDetails({ binding, currencies, canManage, onUnbind }: EffectiveBindingDetailsProps) {
  const { t, formatTime } = useI18n();
  return (
    <Descriptions column={{ xs: 1, md: 2 }} data-testid="effective-binding">
      <Descriptions.Item label={t('common.status')}>
        <BindingStatusTag status={binding.approvalStatus} />
      </Descriptions.Item>
      <Descriptions.Item label={t('merchants.merchantId')}>
        <Typography.Text code copyable>
          {binding.merchantId}
        </Typography.Text>
      </Descriptions.Item>
      <Descriptions.Item label={t('merchants.merchantName')}>{binding.merchantName}</Descriptions.Item>
      <Descriptions.Item label={t('binding.effectiveSince')}>{formatTime(binding.decidedAt)}</Descriptions.Item>
      <Descriptions.Item label={t('binding.currencies')}>
        <Flex gap={4} wrap>
          {currencies.map((code, index) => (
            <Tag key={code} color={index === 0 ? 'blue' : undefined}>
              {code}
            </Tag>
          ))}
        </Flex>
      </Descriptions.Item>
      {canManage && (
        <Descriptions.Item label={t('common.actions')}>
          <Popconfirm title={t('binding.unbindConfirm')} description={t('binding.unbindWarning')} onConfirm={() => onUnbind(binding)}>
            <Button danger size="small">
              {t('binding.unbind')}
            </Button>
          </Popconfirm>
        </Descriptions.Item>
      )}
    </Descriptions>
  );
}
