import { Alert, Button, Table, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import type { MiniProgramPayment } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { routePaths } from '../../route-paths.ts';
import { useMiniProgramPaymentColumns } from './mini-program-payment-columns.tsx';
import { useCertificateExpiryText } from './certificate-expiry.tsx';
import { PaymentCredentialsCard } from './payment-credentials-card.tsx';
import { PaymentRequestModal } from './payment-request-modal.tsx';
import { useStandardPayment } from './use-standard-payment.ts';

/**
 * Mini program team → Commercialization → Standard payment (SPEC §2.2, §5): the team's mini programs with
 * their payment status; the MP Administrator requests permission (and re-applies); Administrator and Senior
 * developer manage the payment credentials.
 */
export default function StandardPaymentPage() {
  const { t } = useI18n();
  const { currentTeam, level } = useConsole();
  const team = currentTeam!;
  const canRequest = level('payment_enable.request') === 'write';
  const canManageCredentials = level('payment_credentials.manage') === 'write';
  const [applying, setApplying] = useState<MiniProgramPayment | null>(null);
  const [credentialsOf, setCredentialsOf] = useState<string | undefined>();
  const { miniPrograms, binding, refresh, requestPayment } = useStandardPayment(team.id);
  const expiryText = useCertificateExpiryText();

  const showCredentials = (mnpId: string) => {
    setCredentialsOf(mnpId);
    document.getElementById('payment-credentials')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  const columns = useMiniProgramPaymentColumns({
    canRequest,
    canManageCredentials,
    onApply: setApplying,
    onShowCredentials: showCredentials,
  });

  const overview = binding.data;
  const items = miniPrograms.data?.items ?? [];
  // SPEC §7: warn 30 days before a merchant certificate's not_after (and once it has passed).
  const expiring = items.filter((item) => item.certificate && item.certificate.expiry !== 'valid');

  return (
    <>
      <PageHeader
        title={t('standardPayment.title', { team: team.name })}
        extra={<Button onClick={() => refresh()}>{t('common.refresh')}</Button>}
      >
        <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }}>
          {t('standardPayment.intro')}
        </Typography.Paragraph>
      </PageHeader>
      {!canRequest && (
        <Alert
          type="info"
          showIcon
          title={t('standardPayment.readOnly')}
          style={{ marginBottom: 16 }}
          data-testid="standard-payment-read-only"
        />
      )}
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
      {overview && !overview.superappPaymentEnabled && (
        <Alert type="warning" showIcon style={{ marginBottom: 16 }} title={t('standardPayment.superappPaymentOff')} />
      )}
      {expiring.length > 0 && (
        <Alert
          type={expiring.some((item) => item.certificate?.expiry === 'expired') ? 'error' : 'warning'}
          showIcon
          style={{ marginBottom: 16 }}
          data-testid="certificate-expiry-page-alert"
          title={t('credentials.expiringPageAlert', {
            list: expiring
              .map((item) => t('credentials.expiryPageItem', { name: item.name, state: expiryText(item.certificate!) }))
              .join('; '),
          })}
        />
      )}
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

      <PaymentRequestModal
        applying={applying}
        effective={overview?.effective}
        onRequest={requestPayment}
        onClose={() => setApplying(null)}
      />
    </>
  );
}
