import type { DeferredEventSink, PaymentChannel } from '../channels/channel.ts';
import { AutoCloseJob } from '../jobs/auto-close.ts';
import { ReconcilerJob } from '../jobs/reconciler.ts';
import { BillService } from './bill.service.ts';
import type { ServiceDependencies } from './dependencies.ts';
import { GatewayAuthService } from './gateway-auth.service.ts';
import { GatewayCertificateService } from './gateway-certificates.service.ts';
import { GatewayChannelResolver } from './gateway-channels.ts';
import type { PaymentNotification, PaymentNotifier } from './gateway-notifications.ts';
import type { NonceStore } from './nonce.service.ts';
import { OrderService } from './order.service.ts';
import type { NotificationService } from './notification.service.ts';
import type { PaymentCredentialService } from './payment-credential.service.ts';
import type { PlatformKeyService } from './platform-key.service.ts';
import { RefundService } from './refund.service.ts';

/** Payment notifications through the notification service, into the outbox in the caller's transaction. */
export function notifierFrom(notifications: Pick<NotificationService, 'enqueue'>): PaymentNotifier {
  return {
    async enqueue(trx, notification: PaymentNotification) {
      await notifications.enqueue(trx, {
        eventType: notification.eventType,
        appId: notification.mnpId,
        mchid: notification.mchid,
        notifyUrl: notification.notifyUrl,
        resource: notification.resource,
        sandbox: notification.sandbox,
        subject: { type: notification.subjectType, id: notification.subjectId },
        owners: {
          mnpId: notification.mnpId,
          applicationId: notification.applicationId,
          miniProgramTeamId: notification.miniProgramTeamId,
          superappTeamId: notification.superappTeamId,
        },
      });
    },
  };
}

interface GatewayParts {
  credentials: PaymentCredentialService;
  platformKeys: PlatformKeyService;
  nonces: NonceStore;
  channelEvents: DeferredEventSink;
  sandbox: PaymentChannel | null;
  notifications: Pick<NotificationService, 'enqueue'>;
}

/**
 * The v3 gateway's services (issue 4): authentication, orders, refunds, bills, certificates, the channel
 * resolver, and the jobs that keep orders honest (auto-close, reconciler). The order service becomes the
 * sink of channel events.
 */
export function createGatewayServices(deps: ServiceDependencies, parts: GatewayParts) {
  const { db, clock, config } = deps;
  const gatewayChannels = new GatewayChannelResolver(db, clock, deps.secretBox, config, parts.sandbox);
  const notifier = notifierFrom(parts.notifications);
  const refunds = new RefundService(db, clock, config, gatewayChannels, notifier);
  const orders = new OrderService(db, clock, config, parts.credentials, gatewayChannels, notifier, refunds);
  parts.channelEvents.attach(orders);
  return {
    gatewayAuth: new GatewayAuthService(db, clock, parts.credentials, parts.nonces),
    gatewayChannels,
    orders,
    refunds,
    bills: new BillService(db, clock, config, parts.credentials),
    gatewayCertificates: new GatewayCertificateService(db, clock, config, parts.credentials, parts.platformKeys),
    autoCloseJob: new AutoCloseJob(orders),
    reconcilerJob: new ReconcilerJob(orders, refunds),
  };
}
