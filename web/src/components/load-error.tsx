import { Alert } from 'antd';
import { useI18n } from '../i18n/i18n-context.tsx';

/** A failed query, with the server's message. */
export function LoadError({ error }: { error: Error | null }) {
  const { t } = useI18n();
  if (!error) return null;
  return <Alert type="error" showIcon title={t('common.loadFailed', { message: error.message })} style={{ marginBottom: 16 }} />;
}
