import { Alert, Button, Descriptions, Flex, Form, Input, Modal, Radio, Typography, Upload } from 'antd';
import { consoleApi, type KeyResetSource } from '../../api/console-api.ts';
import type { IssuedKey } from '../../api/types.ts';
import { saveTextFile } from '../../components/download.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { privateKeyFileName } from './credential-files.ts';

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
        <Input.TextArea
          rows={6}
          spellCheck={false}
          style={{ fontFamily: 'monospace', fontSize: 12 }}
          placeholder={mode === 'csr' ? '-----BEGIN CERTIFICATE REQUEST-----' : '-----BEGIN PUBLIC KEY-----'}
        />
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
      <Alert
        type="warning"
        showIcon
        style={{ marginBottom: 16 }}
        title={serialNo ? t('credentials.resetWarning', { serialNo }) : t('credentials.resetWarningNoKey')}
      />
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
export function IssuedKeyModal({ mnpId, issued, onClose }: { mnpId: string; issued: IssuedKey | null; onClose(): void }) {
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
          {issued?.privateKeyPem && (
            <Button onClick={() => saveTextFile(privateKeyFileName(mnpId), issued.privateKeyPem!)}>{t('credentials.downloadAgain')}</Button>
          )}
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

function keyResetSourceOf(values: ResetValues): KeyResetSource {
  if (values.mode === 'public_key') return { mode: 'public_key', publicKeyPem: values.pem ?? '' };
  if (values.mode === 'csr') return { mode: 'csr', csrPem: values.pem ?? '' };
  return { mode: 'generate' };
}

interface KeyResetModalProps {
  mnpId: string;
  open: boolean;
  /** The active key's serial, which stops working at once; undefined when there is none. */
  serialNo: string | undefined;
  onIssued(key: IssuedKey): void;
  onSaved(): Promise<unknown>;
  onClose(): void;
}

/** Replaces the merchant's key pair: generated here, or certified from the merchant's own public key or CSR. */
export function KeyResetModal({ mnpId, open, serialNo, onIssued, onSaved, onClose }: KeyResetModalProps) {
  const { t } = useI18n();
  return (
    <FormModal<ResetValues>
      title={t('credentials.resetTitle')}
      open={open}
      okText={t('credentials.resetConfirm')}
      initialValues={{ mode: 'generate' }}
      onClose={onClose}
      onSubmit={async (values) => {
        const key = await consoleApi.resetMerchantKey(mnpId, keyResetSourceOf(values));
        // A generated private key is in this answer only: save it at once.
        if (key.privateKeyPem) saveTextFile(privateKeyFileName(mnpId), key.privateKeyPem);
        onIssued(key);
        await onSaved();
      }}
    >
      <ResetFormItems serialNo={serialNo} />
    </FormModal>
  );
}
