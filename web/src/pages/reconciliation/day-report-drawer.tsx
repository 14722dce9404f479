import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Descriptions, Drawer, Popconfirm, Skeleton, Table, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { reconciliationApi, reconciliationQueryKeys, type ReconciliationDayDetail, type Side } from '../../api/reconciliation-api.ts';
import type { Superapp } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { RunStatusTag } from './run-status-tag.tsx';

interface SideRow extends Side {
  key: string;
  currency: string;
  side: string;
}

/** A day's report (SPEC §9.4): per currency and side, counts per outcome, the runs; Re-run for reconciliation.rerun. */
export function DayReportDrawer({ superapp, billDate, onClose }: { superapp: Superapp; billDate: string | null; onClose(): void }) {
  const { t, formatTime } = useI18n();
  const detail = useQuery({
    queryKey: reconciliationQueryKeys.day(superapp.applicationId, billDate ?? ''),
    queryFn: () => reconciliationApi.getDay(superapp.applicationId, billDate!),
    enabled: billDate !== null,
    retry: false,
  });
  const data = detail.data;
  const none = t('common.none');
  const sides = (day: ReconciliationDayDetail): SideRow[] =>
    day.totals.flatMap((row) =>
      (['ours', 'channel', 'difference'] as const).map((side) => ({
        key: `${row.currency}-${side}`,
        currency: row.currency,
        side: t(`reconciliation.${side}`),
        ...row[side],
      })),
    );
  return (
    <Drawer
      open={billDate !== null}
      onClose={onClose}
      size={900}
      title={billDate ? t('reconciliation.reportTitle', { billDate }) : t('reconciliation.report')}
      extra={billDate && <RerunButton superapp={superapp} billDate={billDate} />}
      destroyOnHidden
    >
      <LoadError error={detail.error} />
      {detail.isPending && billDate !== null && <Skeleton active />}
      {data && (
        <>
          <Descriptions size="small" bordered column={2} data-testid="reconciliation-report">
            <Descriptions.Item label={t('reconciliation.status')}>
              <RunStatusTag status={data.status} />
            </Descriptions.Item>
            <Descriptions.Item label={t('reconciliation.attempts')}>{data.attempts}</Descriptions.Item>
            <Descriptions.Item label={t('reconciliation.lines')}>{data.lineNum}</Descriptions.Item>
            <Descriptions.Item label={t('reconciliation.matched')}>{data.matchedNum}</Descriptions.Item>
            <Descriptions.Item
              label={t('reconciliation.exceptionCounts')}
            >{`${data.openExceptionNum} / ${data.exceptionNum}`}</Descriptions.Item>
            <Descriptions.Item label={t('reconciliation.updatedAt')}>
              {data.updatedAt === null ? none : formatTime(data.updatedAt)}
            </Descriptions.Item>
          </Descriptions>
          <Table<SideRow>
            style={{ marginTop: 24 }}
            rowKey="key"
            size="small"
            pagination={false}
            dataSource={sides(data)}
            data-testid="reconciliation-report-totals"
            columns={[
              { title: t('reconciliation.currency'), dataIndex: 'currency' },
              { title: t('reconciliation.side'), dataIndex: 'side' },
              { title: t('reconciliation.paymentCount'), dataIndex: 'paymentCount', align: 'right' },
              { title: t('reconciliation.paymentAmount'), dataIndex: 'paymentAmount', align: 'right' },
              { title: t('reconciliation.refundCount'), dataIndex: 'refundCount', align: 'right' },
              { title: t('reconciliation.refundAmount'), dataIndex: 'refundAmount', align: 'right' },
            ]}
          />
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('reconciliation.outcomes')}
          </Typography.Title>
          <Table
            rowKey={(row) => `${row.kind}-${row.status}`}
            size="small"
            pagination={false}
            dataSource={data.outcomes}
            data-testid="reconciliation-outcomes"
            columns={[
              { title: t('reconciliation.kind'), dataIndex: 'kind' },
              { title: t('reconciliation.status'), dataIndex: 'status' },
              { title: t('reconciliation.count'), dataIndex: 'n', align: 'right' },
            ]}
          />
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('reconciliation.runs')}
          </Typography.Title>
          <Table
            rowKey="connectionId"
            size="small"
            pagination={false}
            dataSource={data.runs}
            data-testid="reconciliation-runs"
            columns={[
              { title: t('reconciliation.connection'), dataIndex: 'connectionId' },
              {
                title: t('reconciliation.status'),
                dataIndex: 'status',
                render: (status: ReconciliationDayDetail['status']) => <RunStatusTag status={status} />,
              },
              { title: t('reconciliation.attempts'), dataIndex: 'attempts', align: 'right' },
              { title: t('reconciliation.lastError'), dataIndex: 'lastError', render: (error: string | null) => error ?? none },
              {
                title: t('reconciliation.finishedAt'),
                dataIndex: 'finishedAt',
                render: (at: number | null) => (at === null ? none : formatTime(at)),
              },
            ]}
          />
        </>
      )}
    </Drawer>
  );
}

/** Re-run (SPEC §9.2): write level only; read-only levels see it disabled; it confirms first, as it may settle refunds. */
function RerunButton({ superapp, billDate }: { superapp: Superapp; billDate: string }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const { levelInTeam } = useConsole();
  const queryClient = useQueryClient();
  const [running, setRunning] = useState(false);
  const level = levelInTeam('reconciliation.rerun', superapp.teamId);
  if (!level) return null;
  const button = (
    <Button danger disabled={level !== 'write'} loading={running} data-testid="reconciliation-rerun">
      {t('reconciliation.rerun')}
    </Button>
  );
  if (level !== 'write') return <Tooltip title={t('reconciliation.rerunWarning')}>{button}</Tooltip>;
  return (
    <Popconfirm
      title={t('reconciliation.rerunConfirm', { billDate })}
      description={<div style={{ maxWidth: 360 }}>{t('reconciliation.rerunWarning')}</div>}
      okText={t('reconciliation.rerun')}
      cancelText={t('common.cancel')}
      onConfirm={async () => {
        setRunning(true);
        try {
          const answer = await reconciliationApi.rerun(superapp.applicationId, billDate);
          message.success(t('reconciliation.rerunStarted', { status: answer.status }));
          await queryClient.invalidateQueries({ queryKey: reconciliationQueryKeys.all });
        } catch (error) {
          message.error(error instanceof Error ? error.message : String(error));
        } finally {
          setRunning(false);
        }
      }}
    >
      {button}
    </Popconfirm>
  );
}
