export type { MiniProgramKind, SellableItem, VirtualPaymentAccountLookup, VirtualPaymentDirectory } from './virtual-payment-directory.ts';
export { noVirtualPaymentSetup } from './no-virtual-payment-setup.ts';
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
