import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Avatar, Button, Form, Input, Table, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys, type MiniProgramFields } from '../../api/console-api.ts';
import type { MiniProgram } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

function MiniProgramFormItems() {
  const { t } = useI18n();
  return (
    <>
      <Form.Item label={t('miniPrograms.name')} name="name" rules={[{ required: true, whitespace: true, message: t('common.required') }]}>
        <Input maxLength={100} />
      </Form.Item>
      <Form.Item label={t('miniPrograms.category')} name="category">
        <Input maxLength={100} />
      </Form.Item>
      <Form.Item label={t('miniPrograms.iconUrl')} name="iconUrl" rules={[{ type: 'url' }]}>
        <Input maxLength={500} placeholder="https://" />
      </Form.Item>
    </>
  );
}

/** The current mini program team's mini programs. */
export default function MiniProgramsPage() {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { currentTeam, level } = useConsole();
  const team = currentTeam!;
  const queryClient = useQueryClient();
  const canManage = level('mini_program.manage') === 'write';
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<MiniProgram | null>(null);

  const miniPrograms = useQuery({ queryKey: queryKeys.miniPrograms(team.id), queryFn: () => consoleApi.listMiniPrograms(team.id) });
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.miniPrograms(team.id) });

  const columns: TableColumnsType<MiniProgram> = [
    {
      title: t('miniPrograms.name'),
      dataIndex: 'name',
      render: (name: string, miniProgram) => (
        <>
          <Avatar shape="square" size="small" src={miniProgram.iconUrl || undefined} style={{ marginRight: 8 }}>
            {name.slice(0, 1)}
          </Avatar>
          {name}
        </>
      ),
    },
    {
      title: t('miniPrograms.mnpId'),
      dataIndex: 'mnpId',
      render: (id: string) => (
        <Typography.Text code copyable>
          {id}
        </Typography.Text>
      ),
    },
    { title: t('miniPrograms.category'), dataIndex: 'category', render: (category: string) => category || t('common.none') },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    ...(canManage
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, miniProgram: MiniProgram) => (
              <Button size="small" onClick={() => setEditing(miniProgram)}>
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
        title={t('miniPrograms.title', { team: team.name })}
        extra={
          canManage && (
            <Button type="primary" onClick={() => setCreating(true)}>
              {t('miniPrograms.create')}
            </Button>
          )
        }
      />
      <LoadError error={miniPrograms.error} />
      <Table<MiniProgram>
        rowKey="mnpId"
        columns={columns}
        dataSource={miniPrograms.data?.items}
        loading={miniPrograms.isPending}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
      />

      <FormModal<MiniProgramFields>
        title={t('miniPrograms.create')}
        open={creating}
        okText={t('common.create')}
        onClose={() => setCreating(false)}
        onSubmit={async (values) => {
          const miniProgram = await consoleApi.createMiniProgram(team.id, values);
          message.success(t('miniPrograms.created', { name: miniProgram.name }));
          await refresh();
        }}
      >
        <MiniProgramFormItems />
      </FormModal>

      <FormModal<MiniProgramFields>
        title={t('miniPrograms.edit')}
        open={editing !== null}
        okText={t('common.save')}
        initialValues={editing ? { name: editing.name, category: editing.category, iconUrl: editing.iconUrl } : {}}
        onClose={() => setEditing(null)}
        onSubmit={async (values) => {
          await consoleApi.updateMiniProgram(editing!.mnpId, {
            name: values.name,
            category: values.category ?? '',
            iconUrl: values.iconUrl ?? '',
          });
          message.success(t('common.saved'));
          await refresh();
        }}
      >
        <MiniProgramFormItems />
      </FormModal>
    </>
  );
}
