import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App as AntApp, Button, Card, Descriptions, Flex, Form, Input, Modal, Radio, Select, Skeleton, Table, Tag, Typography, Upload, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { consoleApi, queryKeys, type KeyResetSource } from '../../api/console-api.ts';
import type { IssuedKey, MerchantKey, MiniProgramPayment, PlatformKey } from '../../api/types.ts';
import { saveTextFile } from '../../components/download.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n, type Translate } from '../../i18n/i18n-context.tsx';

// The file names WeChat Pay's merchant tools use, prefixed with the appid so several mini programs' keys can sit together.
const privateKeyFileName = (mnpId: string) => `${mnpId}_apiclient_key.pem`;
const certificateFileName = (mnpId: string) => `${mnpId}_apiclient_cert.pem`;

/** SPEC §2.2: exactly 32 characters, digits and upper- and lower-case letters all present. */
export function apiV3KeyProblem(candidate: string, t: Translate): string | undefined {
  if (candidate.length !== 32) return t('credentials.apiV3KeyLength', { count: candidate.length });
  if (!/^[A-Za-z0-9]+$/.test(candidate)) return t('credentials.apiV3KeyCharacters');
  if (!/[0-9]/.test(candidate) || !/[A-Z]/.test(candidate) || !/[a-z]/.test(candidate)) return t('credentials.apiV3KeyMix');
  return undefined;
}

/** A random acceptable APIv3 key, from the browser's CSPRNG. */
function randomApiV3Key(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (;;) {
    // 248 is the largest multiple of 62 below 256: rejecting the rest keeps every character equally likely.
    const bytes = crypto.getRandomValues(new Uint8Array(64)).filter((byte) => byte < 248);
    const candidate = Array.from(bytes.slice(0, 32), (byte) => alphabet[byte % 62]).join('');
    if (candidate.length === 32 && /[0-9]/.test(candidate) && /[A-Z]/.test(candidate) && /[a-z]/.test(candidate)) return candidate;
  }
}

function GenerateKeyButton() {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  return (
    <Button size="small" onClick={() => form.setFieldsValue({ apiV3Key: randomApiV3Key() })}>
      {t('credentials.generateApiV3Key')}
    </Button>
  );
}

interface ResetValues {
  mode: KeyResetSource['mode'];
  pem?: string;
}

function PemField({ mode }: { mode: ResetValues['mode'] }) {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  if (mode === 'generate') return null;
  return (
    <>
      <Form.Item
        label={mode === 'csr' ? t('credentials.csrPem') : t('credentials.publicKeyPem')}
        name="pem"
        rules={[{ required: true, whitespace: true, message: t('common.required') }]}
        extra={mode === 'csr' ? t('credentials.csrHelp') : t('credentials.publicKeyHelp')}
      >
        <Input.TextArea rows={6} spellCheck={false} style={{ fontFamily: 'monospace', fontSize: 12 }} placeholder={mode === 'csr' ? '-----BEGIN CERTIFICATE REQUEST-----' : '-----BEGIN PUBLIC KEY-----'} />
      </Form.Item>
      <Upload
        accept=".pem,.csr,.txt"
        showUploadList={false}
        beforeUpload={async (file) => {
          form.setFieldsValue({ pem: await file.text() });
          // Read in the browser only; nothing is uploaded by the Upload component itself.
          return false;
        }}
      >
        <Button size="small" style={{ marginBottom: 16 }}>
          {t('credentials.readFile')}
        </Button>
      </Upload>
    </>
  );
}

