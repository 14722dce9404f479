import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Badge, Button, Flex, Layout, Menu, Segmented, Select, Tag, Typography, type MenuProps } from 'antd';
import { useMemo } from 'react';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { consoleApi } from '../api/console-api.ts';
import { reconciliationApi, reconciliationQueryKeys } from '../api/reconciliation-api.ts';
import { languages, useI18n, type Language } from '../i18n/i18n-context.tsx';
import { isNavItemVisible, navItems, navSections } from '../navigation.ts';
import { routePaths } from '../route-paths.ts';
import { ChangePasswordButton } from './change-password.tsx';
import { useConsole } from './console-context.tsx';
import { storeSession } from './use-session.ts';

function TeamSwitcher() {
  const { t } = useI18n();
  const { session, currentTeam, selectTeam } = useConsole();
  const options = useMemo(
    () =>
      (['superapp', 'miniprogram'] as const)
        .map((kind) => ({
          label: t(`teamKind.${kind}`),
          title: t(`teamKind.${kind}`),
          options: session.teams
            .filter((team) => team.kind === kind)
            .map((team) => ({
              value: team.id,
              label: team.effectiveStatus === 'active' ? team.name : `${team.name} (${t(`teamStatus.${team.effectiveStatus}`)})`,
            })),
        }))
        .filter((group) => group.options.length > 0),
    [session.teams, t],
  );
  if (session.teams.length === 0) return <Typography.Text type="secondary">{t('layout.noTeam')}</Typography.Text>;
  return (
    <Select
      data-testid="team-switcher"
      aria-label={t('layout.currentTeam')}
      value={currentTeam?.id}
      options={options}
      onChange={selectTeam}
      showSearch={{ optionFilterProp: 'label' }}
      style={{ minWidth: 240 }}
    />
  );
}

function LanguageSwitch() {
  const { t, language, setLanguage } = useI18n();
  return (
    <Segmented<Language>
      data-testid="language-switch"
      aria-label={t('language.label')}
      value={language}
      onChange={setLanguage}
      options={languages.map((value) => ({ value, label: t(`language.${value}`) }))}
    />
  );
}

/** The signed-in frame: a sidebar of what the caller's capabilities allow, and the header controls. */
export function ConsoleLayout() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const { session, currentTeam } = useConsole();
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  const signOut = useMutation({
    mutationFn: consoleApi.signOut,
    onSuccess: () => {
      storeSession(queryClient, null);
      navigate(routePaths.signIn, { replace: true });
    },
    onError: (error) => message.error(error.message),
  });

  const visibleItems = navItems.filter((item) => item.page !== null && isNavItemVisible(item, session, currentTeam));
  const menuItems: MenuProps['items'] = [
    { key: routePaths.home, label: <Link to={routePaths.home}>{t('nav.home')}</Link> },
    ...navSections
      .map((section) => ({
        type: 'group' as const,
        key: section,
        label: t(`nav.section.${section}`),
        children: visibleItems
          .filter((item) => item.section === section)
          .map((item) => ({
            key: item.path,
            label: (
              <Link to={item.path}>
                {t(item.label)}
                {item.key === 'reconciliation' && <OpenExceptionsBadge />}
              </Link>
            ),
          })),
      }))
      .filter((group) => group.children.length > 0),
  ];
  const selectedKey = visibleItems.find((item) => location.pathname.startsWith(item.path))?.path ?? routePaths.home;

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider theme="light" width={232} breakpoint="lg" collapsedWidth={0} style={{ borderRight: '1px solid #f0f0f0' }}>
        <Link to={routePaths.home} style={{ display: 'block', padding: '18px 24px', fontSize: 18, fontWeight: 600, color: 'inherit' }}>
          Paythrough
        </Link>
        <nav aria-label={t('app.title')} data-testid="console-nav">
          <Menu mode="inline" selectedKeys={[selectedKey]} items={menuItems} style={{ borderInlineEnd: 'none' }} />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: '#fff', padding: '0 24px', borderBottom: '1px solid #f0f0f0' }}>
          <Flex justify="space-between" align="center" style={{ height: '100%' }} gap={16}>
            <TeamSwitcher />
            <Flex align="center" gap={16}>
              <LanguageSwitch />
              <span data-testid="signed-in-user">
                <Typography.Text strong>{session.user.displayName}</Typography.Text>{' '}
                <Tag>{t(`platformRole.${session.user.platformRole}`)}</Tag>
              </span>
              <ChangePasswordButton />
              <Button onClick={() => signOut.mutate()} loading={signOut.isPending}>
                {t('layout.signOut')}
              </Button>
            </Flex>
          </Flex>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>
          <Outlet />
        </Layout.Content>
      </Layout>
    </Layout>
  );
}

/** SPEC §9.5: the open exceptions the caller reaches, on the Reconciliation item; refreshed with the page's queries. */
function OpenExceptionsBadge() {
  const { t } = useI18n();
  const openCount = useQuery({ queryKey: reconciliationQueryKeys.openCount, queryFn: reconciliationApi.openCount, retry: false });
  const open = openCount.data?.open ?? 0;
  if (open === 0) return null;
  return (
    <Badge
      count={open}
      overflowCount={999}
      size="small"
      style={{ marginInlineStart: 8 }}
      title={t('reconciliation.openBadge', { count: open })}
      data-testid="reconciliation-badge"
    />
  );
}
