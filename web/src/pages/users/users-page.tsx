import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Form, Input, Select, Table, Tag, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys, type NewUser } from '../../api/console-api.ts';
import type { User } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

/** Platform users: admins list, create and enable/disable them. */
export default function UsersPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { session, level } = useConsole();
  const queryClient = useQueryClient();
  const canManage = level('platform.users.manage') === 'write';
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);

  const users = useQuery({ queryKey: [...queryKeys.users, search], queryFn: () => consoleApi.listUsers(search || undefined) });
  const setStatus = useMutation({
    mutationFn: ({ userId, status }: { userId: string; status: User['status'] }) => consoleApi.setUserStatus(userId, status),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users }),
    onError: (error) => message.error(error.message),
  });

  const columns: TableColumnsType<User> = [
    { title: t('users.account'), dataIndex: 'account' },
    { title: t('users.displayName'), dataIndex: 'displayName' },
    {
      title: t('users.platformRole'),
      dataIndex: 'platformRole',
      render: (role: User['platformRole']) => <Tag color={role === 'member' ? 'default' : 'gold'}>{t(`platformRole.${role}`)}</Tag>,
    },
    {
      title: t('common.status'),
      dataIndex: 'status',
      render: (status: User['status']) => <Tag color={status === 'active' ? 'green' : 'default'}>{t(`userStatus.${status}`)}</Tag>,
    },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    ...(canManage
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, user: User) =>
              user.id !== session.user.id && (
                <Button
                  size="small"
                  danger={user.status === 'active'}
                  loading={setStatus.isPending && setStatus.variables?.userId === user.id}
                  onClick={() => setStatus.mutate({ userId: user.id, status: user.status === 'active' ? 'disabled' : 'active' })}
                >
                  {user.status === 'active' ? t('users.disable') : t('users.enable')}
                </Button>
              ),
          },
        ]
      : []),
  ];

  return (
    <>
      <PageHeader
        title={t('users.title')}
        extra={
          canManage && (
            <Button type="primary" onClick={() => setCreating(true)}>
              {t('users.create')}
            </Button>
          )
        }
      />
      <Input.Search
        placeholder={t('common.search')}
        allowClear
        onSearch={setSearch}
        style={{ maxWidth: 320, marginBottom: 16 }}
        aria-label={t('common.search')}
      />
      <LoadError error={users.error} />
      <Table<User>
        rowKey="id"
        columns={columns}
        dataSource={users.data?.items}
        loading={users.isPending}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
      />

      <FormModal<NewUser>
        title={t('users.create')}
        open={creating}
        okText={t('common.create')}
        initialValues={{ platformRole: 'member' }}
        onClose={() => setCreating(false)}
        onSubmit={async (values) => {
          const user = await consoleApi.createUser(values);
          message.success(t('users.created', { account: user.account }));
          await queryClient.invalidateQueries({ queryKey: queryKeys.users });
        }}
      >
        <Form.Item label={t('users.account')} name="account" rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
          <Input autoComplete="off" maxLength={64} />
        </Form.Item>
        <Form.Item
          label={t('users.displayName')}
          name="displayName"
          rules={[{ required: true, whitespace: true, message: t('common.required') }]}
        >
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item
          label={t('users.password')}
          name="password"
          extra={t('users.passwordHelp')}
          rules={[{ required: true, min: 10, message: t('users.passwordHelp') }]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item label={t('users.platformRole')} name="platformRole" rules={[{ required: true }]}>
          <Select options={(['member', 'platform_admin'] as const).map((role) => ({ value: role, label: t(`platformRole.${role}`) }))} />
        </Form.Item>
      </FormModal>
    </>
  );
}
