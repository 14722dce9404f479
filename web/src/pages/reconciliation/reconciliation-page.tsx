import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Col, Empty, Flex, Form, Input, Row, Select, Table, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import {
  reconciliationApi,
  reconciliationQueryKeys,
  type CurrencyTotals,
  type ReconciliationDay,
  type RunStatus,
  type Side,
} from '../../api/reconciliation-api.ts';
import type { Superapp } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { DayReportDrawer } from './day-report-drawer.tsx';
import { RunStatusTag } from './run-status-tag.tsx';
import { ExceptionsSection } from './exceptions-section.tsx';

interface Range {
  from?: string;
  to?: string;
}

const dateOrUndefined = (value: string | undefined) => (value ? value : undefined);

/** "ours / channel / difference" of one side's amounts in a currency, the difference marked when not zero. */
function TotalsCell({ totals, pick }: { totals: CurrencyTotals[]; pick(side: Side): [number, string] }) {
  return (
    <Flex vertical>
      {totals.map((row) => {
        const [ourCount, ourAmount] = pick(row.ours);
        const [channelCount, channelAmount] = pick(row.channel);
        const [differenceCount, differenceAmount] = pick(row.difference);
        const differs = differenceCount !== 0 || Number(differenceAmount) !== 0;
        return (
          <span key={row.currency}>
            {`${ourAmount} / ${channelAmount} ${row.currency} (${ourCount} / ${channelCount}) `}
            <Typography.Text type={differs ? 'danger' : 'secondary'}>{`Δ ${differenceAmount}`}</Typography.Text>
          </span>
        );
      })}
    </Flex>
  );
}

/**
 * Records → Reconciliation (SPEC §9.4, §9.5): a superapp's reconciled days with their totals, a day's report
 * with Re-run, and the exceptions with filters, Resolve and the CSV export.
 */
export default function ReconciliationPage() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const { level } = useConsole();
  // Mini program roles reach exceptions but no superapp list (superapp.view), so they have no superapp to pick here.
  const seesSuperapps = level('superapp.view') !== undefined;
  const superapps = useQuery({ queryKey: queryKeys.superapps, queryFn: consoleApi.listSuperapps, enabled: seesSuperapps });
  const [chosen, setChosen] = useState<string | null>(null);
  const items: Superapp[] = superapps.data?.items ?? [];
  const superapp = items.find((candidate) => candidate.applicationId === chosen) ?? items[0];
  const [range, setRange] = useState<Range>({});
  const [openDay, setOpenDay] = useState<string | null>(null);
  const [form] = Form.useForm<Range>();

  const days = useQuery({
    queryKey: reconciliationQueryKeys.days(superapp?.applicationId ?? '', range),
    queryFn: () => reconciliationApi.listDays(superapp!.applicationId, range),
    enabled: !!superapp,
    placeholderData: keepPreviousData,
    retry: false,
  });

  const columns: TableColumnsType<ReconciliationDay> = [
    {
      title: t('reconciliation.billDate'),
      dataIndex: 'billDate',
      render: (billDate: string) => (
        <Button type="link" onClick={() => setOpenDay(billDate)} style={{ padding: 0 }}>
          {billDate}
        </Button>
      ),
    },
    { title: t('reconciliation.status'), dataIndex: 'status', render: (status: RunStatus) => <RunStatusTag status={status} /> },
    {
      title: t('reconciliation.totals'),
      key: 'payments',
      render: (_, day) => <TotalsCell totals={day.totals} pick={(side) => [side.paymentCount, side.paymentAmount]} />,
    },
    {
      title: t('reconciliation.refundTotals'),
      key: 'refunds',
      render: (_, day) => <TotalsCell totals={day.totals} pick={(side) => [side.refundCount, side.refundAmount]} />,
    },
    { title: t('reconciliation.matched'), dataIndex: 'matchedNum', align: 'right' },
    {
      title: t('reconciliation.exceptionCounts'),
      key: 'exceptions',
      align: 'right',
      render: (_, day) => (
        <Typography.Text
          type={day.openExceptionNum > 0 ? 'danger' : undefined}
        >{`${day.openExceptionNum} / ${day.exceptionNum}`}</Typography.Text>
      ),
    },
    {
      title: t('common.actions'),
      key: 'report',
      render: (_, day) => (
        <Button type="link" onClick={() => setOpenDay(day.billDate)}>
          {t('reconciliation.report')}
        </Button>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('reconciliation.title')}
        extra={
          <Button onClick={() => void queryClient.invalidateQueries({ queryKey: reconciliationQueryKeys.all })}>
            {t('common.refresh')}
          </Button>
        }
      >
        {items.length > 1 && (
          <Select
            aria-label={t('reconciliation.superapp')}
            value={superapp?.applicationId}
            onChange={(applicationId: string) => {
              setChosen(applicationId);
              setOpenDay(null);
            }}
            // The application ID shows on hover: names of superapps need not differ.
            options={items.map((candidate) => ({ value: candidate.applicationId, label: candidate.name, title: candidate.applicationId }))}
            style={{ minWidth: 240, marginTop: 12 }}
            data-testid="reconciliation-superapp"
          />
        )}
      </PageHeader>
      <LoadError error={superapps.error} />
      {seesSuperapps && superapps.isSuccess && !superapp && <Empty description={t('reconciliation.noSuperapp')} />}
      {!seesSuperapps && <ExceptionsSection />}
      {superapp && (
        <>
          <Typography.Title level={4}>{t('reconciliation.days')}</Typography.Title>
          <Form<Range>
            form={form}
            layout="vertical"
            onFinish={(values) => setRange({ from: dateOrUndefined(values.from), to: dateOrUndefined(values.to) })}
            data-testid="reconciliation-day-range"
          >
            <Row gutter={16} align="bottom">
              <Col xs={12} md={4}>
                <Form.Item name="from" label={t('reconciliation.from')}>
                  <Input type="date" />
                </Form.Item>
              </Col>
              <Col xs={12} md={4}>
                <Form.Item name="to" label={t('reconciliation.to')}>
                  <Input type="date" />
                </Form.Item>
              </Col>
              <Col>
                <Form.Item>
                  <Button type="primary" htmlType="submit">
                    {t('common.search')}
                  </Button>
                </Form.Item>
              </Col>
            </Row>
            <Typography.Paragraph type="secondary">{t('reconciliation.rangeHelp')}</Typography.Paragraph>
          </Form>
          {days.error && (
            <Alert type="error" showIcon title={days.error.message} style={{ marginBottom: 16 }} data-testid="reconciliation-days-error" />
          )}
          <Table<ReconciliationDay>
            rowKey="billDate"
            columns={columns}
            dataSource={days.error ? [] : (days.data?.items ?? [])}
            loading={days.isFetching}
            pagination={false}
            locale={{ emptyText: t('reconciliation.noDays') }}
            data-testid="reconciliation-days"
            size="middle"
          />
          <ExceptionsSection superapp={superapp} />
          <DayReportDrawer superapp={superapp} billDate={openDay} onClose={() => setOpenDay(null)} />
        </>
      )}
    </>
  );
}
