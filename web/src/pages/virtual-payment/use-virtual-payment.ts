import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp } from 'antd';
import { ApiError } from '../../api/client.ts';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import type { VirtualItem } from '../../api/types.ts';
import { virtualPaymentApi, virtualPaymentKeys, type VirtualItemFields } from '../../api/virtual-payment-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { useI18n } from '../../i18n/i18n-context.tsx';

/** SPEC §8.1's price ceiling, in minor units. */
export const itemPriceMax = 1_000_000_000;

/** One mini program's virtual payment: its permission, configuration, items and exemption, and what the caller may do. */
export function useVirtualPayment(mnpId: string) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const { level } = useConsole();
  const queryClient = useQueryClient();
  const can = {
    request: level('virtual_payment.request') === 'write',
    viewConfig: level('virtual_delivery.view') !== undefined,
    manageDelivery: level('virtual_delivery.manage') === 'write',
    manageAppKey: level('virtual_app_key.manage') === 'write',
    viewItems: level('virtual_item.view') !== undefined,
    editItems: level('virtual_item.edit') === 'write',
    viewExemption: level('item_exemption.view') !== undefined,
    requestExemption: level('item_exemption.request') === 'write',
  };

  const status = useQuery({ queryKey: virtualPaymentKeys.status(mnpId), queryFn: () => virtualPaymentApi.getStatus(mnpId) });
  const config = useQuery({
    queryKey: virtualPaymentKeys.config(mnpId),
    queryFn: () => virtualPaymentApi.getConfig(mnpId),
    enabled: can.viewConfig,
  });
  const items = useQuery({
    queryKey: virtualPaymentKeys.items(mnpId),
    queryFn: () => virtualPaymentApi.listItems(mnpId),
    enabled: can.viewItems,
  });
  const exemption = useQuery({
    queryKey: virtualPaymentKeys.exemption(mnpId),
    queryFn: () => virtualPaymentApi.getExemption(mnpId),
    enabled: can.viewExemption,
  });
  const currencies = useQuery({ queryKey: queryKeys.currencies, queryFn: consoleApi.listCurrencies, staleTime: Infinity });
  const refresh = () => queryClient.invalidateQueries({ queryKey: virtualPaymentKeys.all(mnpId) });

  // The item codes of SPEC §8.8, in words a person reads; the field stays the server's so the form marks it.
  const readable = (error: unknown): unknown => {
    if (!(error instanceof ApiError)) return error;
    const text = {
      'InvalidParameterValue.InvalidProductId': t('virtualItems.error.productId'),
      'InvalidParameterValue.InvalidItemPrice': t('virtualItems.error.price', { max: itemPriceMax }),
      'FailedOperation.VirtualItemExists': t('virtualItems.error.exists'),
    }[error.code];
    return text ? new ApiError(error.status, error.code, text, error.details) : error;
  };
  const withReadableErrors = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw readable(error);
    }
  };

  /** Each rejects with the server's error, for its form to show. */
  const actions = {
    requestPermission: async (applyNote: string) => {
      await virtualPaymentApi.request(mnpId, applyNote.trim());
      message.success(t('virtualPayment.requested'));
      await refresh();
    },
    setDeliveryUrl: async (deliveryUrl: string) => {
      await virtualPaymentApi.setDeliveryUrl(mnpId, deliveryUrl.trim());
      message.success(t('virtualPayment.deliveryUrlSaved'));
      await refresh();
    },
    createItem: async (fields: VirtualItemFields & { productId: string }) => {
      const item = await withReadableErrors(() => virtualPaymentApi.createItem(mnpId, fields));
      message.success(t(item.status === 10 ? 'virtualItems.created' : 'virtualItems.createdPending', { productId: item.productId }));
      await refresh();
    },
    editItem: async (productId: string, fields: VirtualItemFields) => {
      await withReadableErrors(() => virtualPaymentApi.editItem(mnpId, productId, fields));
      message.success(t('virtualItems.saved', { productId }));
      await refresh();
    },
    requestExemption: async (applyNote: string) => {
      await virtualPaymentApi.requestExemption(mnpId, applyNote.trim());
      message.success(t('exemption.requested'));
      await refresh();
    },
  };

  const itemAction = useMutation({
    mutationFn: ({ item, action }: { item: VirtualItem; action: 'offline' | 'resubmit' }) =>
      action === 'offline' ? virtualPaymentApi.takeOffline(mnpId, item.productId) : virtualPaymentApi.resubmit(mnpId, item.productId),
    onSuccess: async (_, { item, action }) => {
      message.success(t(action === 'offline' ? 'virtualItems.offlineDone' : 'virtualItems.resubmitted', { productId: item.productId }));
      await refresh();
    },
    onError: (error) => message.error(error.message),
  });

  return { can, status, config, items, exemption, currencies, refresh, actions, itemAction };
}

/** Minor units → "12.30 CNY", in the currency's exponent (2 when the currency is unknown). */
export function formatMinorUnits(amount: number, currency: string, exponent = 2): string {
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  const major = exponent > 0 ? `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}` : digits;
  return `${amount < 0 ? '-' : ''}${major} ${currency}`;
}
