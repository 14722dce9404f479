import { Flex, Result, Spin } from 'antd';
import { Suspense } from 'react';
import { useI18n } from '../i18n/i18n-context.tsx';
import { isNavItemVisible, type NavItem } from '../navigation.ts';
import { useConsole } from './console-context.tsx';

/** A page behind the same rule as its menu entry, so a typed URL shows no more than the menu does. */
export function NavItemRoute({ item }: { item: NavItem }) {
  const { t } = useI18n();
  const { session, currentTeam } = useConsole();
  if (!isNavItemVisible(item, session, currentTeam)) {
    const wrongTeamKind = item.teamKind !== undefined && currentTeam?.kind !== item.teamKind;
    return (
      <Result
        status="403"
        title={t('access.deniedTitle')}
        subTitle={wrongTeamKind && item.teamKind ? t('access.needTeamKind', { kind: t(`teamKind.${item.teamKind}`) }) : t('access.denied')}
        data-testid="access-denied"
      />
    );
  }
  const Page = item.page;
  if (!Page) return null;
  return (
    <Suspense
      fallback={
        <Flex justify="center" style={{ padding: 48 }}>
          <Spin />
        </Flex>
      }
    >
      <Page />
    </Suspense>
  );
}
