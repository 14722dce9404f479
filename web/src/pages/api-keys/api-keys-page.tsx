import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App as AntApp,
  Button,
  Descriptions,
  Form,
  Input,
  Modal,
  Popconfirm,
  Table,
  Tag,
  Typography,
  type TableColumnsType,
} from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { ApiKey, NewApiKey } from '../../api/types.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

/** Shows a new key's SecretKey, the only time it is ever shown. */
function NewKeyModal({ apiKey, onClose }: { apiKey: NewApiKey | null; onClose(): void }) {
  const { t } = useI18n();
  return (
    <Modal
      title={t('apiKeys.createdTitle')}
      open={apiKey !== null}
      onCancel={onClose}
      mask={{ closable: false }}
      footer={
        <Button type="primary" onClick={onClose}>
          {t('apiKeys.saved')}
        </Button>
      }
      destroyOnHidden
    >
      <Alert type="warning" showIcon title={t('apiKeys.onceWarning')} style={{ marginBottom: 16 }} />
      {apiKey && (
        <Descriptions column={1} bordered size="small" data-testid="new-api-key">
          <Descriptions.Item label={t('apiKeys.secretId')}>
            <Typography.Text code copyable data-testid="new-secret-id">
              {apiKey.secretId}
            </Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('apiKeys.secretKey')}>
            <Typography.Text code copyable data-testid="new-secret-key">
              {apiKey.secretKey}
            </Typography.Text>
          </Descriptions.Item>
        </Descriptions>
      )}
    </Modal>
  );
}

/** The caller's own management API keys. */
export default function ApiKeysPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<NewApiKey | null>(null);

  const apiKeys = useQuery({ queryKey: queryKeys.apiKeys, queryFn: consoleApi.listApiKeys });
  const revoke = useMutation({
    mutationFn: consoleApi.revokeApiKey,
    onSuccess: async () => {
      message.success(t('apiKeys.revoked'));
      await queryClient.invalidateQueries({ queryKey: queryKeys.apiKeys });
    },
    onError: (error) => message.error(error.message),
  });

  const columns: TableColumnsType<ApiKey> = [
    {
      title: t('apiKeys.secretId'),
      dataIndex: 'secretId',
      render: (id: string) => (
        <Typography.Text code copyable>
          {id}
        </Typography.Text>
      ),
    },
    { title: t('apiKeys.description'), dataIndex: 'description', render: (text: string) => text || t('common.none') },
    {
      title: t('common.status'),
      dataIndex: 'status',
      render: (status: ApiKey['status']) => <Tag color={status === 'active' ? 'green' : 'default'}>{t(`apiKeys.status.${status}`)}</Tag>,
    },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    { title: t('apiKeys.lastUsed'), dataIndex: 'lastUsedAt', render: (at: number | null) => (at ? formatTime(at) : t('apiKeys.never')) },
    {
      title: t('common.actions'),
      key: 'actions',
      render: (_, apiKey) =>
        apiKey.status === 'active' && (
          <Popconfirm title={t('apiKeys.revokeConfirm', { secretId: apiKey.secretId })} onConfirm={() => revoke.mutateAsync(apiKey.id)}>
            <Button size="small" danger>
              {t('apiKeys.revoke')}
            </Button>
          </Popconfirm>
        ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('apiKeys.title')}
        extra={
          <Button type="primary" onClick={() => setCreating(true)}>
            {t('apiKeys.create')}
          </Button>
        }
      >
        <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }}>
          {t('apiKeys.intro')}
        </Typography.Paragraph>
      </PageHeader>
      <LoadError error={apiKeys.error} />
      <Table<ApiKey>
        rowKey="id"
        columns={columns}
        dataSource={apiKeys.data?.items}
        loading={apiKeys.isPending}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
      />

      <FormModal<{ description?: string }>
        title={t('apiKeys.create')}
        open={creating}
        okText={t('common.create')}
        onClose={() => setCreating(false)}
        onSubmit={async (values) => {
          const apiKey = await consoleApi.createApiKey(values.description ?? '');
          setCreated(apiKey);
          await queryClient.invalidateQueries({ queryKey: queryKeys.apiKeys });
        }}
      >
        <Form.Item label={t('apiKeys.description')} name="description">
          <Input maxLength={200} />
        </Form.Item>
      </FormModal>
      <NewKeyModal apiKey={created} onClose={() => setCreated(null)} />
    </>
  );
}
