import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App as AntApp,
  Button,
  Card,
  Descriptions,
  Flex,
  Select,
  Skeleton,
  Table,
  Tag,
  Typography,
  type TableColumnsType,
} from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { IssuedKey, MerchantKey, MiniProgramPayment, PaymentCredentials, PlatformKey } from '../../api/types.ts';
import { saveTextFile } from '../../components/download.ts';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { ApiV3KeyModal } from './api-v3-key-modal.tsx';
import { CertificateExpiryTag } from './certificate-expiry.tsx';
import { certificateFileName, privateKeyFileName } from './credential-files.ts';
import { IssuedKeyModal, KeyResetModal } from './key-reset-modal.tsx';

/** The platform's public keys, which verify the gateway's signed responses and notifications. */
function PlatformKeys() {
  const { t, formatTime } = useI18n();
  const keys = useQuery({ queryKey: queryKeys.platformKeys, queryFn: consoleApi.listPlatformKeys });
  return (
    <>
      <Typography.Title level={5} style={{ marginTop: 24 }}>
        {t('credentials.platformKeys')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t('credentials.platformKeysHelp')}</Typography.Paragraph>
      <LoadError error={keys.error} />
      {keys.isPending && <Skeleton active />}
      <Flex vertical gap={12}>
        {keys.data?.items.map((key: PlatformKey) => (
          <Descriptions
            key={key.serialNo}
            bordered
            size="small"
            column={{ xs: 1, lg: 2 }}
            data-testid="platform-key"
            title={key.signing ? <Tag color="success">{t('credentials.signing')}</Tag> : <Tag>{t('credentials.publishedOnly')}</Tag>}
            extra={
              <Flex gap={8}>
                <Button size="small" onClick={() => saveTextFile(`${key.publicKeyId}.pem`, key.publicKeyPem)}>
                  {t('credentials.downloadPublicKey')}
                </Button>
                <Button size="small" onClick={() => saveTextFile(`wechatpay_${key.serialNo}.pem`, key.certificatePem)}>
                  {t('credentials.downloadPlatformCertificate')}
                </Button>
              </Flex>
            }
          >
            <Descriptions.Item label={t('credentials.publicKeyId')}>
              <Typography.Text code copyable>
                {key.publicKeyId}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('credentials.platformSerial')}>
              <Typography.Text code copyable>
                {key.serialNo}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('credentials.signingFrom')}>{formatTime(key.signingFrom)}</Descriptions.Item>
            <Descriptions.Item label={t('credentials.validUntil')}>{formatTime(key.notAfter)}</Descriptions.Item>
          </Descriptions>
        ))}
      </Flex>
    </>
  );
}

/** The payment account's identifiers, its active certificate and where its private key is, and the APIv3 key's state. */
function PaymentAccountDescriptions({ account }: { account: PaymentCredentials }) {
  const { t, formatTime } = useI18n();
  const active = account.activeKey;
  const privateKeyState = (key: MerchantKey) => {
    if (key.source !== 'generated') return t('credentials.privateKeyOwn');
    if (key.privateKeyDownloadable) return t('credentials.privateKeyWaiting');
    return key.downloadedAt
      ? t('credentials.privateKeyDownloadedAt', { time: formatTime(key.downloadedAt) })
      : t('credentials.privateKeyGone');
  };

  return (
    <Descriptions column={{ xs: 1, lg: 2 }} bordered size="small" data-testid="payment-account">
      <Descriptions.Item label={t('credentials.mchid')}>
        <Typography.Text code copyable>
          {account.mchid}
        </Typography.Text>
      </Descriptions.Item>
      <Descriptions.Item label={t('credentials.appid')}>
        <Typography.Text code copyable>
          {account.mnpId}
        </Typography.Text>
      </Descriptions.Item>
      <Descriptions.Item label={t('credentials.serialNo')}>
        {active ? (
          <Typography.Text code copyable data-testid="certificate-serial">
            {active.serialNo}
          </Typography.Text>
        ) : (
          <Typography.Text type="danger">{t('credentials.noActiveKey')}</Typography.Text>
        )}
      </Descriptions.Item>
      <Descriptions.Item label={t('credentials.validUntil')}>
        <Flex gap={8} wrap align="center">
          <span>{formatTime(active?.notAfter)}</span>
          {active && <CertificateExpiryTag certificate={active} />}
        </Flex>
      </Descriptions.Item>
      <Descriptions.Item label={t('credentials.keySource')}>
        {active ? t(`keySource.${active.source}`) : t('common.none')}
      </Descriptions.Item>
      <Descriptions.Item label={t('credentials.privateKey')}>{active ? privateKeyState(active) : t('common.none')}</Descriptions.Item>
      <Descriptions.Item label={t('credentials.apiV3Key')} span={2}>
        {account.apiV3KeySet ? (
          <Tag color="success">{t('credentials.apiV3KeySetAt', { time: formatTime(account.apiV3KeySetAt) })}</Tag>
        ) : (
          <Tag color="warning">{t('credentials.apiV3KeyNotSet')}</Tag>
        )}
      </Descriptions.Item>
    </Descriptions>
  );
}

