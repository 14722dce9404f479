import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Avatar, Button, Descriptions, Flex, Form, Input, Table, Tooltip, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { EnablementStatus } from '../../api/payment-status.ts';
import type { MiniProgramPayment } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { EnablementStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { routePaths } from '../../navigation.ts';
import { PaymentCredentialsCard } from './payment-credentials-card.tsx';

/** Statuses from which a mini program may (re-)apply, when its team's binding and the superapp allow it. */
const appliable = new Set<number>([EnablementStatus.NeverApplied, EnablementStatus.Rejected, EnablementStatus.Disabled]);

function StatusCell({ miniProgram }: { miniProgram: MiniProgramPayment }) {
  const { t } = useI18n();
  const note = miniProgram.approvalNote;
  return (
    <Flex vertical gap={4} align="start">
      <EnablementStatusTag status={miniProgram.approvalStatus} />
      {miniProgram.approvalStatus === EnablementStatus.Rejected && (
        <Typography.Text type="danger" data-testid="reviewer-note">
          {t('standardPayment.reviewerNote', { note: note || t('common.none') })}
        </Typography.Text>
      )}
      {miniProgram.approvalStatus === EnablementStatus.Disabled && <Typography.Text type="warning">{t('standardPayment.disabledBySuperapp')}</Typography.Text>}
    </Flex>
  );
}

/**
 * Mini program team → Commercialization → Standard payment (SPEC §2.2, §5): the team's mini programs with
 * their payment status; the MP Administrator requests permission (and re-applies); Administrator and Senior
 * developer manage the payment credentials.
 */
export default function StandardPaymentPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { currentTeam, level } = useConsole();
  const team = currentTeam!;
  const queryClient = useQueryClient();
  const canRequest = level('payment_enable.request') === 'write';
  const canManageCredentials = level('payment_credentials.manage') === 'write';
  const [applying, setApplying] = useState<MiniProgramPayment | null>(null);
  const [credentialsOf, setCredentialsOf] = useState<string | undefined>();

  const miniPrograms = useQuery({ queryKey: queryKeys.miniProgramPayments(team.id), queryFn: () => consoleApi.listMiniProgramPayments(team.id) });
  // Why a request is not possible now: no effective binding, or the superapp has payment off.
  const binding = useQuery({ queryKey: queryKeys.binding(team.id), queryFn: () => consoleApi.getBindingOverview(team.id), enabled: level('merchant_binding.view') !== undefined });
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.miniProgramPayments(team.id) });

  const showCredentials = (mnpId: string) => {
    setCredentialsOf(mnpId);
    document.getElementById('payment-credentials')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };

  const actions = (miniProgram: MiniProgramPayment) => {
    const buttons = [];
    if (canRequest && appliable.has(miniProgram.approvalStatus)) {
      const label = miniProgram.approvalStatus === EnablementStatus.NeverApplied ? t('standardPayment.request') : t('standardPayment.reapply');
      const button = (
        <Button key="apply" size="small" type="primary" disabled={miniProgram.applyShow !== 1} onClick={() => setApplying(miniProgram)}>
          {label}
        </Button>
      );
      buttons.push(miniProgram.applyShow === 1 ? button : <Tooltip key="apply" title={t('standardPayment.cannotApplyNow')}>{button}</Tooltip>);
    }
    if (canManageCredentials && miniProgram.mchid !== null) {
      buttons.push(
        <Button key="credentials" size="small" onClick={() => showCredentials(miniProgram.mnpId)}>
          {t('standardPayment.credentials')}
        </Button>,
      );
    }
    return buttons.length > 0 ? <Flex gap={8}>{buttons}</Flex> : null;
  };

  const columns: TableColumnsType<MiniProgramPayment> = [
    {
      title: t('miniPrograms.name'),
      dataIndex: 'name',
      render: (name: string, miniProgram) => (
        <Flex gap={8} align="center">
          <Avatar shape="square" size="small" src={miniProgram.iconUrl || undefined}>
            {name.slice(0, 1)}
          </Avatar>
          <Flex vertical>
            <Typography.Text strong>{name}</Typography.Text>
            <Typography.Text type="secondary" copyable={{ text: miniProgram.mnpId }} style={{ fontSize: 12 }}>
              {miniProgram.mnpId}
            </Typography.Text>
          </Flex>
        </Flex>
      ),
    },
    { title: t('standardPayment.status'), key: 'status', width: 300, render: (_, miniProgram) => <StatusCell miniProgram={miniProgram} /> },
    {
      title: t('standardPayment.requestMessage'),
      key: 'request',
      render: (_, miniProgram) => (
        <Flex vertical gap={2}>
          <Typography.Text>{miniProgram.applyNote || t('common.none')}</Typography.Text>
          {miniProgram.applyTime > 0 && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('standardPayment.appliedAt', { time: formatTime(miniProgram.applyTime) })}
            </Typography.Text>
          )}
          {miniProgram.approvalTime > 0 && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('standardPayment.decidedAt', { time: formatTime(miniProgram.approvalTime) })}
            </Typography.Text>
          )}
        </Flex>
      ),
    },
    { title: t('credentials.mchid'), dataIndex: 'mchid', render: (mchid: string | null) => (mchid ? <Typography.Text code>{mchid}</Typography.Text> : t('common.none')) },
    ...(canRequest || canManageCredentials ? [{ title: t('common.actions'), key: 'actions', render: (_: unknown, miniProgram: MiniProgramPayment) => actions(miniProgram) }] : []),
  ];

  const overview = binding.data;
  const items = miniPrograms.data?.items ?? [];

  return (
    <>
      <PageHeader title={t('standardPayment.title', { team: team.name })} extra={<Button onClick={() => refresh()}>{t('common.refresh')}</Button>}>
        <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }}>
          {t('standardPayment.intro')}
        </Typography.Paragraph>
      </PageHeader>
      {!canRequest && <Alert type="info" showIcon title={t('standardPayment.readOnly')} style={{ marginBottom: 16 }} data-testid="standard-payment-read-only" />}
      {overview && !overview.effective && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          title={t('standardPayment.noBinding')}
          action={
            <Link to={routePaths.bindMerchant}>
              <Button size="small">{t('nav.bindMerchant')}</Button>
            </Link>
          }
        />
      )}
      {overview && !overview.superappPaymentEnabled && <Alert type="warning" showIcon style={{ marginBottom: 16 }} title={t('standardPayment.superappPaymentOff')} />}
      <LoadError error={miniPrograms.error} />
      <Table<MiniProgramPayment>
        rowKey="mnpId"
        columns={columns}
        dataSource={items}
        loading={miniPrograms.isPending}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        style={{ marginBottom: 24 }}
      />

      {canManageCredentials && <PaymentCredentialsCard miniPrograms={items} selected={credentialsOf} onSelect={setCredentialsOf} />}

      <FormModal<{ applyNote: string }>
        title={t('standardPayment.request')}
        open={applying !== null}
        okText={t('standardPayment.confirm')}
        onClose={() => setApplying(null)}
        onSubmit={async (values) => {
          await consoleApi.requestPayment(applying!.mnpId, values.applyNote.trim());
          message.success(t('standardPayment.requested'));
          await refresh();
        }}
      >
        {applying && (
          <Descriptions column={1} size="small" style={{ marginBottom: 8 }}>
            <Descriptions.Item label={t('standardPayment.miniProgram')}>{`${applying.name} (${applying.mnpId})`}</Descriptions.Item>
            {overview?.effective && <Descriptions.Item label={t('credentials.mchid')}>{`${overview.effective.merchantId} — ${overview.effective.merchantName}`}</Descriptions.Item>}
          </Descriptions>
        )}
        <Form.Item label={t('standardPayment.requestMessage')} name="applyNote" rules={[{ required: true, whitespace: true, message: t('standardPayment.requestMessageRequired') }]}>
          <Input.TextArea rows={4} maxLength={500} showCount placeholder={t('standardPayment.requestMessagePlaceholder')} />
        </Form.Item>
      </FormModal>
    </>
  );
}
