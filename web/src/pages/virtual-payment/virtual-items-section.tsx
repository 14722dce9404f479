import { Alert, Button, Card, Descriptions, Flex, Popconfirm, Table, Tag, Tooltip, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { ExemptionStatus, ItemStatus } from '../../api/payment-status.ts';
import type { ItemExemption, VirtualItem } from '../../api/types.ts';
import { LoadError } from '../../components/load-error.tsx';
import { ExemptionStatusTag, ItemStatusTag } from '../../components/status-tags.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { ItemFormModal } from './item-form-modal.tsx';
import { formatMinorUnits, type useVirtualPayment } from './use-virtual-payment.ts';
import { ApplyNoteModal } from './virtual-payment-configuration.tsx';

type VirtualPayment = ReturnType<typeof useVirtualPayment>;

const requestableExemption: number[] = [ExemptionStatus.NeverApplied, ExemptionStatus.Rejected, ExemptionStatus.Revoked];

function ExemptionCard({ exemption, virtualPayment }: { exemption: ItemExemption; virtualPayment: VirtualPayment }) {
  const { t, formatTime } = useI18n();
  const [applying, setApplying] = useState(false);
  return (
    <Card size="small" title={t('exemption.title')} data-testid="item-exemption">
      <Typography.Paragraph type="secondary">{t('exemption.help')}</Typography.Paragraph>
      <Descriptions column={{ xs: 1, lg: 3 }} size="small">
        <Descriptions.Item label={t('virtualPayment.state')}>
          <ExemptionStatusTag status={exemption.status} />
        </Descriptions.Item>
        {exemption.applyTime > 0 && (
          <Descriptions.Item label={t('virtualPayment.appliedAt')}>{formatTime(exemption.applyTime)}</Descriptions.Item>
        )}
        {exemption.approvalNote && <Descriptions.Item label={t('virtualPayment.reviewerNote')}>{exemption.approvalNote}</Descriptions.Item>}
      </Descriptions>
      {virtualPayment.can.requestExemption && requestableExemption.includes(exemption.status) && (
        <Button style={{ marginTop: 8 }} onClick={() => setApplying(true)}>
          {t('exemption.request')}
        </Button>
      )}
      <ApplyNoteModal
        title={t('exemption.requestTitle')}
        open={applying}
        onSubmit={virtualPayment.actions.requestExemption}
        onClose={() => setApplying(false)}
      />
    </Card>
  );
}

/** Items: the table with its actions for MP Administrator and Senior developers, and the approval exemption. */
export function VirtualItemsSection({ virtualPayment }: { virtualPayment: VirtualPayment }) {
  const { t, formatTime } = useI18n();
  const { can, items, exemption, currencies, actions, itemAction } = virtualPayment;
  const [editing, setEditing] = useState<VirtualItem | 'new' | null>(null);
  const currencyList = currencies.data?.items ?? [];
  const exponentOf = (code: string) => currencyList.find((currency) => currency.code === code)?.exponent ?? 2;
  // What sells (or sold, once offline); while pending or rejected, what was submitted.
  const shown = (item: VirtualItem) =>
    item.status === ItemStatus.Approved || item.status === ItemStatus.Offline ? (item.approved ?? item.latest) : item.latest;
  const rows = items.data?.items ?? [];

  const columns: TableColumnsType<VirtualItem> = [
    {
      title: t('virtualItems.productId'),
      dataIndex: 'productId',
      render: (productId: string) => <Typography.Text code>{productId}</Typography.Text>,
    },
    { title: t('virtualItems.name'), key: 'name', render: (_, item) => shown(item).name },
    {
      title: t('virtualItems.price'),
      key: 'price',
      align: 'right',
      render: (_, item) => formatMinorUnits(shown(item).price, shown(item).currency, exponentOf(shown(item).currency)),
    },
    { title: t('virtualItems.currency'), key: 'currency', render: (_, item) => shown(item).currency },
    {
      title: t('virtualItems.status'),
      key: 'status',
      render: (_, item) => (
        <Flex gap={4} wrap align="center">
          <ItemStatusTag status={item.status} />
          {item.pending && item.status === ItemStatus.Approved && (
            <Tooltip
              title={t('virtualItems.pendingRevisionHelp', {
                name: item.pending.name,
                price: formatMinorUnits(item.pending.price, item.pending.currency, exponentOf(item.pending.currency)),
              })}
            >
              <Tag color="gold" data-testid="pending-revision">
                {t('virtualItems.pendingRevision')}
              </Tag>
            </Tooltip>
          )}
          {item.status === ItemStatus.Rejected && item.latest.approvalNote && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('virtualItems.rejectedNote', { note: item.latest.approvalNote })}
            </Typography.Text>
          )}
        </Flex>
      ),
    },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    ...(can.editItems
      ? [
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_: unknown, item: VirtualItem) => (
              <Flex gap={8}>
                <Button size="small" aria-label={`${t('common.edit')} ${item.productId}`} onClick={() => setEditing(item)}>
                  {t('common.edit')}
                </Button>
                {item.status === ItemStatus.Approved && (
                  <Popconfirm
                    title={t('virtualItems.offlineConfirm', { productId: item.productId })}
                    onConfirm={() => itemAction.mutateAsync({ item, action: 'offline' })}
                  >
                    <Button size="small" danger>
                      {t('virtualItems.offline')}
                    </Button>
                  </Popconfirm>
                )}
                {(item.status === ItemStatus.Rejected || item.status === ItemStatus.Offline) && (
                  <Button size="small" onClick={() => itemAction.mutate({ item, action: 'resubmit' })}>
                    {t('virtualItems.resubmit')}
                  </Button>
                )}
              </Flex>
            ),
          },
        ]
      : []),
  ];

  return (
    <Flex vertical gap={16}>
      {exemption.data && <ExemptionCard exemption={exemption.data} virtualPayment={virtualPayment} />}
      <Card
        size="small"
        title={t('virtualItems.title')}
        extra={
          can.editItems && (
            <Button type="primary" onClick={() => setEditing('new')}>
              {t('virtualItems.create')}
            </Button>
          )
        }
      >
        {!can.editItems && <Alert type="info" showIcon title={t('virtualItems.editOnlyAdmins')} style={{ marginBottom: 16 }} />}
        <LoadError error={items.error} />
        <Table<VirtualItem>
          rowKey="productId"
          size="small"
          columns={columns}
          dataSource={rows}
          loading={items.isFetching}
          locale={{ emptyText: t('virtualItems.none') }}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          data-testid="virtual-items"
        />
      </Card>
      <ItemFormModal
        editing={editing}
        currencies={currencyList}
        defaultCurrency={rows[0] ? shown(rows[0]).currency : (currencyList[0]?.code ?? 'CNY')}
        onCreate={actions.createItem}
        onEdit={actions.editItem}
        onClose={() => setEditing(null)}
      />
    </Flex>
  );
}
