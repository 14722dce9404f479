import { Empty } from 'antd';
import { useConsole } from '../../app/console-context.tsx';
import { SuperappSelect, useTeamSuperapp } from '../../app/use-team-superapp.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { MerchantListCard } from './merchant-list-card.tsx';
import { PaymentSettingsCard } from './payment-settings-card.tsx';

/**
 * Superapp → Payment management → Payment configuration (SPEC §5). The settings card is the SA
 * Administrator's (admins read it); the merchant list is every payment role's, editable by Administrator
 * and Senior developer.
 */
export default function PaymentConfigurationPage() {
  const { t } = useI18n();
  const { level } = useConsole();
  const teamSuperapp = useTeamSuperapp();
  const superapp = teamSuperapp.superapp;

  return (
    <>
      <PageHeader
        title={superapp ? t('paymentConfig.titleOf', { superapp: superapp.name }) : t('paymentConfig.title')}
        extra={<SuperappSelect teamSuperapp={teamSuperapp} />}
      />
      <LoadError error={teamSuperapp.error} />
      {!teamSuperapp.isPending && !superapp && <Empty description={t('payment.noSuperapp')} />}
      {superapp && (
        <div key={superapp.applicationId}>
          {level('payment_config.manage') && (
            <PaymentSettingsCard applicationId={superapp.applicationId} canEdit={level('payment_config.manage') === 'write'} />
          )}
          {level('merchant.view') && (
            <MerchantListCard applicationId={superapp.applicationId} canManage={level('merchant.manage') === 'write'} />
          )}
        </div>
      )}
    </>
  );
}
