import { Form, Input, InputNumber, Select, Typography } from 'antd';
import type { Currency, VirtualItem } from '../../api/types.ts';
import type { VirtualItemFields } from '../../api/virtual-payment-api.ts';
import { FormModal } from '../../components/form-modal.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { formatMinorUnits, itemPriceMax } from './use-virtual-payment.ts';

interface ItemFormValues {
  productId: string;
  name: string;
  price: number;
  currency: string;
  remark?: string;
  itemUrl?: string;
}

interface ItemFormModalProps {
  /** `new` to create an item; an item to edit it; null while closed. */
  editing: VirtualItem | 'new' | null;
  currencies: Currency[];
  /** The currency offered first for a new item. */
  defaultCurrency: string;
  onCreate(fields: VirtualItemFields & { productId: string }): Promise<unknown>;
  onEdit(productId: string, fields: VirtualItemFields): Promise<unknown>;
  onClose(): void;
}

/** Create or edit an item under SPEC §8.1's limits; the server's ProductId and Price checks show on their fields. */
export function ItemFormModal({ editing, currencies, defaultCurrency, onCreate, onEdit, onClose }: ItemFormModalProps) {
  const { t } = useI18n();
  const item = editing === 'new' ? null : editing;
  // An edit starts from what waits for approval, else from the latest saved version.
  const current = item ? (item.pending ?? item.latest) : null;
  const initialValues: Partial<ItemFormValues> = current
    ? {
        productId: item!.productId,
        name: current.name,
        price: current.price,
        currency: current.currency,
        remark: current.remark,
        itemUrl: current.itemUrl ?? '',
      }
    : { currency: defaultCurrency };
  const exponentOf = (code: string | undefined) => currencies.find((currency) => currency.code === code)?.exponent ?? 2;

  const submit = (values: ItemFormValues) => {
    const fields: VirtualItemFields = {
      name: values.name.trim(),
      price: values.price,
      currency: values.currency,
      remark: values.remark?.trim() ?? '',
      itemUrl: values.itemUrl?.trim() ? values.itemUrl.trim() : null,
    };
    return item ? onEdit(item.productId, fields) : onCreate({ productId: values.productId.trim(), ...fields });
  };

  return (
    <FormModal<ItemFormValues>
      title={item ? t('virtualItems.editTitle', { productId: item.productId }) : t('virtualItems.create')}
      open={editing !== null}
      okText={t('common.save')}
      initialValues={initialValues}
      onClose={onClose}
      onSubmit={submit}
    >
      <Form.Item
        label={t('virtualItems.productId')}
        name="productId"
        extra={t('virtualItems.productIdHelp')}
        rules={[{ required: true, whitespace: true, message: t('virtualItems.productIdRequired') }]}
      >
        {/* The pattern is the server's to check, so its readable error is the one shown. */}
        <Input maxLength={64} disabled={item !== null} autoComplete="off" />
      </Form.Item>
      <Form.Item
        label={t('virtualItems.name')}
        name="name"
        rules={[{ required: true, whitespace: true, message: t('virtualItems.nameRequired') }]}
      >
        <Input maxLength={1024} />
      </Form.Item>
      <Form.Item label={t('virtualItems.currency')} name="currency" rules={[{ required: true, message: t('common.required') }]}>
        <Select
          aria-label={t('virtualItems.currency')}
          showSearch
          options={currencies.map((currency) => ({ value: currency.code, label: `${currency.code} — ${currency.name}` }))}
        />
      </Form.Item>
      <Form.Item noStyle shouldUpdate={(before, after) => before.currency !== after.currency || before.price !== after.price}>
        {({ getFieldValue }) => {
          const currency = getFieldValue('currency') as string | undefined;
          const price = getFieldValue('price') as number | null | undefined;
          const exponent = exponentOf(currency);
          return (
            <Form.Item
              label={`${t('virtualItems.price')} (${t('virtualItems.minorUnits')})`}
              name="price"
              extra={
                <>
                  {t('virtualItems.priceHelp', { max: itemPriceMax })}
                  {typeof price === 'number' && (
                    <Typography.Text strong style={{ marginLeft: 8 }} data-testid="item-price-preview">
                      = {formatMinorUnits(price, currency ?? '', exponent)}
                    </Typography.Text>
                  )}
                </>
              }
              rules={[{ required: true, message: t('virtualItems.priceRequired') }]}
            >
              <InputNumber precision={0} style={{ width: 220 }} />
            </Form.Item>
          );
        }}
      </Form.Item>
      <Form.Item label={t('virtualItems.remark')} name="remark">
        <Input.TextArea rows={2} maxLength={1024} />
      </Form.Item>
      <Form.Item label={t('virtualItems.itemUrl')} name="itemUrl" extra={t('virtualItems.itemUrlHelp')}>
        <Input maxLength={1024} placeholder="https://cdn.example.com/items/gem.png" />
      </Form.Item>
    </FormModal>
  );
}
