import { Card, Col, Descriptions, Empty, Row, Tag, Typography } from 'antd';
import { Link } from 'react-router';
import { useConsole } from '../../app/console-context.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { builtNavItems, isNavItemVisible } from '../../navigation.ts';

/** The console home: who you are, where you are, and the pages your roles open. */
export function HomePage() {
  const { t } = useI18n();
  const { session, currentTeam } = useConsole();
  const pages = builtNavItems.filter((item) => isNavItemVisible(item, session, currentTeam));
  return (
    <>
      <Typography.Title level={3}>{t('home.welcome', { name: session.user.displayName })}</Typography.Title>
      <Card style={{ marginBottom: 24 }}>
        <Descriptions column={{ xs: 1, md: 3 }}>
          <Descriptions.Item label={t('home.platformRole')}>{t(`platformRole.${session.user.platformRole}`)}</Descriptions.Item>
          <Descriptions.Item label={t('home.currentTeam')}>
            {currentTeam ? (
              <>
                {currentTeam.name} <Tag>{t(`teamKind.${currentTeam.kind}`)}</Tag>
              </>
            ) : (
              t('layout.noTeam')
            )}
          </Descriptions.Item>
          <Descriptions.Item label={t('home.myRole')}>
            {currentTeam?.myRole ? t(`role.${currentTeam.myRole}`) : t('common.none')}
          </Descriptions.Item>
        </Descriptions>
        {session.teams.length === 0 && <Empty description={t('home.noTeams')} />}
      </Card>
      <Typography.Title level={5}>{t('home.pages')}</Typography.Title>
      <Row gutter={[16, 16]}>
        {pages.map((item) => (
          <Col key={item.key} xs={24} sm={12} lg={8} xl={6}>
            <Link to={item.path}>
              <Card hoverable size="small">
                <Typography.Text strong>{t(item.label)}</Typography.Text>
              </Card>
            </Link>
          </Col>
        ))}
      </Row>
    </>
  );
}
