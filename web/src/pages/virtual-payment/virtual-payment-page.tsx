import { useQuery } from '@tanstack/react-query';
import { Button, Empty, Select, Tabs, Typography } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { useVirtualPayment } from './use-virtual-payment.ts';
import { VirtualItemsSection } from './virtual-items-section.tsx';
import { VirtualPaymentConfiguration } from './virtual-payment-configuration.tsx';

type VirtualPaymentTab = 'configuration' | 'items';

/** One mini program's virtual payment: Basic configuration and Items. */
function MiniProgramVirtualPayment({ mnpId, tab, onTab }: { mnpId: string; tab: VirtualPaymentTab; onTab(tab: VirtualPaymentTab): void }) {
  const { t } = useI18n();
  const virtualPayment = useVirtualPayment(mnpId);
  return (
    <Tabs
      activeKey={tab}
      onChange={(next) => onTab(next as VirtualPaymentTab)}
      tabBarExtraContent={<Button onClick={() => virtualPayment.refresh()}>{t('common.refresh')}</Button>}
      items={[
        {
          key: 'configuration',
          label: t('virtualPayment.tabConfiguration'),
          children: tab === 'configuration' && <VirtualPaymentConfiguration virtualPayment={virtualPayment} />,
        },
        ...(virtualPayment.can.viewItems
          ? [
              {
                key: 'items',
                label: t('virtualPayment.tabItems'),
                children: tab === 'items' && <VirtualItemsSection virtualPayment={virtualPayment} />,
              },
            ]
          : []),
      ]}
    />
  );
}

/**
 * Mini program team → Commercialization → Virtual payment (SPEC §8.1, §8.9): request permission, the account's
 * AppKey and delivery URL, and the items with their approval exemption, for one mini program at a time.
 */
export default function VirtualPaymentPage() {
  const { t } = useI18n();
  const { currentTeam } = useConsole();
  const team = currentTeam!;
  const [chosen, setChosen] = useState<string | undefined>();
  const [tab, setTab] = useState<VirtualPaymentTab>('configuration');
  const miniPrograms = useQuery({ queryKey: queryKeys.miniPrograms(team.id), queryFn: () => consoleApi.listMiniPrograms(team.id) });
  const list = miniPrograms.data?.items ?? [];
  // A mini game first: virtual payment is what mini games sell through.
  const mnpId =
    list.find((miniProgram) => miniProgram.mnpId === chosen)?.mnpId ??
    (list.find((miniProgram) => miniProgram.kind === 'minigame') ?? list[0])?.mnpId;

  return (
    <>
      <PageHeader
        title={t('virtualPayment.title')}
        extra={
          list.length > 0 && (
            <Select
              aria-label={t('virtualPayment.miniProgram')}
              value={mnpId}
              onChange={setChosen}
              options={list.map((miniProgram) => ({ value: miniProgram.mnpId, label: `${miniProgram.name} (${miniProgram.mnpId})` }))}
              style={{ minWidth: 300 }}
            />
          )
        }
      >
        <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }}>
          {t('virtualPayment.intro')}
        </Typography.Paragraph>
      </PageHeader>
      <LoadError error={miniPrograms.error} />
      {mnpId ? (
        <MiniProgramVirtualPayment key={mnpId} mnpId={mnpId} tab={tab} onTab={setTab} />
      ) : (
        !miniPrograms.isPending && <Empty description={t('virtualPayment.noMiniPrograms')} />
      )}
    </>
  );
}
