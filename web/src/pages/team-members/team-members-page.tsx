import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Form, Input, Popconfirm, Select, Table, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { rolesOfTeamKind } from '../../../../src/domain/roles.ts';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { Member, TeamRole } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

interface NewMemberValues {
  account: string;
  role: TeamRole;
}

/** The current team's members; Administrators and Member admins change them, others only look. */
export default function TeamMembersPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { currentTeam, level } = useConsole();
  const team = currentTeam!;
  const queryClient = useQueryClient();
  const canManage = level('team.members.manage') === 'write';
  const [adding, setAdding] = useState(false);
  const roleOptions = rolesOfTeamKind(team.kind).map((role) => ({ value: role, label: t(`role.${role}`) }));
  // A team has exactly one Administrator: it is handed over by changing a role, never added.
  const newMemberRoleOptions = roleOptions.filter((option) => option.value !== 'administrator');

  const members = useQuery({ queryKey: queryKeys.members(team.id), queryFn: () => consoleApi.listMembers(team.id) });
  // My own role may have changed (an Administrator hand-over), so the session follows every change.
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.members(team.id) }),
      queryClient.invalidateQueries({ queryKey: queryKeys.session }),
    ]);

  const changeRole = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: TeamRole }) => consoleApi.changeMemberRole(team.id, userId, role),
    onSuccess: async () => {
      message.success(t('members.roleChanged'));
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });
  const remove = useMutation({
    mutationFn: (userId: string) => consoleApi.removeMember(team.id, userId),
    onSuccess: async () => {
      message.success(t('members.removed'));
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });

  const columns: TableColumnsType<Member> = [
    { title: t('members.account'), dataIndex: 'account' },
    { title: t('members.displayName'), dataIndex: 'displayName' },
    {
      title: t('members.role'),
      dataIndex: 'role',
      render: (role: TeamRole, member) =>
        canManage ? (
          <Select<TeamRole>
            aria-label={`${t('members.role')} ${member.account}`}
            value={role}
            options={roleOptions}
            onChange={(next) => changeRole.mutate({ userId: member.userId, role: next })}
            disabled={changeRole.isPending}
            style={{ minWidth: 170 }}
          />
        ) : (
          t(`role.${role}`)
        ),
    },
    { title: t('members.joinedAt'), dataIndex: 'joinedAt', render: (at: number) => formatTime(at) },
    ...(canManage
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, member: Member) => (
              <Popconfirm
                title={t('members.removeConfirm', { account: member.account })}
                onConfirm={() => remove.mutateAsync(member.userId)}
              >
                <Button size="small" danger>
                  {t('members.remove')}
                </Button>
              </Popconfirm>
            ),
          },
        ]
      : []),
  ];

  return (
    <>
      <PageHeader
        title={t('members.title', { team: team.name })}
        extra={
          canManage && (
            <Button type="primary" onClick={() => setAdding(true)}>
              {t('members.add')}
            </Button>
          )
        }
      />
      {!canManage && (
        <Alert type="info" showIcon title={t('members.readOnly')} style={{ marginBottom: 16 }} data-testid="members-read-only" />
      )}
      <LoadError error={members.error} />
      <Table<Member>
        rowKey="userId"
        columns={columns}
        dataSource={members.data?.items}
        loading={members.isPending}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
      />

      <FormModal<NewMemberValues>
        title={t('members.add')}
        open={adding}
        okText={t('members.add')}
        initialValues={{ role: 'developer' }}
        onClose={() => setAdding(false)}
        onSubmit={async (values) => {
          await consoleApi.addMember(team.id, values.account.trim(), values.role);
          message.success(t('members.added', { account: values.account.trim() }));
          await refresh();
        }}
      >
        <Form.Item
          label={t('members.account')}
          name="account"
          rules={[{ required: true, whitespace: true, message: t('common.required') }]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item label={t('members.role')} name="role" rules={[{ required: true }]}>
          <Select<TeamRole> options={newMemberRoleOptions} />
        </Form.Item>
      </FormModal>
    </>
  );
}