function CredentialDetails({ mnpId }: { mnpId: string }) {
  const { t, formatTime } = useI18n();
  const { message } = AntApp.useApp();
  const queryClient = useQueryClient();
  const [resetting, setResetting] = useState(false);
  const [settingKey, setSettingKey] = useState(false);
  const [issued, setIssued] = useState<IssuedKey | null>(null);

  const credentials = useQuery({ queryKey: queryKeys.paymentCredentials(mnpId), queryFn: () => consoleApi.getPaymentCredentials(mnpId) });
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.paymentCredentials(mnpId) });

  const download = useMutation({
    mutationFn: () => consoleApi.downloadPrivateKey(mnpId),
    onSuccess: async (key) => {
      saveTextFile(privateKeyFileName(mnpId), key.privateKeyPem);
      message.success(t('credentials.downloaded', { serialNo: key.serialNo }));
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });

  if (credentials.isPending) return <Skeleton active />;
  if (!credentials.data) return <LoadError error={credentials.error} />;
  const account = credentials.data;
  const active = account.activeKey;

  const keyColumns: TableColumnsType<MerchantKey> = [
    {
      title: t('credentials.serialNo'),
      dataIndex: 'serialNo',
      render: (serial: string) => <Typography.Text code>{serial}</Typography.Text>,
    },
    { title: t('credentials.keySource'), dataIndex: 'source', render: (source: MerchantKey['source']) => t(`keySource.${source}`) },
    {
      title: t('common.status'),
      dataIndex: 'status',
      render: (status: MerchantKey['status']) => <Tag color={status === 'active' ? 'success' : 'default'}>{t(`keyStatus.${status}`)}</Tag>,
    },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    {
      title: t('credentials.validUntil'),
      dataIndex: 'notAfter',
      render: (at: number, key: MerchantKey) => (
        <Flex gap={8} align="center">
          <span>{formatTime(at)}</span>
          {key.status === 'active' && <CertificateExpiryTag certificate={key} />}
        </Flex>
      ),
    },
    { title: t('credentials.revokedAt'), dataIndex: 'revokedAt', render: (at: number | null) => formatTime(at) },
  ];

  return (
    <>
      <PaymentAccountDescriptions account={account} />

      {active && active.expiry !== 'valid' && (
        <Alert
          type={active.expiry === 'expired' ? 'error' : 'warning'}
          showIcon
          style={{ marginTop: 16 }}
          data-testid="certificate-expiry-alert"
          title={t(active.expiry === 'expired' ? 'credentials.expiredAlert' : 'credentials.expiringAlert', {
            serialNo: active.serialNo,
            time: formatTime(active.notAfter),
          })}
        />
      )}

      {active?.privateKeyDownloadable && (
        <Alert type="warning" showIcon title={t('credentials.downloadOnceWarning')} style={{ marginTop: 16 }} />
      )}
      <Flex gap={8} wrap style={{ marginTop: 16 }}>
        {active?.privateKeyDownloadable && (
          <Button type="primary" onClick={() => download.mutate()} loading={download.isPending}>
            {t('credentials.downloadPrivateKey')}
          </Button>
        )}
        {active && (
          <Button onClick={() => saveTextFile(certificateFileName(mnpId), active.certificatePem)}>
            {t('credentials.downloadCertificate')}
          </Button>
        )}
        <Button onClick={() => setResetting(true)}>{t('credentials.reset')}</Button>
        <Button onClick={() => setSettingKey(true)}>
          {account.apiV3KeySet ? t('credentials.changeApiV3Key') : t('credentials.setApiV3Key')}
        </Button>
      </Flex>

      {account.keys.length > 1 && (
        <>
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('credentials.keyHistory')}
          </Typography.Title>
          <Table<MerchantKey>
            rowKey="serialNo"
            size="small"
            columns={keyColumns}
            dataSource={account.keys}
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
          />
        </>
      )}

      <PlatformKeys />

      <KeyResetModal
        mnpId={mnpId}
        open={resetting}
        serialNo={active?.serialNo}
        onIssued={setIssued}
        onSaved={refresh}
        onClose={() => setResetting(false)}
      />
      <IssuedKeyModal mnpId={mnpId} issued={issued} onClose={() => setIssued(null)} />
      <ApiV3KeyModal mnpId={mnpId} open={settingKey} keySet={account.apiV3KeySet} onSaved={refresh} onClose={() => setSettingKey(false)} />
    </>
  );
}

interface PaymentCredentialsCardProps {
  miniPrograms: MiniProgramPayment[];
  selected: string | undefined;
  onSelect(mnpId: string): void;
}

/** The payment account of the team's approved mini programs: MP Administrator and Senior developer only. */
export function PaymentCredentialsCard({ miniPrograms, selected, onSelect }: PaymentCredentialsCardProps) {
  const { t } = useI18n();
  const withAccount = miniPrograms.filter((miniProgram) => miniProgram.mchid !== null);
  const mnpId = withAccount.find((miniProgram) => miniProgram.mnpId === selected)?.mnpId ?? withAccount[0]?.mnpId;
  return (
    <Card
      id="payment-credentials"
      title={t('credentials.title')}
      extra={
        withAccount.length > 0 && (
          <Select
            aria-label={t('credentials.miniProgram')}
            value={mnpId}
            onChange={onSelect}
            options={withAccount.map((miniProgram) => ({ value: miniProgram.mnpId, label: `${miniProgram.name} (${miniProgram.mnpId})` }))}
            style={{ minWidth: 260 }}
          />
        )
      }
    >
      {mnpId ? (
        <CredentialDetails key={mnpId} mnpId={mnpId} />
      ) : (
        <Typography.Text type="secondary">{t('credentials.noAccount')}</Typography.Text>
      )}
    </Card>
  );
}
