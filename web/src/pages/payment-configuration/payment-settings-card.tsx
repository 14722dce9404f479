import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App as AntApp,
  Button,
  Card,
  Descriptions,
  Form,
  Input,
  Modal,
  Popconfirm,
  Radio,
  Select,
  Skeleton,
  Switch,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useMemo, useState } from 'react';
import { ApiError } from '../../api/client.ts';
import { consoleApi, queryKeys, type PaymentConfigChanges } from '../../api/console-api.ts';
import type { ChannelKind, Currency, PaymentConfig } from '../../api/types.ts';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

interface SettingsValues {
  paymentEnabled: boolean;
  currencies: string[];
  channelKind: ChannelKind | null;
  baseUrl?: string;
  webhookUrl?: string;
  secret?: string;
  statementsSupported: boolean;
  statementUrl?: string;
}

// The server names channel fields `channel.<name>`; the form's fields are flat.
const channelFieldOfServerField: Record<string, keyof SettingsValues> = {
  'channel.kind': 'channelKind',
  'channel.baseUrl': 'baseUrl',
  'channel.webhookUrl': 'webhookUrl',
  'channel.secret': 'secret',
  statementsSupported: 'statementsSupported',
  statementUrl: 'statementUrl',
};

/** The HTTP channel protocol's key: long and random (the server enforces its own minimum too). */
const minimumChannelKeyLength = 32;

const channelKindsInOrder: readonly ChannelKind[] = ['sandbox', 'http', 'host_reported'];

/** CNY first (the platform's home currency), then the server's order. */
function currencyOptions(currencies: Currency[]) {
  const ordered = [...currencies.filter((c) => c.code === 'CNY'), ...currencies.filter((c) => c.code !== 'CNY')];
  return ordered.map((currency) => ({ value: currency.code, label: `${currency.code} — ${currency.name}` }));
}

interface IssuedHostKey {
  hostKey: string;
  issuedAt: number;
}

/** A host-reported superapp's host key (SPEC §4.5): issued or rotated here, shown once. */
function HostKeyButton({ applicationId }: { applicationId: string }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [issued, setIssued] = useState<IssuedHostKey | null>(null);
  const issue = async () => {
    try {
      setIssued(await consoleApi.issueHostKey(applicationId));
    } catch (caught) {
      message.error(caught instanceof Error ? caught.message : String(caught));
    }
  };
  return (
    <>
      <Popconfirm title={t('paymentConfig.hostKeyConfirm')} onConfirm={issue}>
        <Button style={{ marginLeft: 8 }}>{t('paymentConfig.hostKeyIssue')}</Button>
      </Popconfirm>
      <Modal
        title={t('paymentConfig.hostKeyTitle')}
        width={640}
        open={issued !== null}
        onCancel={() => setIssued(null)}
        mask={{ closable: false }}
        destroyOnHidden
        footer={
          <Button type="primary" onClick={() => setIssued(null)}>
            {t('paymentConfig.hostKeySaved')}
          </Button>
        }
      >
        <Alert type="warning" showIcon title={t('paymentConfig.hostKeyOnce')} style={{ marginBottom: 16 }} />
        {issued && (
          <Descriptions column={1} bordered size="small">
            <Descriptions.Item label={t('paymentConfig.hostKey')}>
              <Typography.Text code copyable style={{ wordBreak: 'break-all' }}>
                {issued.hostKey}
              </Typography.Text>
            </Descriptions.Item>
          </Descriptions>
        )}
      </Modal>
    </>
  );
}

/** What a save sends: payment and currencies always; the channel only when it changes. */
function paymentConfigChangesOf(values: SettingsValues, config: PaymentConfig): PaymentConfigChanges {
  const changes: PaymentConfigChanges = { paymentEnabled: values.paymentEnabled, currencies: values.currencies };
  // Re-sending an unchanged connection could replace its stored key.
  if (values.channelKind === 'sandbox' && config.channelKind !== 'sandbox') changes.channel = { kind: 'sandbox' };
  if (values.channelKind === 'http') {
    const baseUrl = values.baseUrl?.trim() ?? '';
    const secret = values.secret || undefined;
    if (config.channelKind !== 'http' || baseUrl !== config.channelSettings.baseUrl || secret) {
      changes.channel = { kind: 'http', baseUrl, ...(secret ? { secret } : {}) };
    }
  }
  // The statement settings stand apart from the connection: sending them never touches a key.
  if (values.channelKind === 'http' && (config.channelKind !== 'http' || values.statementsSupported !== config.statementsSupported)) {
    changes.statementsSupported = values.statementsSupported;
  }
  if (values.channelKind === 'host_reported') {
    const webhookUrl = values.webhookUrl?.trim() ?? '';
    if (config.channelKind !== 'host_reported' || webhookUrl !== config.channelSettings.webhookUrl) {
      changes.channel = { kind: 'host_reported', webhookUrl };
    }
    const statementUrl = values.statementUrl?.trim() || null;
    if (statementUrl !== config.statementUrl) changes.statementUrl = statementUrl;
  }
  return changes;
}

