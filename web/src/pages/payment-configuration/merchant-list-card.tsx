import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, Card, Form, Input, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys, type MerchantFields } from '../../api/console-api.ts';
import type { Merchant } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

const pageSize = 20;

function MerchantFormItems() {
  const { t } = useI18n();
  return (
    <>
      <Form.Item
        label={t('merchants.merchantId')}
        name="merchantId"
        rules={[
          { required: true, whitespace: true, message: t('common.required') },
          { pattern: /^[A-Za-z0-9_-]{1,32}$/, message: t('merchants.merchantIdFormat') },
        ]}
      >
        <Input maxLength={32} autoComplete="off" />
      </Form.Item>
      <Form.Item
        label={t('merchants.merchantName')}
        name="merchantName"
        rules={[{ required: true, whitespace: true, message: t('common.required') }]}
      >
        <Input maxLength={100} autoComplete="off" />
      </Form.Item>
    </>
  );
}

/** The superapp's merchant list: search for every payment role, add and edit for SA Administrator / Senior developer. */
export function MerchantListCard({ applicationId, canManage }: { applicationId: string; canManage: boolean }) {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const { session } = useConsole();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Merchant | null>(null);

  const merchants = useQuery({
    queryKey: [...queryKeys.merchants(applicationId), search, page],
    queryFn: () =>
      consoleApi.searchMerchants(applicationId, { search: search || undefined, offset: (page - 1) * pageSize, limit: pageSize }),
    placeholderData: keepPreviousData,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.merchants(applicationId) });
  const teamName = (teamId: string) => session.teams.find((team) => team.id === teamId)?.name ?? teamId;

  const columns: TableColumnsType<Merchant> = [
    {
      title: t('merchants.merchantId'),
      dataIndex: 'merchantId',
      render: (id: string) => (
        <Typography.Text code copyable>
          {id}
        </Typography.Text>
      ),
    },
    { title: t('merchants.merchantName'), dataIndex: 'merchantName' },
    {
      title: t('merchants.boundTeam'),
      dataIndex: 'boundTeamId',
      render: (teamId: string | null) => (teamId ? <Tag color="blue">{teamName(teamId)}</Tag> : <Tag>{t('merchants.free')}</Tag>),
    },
    { title: t('merchants.updatedAt'), dataIndex: 'updatedAt', render: (at: number) => formatTime(at) },
    ...(canManage
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, merchant: Merchant) => (
              <Button size="small" onClick={() => setEditing(merchant)} aria-label={`${t('common.edit')} ${merchant.merchantId}`}>
                {t('common.edit')}
              </Button>
            ),
          },
        ]
      : []),
  ];

  return (
    <Card
      title={t('merchants.title')}
      extra={
        canManage && (
          <Button type="primary" onClick={() => setAdding(true)}>
            {t('merchants.add')}
          </Button>
        )
      }
    >
      <Input.Search
        placeholder={t('merchants.searchPlaceholder')}
        aria-label={t('merchants.search')}
        allowClear
        enterButton={t('common.search')}
        onSearch={(value) => {
          setSearch(value.trim());
          setPage(1);
        }}
        style={{ maxWidth: 420, marginBottom: 16 }}
      />
      <LoadError error={merchants.error} />
      <Table<Merchant>
        rowKey="id"
        columns={columns}
        dataSource={merchants.data?.items}
        loading={merchants.isFetching}
        pagination={{
          current: page,
          pageSize,
          total: merchants.data?.total ?? 0,
          onChange: setPage,
          hideOnSinglePage: true,
          showSizeChanger: false,
        }}
      />

      <FormModal<MerchantFields>
        title={t('merchants.add')}
        open={adding}
        okText={t('merchants.add')}
        onClose={() => setAdding(false)}
        onSubmit={async (values) => {
          await consoleApi.createMerchant(applicationId, {
            merchantId: values.merchantId.trim(),
            merchantName: values.merchantName.trim(),
          });
          message.success(t('merchants.added', { merchantId: values.merchantId.trim() }));
          await refresh();
        }}
      >
        <MerchantFormItems />
      </FormModal>

      <FormModal<MerchantFields>
        title={t('merchants.edit')}
        open={editing !== null}
        okText={t('common.save')}
        initialValues={editing ? { merchantId: editing.merchantId, merchantName: editing.merchantName } : {}}
        onClose={() => setEditing(null)}
        onSubmit={async (values) => {
          await consoleApi.updateMerchant(applicationId, editing!.id, {
            merchantId: values.merchantId.trim(),
            merchantName: values.merchantName.trim(),
          });
          message.success(t('common.saved'));
          await refresh();
        }}
      >
        <Typography.Paragraph type="secondary">{t('merchants.editHelp')}</Typography.Paragraph>
        <MerchantFormItems />
      </FormModal>
    </Card>
  );
}
