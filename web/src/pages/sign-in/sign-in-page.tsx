import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Flex, Form, Input, Segmented, Typography } from 'antd';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../../api/client.ts';
import { consoleApi } from '../../api/console-api.ts';
import { storeSession, useSession } from '../../app/use-session.ts';
import { languages, useI18n, type Language } from '../../i18n/i18n-context.tsx';
import { routePaths } from '../../route-paths.ts';

interface Credentials {
  account: string;
  password: string;
}

/** Only paths inside the console, so `?next=` cannot send anyone elsewhere. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : routePaths.home;
}

export function SignInPage() {
  const { t, language, setLanguage } = useI18n();
  const [searchParams] = useSearchParams();
  const next = safeNext(searchParams.get('next'));
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { data: session } = useSession();

  const signIn = useMutation({
    mutationFn: ({ account, password }: Credentials) => consoleApi.signIn(account, password),
    onSuccess: (signedIn) => {
      storeSession(queryClient, signedIn);
      navigate(next, { replace: true });
    },
  });

  if (session && !signIn.isPending) return <Navigate to={next} replace />;

  const error = signIn.error;
  const rateLimited = error instanceof ApiError && error.status === 429;

  return (
    <Flex justify="center" align="center" style={{ minHeight: '100vh', background: '#f5f7fa' }}>
      <Card style={{ width: 400 }}>
        <Flex justify="flex-end">
          <Segmented<Language>
            size="small"
            aria-label={t('language.label')}
            value={language}
            onChange={setLanguage}
            options={languages.map((value) => ({ value, label: t(`language.${value}`) }))}
          />
        </Flex>
        <Typography.Title level={3} style={{ marginTop: 8 }}>
          {t('signIn.title')}
        </Typography.Title>
        <Typography.Paragraph type="secondary">{t('signIn.subtitle')}</Typography.Paragraph>
        {error && (
          <Alert
            data-testid="sign-in-error"
            role="alert"
            type="error"
            showIcon
            title={rateLimited ? t('signIn.rateLimited') : t('signIn.failed')}
            description={error.message}
            style={{ marginBottom: 16 }}
          />
        )}
        <Form<Credentials> layout="vertical" onFinish={(values) => signIn.mutate(values)} requiredMark={false}>
          <Form.Item label={t('signIn.account')} name="account" rules={[{ required: true, message: t('common.required') }]}>
            <Input autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item label={t('signIn.password')} name="password" rules={[{ required: true, message: t('common.required') }]}>
            <Input.Password autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={signIn.isPending}>
            {t('signIn.submit')}
          </Button>
        </Form>
      </Card>
    </Flex>
  );
}
