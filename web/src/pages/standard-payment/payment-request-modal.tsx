import { Descriptions, Form, Input } from 'antd';
import type { Binding, MiniProgramPayment } from '../../api/types.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

interface PaymentRequestModalProps {
  /** The mini program asking for payment permission; null while closed. */
  applying: MiniProgramPayment | null;
  /** The merchant its payments would go to, where the caller may see the binding. */
  effective: Binding | null | undefined;
  onRequest(mnpId: string, applyNote: string): Promise<unknown>;
  onClose(): void;
}

/** Asks the superapp for payment permission for one mini program, with a message to the reviewer. */
export function PaymentRequestModal({ applying, effective, onRequest, onClose }: PaymentRequestModalProps) {
  const { t } = useI18n();
  return (
    <FormModal<{ applyNote: string }>
      title={t('standardPayment.request')}
      open={applying !== null}
      okText={t('standardPayment.confirm')}
      onClose={onClose}
      onSubmit={(values) => onRequest(applying!.mnpId, values.applyNote)}
    >
      {applying && (
        <Descriptions column={1} size="small" style={{ marginBottom: 8 }}>
          <Descriptions.Item label={t('standardPayment.miniProgram')}>{`${applying.name} (${applying.mnpId})`}</Descriptions.Item>
          {effective && (
            <Descriptions.Item label={t('credentials.mchid')}>{`${effective.merchantId} — ${effective.merchantName}`}</Descriptions.Item>
          )}
        </Descriptions>
      )}
      <Form.Item
        label={t('standardPayment.requestMessage')}
        name="applyNote"
        rules={[{ required: true, whitespace: true, message: t('standardPayment.requestMessageRequired') }]}
      >
        <Input.TextArea rows={4} maxLength={500} showCount placeholder={t('standardPayment.requestMessagePlaceholder')} />
      </Form.Item>
    </FormModal>
  );
}