function ResetFormItems({ serialNo }: { serialNo: string | undefined }) {
  const { t } = useI18n();
  const mode = Form.useWatch<ResetValues['mode']>('mode') ?? 'generate';
  return (
    <>
      <Alert type="warning" showIcon style={{ marginBottom: 16 }} title={serialNo ? t('credentials.resetWarning', { serialNo }) : t('credentials.resetWarningNoKey')} />
      <Form.Item name="mode" label={t('credentials.keySource')}>
        <Radio.Group>
          <Flex vertical gap={4}>
            <Radio value="generate">{t('credentials.modeGenerate')}</Radio>
            <Radio value="public_key">{t('credentials.modePublicKey')}</Radio>
            <Radio value="csr">{t('credentials.modeCsr')}</Radio>
          </Flex>
        </Radio.Group>
      </Form.Item>
      <PemField mode={mode} />
    </>
  );
}

/** After a reset with a generated key: the private key was downloaded; this is the last chance to save it again. */
function IssuedKeyModal({ mnpId, issued, onClose }: { mnpId: string; issued: IssuedKey | null; onClose(): void }) {
  const { t } = useI18n();
  return (
    <Modal
      title={t('credentials.issuedTitle')}
      open={issued !== null}
      onCancel={onClose}
      mask={{ closable: false }}
      destroyOnHidden
      footer={
        <Flex justify="end" gap={8}>
          {issued?.privateKeyPem && <Button onClick={() => saveTextFile(privateKeyFileName(mnpId), issued.privateKeyPem!)}>{t('credentials.downloadAgain')}</Button>}
          <Button type="primary" onClick={onClose}>
            {t('credentials.issuedDone')}
          </Button>
        </Flex>
      }
    >
      {issued?.privateKeyPem && <Alert type="warning" showIcon title={t('credentials.issuedOnce')} style={{ marginBottom: 16 }} />}
      {issued && (
        <Descriptions column={1} bordered size="small">
          <Descriptions.Item label={t('credentials.serialNo')}>
            <Typography.Text code copyable>
              {issued.serialNo}
            </Typography.Text>
          </Descriptions.Item>
        </Descriptions>
      )}
    </Modal>
  );
}

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

  const privateKeyState = (key: MerchantKey) => {
    if (key.source !== 'generated') return t('credentials.privateKeyOwn');
    if (key.privateKeyDownloadable) return t('credentials.privateKeyWaiting');
    return key.downloadedAt ? t('credentials.privateKeyDownloadedAt', { time: formatTime(key.downloadedAt) }) : t('credentials.privateKeyGone');
  };

  const keyColumns: TableColumnsType<MerchantKey> = [
    { title: t('credentials.serialNo'), dataIndex: 'serialNo', render: (serial: string) => <Typography.Text code>{serial}</Typography.Text> },
    { title: t('credentials.keySource'), dataIndex: 'source', render: (source: MerchantKey['source']) => t(`keySource.${source}`) },
    { title: t('common.status'), dataIndex: 'status', render: (status: MerchantKey['status']) => <Tag color={status === 'active' ? 'success' : 'default'}>{t(`keyStatus.${status}`)}</Tag> },
    { title: t('common.createdAt'), dataIndex: 'createdAt', render: (at: number) => formatTime(at) },
    { title: t('credentials.revokedAt'), dataIndex: 'revokedAt', render: (at: number | null) => formatTime(at) },
  ];

  return (
    <>
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
        <Descriptions.Item label={t('credentials.validUntil')}>{formatTime(active?.notAfter)}</Descriptions.Item>
        <Descriptions.Item label={t('credentials.keySource')}>{active ? t(`keySource.${active.source}`) : t('common.none')}</Descriptions.Item>
        <Descriptions.Item label={t('credentials.privateKey')}>{active ? privateKeyState(active) : t('common.none')}</Descriptions.Item>
        <Descriptions.Item label={t('credentials.apiV3Key')} span={2}>
          {account.apiV3KeySet ? (
            <Tag color="success">{t('credentials.apiV3KeySetAt', { time: formatTime(account.apiV3KeySetAt) })}</Tag>
          ) : (
            <Tag color="warning">{t('credentials.apiV3KeyNotSet')}</Tag>
          )}
        </Descriptions.Item>
      </Descriptions>

      {active?.privateKeyDownloadable && <Alert type="warning" showIcon title={t('credentials.downloadOnceWarning')} style={{ marginTop: 16 }} />}
      <Flex gap={8} wrap style={{ marginTop: 16 }}>
        {active?.privateKeyDownloadable && (
          <Button type="primary" onClick={() => download.mutate()} loading={download.isPending}>
            {t('credentials.downloadPrivateKey')}
          </Button>
        )}
        {active && <Button onClick={() => saveTextFile(certificateFileName(mnpId), active.certificatePem)}>{t('credentials.downloadCertificate')}</Button>}
        <Button onClick={() => setResetting(true)}>{t('credentials.reset')}</Button>
        <Button onClick={() => setSettingKey(true)}>{account.apiV3KeySet ? t('credentials.changeApiV3Key') : t('credentials.setApiV3Key')}</Button>
      </Flex>

      {account.keys.length > 1 && (
        <>
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('credentials.keyHistory')}
          </Typography.Title>
          <Table<MerchantKey> rowKey="serialNo" size="small" columns={keyColumns} dataSource={account.keys} pagination={{ pageSize: 10, hideOnSinglePage: true }} scroll={{ x: 'max-content' }} />
        </>
      )}

      <PlatformKeys />

      <FormModal<ResetValues>
        title={t('credentials.resetTitle')}
        open={resetting}
        okText={t('credentials.resetConfirm')}
        initialValues={{ mode: 'generate' }}
        onClose={() => setResetting(false)}
        onSubmit={async (values) => {
          const source: KeyResetSource =
            values.mode === 'public_key' ? { mode: 'public_key', publicKeyPem: values.pem ?? '' } : values.mode === 'csr' ? { mode: 'csr', csrPem: values.pem ?? '' } : { mode: 'generate' };
          const key = await consoleApi.resetMerchantKey(mnpId, source);
          // A generated private key is in this answer only: save it at once.
          if (key.privateKeyPem) saveTextFile(privateKeyFileName(mnpId), key.privateKeyPem);
          setIssued(key);
          await refresh();
        }}
      >
        <ResetFormItems serialNo={active?.serialNo} />
      </FormModal>
      <IssuedKeyModal mnpId={mnpId} issued={issued} onClose={() => setIssued(null)} />

      <FormModal<{ apiV3Key: string }>
        title={account.apiV3KeySet ? t('credentials.changeApiV3Key') : t('credentials.setApiV3Key')}
        open={settingKey}
        okText={t('common.save')}
        onClose={() => setSettingKey(false)}
        onSubmit={async (values) => {
          await consoleApi.setApiV3Key(mnpId, values.apiV3Key);
          message.success(t('credentials.apiV3KeySaved'));
          await refresh();
        }}
      >
        <Alert type="info" showIcon title={t('credentials.apiV3KeyOnce')} style={{ marginBottom: 16 }} />
        <Form.Item
          label={t('credentials.apiV3Key')}
          name="apiV3Key"
          extra={t('credentials.apiV3KeyHelp')}
          rules={[
            { required: true, message: t('common.required') },
            {
              validator: (_, value: string | undefined) => {
                const problem = value ? apiV3KeyProblem(value, t) : undefined;
                return problem ? Promise.reject(new Error(problem)) : Promise.resolve();
              },
            },
          ]}
        >
          <Input.Password maxLength={32} autoComplete="new-password" spellCheck={false} style={{ fontFamily: 'monospace' }} />
        </Form.Item>
        <GenerateKeyButton />
      </FormModal>
    </>
  );
}

/** The payment account of the team's approved mini programs: MP Administrator and Senior developer only. */
export function PaymentCredentialsCard({ miniPrograms, selected, onSelect }: { miniPrograms: MiniProgramPayment[]; selected: string | undefined; onSelect(mnpId: string): void }) {
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
      {mnpId ? <CredentialDetails key={mnpId} mnpId={mnpId} /> : <Typography.Text type="secondary">{t('credentials.noAccount')}</Typography.Text>}
    </Card>
  );
}
