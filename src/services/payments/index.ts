export { BillService } from './bill.service.ts';
export { GatewayChannelResolver, type ChannelResolver, type StatementSource } from './channel-resolver.ts';
export { HostPaymentService, type HostAnswer, type HostFields, type HostMessageKind, type HostSender } from './host-payment.service.ts';
export { NotificationDeliverer, notificationKeysFrom } from './notification-delivery.ts';
export { NotificationService, merchantNotificationTopic, notifierFrom } from './notification.service.ts';
export { OrderService } from './order.service.ts';
export { OutboxService, type DeliveryResult, type OutboxHandler } from './outbox.service.ts';
export { PaymentBridgeService } from './payment-bridge.service.ts';
export { RefundService } from './refund.service.ts';
