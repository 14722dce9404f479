import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Col, Flex, Form, Input, Row, Select, Table, Tag, Tooltip, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import {
  reconciliationApi,
  reconciliationExceptionKinds,
  reconciliationExceptionStatuses,
  reconciliationQueryKeys,
  type ExceptionFilter,
  type ExceptionKind,
  type ExceptionStatus,
  type ReconciliationException,
} from '../../api/reconciliation-api.ts';
import type { Superapp } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

const pageSize = 20;

interface FilterValues {
  from?: string;
  to?: string;
  kind?: ExceptionKind;
  status?: ExceptionStatus;
  mnpId?: string;
  orderNo?: string;
  refundNo?: string;
}

const trimmed = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

const statusColors: Record<ExceptionStatus, string> = { OPEN: 'error', RESOLVED: 'success', AUTO_RESOLVED: 'default' };

function filterOf(applicationId: string | undefined, values: FilterValues): ExceptionFilter {
  return {
    applicationId,
    from: trimmed(values.from),
    to: trimmed(values.to),
    kind: values.kind,
    status: values.status,
    mnpId: trimmed(values.mnpId),
    orderNo: trimmed(values.orderNo),
    refundNo: trimmed(values.refundNo),
  };
}

const amountOf = (amount: string | null, currency: string | null) => (amount === null ? '—' : `${amount} ${currency ?? ''}`.trim());

/**
 * The exceptions of a superapp (SPEC §9.5): filters, offset pages, Resolve with a note, and the CSV of the filter.
 * Without a superapp (mini program roles), those of the caller's own mini programs, read only.
 */
