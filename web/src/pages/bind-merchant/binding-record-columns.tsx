import { Flex, Timeline, Typography, type TableColumnsType } from 'antd';
import type { BindingRecord } from '../../api/types.ts';
import { SecondaryText } from '../../components/secondary-text.tsx';
import { BindingStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

const bindingEvents = ['request', 'request_change', 'approve', 'reject', 'unbind', 'replace'] as const;
type BindingEvent = (typeof bindingEvents)[number];
const isBindingEvent = (event: string): event is BindingEvent => (bindingEvents as readonly string[]).includes(event);

/** A binding record's expanded row: what happened to it, when and by whom. */
export function BindingHistory({ record }: { record: BindingRecord }) {
  const { t, formatTime } = useI18n();
  return (
    <Timeline
      style={{ marginTop: 8, marginBottom: -16 }}
      items={record.history.map((entry) => ({
        content: (
          <>
            <Typography.Text strong>{isBindingEvent(entry.event) ? t(`bindingEvent.${entry.event}`) : entry.event}</Typography.Text>{' '}
            <Typography.Text type="secondary">
              {formatTime(entry.at)} · {entry.actorAccount}
            </Typography.Text>
            {entry.note && <div>{entry.note}</div>}
          </>
        ),
      }))}
    />
  );
}

/** The binding records table's columns: the request, the merchant, the status and how it ended, the dates. */
export function useBindingRecordColumns(): TableColumnsType<BindingRecord> {
  const { t, formatTime } = useI18n();
  return [
    {
      title: t('binding.requestKind'),
      key: 'request',
      render: (_, record) => (
        <Flex vertical gap={2}>
          <Typography.Text>{t(`binding.requestKind.${record.requestKind}`)}</Typography.Text>
          <SecondaryText>{record.approvalNo}</SecondaryText>
        </Flex>
      ),
    },
    {
      title: t('approvals.merchant'),
      key: 'merchant',
      render: (_, record) => (
        <Flex vertical gap={2}>
          <Typography.Text code style={{ alignSelf: 'start' }}>
            {record.merchantId}
          </Typography.Text>
          <SecondaryText>{record.merchantName}</SecondaryText>
        </Flex>
      ),
    },
    {
      title: t('common.status'),
      key: 'status',
      render: (_, record) => (
        <Flex vertical gap={2} align="start">
          <BindingStatusTag status={record.approvalStatus} />
          {record.approvalNote && <Typography.Text>{t('binding.reviewerNote', { note: record.approvalNote })}</Typography.Text>}
          {record.endReason && (
            <SecondaryText>{`${t(`binding.endReason.${record.endReason}`)} · ${formatTime(record.endedAt)}`}</SecondaryText>
          )}
        </Flex>
      ),
    },
    {
      title: t('binding.dates'),
      key: 'dates',
      render: (_, record) => (
        <Flex vertical gap={2}>
          <SecondaryText>{t('approvals.requestedAt', { time: formatTime(record.requestedAt) })}</SecondaryText>
          {record.decidedAt !== null && <SecondaryText>{t('approvals.decidedAt', { time: formatTime(record.decidedAt) })}</SecondaryText>}
        </Flex>
      ),
    },
  ];
}
