import { Alert, Button, Card, Empty, Skeleton, Table } from 'antd';
import { useState } from 'react';
import type { BindingRecord } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { BindingHistory, useBindingRecordColumns } from './binding-record-columns.tsx';
import { BindingRequestModal } from './binding-request-modal.tsx';
import { EffectiveBindingDetails } from './effective-binding-details.tsx';
import { useBindMerchant, type BindingRequestKind } from './use-bind-merchant.ts';

/** Mini program team → Commercialization → Bind merchant (SPEC §2.1, §5). */
export default function BindMerchantPage() {
  const { t, formatTime } = useI18n();
  const { currentTeam, level } = useConsole();
  const team = currentTeam!;
  const canManage = level('merchant_binding.manage') === 'write';
  const [requesting, setRequesting] = useState<BindingRequestKind | null>(null);
  const binding = useBindMerchant(team.id, { pickableNeeded: canManage && requesting !== null });
  const { overview, records, pickable, effective, pending, lastRejected } = binding;
  const columns = useBindingRecordColumns();
  const data = overview.data;

  const requestButton = canManage && !pending && (
    <Button type={effective ? 'default' : 'primary'} onClick={() => setRequesting(effective ? 'change' : 'bind')}>
      {effective ? t('binding.change') : t('binding.request')}
    </Button>
  );

  return (
    <>
      <PageHeader title={t('binding.title', { team: team.name })} />
      {!canManage && (
        <Alert type="info" showIcon title={t('binding.readOnly')} style={{ marginBottom: 16 }} data-testid="binding-read-only" />
      )}
      <LoadError error={overview.error} />
      {data && !data.superappPaymentEnabled && (
        <Alert type="warning" showIcon title={t('binding.superappPaymentOff')} style={{ marginBottom: 16 }} />
      )}
      {pending && (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 16 }}
          title={t(pending.requestKind === 'change' ? 'binding.pendingChange' : 'binding.pendingBind', {
            merchant: `${pending.merchantId} — ${pending.merchantName}`,
            time: formatTime(pending.requestedAt),
          })}
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
          <EffectiveBindingDetails
            binding={effective}
            currencies={data!.currencies}
            canManage={canManage}
            onUnbind={binding.unbind.mutateAsync}
          />
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
          expandable={{ expandedRowRender: (record) => <BindingHistory record={record} /> }}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
        />
      </Card>

      <BindingRequestModal
        requesting={requesting}
        effective={effective}
        pickable={pickable.data?.items ?? []}
        pickableError={pickable.error}
        onRequest={binding.request}
        onClose={() => setRequesting(null)}
      />
    </>
  );
}
