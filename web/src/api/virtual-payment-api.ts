import { apiRequest } from './client.ts';
import type { EnablementDescription, ItemExemption, Items, VirtualAppKey, VirtualDeliveryView, VirtualItem } from './types.ts';

export interface VirtualItemFields {
  name: string;
  /** Minor units. */
  price: number;
  currency?: string;
  remark?: string;
  itemUrl?: string | null;
}

const base = (mnpId: string) => `/mini-programs/${encodeURIComponent(mnpId)}`;
const itemPath = (mnpId: string, productId: string) => `${base(mnpId)}/virtual-items/${encodeURIComponent(productId)}`;

/** Commercialization → Virtual payment (SPEC §8.1), one typed function per route of virtual-payment.routes.ts. */
export const virtualPaymentApi = {
  getStatus: (mnpId: string) => apiRequest<EnablementDescription>('GET', `${base(mnpId)}/virtual-payment`),
  request: (mnpId: string, applyNote: string) =>
    apiRequest<{ approvalNo: string }>('POST', `${base(mnpId)}/virtual-payment/requests`, { body: { applyNote } }),
  getConfig: (mnpId: string) => apiRequest<VirtualDeliveryView>('GET', `${base(mnpId)}/virtual-payment/config`),
  setDeliveryUrl: (mnpId: string, deliveryUrl: string) =>
    apiRequest<VirtualDeliveryView>('PUT', `${base(mnpId)}/virtual-payment/delivery-url`, { body: { deliveryUrl } }),
  getAppKey: (mnpId: string) => apiRequest<VirtualAppKey>('GET', `${base(mnpId)}/virtual-payment/app-key`),
  resetAppKey: (mnpId: string) => apiRequest<VirtualAppKey>('POST', `${base(mnpId)}/virtual-payment/app-key/reset`),

  listItems: (mnpId: string) => apiRequest<Items<VirtualItem>>('GET', `${base(mnpId)}/virtual-items`),
  createItem: (mnpId: string, item: VirtualItemFields & { productId: string }) =>
    apiRequest<VirtualItem>('POST', `${base(mnpId)}/virtual-items`, { body: item }),
  editItem: (mnpId: string, productId: string, changes: Partial<VirtualItemFields>) =>
    apiRequest<VirtualItem>('PATCH', itemPath(mnpId, productId), { body: changes }),
  takeOffline: (mnpId: string, productId: string) => apiRequest<VirtualItem>('POST', `${itemPath(mnpId, productId)}/offline`),
  resubmit: (mnpId: string, productId: string) => apiRequest<VirtualItem>('POST', `${itemPath(mnpId, productId)}/resubmit`),

  getExemption: (mnpId: string) => apiRequest<ItemExemption>('GET', `${base(mnpId)}/item-exemption`),
  requestExemption: (mnpId: string, applyNote: string) =>
    apiRequest<{ approvalNo: string }>('POST', `${base(mnpId)}/item-exemption/requests`, { body: { applyNote } }),
  /** The superapp ends an approved exemption: the mini program's items wait for approval again. */
  revokeExemption: (applicationId: string, mnpId: string) =>
    apiRequest<null>('POST', `/superapps/${encodeURIComponent(applicationId)}/item-exemptions/revoke`, { body: { mnpId } }),
};

/** React Query keys of one mini program's virtual payment; invalidating `all` refreshes the whole page. */
export const virtualPaymentKeys = {
  all: (mnpId: string) => ['mini-programs', mnpId, 'virtual-payment'] as const,
  status: (mnpId: string) => ['mini-programs', mnpId, 'virtual-payment', 'status'] as const,
  config: (mnpId: string) => ['mini-programs', mnpId, 'virtual-payment', 'config'] as const,
  items: (mnpId: string) => ['mini-programs', mnpId, 'virtual-payment', 'items'] as const,
  exemption: (mnpId: string) => ['mini-programs', mnpId, 'virtual-payment', 'exemption'] as const,
};