interface SettingsFormProps {
  applicationId: string;
  config: PaymentConfig;
  currencies: Currency[];
  canEdit: boolean;
}

function SettingsForm({ applicationId, config, currencies, canEdit }: SettingsFormProps) {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<SettingsValues>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const options = useMemo(() => currencyOptions(currencies), [currencies]);

  const channelKind = Form.useWatch('channelKind', form) ?? config.channelKind;

  async function save(values: SettingsValues) {
    const changes = paymentConfigChangesOf(values, config);
    setSaving(true);
    setError(null);
    try {
      const saved = await consoleApi.updatePaymentConfig(applicationId, changes);
      queryClient.setQueryData(queryKeys.paymentConfig(applicationId), saved);
      message.success(t('common.saved'));
    } catch (caught) {
      const serverField = caught instanceof ApiError ? caught.details?.field : undefined;
      const field =
        serverField === 'currencies' ? 'currencies' : typeof serverField === 'string' ? channelFieldOfServerField[serverField] : undefined;
      const text = caught instanceof Error ? caught.message : String(caught);
      if (field) form.setFields([{ name: field, errors: [text] }]);
      else setError(text);
    } finally {
      setSaving(false);
    }
  }

  const channelLabel = (kind: ChannelKind) => {
    const name = t(`channelKind.${kind}`);
    if (config.selectableChannelKinds.includes(kind)) return name;
    if (kind === 'sandbox') return `${name} (${t('paymentConfig.sandboxOff')})`;
    return `${name} (${t('paymentConfig.notYetAvailable')})`;
  };

  return (
    <Form<SettingsValues>
      form={form}
      layout="vertical"
      disabled={!canEdit}
      initialValues={{
        paymentEnabled: config.paymentEnabled,
        currencies: config.currencies,
        channelKind: config.channelKind,
        baseUrl: config.channelSettings.baseUrl,
        webhookUrl: config.channelSettings.webhookUrl,
        // A newly chosen HTTP channel serves statements unless switched off (as the server assumes).
        statementsSupported: config.channelKind === 'http' ? config.statementsSupported : true,
        statementUrl: config.statementUrl ?? undefined,
      }}
      onFinish={save}
      style={{ maxWidth: 640 }}
    >
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} role="alert" />}
      <Form.Item label={t('paymentConfig.payment')} name="paymentEnabled" valuePropName="checked" extra={t('paymentConfig.paymentHelp')}>
        <Switch
          checkedChildren={t('paymentConfig.enabled')}
          unCheckedChildren={t('paymentConfig.disabled')}
          aria-label={t('paymentConfig.payment')}
        />
      </Form.Item>
      <Form.Item
        label={t('paymentConfig.currencies')}
        name="currencies"
        extra={t('paymentConfig.currenciesHelp')}
        rules={[{ required: true, type: 'array', min: 1, message: t('paymentConfig.currenciesRequired') }]}
      >
        <Select mode="multiple" options={options} optionFilterProp="label" aria-label={t('paymentConfig.currencies')} />
      </Form.Item>
      <Form.Item label={t('paymentConfig.channel')} name="channelKind" extra={t('paymentConfig.channelHelp')}>
        <Radio.Group>
          {channelKindsInOrder.map((kind) => (
            <Radio key={kind} value={kind} disabled={!config.selectableChannelKinds.includes(kind)}>
              {channelLabel(kind)}
            </Radio>
          ))}
        </Radio.Group>
      </Form.Item>
      {channelKind === 'http' && (
        <>
          <Form.Item
            label={t('paymentConfig.baseUrl')}
            name="baseUrl"
            extra={t('paymentConfig.baseUrlHelp')}
            rules={[{ required: true, type: 'url', pattern: /^https:\/\//, message: t('paymentConfig.httpsUrl') }]}
          >
            <Input placeholder="https://" maxLength={500} />
          </Form.Item>
          <Form.Item
            label={t('paymentConfig.channelKey')}
            name="secret"
            extra={
              config.channelKind === 'http' && config.channelSecretSet
                ? t('paymentConfig.channelKeyKeep')
                : t('paymentConfig.channelKeyHelp')
            }
            rules={[
              { required: !(config.channelKind === 'http' && config.channelSecretSet), message: t('common.required') },
              { min: minimumChannelKeyLength, message: t('paymentConfig.channelKeyLength', { count: minimumChannelKeyLength }) },
            ]}
          >
            <Input.Password autoComplete="new-password" maxLength={200} />
          </Form.Item>
          <Form.Item
            label={t('paymentConfig.statementsSupported')}
            name="statementsSupported"
            valuePropName="checked"
            extra={t('paymentConfig.statementsSupportedHelp')}
          >
            <Switch
              checkedChildren={t('paymentConfig.statementsOn')}
              unCheckedChildren={t('paymentConfig.statementsOff')}
              aria-label={t('paymentConfig.statementsSupported')}
            />
          </Form.Item>
        </>
      )}
      {channelKind === 'host_reported' && (
        <Form.Item
          label={t('paymentConfig.webhookUrl')}
          name="webhookUrl"
          extra={t('paymentConfig.webhookUrlHelp')}
          rules={[{ required: true, type: 'url', pattern: /^https:\/\//, message: t('paymentConfig.httpsUrl') }]}
        >
          <Input placeholder="https://" maxLength={500} />
        </Form.Item>
      )}
      {channelKind === 'host_reported' && (
        <Form.Item
          label={t('paymentConfig.statementUrl')}
          name="statementUrl"
          extra={t('paymentConfig.statementUrlHelp')}
          rules={[{ type: 'url', pattern: /^https:\/\//, message: t('paymentConfig.httpsUrl') }]}
        >
          <Input placeholder="https://" maxLength={500} aria-label={t('paymentConfig.statementUrl')} />
        </Form.Item>
      )}
      {canEdit && (
        <Button type="primary" htmlType="submit" loading={saving}>
          {t('common.save')}
        </Button>
      )}
      {canEdit && config.channelKind === 'host_reported' && <HostKeyButton applicationId={applicationId} />}
      {config.updatedAt !== null && (
        <Typography.Text type="secondary" style={{ marginLeft: canEdit ? 16 : 0 }}>
          {t('paymentConfig.updatedAt', { time: formatTime(config.updatedAt) })}
        </Typography.Text>
      )}
    </Form>
  );
}

/**
 * The superapp's replaced channel connections that still carry open orders or refunds (SPEC §7 "Channel change with
 * live money"): an operator sees what the old address must keep serving, and for how much.
 */
function PreviousConnections({ connections }: { connections: PaymentConfig['previousConnections'] }) {
  const { t, formatTime } = useI18n();
  if (connections.length === 0) return null;
  return (
    <section aria-label={t('paymentConfig.previousConnections')} style={{ marginTop: 24 }}>
      <Typography.Title level={5}>{t('paymentConfig.previousConnections')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('paymentConfig.previousConnectionsHelp')}</Typography.Paragraph>
      <Table
        size="small"
        rowKey="id"
        pagination={false}
        dataSource={connections}
        columns={[
          { title: t('paymentConfig.connectionKind'), dataIndex: 'kind', render: (kind: ChannelKind) => t(`channelKind.${kind}`) },
          { title: t('paymentConfig.connectionUrl'), dataIndex: 'url', render: (url: string | null) => url ?? '—' },
          { title: t('paymentConfig.connectionSince'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
          { title: t('paymentConfig.openOrders'), dataIndex: 'openOrders' },
          { title: t('paymentConfig.openRefunds'), dataIndex: 'openRefunds' },
        ]}
      />
    </section>
  );
}

/** Payment on/off, allowed currencies and the channel connection of one superapp (SA Administrator; admins read). */
export function PaymentSettingsCard({ applicationId, canEdit }: { applicationId: string; canEdit: boolean }) {
  const { t } = useI18n();
  const config = useQuery({ queryKey: queryKeys.paymentConfig(applicationId), queryFn: () => consoleApi.getPaymentConfig(applicationId) });
  const currencies = useQuery({ queryKey: queryKeys.currencies, queryFn: consoleApi.listCurrencies, staleTime: Infinity });
  return (
    <Card
      title={t('paymentConfig.settings')}
      extra={
        config.data && (
          <Tag color={config.data.paymentEnabled ? 'success' : 'default'}>
            {config.data.paymentEnabled ? t('paymentConfig.enabled') : t('paymentConfig.disabled')}
          </Tag>
        )
      }
      style={{ marginBottom: 24 }}
    >
      {!canEdit && <Alert type="info" showIcon title={t('paymentConfig.readOnly')} style={{ marginBottom: 16 }} />}
      <LoadError error={config.error ?? currencies.error} />
      {config.data && currencies.data ? (
        // Keyed by the saved version so a save (or another admin's) resets the form to what the server holds.
        <SettingsForm
          key={`${applicationId}:${config.data.updatedAt ?? 0}`}
          applicationId={applicationId}
          config={config.data}
          currencies={currencies.data.items}
          canEdit={canEdit}
        />
      ) : (
        !config.error && <Skeleton active />
      )}
      {config.data && <PreviousConnections connections={config.data.previousConnections} />}
    </Card>
  );
}
