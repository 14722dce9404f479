import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Card, Descriptions, Empty, Flex, Form, Input, Popconfirm, Radio, Select, Skeleton, Table, Tag, Timeline, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys, type MerchantFields } from '../../api/console-api.ts';
import { BindingStatus } from '../../api/payment-status.ts';
import type { Binding, BindingRecord } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { BindingStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

type Source = 'pick' | 'type';

interface RequestValues {
  source: Source;
  picked?: string;
  merchantId?: string;
  merchantName?: string;
}

/** The merchant fields of a request: typed, or the picked list entry (its value is the merchant ID). */
function merchantOf(values: RequestValues, pickable: MerchantFields[]): MerchantFields {
  if (values.source === 'pick') {
    const picked = pickable.find((merchant) => merchant.merchantId === values.picked);
    return { merchantId: picked?.merchantId ?? values.picked ?? '', merchantName: picked?.merchantName ?? '' };
  }
  return { merchantId: (values.merchantId ?? '').trim(), merchantName: (values.merchantName ?? '').trim() };
}

function RequestFormItems({ pickable }: { pickable: MerchantFields[] }) {
  const { t } = useI18n();
  const source = Form.useWatch<Source>('source');
  return (
    <>
      <Form.Item name="source" label={t('binding.source')}>
        <Radio.Group
          options={[
            { value: 'pick', label: t('binding.sourcePick') },
            { value: 'type', label: t('binding.sourceType') },
          ]}
        />
      </Form.Item>
      {source === 'type' ? (
        <>
          <Form.Item label={t('merchants.merchantId')} name="merchantId" extra={t('binding.typeHelp')} rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
            <Input maxLength={32} autoComplete="off" />
          </Form.Item>
          <Form.Item label={t('merchants.merchantName')} name="merchantName" rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
            <Input maxLength={100} autoComplete="off" />
          </Form.Item>
        </>
      ) : (
        <Form.Item label={t('binding.merchant')} name="picked" rules={[{ required: true, message: t('common.required') }]}>
          <Select
            showSearch={{ optionFilterProp: 'label' }}
            notFoundContent={t('binding.noPickable')}
            options={pickable.map((merchant) => ({ value: merchant.merchantId, label: `${merchant.merchantId} — ${merchant.merchantName}` }))}
          />
        </Form.Item>
      )}
    </>
  );
}

const bindingEvents = ['request', 'request_change', 'approve', 'reject', 'unbind', 'replace'] as const;
type BindingEvent = (typeof bindingEvents)[number];
const isBindingEvent = (event: string): event is BindingEvent => (bindingEvents as readonly string[]).includes(event);

function History({ record }: { record: BindingRecord }) {
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

/** Mini program team → Commercialization → Bind merchant (SPEC §2.1, §5). */
export default function BindMerchantPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { currentTeam, level } = useConsole();
  const team = currentTeam!;
  const queryClient = useQueryClient();
  const canManage = level('merchant_binding.manage') === 'write';
  const [requesting, setRequesting] = useState<'bind' | 'change' | null>(null);

  const overview = useQuery({ queryKey: queryKeys.binding(team.id), queryFn: () => consoleApi.getBindingOverview(team.id) });
  const records = useQuery({ queryKey: [...queryKeys.binding(team.id), 'records'], queryFn: () => consoleApi.listBindingRecords(team.id) });
  const pickable = useQuery({
    queryKey: [...queryKeys.binding(team.id), 'pickable'],
    queryFn: () => consoleApi.listPickableMerchants(team.id),
    enabled: canManage && requesting !== null,
  });
  // A binding change disables or re-points the team's mini programs: their payment view follows.
  const refresh = () => Promise.all([queryClient.invalidateQueries({ queryKey: queryKeys.binding(team.id) }), queryClient.invalidateQueries({ queryKey: queryKeys.miniProgramPayments(team.id) })]);

  const unbind = useMutation({
    mutationFn: (binding: Binding) => consoleApi.unbindByTeam(team.id, binding.id),
    onSuccess: async () => {
      message.success(t('binding.unbound'));
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });

  const data = overview.data;
  const effective = data?.effective ?? null;
  const pending = data?.pending ?? null;
  const latest = data?.latest ?? null;
  const lastRejected = !pending && latest?.approvalStatus === BindingStatus.Rejected ? latest : null;

  const secondary = (text: string) => (
    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
      {text}
    </Typography.Text>
  );

  const columns: TableColumnsType<BindingRecord> = [
    {
      title: t('binding.requestKind'),
      key: 'request',
      render: (_, record) => (
        <Flex vertical gap={2}>
          <Typography.Text>{t(`binding.requestKind.${record.requestKind}`)}</Typography.Text>
          {secondary(record.approvalNo)}
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
          {secondary(record.merchantName)}
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
          {record.endReason && secondary(`${t(`binding.endReason.${record.endReason}`)} · ${formatTime(record.endedAt)}`)}
        </Flex>
      ),
    },
    {
      title: t('binding.dates'),
      key: 'dates',
      render: (_, record) => (
        <Flex vertical gap={2}>
          {secondary(t('approvals.requestedAt', { time: formatTime(record.requestedAt) }))}
          {record.decidedAt !== null && secondary(t('approvals.decidedAt', { time: formatTime(record.decidedAt) }))}
        </Flex>
      ),
    },
  ];

  const requestButton = canManage && !pending && (
    <Button type={effective ? 'default' : 'primary'} onClick={() => setRequesting(effective ? 'change' : 'bind')}>
      {effective ? t('binding.change') : t('binding.request')}
    </Button>
  );

  return (
    <>
      <PageHeader title={t('binding.title', { team: team.name })} />
      {!canManage && <Alert type="info" showIcon title={t('binding.readOnly')} style={{ marginBottom: 16 }} data-testid="binding-read-only" />}
      <LoadError error={overview.error} />
      {data && !data.superappPaymentEnabled && <Alert type="warning" showIcon title={t('binding.superappPaymentOff')} style={{ marginBottom: 16 }} />}
      {pending && (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 16 }}
          title={t(pending.requestKind === 'change' ? 'binding.pendingChange' : 'binding.pendingBind', { merchant: `${pending.merchantId} — ${pending.merchantName}`, time: formatTime(pending.requestedAt) })}
        />
      )}
      {lastRejected && (
        <Alert
          type="error"
          showIcon
          style={{ marginBottom: 16 }}
          title={t('binding.lastRejected', { merchant: `${lastRejected.merchantId} — ${lastRejected.merchantName}` })}
          description={t('binding.reviewerNote', { note: lastRejected.approvalNote || t('common.none') })}
        />
      )}

      <Card title={t('binding.current')} extra={requestButton} style={{ marginBottom: 24 }}>
        {overview.isPending ? (
          <Skeleton active />
        ) : effective ? (
          <Descriptions column={{ xs: 1, md: 2 }} data-testid="effective-binding">
            <Descriptions.Item label={t('common.status')}>
              <BindingStatusTag status={effective.approvalStatus} />
            </Descriptions.Item>
            <Descriptions.Item label={t('merchants.merchantId')}>
              <Typography.Text code copyable>
                {effective.merchantId}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('merchants.merchantName')}>{effective.merchantName}</Descriptions.Item>
            <Descriptions.Item label={t('binding.effectiveSince')}>{formatTime(effective.decidedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('binding.currencies')}>
              <Flex gap={4} wrap>
                {data!.currencies.map((code, index) => (
                  <Tag key={code} color={index === 0 ? 'blue' : undefined}>
                    {code}
                  </Tag>
                ))}
              </Flex>
            </Descriptions.Item>
            {canManage && (
              <Descriptions.Item label={t('common.actions')}>
                <Popconfirm title={t('binding.unbindConfirm')} description={t('binding.unbindWarning')} onConfirm={() => unbind.mutateAsync(effective)}>
                  <Button danger size="small">
                    {t('binding.unbind')}
                  </Button>
                </Popconfirm>
              </Descriptions.Item>
            )}
          </Descriptions>
        ) : (
          <Empty description={t('binding.noneEffective')} />
        )}
      </Card>

      <Card title={t('binding.records')}>
        <LoadError error={records.error} />
        <Table<BindingRecord>
          rowKey="id"
          columns={columns}
          dataSource={records.data?.items}
          loading={records.isPending}
          expandable={{ expandedRowRender: (record) => <History record={record} /> }}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
        />
      </Card>

      <FormModal<RequestValues>
        title={requesting === 'change' ? t('binding.change') : t('binding.request')}
        open={requesting !== null}
        okText={t('binding.submit')}
        initialValues={{ source: 'pick' }}
        onClose={() => setRequesting(null)}
        onSubmit={async (values) => {
          const merchant = merchantOf(values, pickable.data?.items ?? []);
          if (requesting === 'change') await consoleApi.requestBindingChange(team.id, merchant);
          else await consoleApi.requestBinding(team.id, merchant);
          message.success(t('binding.requested'));
          await refresh();
        }}
      >
        {requesting === 'change' && effective && <Alert type="info" showIcon title={t('binding.changeHelp', { merchantId: effective.merchantId })} style={{ marginBottom: 16 }} />}
        <LoadError error={pickable.error} />
        <RequestFormItems pickable={pickable.data?.items ?? []} />
      </FormModal>
    </>
  );
}
