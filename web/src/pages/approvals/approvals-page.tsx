import { keepPreviousData, useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Descriptions, Empty, Flex, Form, Input, Popconfirm, Segmented, Table, Tabs, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { ApprovalType, BindingStatus, EnablementStatus } from '../../api/payment-status.ts';
import type { ApprovalItem, ApprovalKind } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { SuperappSelect, useTeamSuperapp } from '../../app/use-team-superapp.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { BindingStatusTag, EnablementStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

type Tab = 'pending' | 'decided';
type KindFilter = ApprovalKind | 'all';

const statusesOfTab: Record<Tab, string> = { pending: '0', decided: '10,20,30' };
const pageSize = 20;

interface Decision {
  item: ApprovalItem;
  approve: boolean;
}

function DecisionSummary({ item, team, miniProgram }: { item: ApprovalItem; team: string; miniProgram: string | undefined }) {
  const { t, formatTime } = useI18n();
  return (
    <Descriptions column={1} size="small" bordered style={{ marginBottom: 16 }}>
      <Descriptions.Item label={t('approvals.kind')}>{t(`approvalKind.${item.kind}`)}</Descriptions.Item>
      <Descriptions.Item label={t('approvals.approvalNo')}>{item.approvalNo}</Descriptions.Item>
      <Descriptions.Item label={t('approvals.team')}>{team}</Descriptions.Item>
      {item.mnpId && <Descriptions.Item label={t('approvals.miniProgram')}>{miniProgram ? `${miniProgram} (${item.mnpId})` : item.mnpId}</Descriptions.Item>}
      <Descriptions.Item label={t('approvals.merchant')}>{`${item.merchantId} — ${item.merchantName}`}</Descriptions.Item>
      {item.applyNote && <Descriptions.Item label={t('approvals.applyNote')}>{item.applyNote}</Descriptions.Item>}
      <Descriptions.Item label={t('approvals.requestedAtLabel')}>{formatTime(item.applyTime)}</Descriptions.Item>
    </Descriptions>
  );
}

/**
 * Superapp → Approvals (SPEC §5): merchant binding requests and payment requests of the superapp, pending
 * and decided. Every superapp role and the admins see them (SPEC §7); Administrator and Review staff decide,
 * disable payment and unbind.
 */
export default function ApprovalsPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { level, session } = useConsole();
  const queryClient = useQueryClient();
  const teamSuperapp = useTeamSuperapp();
  const applicationId = teamSuperapp.superapp?.applicationId;
  const canDecide = level('approval.decide') === 'write';
  const [tab, setTab] = useState<Tab>('pending');
  const [kind, setKind] = useState<KindFilter>('all');
  const [page, setPage] = useState(1);
  const [decision, setDecision] = useState<Decision | null>(null);

  const approvals = useQuery({
    queryKey: [...queryKeys.approvals(applicationId ?? ''), tab, kind, page],
    queryFn: () =>
      consoleApi.listApprovals(applicationId!, {
        approvalStatus: statusesOfTab[tab],
        kind: kind === 'all' ? undefined : kind,
        offset: (page - 1) * pageSize,
        limit: pageSize,
      }),
    enabled: applicationId !== undefined,
    placeholderData: keepPreviousData,
  });
  // The list carries ids only; the names come from the mini program teams of this superapp the caller sees.
  const requestingTeams = session.teams.filter((team) => team.kind === 'miniprogram' && team.superappId === applicationId);
  const miniProgramLists = useQueries({
    queries: requestingTeams.map((team) => ({ queryKey: queryKeys.miniPrograms(team.id), queryFn: () => consoleApi.listMiniPrograms(team.id) })),
  });
  const miniProgramNames = new Map(miniProgramLists.flatMap((list) => list.data?.items ?? []).map((miniProgram) => [miniProgram.mnpId, miniProgram.name]));
  const teamName = (teamId: string) => session.teams.find((team) => team.id === teamId)?.name ?? teamId;
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.approvals(applicationId ?? '') }),
      ...requestingTeams.map((team) => queryClient.invalidateQueries({ queryKey: queryKeys.miniPrograms(team.id) })),
    ]);

  const endRecord = useMutation({
    mutationFn: (item: ApprovalItem) =>
      item.kind === 'payment_enable' ? consoleApi.disablePayment(applicationId!, item.id!) : consoleApi.unbindBySuperapp(applicationId!, item.id!),
    onSuccess: async (_, item) => {
      message.success(item.kind === 'payment_enable' ? t('approvals.disabled') : t('approvals.unbound'));
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });

  const statusTag = (item: ApprovalItem) =>
    item.kind === 'payment_enable' ? <EnablementStatusTag status={item.approvalStatus} /> : <BindingStatusTag status={item.approvalStatus} />;

  const actions = (item: ApprovalItem) => {
    if (item.approvalStatus === 0) {
      return (
        <Flex gap={8}>
          <Button size="small" type="primary" onClick={() => setDecision({ item, approve: true })}>
            {t('approvals.approve')}
          </Button>
          <Button size="small" danger onClick={() => setDecision({ item, approve: false })}>
            {t('approvals.reject')}
          </Button>
        </Flex>
      );
    }
    if (item.id === null) return null;
    if (item.kind === 'payment_enable' && item.approvalStatus === EnablementStatus.Approved) {
      return (
        <Popconfirm title={t('approvals.disableConfirm', { mnpId: item.mnpId ?? '' })} onConfirm={() => endRecord.mutateAsync(item)}>
          <Button size="small" danger>
            {t('approvals.disablePayment')}
          </Button>
        </Popconfirm>
      );
    }
    if (item.kind === 'merchant_binding' && item.approvalStatus === BindingStatus.Effective) {
      return (
        <Popconfirm title={t('approvals.unbindConfirm', { merchantId: item.merchantId })} onConfirm={() => endRecord.mutateAsync(item)}>
          <Button size="small" danger>
            {t('approvals.unbind')}
          </Button>
        </Popconfirm>
      );
    }
    return null;
  };

  const secondary = (text: string) => (
    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
      {text}
    </Typography.Text>
  );

  const columns: TableColumnsType<ApprovalItem> = [
    {
      title: t('approvals.request'),
      key: 'request',
      render: (_, item) => (
        <Flex vertical gap={2} align="start">
          <Tag color={item.kind === 'payment_enable' ? 'purple' : 'geekblue'}>{t(`approvalKind.${item.kind}`)}</Tag>
          {secondary(item.approvalNo)}
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
          {secondary(t('approvals.teamOf', { team: teamName(item.teamId) }))}
          {secondary(t('approvals.merchantIs', { merchantId: item.merchantId, merchantName: item.merchantName }))}
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
          {secondary(t('approvals.requestedAt', { time: formatTime(item.applyTime) }))}
        </Flex>
      ),
    },
    {
      title: t('common.status'),
      key: 'status',
      width: tab === 'decided' ? 220 : undefined,
      render: (_, item) => (
        <Flex vertical gap={2} align="start">
          {statusTag(item)}
          {item.approvalTime !== null && secondary(t('approvals.decidedAt', { time: formatTime(item.approvalTime) }))}
          {item.approvalNote && <Typography.Text>{t('approvals.noteIs', { note: item.approvalNote })}</Typography.Text>}
        </Flex>
      ),
    },
    ...(canDecide ? [{ title: t('common.actions'), key: 'actions', fixed: 'right' as const, render: (_: unknown, item: ApprovalItem) => actions(item) }] : []),
  ];

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
        pagination={{ current: page, pageSize, total: approvals.data?.total ?? 0, onChange: setPage, hideOnSinglePage: true, showSizeChanger: false }}
      />
    </>
  );

  return (
    <>
      <PageHeader title={t('approvals.title')} extra={<SuperappSelect teamSuperapp={teamSuperapp} />} />
      {!canDecide && <Alert type="info" showIcon title={t('approvals.readOnly')} style={{ marginBottom: 16 }} data-testid="approvals-read-only" />}
      <LoadError error={teamSuperapp.error} />
      {!teamSuperapp.isPending && !applicationId ? (
        <Empty description={t('payment.noSuperapp')} />
      ) : (
        <Tabs
          activeKey={tab}
          onChange={(next) => {
            setTab(next as Tab);
            setPage(1);
          }}
          items={[
            { key: 'pending', label: t('approvals.pending'), children: tab === 'pending' && table },
            { key: 'decided', label: t('approvals.decided'), children: tab === 'decided' && table },
          ]}
        />
      )}

      <FormModal<{ approvalNote?: string }>
        title={decision?.approve ? t('approvals.approveTitle') : t('approvals.rejectTitle')}
        open={decision !== null}
        okText={decision?.approve ? t('approvals.approve') : t('approvals.reject')}
        onClose={() => setDecision(null)}
        onSubmit={async (values) => {
          const { item, approve } = decision!;
          const approvalNote = values.approvalNote?.trim() ?? '';
          await consoleApi.decideApproval(applicationId!, {
            approvalNo: item.approvalNo,
            approvalType: approve ? ApprovalType.Approve : ApprovalType.Reject,
            ...(approvalNote ? { approvalNote } : {}),
          });
          message.success(approve ? t('approvals.approved') : t('approvals.rejected'));
          await refresh();
        }}
      >
        {decision && (
          <DecisionSummary item={decision.item} team={teamName(decision.item.teamId)} miniProgram={decision.item.mnpId ? miniProgramNames.get(decision.item.mnpId) : undefined} />
        )}
        <Form.Item
          label={t('approvals.approvalNote')}
          name="approvalNote"
          extra={decision?.approve ? t('approvals.noteOptional') : t('approvals.noteRequiredHelp')}
          rules={decision?.approve ? [] : [{ required: true, whitespace: true, message: t('approvals.noteRequired') }]}
        >
          <Input.TextArea rows={3} maxLength={500} showCount />
        </Form.Item>
      </FormModal>
    </>
  );
}
