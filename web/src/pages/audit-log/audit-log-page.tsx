import { useInfiniteQuery } from '@tanstack/react-query';
import { Button, Col, Flex, Row, Table, Typography, type TableColumnsType } from 'antd';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { AuditEntry } from '../../api/types.ts';
import { useConsole } from '../../app/console-context.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

function JsonBlock({ label, value }: { label: string; value: unknown }) {
  return (
    <>
      <Typography.Text strong>{label}</Typography.Text>
      <pre
        style={{ background: '#f6f8fa', padding: 12, borderRadius: 6, maxHeight: 320, overflow: 'auto', fontSize: 12, margin: '4px 0 0' }}
      >
        {value === null || value === undefined ? '—' : JSON.stringify(value, null, 2)}
      </pre>
    </>
  );
}

/** The audit log, newest first, one server page at a time ("load more" follows nextBeforeId). */
export default function AuditLogPage() {
  const { t, formatTime } = useI18n();
  const { session } = useConsole();
  const entries = useInfiniteQuery({
    queryKey: queryKeys.auditLog,
    queryFn: ({ pageParam }) => consoleApi.listAuditLog(pageParam),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (page) => page.nextBeforeId ?? undefined,
  });
  const items = entries.data?.pages.flatMap((page) => page.items) ?? [];
  const teamName = (teamId: string | null) =>
    teamId ? (session.teams.find((team) => team.id === teamId)?.name ?? teamId) : t('common.none');

  const columns: TableColumnsType<AuditEntry> = [
    { title: t('audit.at'), dataIndex: 'at', render: (at: number) => formatTime(at), width: 190 },
    { title: t('audit.actor'), dataIndex: 'actorAccount' },
    { title: t('audit.action'), dataIndex: 'action', render: (action: string) => <Typography.Text code>{action}</Typography.Text> },
    { title: t('audit.target'), key: 'target', render: (_, entry) => `${entry.targetType} ${entry.targetId}` },
    { title: t('audit.team'), dataIndex: 'teamId', render: teamName },
  ];

  return (
    <>
      <PageHeader title={t('audit.title')} extra={<Button onClick={() => entries.refetch()}>{t('common.refresh')}</Button>} />
      <LoadError error={entries.error} />
      <Table<AuditEntry>
        rowKey="id"
        columns={columns}
        dataSource={items}
        loading={entries.isPending}
        pagination={false}
        expandable={{
          expandedRowRender: (entry) => (
            <Row gutter={16}>
              <Col xs={24} md={12}>
                <JsonBlock label={t('audit.before')} value={entry.before} />
              </Col>
              <Col xs={24} md={12}>
                <JsonBlock label={t('audit.after')} value={entry.after} />
              </Col>
            </Row>
          ),
        }}
      />
      <Flex justify="center" style={{ marginTop: 16 }}>
        {entries.hasNextPage ? (
          <Button onClick={() => entries.fetchNextPage()} loading={entries.isFetchingNextPage}>
            {t('audit.loadMore')}
          </Button>
        ) : (
          !entries.isPending && <Typography.Text type="secondary">{t('audit.end')}</Typography.Text>
        )}
      </Flex>
    </>
  );
}
