import { Alert, App as AntApp, Button, Form, Input } from 'antd';
import { consoleApi } from '../../api/console-api.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { useI18n, type Translate } from '../../i18n/i18n-context.tsx';

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

interface ApiV3KeyModalProps {
  mnpId: string;
  open: boolean;
  /** A key is already set: the modal changes it. */
  keySet: boolean;
  onSaved(): Promise<unknown>;
  onClose(): void;
}

/** Sets or changes the mini program's APIv3 key; it is shown only while typed, never read back. */
export function ApiV3KeyModal({ mnpId, open, keySet, onSaved, onClose }: ApiV3KeyModalProps) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  return (
    <FormModal<{ apiV3Key: string }>
      title={keySet ? t('credentials.changeApiV3Key') : t('credentials.setApiV3Key')}
      open={open}
      okText={t('common.save')}
      onClose={onClose}
      onSubmit={async (values) => {
        await consoleApi.setApiV3Key(mnpId, values.apiV3Key);
        message.success(t('credentials.apiV3KeySaved'));
        await onSaved();
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
  );
}
