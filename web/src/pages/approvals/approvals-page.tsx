import { Alert, Button, Empty, Flex, Segmented, Table, Tabs, Typography } from 'antd';
import { useState } from 'react';
import type { ApprovalItem } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { SuperappSelect, useTeamSuperapp } from '../../app/use-team-superapp.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { useApprovalColumns } from './approval-columns.tsx';
import { ApprovalDecisionModal } from './approval-decision-modal.tsx';
import { approvalsPageSize, useApprovals, type ApprovalTab, type Decision, type KindFilter } from './use-approvals.ts';

/**
 * Superapp → Approvals (SPEC §5): merchant binding requests and payment requests of the superapp, pending
 * and decided. Every superapp role and the admins see them (SPEC §7); Administrator and Review staff decide,
 * disable payment and unbind.
 */
export default function ApprovalsPage() {
  const { t } = useI18n();
  const { level } = useConsole();
  const teamSuperapp = useTeamSuperapp();
  const applicationId = teamSuperapp.superapp?.applicationId;
  const canDecide = level('approval.decide') === 'write';
  const [tab, setTab] = useState<ApprovalTab>('pending');
  const [kind, setKind] = useState<KindFilter>('all');
  const [page, setPage] = useState(1);
  const [decision, setDecision] = useState<Decision | null>(null);
  const { approvals, miniProgramNames, teamName, refresh, endRecord, decide } = useApprovals(applicationId, { tab, kind, page });
  const columns = useApprovalColumns({ tab, canDecide, miniProgramNames, teamName, onDecide: setDecision, onEnd: endRecord.mutateAsync });

  const table = (
    <>
      <Flex gap={16} align="center" wrap style={{ marginBottom: 16 }}>
        <Typography.Text>{t('approvals.kindFilter')}</Typography.Text>
        <Segmented<KindFilter>
          aria-label={t('approvals.kindFilter')}
          value={kind}
          onChange={(value) => {
            setKind(value);
            setPage(1);
          }}
          options={[
            { value: 'all', label: t('approvals.kindAll') },
            { value: 'merchant_binding', label: t('approvalKind.merchant_binding') },
            { value: 'payment_enable', label: t('approvalKind.payment_enable') },
            { value: 'virtual_payment_enable', label: t('approvalKind.virtual_payment_enable') },
            { value: 'virtual_item', label: t('approvalKind.virtual_item') },
            { value: 'item_exemption', label: t('approvalKind.item_exemption') },
          ]}
        />
        <Button onClick={() => refresh()}>{t('common.refresh')}</Button>
      </Flex>
      <LoadError error={approvals.error} />
      <Table<ApprovalItem>
        rowKey="approvalNo"
        columns={columns}
        dataSource={approvals.data?.items}
        loading={approvals.isFetching}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: tab === 'pending' ? t('approvals.nonePending') : t('approvals.noneDecided') }}
        pagination={{
          current: page,
          pageSize: approvalsPageSize,
          total: approvals.data?.total ?? 0,
          onChange: setPage,
          hideOnSinglePage: true,
          showSizeChanger: false,
        }}
      />
    </>
  );

  return (
    <>
      <PageHeader title={t('approvals.title')} extra={<SuperappSelect teamSuperapp={teamSuperapp} />} />
      {!canDecide && (
        <Alert type="info" showIcon title={t('approvals.readOnly')} style={{ marginBottom: 16 }} data-testid="approvals-read-only" />
      )}
      <LoadError error={teamSuperapp.error} />
      {!teamSuperapp.isPending && !applicationId ? (
        <Empty description={t('payment.noSuperapp')} />
      ) : (
        <Tabs
          activeKey={tab}
          onChange={(next) => {
            setTab(next as ApprovalTab);
            setPage(1);
          }}
          items={[
            { key: 'pending', label: t('approvals.pending'), children: tab === 'pending' && table },
            { key: 'decided', label: t('approvals.decided'), children: tab === 'decided' && table },
          ]}
        />
      )}
      <ApprovalDecisionModal
        decision={decision}
        miniProgramNames={miniProgramNames}
        teamName={teamName}
        onDecide={decide}
        onClose={() => setDecision(null)}
      />
    </>
  );
}
