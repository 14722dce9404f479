import { DeferredEventSink } from '../channels/channel.ts';
import { HostReportedChannel } from '../channels/host-reported/host-reported-channel.ts';
import { SandboxChannel } from '../channels/sandbox/sandbox-channel.ts';
import { ApiKeyService } from './api-key.service.ts';
import { ApprovalService } from './approval.service.ts';
import { AuditService } from './audit.service.ts';
import { AuthService } from './auth.service.ts';
import type { ServiceDependencies } from './dependencies.ts';
import { DemoWorldService } from './demo-world.service.ts';
import { ManagementAuthService } from './management-auth.service.ts';
import { MerchantBindingService } from './merchant-binding.service.ts';
import { MerchantService } from './merchant.service.ts';
import { MiniProgramService } from './mini-program.service.ts';
import { createGatewayServices } from './gateway-services.ts';
import { HostKeyService } from './host-key.service.ts';
import { HostPaymentService } from './host-payment.service.ts';
import { NonceService } from './nonce.service.ts';
import { notificationKeysFrom } from './notification-delivery.ts';
import { NotificationLogService } from './notification-log.service.ts';
import { NotificationService } from './notification.service.ts';
import { OperationsMetricsService } from './operations-metrics.service.ts';
import { OutboxService } from './outbox.service.ts';
import { PaymentConfigService } from './payment-config.service.ts';
import { findPaymentAccount, PaymentCredentialService } from './payment-credential.service.ts';
import { extendDemoWorldWithPayment } from './payment-demo.ts';
import { PaymentBridgeService } from './payment-bridge.service.ts';
import { PaymentEnablementService } from './payment-enablement.service.ts';
import { PlatformKeyService } from './platform-key.service.ts';
import { PaymentDataService } from './payment-data.service.ts';
import { ExportService } from './export.service.ts';
import { OrderRecordService } from './order-record.service.ts';
import { PaymentStatsService } from './payment-stats.service.ts';
import { RefundRecordService } from './refund-record.service.ts';
import { PlatformService } from './platform.service.ts';
import { RateLimiter } from './rate-limiter.ts';
import { MerchantRequestLimiter } from './merchant-request-limiter.ts';
import { signatureFailureLimit, SignatureFailureLimiter } from './signature-failure-limiter.ts';
import { SuperappService } from './superapp.service.ts';
import { TeamService } from './team.service.ts';
import { UserService } from './user.service.ts';

