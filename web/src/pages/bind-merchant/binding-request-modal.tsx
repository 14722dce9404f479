import { Alert, Form, Input, Radio, Select } from 'antd';
import type { MerchantFields } from '../../api/console-api.ts';
import type { Binding } from '../../api/types.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { LoadError } from '../../components/load-error.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import type { BindingRequestKind } from './use-bind-merchant.ts';

type Source = 'pick' | 'type';

interface RequestValues {
  source: Source;
  picked?: string;
  merchantId?: string;
  merchantName?: string;
}

/** The merchant fields of a request: typed, or the picked list entry (its value is the merchant ID). */
function merchantOf(values: RequestValues, pickable: MerchantFields[]): MerchantFields {
  if (values.source === 'pick') {
    const picked = pickable.find((merchant) => merchant.merchantId === values.picked);
    return { merchantId: picked?.merchantId ?? values.picked ?? '', merchantName: picked?.merchantName ?? '' };
  }
  return { merchantId: (values.merchantId ?? '').trim(), merchantName: (values.merchantName ?? '').trim() };
}

function RequestFormItems({ pickable }: { pickable: MerchantFields[] }) {
  const { t } = useI18n();
  const source = Form.useWatch<Source>('source');
  return (
    <>
      <Form.Item name="source" label={t('binding.source')}>
        <Radio.Group
          options={[
            { value: 'pick', label: t('binding.sourcePick') },
            { value: 'type', label: t('binding.sourceType') },
          ]}
        />
      </Form.Item>
      {source === 'type' ? (
        <>
          <Form.Item
            label={t('merchants.merchantId')}
            name="merchantId"
            extra={t('binding.typeHelp')}
            rules={[{ required: true, whitespace: true, message: t('common.required') }]}
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
      ) : (
        <Form.Item label={t('binding.merchant')} name="picked" rules={[{ required: true, message: t('common.required') }]}>
          <Select
            showSearch={{ optionFilterProp: 'label' }}
            notFoundContent={t('binding.noPickable')}
            options={pickable.map((merchant) => ({
              value: merchant.merchantId,
              label: `${merchant.merchantId} — ${merchant.merchantName}`,
            }))}
          />
        </Form.Item>
      )}
    </>
  );
}

interface BindingRequestModalProps {
  /** A first binding or a change of the effective one; null while closed. */
  requesting: BindingRequestKind | null;
  effective: Binding | null;
  pickable: MerchantFields[];
  pickableError: Error | null;
  onRequest(kind: BindingRequestKind, merchant: MerchantFields): Promise<unknown>;
  onClose(): void;
}

/** Asks the superapp to bind a merchant, picked from its list or typed, or to change to another one. */
export function BindingRequestModal({ requesting, effective, pickable, pickableError, onRequest, onClose }: BindingRequestModalProps) {
  const { t } = useI18n();
  return (
    <FormModal<RequestValues>
      title={requesting === 'change' ? t('binding.change') : t('binding.request')}
      open={requesting !== null}
      okText={t('binding.submit')}
      initialValues={{ source: 'pick' }}
      onClose={onClose}
      onSubmit={(values) => onRequest(requesting!, merchantOf(values, pickable))}
    >
      {requesting === 'change' && effective && (
        <Alert type="info" showIcon title={t('binding.changeHelp', { merchantId: effective.merchantId })} style={{ marginBottom: 16 }} />
      )}
      <LoadError error={pickableError} />
      <RequestFormItems pickable={pickable} />
    </FormModal>
  );
}
