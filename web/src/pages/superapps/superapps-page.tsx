import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Form, Input, Select, Table, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { Superapp } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

interface SuperappValues {
  teamId: string;
  name: string;
  description: string;
}

/** Superapps the caller reaches; admins create them, a superapp's Administrator edits it. */
export default function SuperappsPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { session, level, levelInTeam } = useConsole();
  const queryClient = useQueryClient();
  const canCreate = level('team.create') === 'write';
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Superapp | null>(null);

  const superapps = useQuery({ queryKey: queryKeys.superapps, queryFn: consoleApi.listSuperapps });
  const teamName = (teamId: string) => session.teams.find((team) => team.id === teamId)?.name ?? teamId;
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.superapps });

  const columns: TableColumnsType<Superapp> = [
    { title: t('superapps.name'), dataIndex: 'name' },
    {
      title: t('superapps.applicationId'),
      dataIndex: 'applicationId',
      render: (id: string) => (
        <Typography.Text code copyable>
          {id}
        </Typography.Text>
      ),
    },
    { title: t('superapps.description'), dataIndex: 'description', ellipsis: true },
    { title: t('superapps.team'), dataIndex: 'teamId', render: teamName },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    {
      title: t('common.actions'),
      key: 'actions',
      render: (_, superapp) =>
        levelInTeam('superapp.manage', superapp.teamId) === 'write' && (
          <Button size="small" onClick={() => setEditing(superapp)}>
            {t('common.edit')}
          </Button>
        ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('superapps.title')}
        extra={
          canCreate && (
            <Button type="primary" onClick={() => setCreating(true)}>
              {t('superapps.create')}
            </Button>
          )
        }
      />
      <LoadError error={superapps.error} />
      <Table<Superapp>
        rowKey="applicationId"
        columns={columns}
        dataSource={superapps.data?.items}
        loading={superapps.isPending}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
      />

      <FormModal<SuperappValues>
        title={t('superapps.create')}
        open={creating}
        okText={t('common.create')}
        onClose={() => setCreating(false)}
        onSubmit={async (values) => {
          const superapp = await consoleApi.createSuperapp({ ...values, description: values.description ?? '' });
          message.success(t('superapps.created', { name: superapp.name }));
          await refresh();
        }}
      >
        <Form.Item label={t('superapps.team')} name="teamId" rules={[{ required: true, message: t('common.required') }]}>
          <Select
            showSearch={{ optionFilterProp: 'label' }}
            options={session.teams.filter((team) => team.kind === 'superapp').map((team) => ({ value: team.id, label: team.name }))}
          />
        </Form.Item>
        <Form.Item label={t('superapps.name')} name="name" rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item label={t('superapps.description')} name="description">
          <Input.TextArea maxLength={500} rows={3} />
        </Form.Item>
      </FormModal>

      <FormModal<Omit<SuperappValues, 'teamId'>>
        title={t('superapps.edit')}
        open={editing !== null}
        okText={t('common.save')}
        initialValues={editing ? { name: editing.name, description: editing.description } : {}}
        onClose={() => setEditing(null)}
        onSubmit={async (values) => {
          await consoleApi.updateSuperapp(editing!.applicationId, { name: values.name, description: values.description ?? '' });
          message.success(t('common.saved'));
          await refresh();
        }}
      >
        <Form.Item label={t('superapps.name')} name="name" rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item label={t('superapps.description')} name="description">
          <Input.TextArea maxLength={500} rows={3} />
        </Form.Item>
      </FormModal>
    </>
  );
}