export function ExceptionsSection({ superapp }: { superapp?: Superapp | undefined }) {
  const { t, formatTime } = useI18n();
  const { levelInTeam } = useConsole();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<FilterValues>();
  const [values, setValues] = useState<FilterValues>({});
  const [page, setPage] = useState(1);
  const [resolving, setResolving] = useState<ReconciliationException | null>(null);
  const filter = filterOf(superapp?.applicationId, values);
  const resolveLevel = superapp ? levelInTeam('reconciliation.resolve', superapp.teamId) : undefined;

  const exceptions = useQuery({
    queryKey: reconciliationQueryKeys.exceptions(filter, (page - 1) * pageSize),
    queryFn: () => reconciliationApi.listExceptions(filter, { offset: (page - 1) * pageSize, limit: pageSize }),
    placeholderData: keepPreviousData,
    retry: false,
  });

  const columns: TableColumnsType<ReconciliationException> = [
    { title: t('reconciliation.billDate'), dataIndex: 'billDate', width: 110 },
    { title: t('reconciliation.kind'), dataIndex: 'kind' },
    {
      title: t('reconciliation.status'),
      dataIndex: 'status',
      render: (status: ExceptionStatus) => <Tag color={statusColors[status]}>{status}</Tag>,
    },
    { title: t('records.miniProgram'), dataIndex: 'mnpId', render: (mnpId: string | null) => mnpId ?? '—', ellipsis: true },
    { title: 'out_trade_no', dataIndex: 'outTradeNo' },
    { title: 'out_refund_no', dataIndex: 'outRefundNo', render: (value: string | null) => value ?? '—' },
    {
      title: t('reconciliation.ourAmount'),
      key: 'ourAmount',
      align: 'right',
      render: (_, row) => amountOf(row.ourAmount, row.currency),
    },
    {
      title: t('reconciliation.channelAmount'),
      key: 'channelAmount',
      align: 'right',
      render: (_, row) => amountOf(row.channelAmount, row.currency),
    },
    { title: t('reconciliation.states'), key: 'states', render: (_, row) => `${row.ourState ?? '—'} / ${row.channelState ?? '—'}` },
    {
      title: t('reconciliation.action'),
      key: 'action',
      width: 240,
      render: (_, row) =>
        row.resolvedBy ? (
          <Tooltip title={row.resolvedAt === null ? undefined : formatTime(row.resolvedAt)}>
            <Typography.Text type="secondary">
              {t('reconciliation.resolved', { by: row.resolvedBy, note: row.resolutionNote ?? '' })}
            </Typography.Text>
          </Tooltip>
        ) : (
          (row.action ?? '—')
        ),
    },
    ...(resolveLevel
      ? [
          {
            title: t('common.actions'),
            key: 'resolve',
            render: (_: unknown, row: ReconciliationException) =>
              row.status === 'OPEN' && (
                <Button type="link" disabled={resolveLevel !== 'write'} onClick={() => setResolving(row)} data-testid="resolve-exception">
                  {t('reconciliation.resolve')}
                </Button>
              ),
          },
        ]
      : []),
  ];

  return (
    <>
      <Flex justify="space-between" align="center" style={{ marginTop: 32 }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('reconciliation.exceptions')}
        </Typography.Title>
        <Button href={reconciliationApi.csvUrl(filter)} download data-testid="reconciliation-csv">
          {t('reconciliation.exportCsv')}
        </Button>
      </Flex>
      <Form<FilterValues>
        form={form}
        layout="vertical"
        style={{ marginTop: 16 }}
        onFinish={(next) => {
          setValues(next);
          setPage(1);
        }}
        data-testid="reconciliation-filters"
      >
        <Row gutter={16}>
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
          <Col xs={12} md={5}>
            <Form.Item name="kind" label={t('reconciliation.kind')}>
              <Select
                allowClear
                placeholder={t('reconciliation.anyKind')}
                options={reconciliationExceptionKinds.map((kind) => ({ value: kind, label: kind }))}
              />
            </Form.Item>
          </Col>
          <Col xs={12} md={4}>
            <Form.Item name="status" label={t('reconciliation.status')}>
              <Select
                allowClear
                placeholder={t('reconciliation.anyStatus')}
                options={reconciliationExceptionStatuses.map((status) => ({ value: status, label: status }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={7}>
            <Form.Item name="mnpId" label={t('reconciliation.miniProgram')}>
              <Input allowClear />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item name="orderNo" label={t('reconciliation.orderNo')}>
              <Input allowClear />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item name="refundNo" label={t('reconciliation.refundNo')}>
              <Input allowClear />
            </Form.Item>
          </Col>
        </Row>
        <Flex gap={8} align="center" style={{ marginBottom: 16 }}>
          <Button type="primary" htmlType="submit">
            {t('records.search')}
          </Button>
          <Button
            onClick={() => {
              form.resetFields();
              setValues({});
              setPage(1);
            }}
          >
            {t('records.reset')}
          </Button>
          {exceptions.data && (
            <Typography.Text type="secondary" data-testid="reconciliation-total">
              {t('reconciliation.total', { count: exceptions.data.total })}
            </Typography.Text>
          )}
        </Flex>
      </Form>
      {exceptions.error && (
        <Alert type="error" showIcon title={exceptions.error.message} style={{ marginBottom: 16 }} data-testid="reconciliation-error" />
      )}
      <Table<ReconciliationException>
        rowKey="id"
        columns={columns}
        dataSource={exceptions.error ? [] : (exceptions.data?.items ?? [])}
        loading={exceptions.isFetching}
        pagination={{ current: page, pageSize, total: exceptions.data?.total ?? 0, onChange: setPage, showSizeChanger: false }}
        locale={{ emptyText: t('reconciliation.noExceptions') }}
        data-testid="reconciliation-exceptions"
        size="middle"
        scroll={{ x: true }}
      />
      <FormModal<{ note: string }>
        title={resolving ? t('reconciliation.resolveTitle', { outTradeNo: resolving.outTradeNo }) : ''}
        open={resolving !== null}
        okText={t('reconciliation.resolve')}
        onClose={() => setResolving(null)}
        onSubmit={async ({ note }) => {
          await reconciliationApi.resolve(superapp!.applicationId, resolving!.id, note.trim());
          await queryClient.invalidateQueries({ queryKey: reconciliationQueryKeys.all });
        }}
      >
        <Form.Item
          label={t('reconciliation.note')}
          name="note"
          rules={[{ required: true, whitespace: true, message: t('reconciliation.noteRequired') }]}
        >
          <Input.TextArea rows={3} maxLength={500} showCount data-testid="resolve-note" />
        </Form.Item>
      </FormModal>
    </>
  );
}