/** Every service, built once per app from the same dependencies. */
export function createServices(deps: ServiceDependencies) {
  const { db, clock, secretBox, passwordHasher } = deps;
  const rateLimiter = new RateLimiter(db, clock);
  const tenancy = {
    users: new UserService(db, clock, passwordHasher),
    teams: new TeamService(db, clock),
    superapps: new SuperappService(db, clock),
    miniPrograms: new MiniProgramService(db, clock),
    apiKeys: new ApiKeyService(db, clock, secretBox),
  };
  const platformKeys = new PlatformKeyService(db, clock, secretBox, { graceMs: deps.config.platformKeyGraceDays * 24 * 60 * 60 * 1000 });
  const credentials = new PaymentCredentialService(db, clock, secretBox, platformKeys);
  const bindings = new MerchantBindingService(db, clock);
  const enablements = new PaymentEnablementService(db, clock, credentials);
  const payment = {
    paymentConfig: new PaymentConfigService(db, clock, secretBox, deps.config.sandboxEnabled),
    merchants: new MerchantService(db, clock),
    bindings,
    enablements,
    approvals: new ApprovalService(db, bindings, enablements),
    credentials,
    platformKeys,
  };
  // Gateway building blocks: replay protection, the outbox and notifications, and channel events (the
  // gateway attaches itself to the sink).
  const channelEvents = new DeferredEventSink();
  const outbox = new OutboxService(db, clock, { attemptRetentionMs: deps.config.deliveryAttemptRetentionDays * 24 * 60 * 60 * 1000 });
  const gatewayParts = {
    nonces: new NonceService(db, clock, { retentionMs: deps.config.nonceRetentionMinutes * 60_000 }),
    outbox,
    notifications: new NotificationService(outbox, clock, deps.config.timezone),
    notificationKeys: notificationKeysFrom({
      apiV3KeyOf: async (mnpId) => (await findPaymentAccount(db, secretBox, mnpId))?.apiV3Key ?? null,
      platformSigningKey: () => platformKeys.signingKey(),
    }),
    channelEvents,
    /** The in-process sandbox channel; null while the sandbox is off. */
    sandbox: deps.config.sandboxEnabled ? new SandboxChannel({ db, clock, sink: channelEvents, publicUrl: deps.config.publicUrl }) : null,
  };
  const gateway = createGatewayServices(deps, { ...payment, ...gatewayParts });
  // The host API and the host-reported channel mode (issue 8): one channel instance serves every such superapp.
  const hostKeys = new HostKeyService(db, clock, secretBox);
  gateway.gatewayChannels.register('host_reported', new HostReportedChannel({ db, clock, outbox, refundWebhookOf: (id) => hostKeys.refundWebhookOf(id) }));
  const host = {
    hostKeys,
    hostPayments: new HostPaymentService(db, clock, deps.config, { orders: gateway.orders, refunds: gateway.refunds, sandbox: gatewayParts.sandbox, hostKeys, nonces: gatewayParts.nonces }),
  };
  // Order and after-sales records, their exports, and payment data (issue 5).
  const orderRecords = new OrderRecordService(db, clock, outbox);
  const refundRecords = new RefundRecordService(db, clock, deps.config);
  const paymentStats = new PaymentStatsService(db, clock, deps.config);
  const records = {
    orderRecords,
    refundRecords,
    notificationLog: new NotificationLogService(db, clock, orderRecords),
    exports: new ExportService(db, clock, deps.config, { orders: orderRecords, refunds: refundRecords }),
    paymentStats,
  };
  // The host bridge's paySign check (SPEC §4.4); the sandbox names its own cashier pages.
  const sandboxChannel = gatewayParts.sandbox;
  const paymentBridge = new PaymentBridgeService(db, clock, (channelKind, token) => (channelKind === 'sandbox' && sandboxChannel ? sandboxChannel.cashierUrl(token) : null));
  const demoWorld = new DemoWorldService(db, clock, secretBox, deps.config, tenancy);
  extendDemoWorldWithPayment(demoWorld, payment);
  return {
    ...tenancy,
    ...payment,
    ...gatewayParts,
    ...gateway,
    ...host,
    rateLimiter,
    signatureFailures: new SignatureFailureLimiter(rateLimiter, { ...signatureFailureLimit, failures: deps.config.signatureFailureLimit }),
    merchantRequests: new MerchantRequestLimiter(rateLimiter, deps.config.mchidRateLimit),
    auth: new AuthService(db, clock, passwordHasher, rateLimiter),
    audit: new AuditService(db),
    managementAuth: new ManagementAuthService(db, clock, tenancy.apiKeys),
    platform: new PlatformService(db, clock),
    paymentData: new PaymentDataService(db, clock, deps.config, paymentStats),
    /** The database gauges of /metrics (outbox, stuck refunds, reconciler lag, exports). */
    operationsMetrics: new OperationsMetricsService(db, clock, { refundStuckMs: deps.config.metricsRefundStuckMinutes * 60_000 }),
    ...records,
    paymentBridge,
    demoWorld,
    /** Seals the demo shop's pasted merchant credentials (the demo merchant server, src/routes/demo). */
    demoShopSecrets: { seal: (text: string) => secretBox.seal(text, 'demo-merchant'), open: (sealed: string) => secretBox.open(sealed, 'demo-merchant') },
  };
}

export type Services = ReturnType<typeof createServices>;
