import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Form, Input, Modal, Table, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { setCsrfToken } from '../api/client.ts';
import { consoleApi, queryKeys } from '../api/console-api.ts';
import type { ApiKey, Session } from '../api/types.ts';
import { FormModal } from '../components/form-modal.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';

interface PasswordFields {
  currentPassword: string;
  newPassword: string;
  confirmPassword: string;
}

/** After a password change: the API keys that still work, each revocable here. */
function ActiveKeysModal({ keys, onClose }: { keys: ApiKey[]; onClose(): void }) {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  const [revokedIds, setRevokedIds] = useState<string[]>([]);
  const revoke = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) {
        await consoleApi.revokeApiKey(id);
        setRevokedIds((done) => [...done, id]);
      }
    },
    // Not awaited: a message's promise resolves only when it closes, and the buttons would wait for it.
    onSuccess: () => void message.success(t('apiKeys.revoked')),
    onError: (error) => void message.error(error.message),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: queryKeys.apiKeys }),
  });
  const remaining = keys.filter((key) => !revokedIds.includes(key.id));
  const columns: TableColumnsType<ApiKey> = [
    { title: t('apiKeys.secretId'), dataIndex: 'secretId', render: (id: string) => <Typography.Text code>{id}</Typography.Text> },
    { title: t('apiKeys.description'), dataIndex: 'description', render: (text: string) => text || t('common.none') },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    { title: t('apiKeys.lastUsed'), dataIndex: 'lastUsedAt', render: (at: number | null) => (at ? formatTime(at) : t('apiKeys.never')) },
    {
      title: t('common.actions'),
      key: 'actions',
      render: (_, key) => (
        <Button size="small" danger loading={revoke.isPending} onClick={() => revoke.mutate([key.id])}>
          {t('apiKeys.revoke')}
        </Button>
      ),
    },
  ];
  return (
    <Modal
      title={t('ownPassword.keysTitle')}
      open={keys.length > 0}
      onCancel={onClose}
      mask={{ closable: false }}
      width={860}
      destroyOnHidden
      footer={[
        <Button
          key="revoke-all"
          danger
          disabled={remaining.length === 0}
          loading={revoke.isPending}
          onClick={() => revoke.mutate(remaining.map((key) => key.id))}
        >
          {t('ownPassword.revokeAll')}
        </Button>,
        <Button key="keep" type="primary" onClick={onClose}>
          {t('ownPassword.keep')}
        </Button>,
      ]}
    >
      <Alert type="warning" showIcon title={t('ownPassword.keysWarning')} style={{ marginBottom: 16 }} />
      <Table<ApiKey> rowKey="id" size="small" columns={columns} dataSource={remaining} pagination={false} data-testid="active-api-keys" />
    </Modal>
  );
}

/**
 * The own-password form: the server ends every session of the user and continues this one under a new token,
 * whose CSRF token replaces the old; then the API keys that still work are offered for revoking.
 */
export function ChangePasswordButton() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [activeKeys, setActiveKeys] = useState<ApiKey[]>([]);

  async function submit(values: PasswordFields) {
    const changed = await consoleApi.changeOwnPassword(values.currentPassword, values.newPassword);
    setCsrfToken(changed.csrfToken);
    queryClient.setQueryData<Session | null>(queryKeys.session, (session) =>
      session ? { ...session, csrfToken: changed.csrfToken } : session,
    );
    message.success(t('ownPassword.changed'));
    setActiveKeys(changed.activeApiKeys);
  }

  return (
    <>
      <Button onClick={() => setOpen(true)}>{t('layout.changePassword')}</Button>
      <FormModal<PasswordFields>
        title={t('layout.changePassword')}
        open={open}
        okText={t('ownPassword.submit')}
        onClose={() => setOpen(false)}
        onSubmit={submit}
      >
        <Form.Item label={t('ownPassword.current')} name="currentPassword" rules={[{ required: true, message: t('common.required') }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item
          label={t('ownPassword.new')}
          name="newPassword"
          extra={t('ownPassword.newHelp')}
          rules={[{ required: true, min: 10, max: 128, message: t('ownPassword.newHelp') }]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          label={t('ownPassword.confirm')}
          name="confirmPassword"
          dependencies={['newPassword']}
          rules={[
            { required: true, message: t('common.required') },
            ({ getFieldValue }) => ({
              validator: (_, value) =>
                value === getFieldValue('newPassword') ? Promise.resolve() : Promise.reject(new Error(t('ownPassword.mismatch'))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
      </FormModal>
      <ActiveKeysModal keys={activeKeys} onClose={() => setActiveKeys([])} />
    </>
  );
}
