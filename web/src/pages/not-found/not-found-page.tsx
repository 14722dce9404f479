import { Button, Result } from 'antd';
import { Link } from 'react-router';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { routePaths } from '../../route-paths.ts';

export function NotFoundPage() {
  const { t } = useI18n();
  return (
    <Result
      status="404"
      title={t('notFound.title')}
      extra={
        <Link to={routePaths.home}>
          <Button type="primary">{t('notFound.back')}</Button>
        </Link>
      }
    />
  );
}
