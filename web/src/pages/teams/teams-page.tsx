import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Form, Input, Radio, Table, Tag, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { Team, TeamKind, TeamStatus } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { fromLocalInputValue, toLocalInputValue } from '../../components/date-time.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { CreateTeamModal } from './create-team-modal.tsx';
import { teamStatusColors } from './team-status.ts';

interface TeamEditValues {
  name: string;
  status: TeamStatus;
  expiresAt?: string;
}

/** Teams the caller reaches; platform admins create and edit them. */
export default function TeamsPage() {
  const { t, formatTime } = useI18n();
  const { level } = useConsole();
  const queryClient = useQueryClient();
  const canCreate = level('team.create') === 'write';
  const canManage = level('team.manage') === 'write';
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Team | null>(null);

  const teams = useQuery({ queryKey: queryKeys.teams, queryFn: consoleApi.listTeams });
  // Superapp names for the table and the form, where the caller may see superapps at all.
  const superapps = useQuery({
    queryKey: queryKeys.superapps,
    queryFn: consoleApi.listSuperapps,
    enabled: level('superapp.view') !== undefined,
  });

  const superappName = (id: string | null) =>
    superapps.data?.items.find((superapp) => superapp.applicationId === id)?.name ?? id ?? t('common.none');
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.teams }),
      queryClient.invalidateQueries({ queryKey: queryKeys.session }),
    ]);

  const columns: TableColumnsType<Team> = [
    { title: t('teams.name'), dataIndex: 'name' },
    {
      title: t('teams.kind'),
      dataIndex: 'kind',
      render: (kind: TeamKind) => <Tag color={kind === 'superapp' ? 'purple' : 'blue'}>{t(`teamKind.${kind}`)}</Tag>,
    },
    { title: t('teams.superapp'), dataIndex: 'superappId', render: (id: string | null) => (id ? superappName(id) : t('common.none')) },
    {
      title: t('common.status'),
      dataIndex: 'effectiveStatus',
      render: (status: TeamStatus) => <Tag color={teamStatusColors[status]}>{t(`teamStatus.${status}`)}</Tag>,
    },
    { title: t('teams.expiresAt'), dataIndex: 'expiresAt', render: (at: number | null) => (at ? formatTime(at) : t('teams.noExpiry')) },
    { title: t('teams.myRole'), dataIndex: 'myRole', render: (role: Team['myRole']) => (role ? t(`role.${role}`) : t('common.none')) },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    ...(canManage
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, team: Team) => (
              <Button size="small" onClick={() => setEditing(team)}>
                {t('common.edit')}
              </Button>
            ),
          },
        ]
      : []),
  ];

  return (
    <>
      <PageHeader
        title={t('teams.title')}
        extra={
          canCreate && (
            <Button type="primary" onClick={() => setCreating(true)}>
              {t('teams.create')}
            </Button>
          )
        }
      />
      <LoadError error={teams.error} />
      <Table<Team>
        rowKey="id"
        columns={columns}
        dataSource={teams.data?.items}
        loading={teams.isPending}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
      />

      <CreateTeamModal open={creating} superapps={superapps} onCreated={refresh} onClose={() => setCreating(false)} />

      <FormModal<TeamEditValues>
        title={t('teams.edit')}
        open={editing !== null}
        okText={t('common.save')}
        initialValues={editing ? { name: editing.name, status: editing.status, expiresAt: toLocalInputValue(editing.expiresAt) } : {}}
        onClose={() => setEditing(null)}
        onSubmit={async ({ expiresAt, ...values }) => {
          await consoleApi.updateTeam(editing!.id, { ...values, expiresAt: fromLocalInputValue(expiresAt) });
          await refresh();
        }}
      >
        <Form.Item label={t('teams.name')} name="name" rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item label={t('common.status')} name="status" rules={[{ required: true }]}>
          <Radio.Group
            optionType="button"
            options={(['active', 'disabled'] as const).map((status) => ({ value: status, label: t(`teamStatus.${status}`) }))}
          />
        </Form.Item>
        <Form.Item label={t('teams.expiresAt')} name="expiresAt">
          <Input type="datetime-local" />
        </Form.Item>
      </FormModal>
    </>
  );
}
