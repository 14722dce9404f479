export type { MiniProgramKind, SellableItem, VirtualPaymentAccountLookup, VirtualPaymentDirectory } from './virtual-payment-directory.ts';
export {
  deliveryEvents,
  isDeliveryAcknowledgement,
  VirtualDeliveryDeliverer,
  VirtualDeliveryNotifier,
  virtualDeliveryTopic,
} from './virtual-delivery.ts';
export { type XpayAnswer, XpayErrcode, xpayCoinOperations, xpayOperations, type XpayOperation, XpayService } from './xpay.service.ts';
export {
  mintWxOrderId,
  VirtualErrCode,
  VirtualOrderService,
  virtualOrderDescription,
  type VirtualPaymentToVerify,
  type VirtualVerification,
} from './virtual-order.service.ts';
export { ItemExemptionService, type ExemptionView } from './item-exemption.service.ts';
export { VirtualApprovalService } from './virtual-approval.service.ts';
export { VirtualDeliveryService, type VirtualDeliveryView } from './virtual-delivery.service.ts';
export { VirtualItemService, itemLimits, type ItemFields, type ItemView } from './virtual-item.service.ts';
export { VirtualPaymentAccountService, appKeyPattern, type AppKeyView } from './virtual-payment-account.service.ts';
export { VirtualPaymentDirectoryService } from './virtual-payment-directory.service.ts';
