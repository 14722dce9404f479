/**
 * The composition root: builds every service and job of one app from its configuration, database, clock and
 * keys, and starts the background jobs. Nothing else constructs a service; routes reach them through
 * `app.services`, jobs through what this module hands them.
 */
import { DeferredEventSink, type PaymentChannel } from './channels/channel.ts';
import { hostRefundWebhookTopic, HostReportedChannel } from './channels/host-reported/host-reported-channel.ts';
import { RefundWebhookDeliverer } from './channels/host-reported/refund-webhook.ts';
import { SandboxChannel } from './channels/sandbox/sandbox-channel.ts';
import { databaseKindOf, type Config } from './config/config.ts';
import type { PasswordHasher } from './crypto/passwords.ts';
import type { SecretBox } from './crypto/secret-box.ts';
import { whenDatabaseLockFree } from './db/advisory-lock.ts';
import type { DatabaseClient } from './db/schema.ts';
import { type Clock, dayMs } from './domain/clock.ts';
import { AutoCloseJob } from './jobs/auto-close.ts';
import { startJobLoop, type JobLoop } from './jobs/job-loop.ts';
import { OutboxWorker } from './jobs/outbox-worker.ts';
import { ReconcilerJob } from './jobs/reconciler.ts';
import { startRecordJobs } from './jobs/records-jobs.ts';
import { purgeExpiredSecurityState } from './jobs/security-purge.ts';
import type { DatabaseHandle } from './db/database.ts';
import {
  ApiKeyService,
  AuthService,
  GatewayAuthService,
  ManagementAuthService,
  MerchantRequestLimiter,
  NonceService,
  type NonceStore,
  PasswordAttemptLimiter,
  RateLimiter,
  signatureFailureLimit,
  SignatureFailureLimiter,
} from './services/auth/index.ts';
import {
  DemoGameMerchant,
  DemoMerchant,
  DemoWorldService,
  demoGameCredentials,
  extendDemoWorldWithMiniGame,
  extendDemoWorldWithPayment,
  type DemoDayServices,
} from './services/demo/index.ts';
import { masterKeyHeartbeatMs, MasterKeyInstanceService, MasterKeyRotationService } from './services/master-key/index.ts';
import {
  ApprovalService,
  ChannelConnectionService,
  ConfigCache,
  GatewayCertificateService,
  HostKeyService,
  MerchantBindingService,
  MerchantService,
  PaymentConfigService,
  PaymentCredentialService,
  PaymentEnablementService,
  type PaymentAccounts,
  PlatformKeyService,
} from './services/payment-setup/index.ts';
import {
  VirtualDeliveryDeliverer,
  VirtualDeliveryNotifier,
  virtualDeliveryTopic,
  VirtualOrderService,
  type VirtualPaymentDirectory,
  XpayService,
} from './services/virtual-payment/index.ts';
import {
  BillService,
  GatewayChannelResolver,
  HostPaymentService,
  merchantNotificationTopic,
  NotificationDeliverer,
  notificationKeysFrom,
  NotificationService,
  notifierFrom,
  OrderService,
  OutboxService,
  PaymentBridgeService,
  RefundService,
  type VirtualPaymentNotifier,
} from './services/payments/index.ts';
import {
  ExportService,
  NotificationLogService,
  OperationsMetricsService,
  OrderRecordService,
  PaymentDataService,
  MiniGamePaymentDataService,
  PaymentStatsService,
  RefundRecordService,
} from './services/records/index.ts';
import { AuditService, MiniProgramService, PlatformService, SuperappService, TeamService, UserService } from './services/tenancy/index.ts';
import { sealingContexts } from './domain/sealing-contexts.ts';
import {
  ItemExemptionService,
  VirtualApprovalService,
  VirtualDeliveryService,
  VirtualItemService,
  VirtualPaymentAccountService,
  VirtualPaymentDirectoryService,
} from './services/virtual-payment/index.ts';
import { ReconciliationRecordsService, StatementReconciliationService } from './services/reconciliation/index.ts';

/** What services are built from; each service takes only what it uses. */
export interface ServiceDependencies {
  db: DatabaseClient;
  clock: Clock;
  secretBox: SecretBox;
  passwordHasher: PasswordHasher;
  config: Config;
  /**
   * Virtual payment setup as orders read it (SPEC §8.1, the seam of services/virtual-payment), for a test that puts
   * its own in; by default the accounts, keys and items of virtual payment setup.
   */
  virtualPaymentDirectory?: VirtualPaymentDirectoryFactory;
}

export type VirtualPaymentDirectoryFactory = (setup: { paymentAccounts: PaymentAccounts }) => VirtualPaymentDirectory;

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
  // What the gateway reads per request but changes once a week, shared by the services that read it.
  const configCache = new ConfigCache(db);
  const platformKeys = new PlatformKeyService(db, clock, secretBox, { graceMs: deps.config.platformKeyGraceDays * dayMs }, configCache);
  const credentials = new PaymentCredentialService(db, clock, secretBox, platformKeys, configCache);
  const bindings = new MerchantBindingService(db, clock);
  // Virtual payment setup (SPEC §8.1): its account opens when a PaymentType 2 enablement is approved.
  const virtualAccounts = new VirtualPaymentAccountService(db, clock, secretBox);
  const enablements = new PaymentEnablementService(db, clock, credentials, virtualAccounts);
  const virtualItems = new VirtualItemService(db, clock);
  const itemExemptions = new ItemExemptionService(db, clock);
  const virtualApprovals = new VirtualApprovalService(enablements, virtualItems, itemExemptions);
  const virtualPayment = {
    virtualAccounts,
    virtualItems,
    itemExemptions,
    virtualApprovals,
    virtualDelivery: new VirtualDeliveryService(db, clock, { sandboxEnabled: deps.config.sandboxEnabled }),
    /** The seam virtual orders read setup through. */
    virtualPaymentDirectory: new VirtualPaymentDirectoryService(secretBox),
  };
  // Channel connections and keys (SPEC §7 "Channel change with live money"): a replaced key overlaps this long.
  const channelConnections = new ChannelConnectionService(db, clock, secretBox);
  const keyOverlapMs = deps.config.keyOverlapHours * 3_600_000;
  const payment = {
    channelConnections,
    paymentConfig: new PaymentConfigService(
      db,
      clock,
      secretBox,
      { sandboxEnabled: deps.config.sandboxEnabled, keyOverlapMs },
      channelConnections,
    ),
    merchants: new MerchantService(db, clock),
    bindings,
    enablements,
    approvals: new ApprovalService(db, bindings, enablements, virtualApprovals),
    credentials,
    platformKeys,
  };
  // Gateway building blocks: replay protection, the outbox and notifications, and channel events (the
  // gateway attaches itself to the sink).
  const channelEvents = new DeferredEventSink();
  const outbox = new OutboxService(db, clock, { attemptRetentionMs: deps.config.deliveryAttemptRetentionDays * dayMs });
  const virtualPaymentDirectory =
    deps.virtualPaymentDirectory?.({ paymentAccounts: credentials }) ?? virtualPayment.virtualPaymentDirectory;
  const gatewayParts = {
    nonces: new NonceService(db, clock, { retentionMs: deps.config.nonceRetentionMinutes * 60_000 }),
    merchantRequests: new MerchantRequestLimiter(rateLimiter, deps.config.mchidRateLimit),
    outbox,
    notifications: new NotificationService(outbox, clock, deps.config.timezone),
    notificationKeys: notificationKeysFrom({
      apiV3KeyOf: (mnpId) => credentials.apiV3KeyOf(mnpId),
      platformSigningKey: () => platformKeys.signingKey(),
    }),
    channelEvents,
    /** Virtual orders' delivery and refund notifications (SPEC §8.4), into the outbox. */
    virtualNotifier: new VirtualDeliveryNotifier(outbox, virtualPaymentDirectory, clock),
    /** The in-process sandbox channel; null while the sandbox is off. */
    sandbox: deps.config.sandboxEnabled
      ? new SandboxChannel({
          db,
          clock,
          sink: channelEvents,
          publicUrl: deps.config.publicUrl,
          refundDelayMs: deps.config.sandboxRefundDelayMs,
        })
      : null,
  };
  const gateway = createGatewayServices(deps, { ...payment, ...gatewayParts });
  // The host API and the host-reported channel mode: one channel instance serves every such superapp.
  const hostKeys = new HostKeyService(db, clock, secretBox, keyOverlapMs, channelConnections);
  gateway.gatewayChannels.register(
    'host_reported',
    new HostReportedChannel({
      db,
      clock,
      outbox,
      refundWebhookOf: (refund) => hostKeys.refundWebhookOf(refund),
      statementTargetOf: (applicationId) => channelConnections.hostStatementTargetOf(applicationId),
      connector: () => gateway.gatewayChannels.connectorOptions(),
    }),
  );
  const host = {
    hostKeys,
    hostPayments: new HostPaymentService(db, clock, deps.config, {
      orders: gateway.orders,
      refunds: gateway.refunds,
      sandbox: gatewayParts.sandbox,
      hostKeys,
      nonces: gatewayParts.nonces,
    }),
  };
  // Order and after-sales records, their exports, and payment data.
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
  const paymentBridge = new PaymentBridgeService(db, clock, (channelKind, token) =>
    channelKind === 'sandbox' && sandboxChannel ? sandboxChannel.cashierUrl(token) : null,
  );
  // Virtual orders (SPEC §8.2, §8.3): the same orders, channels and host-key signatures as standard payment.
  const virtualOrders = new VirtualOrderService(db, clock, deps.config, virtualPaymentDirectory, {
    orders: gateway.orders,
    hostSignatures: host.hostPayments,
    cashierUrlOf: (channelKind, token) => (channelKind === 'sandbox' && sandboxChannel ? sandboxChannel.cashierUrl(token) : null),
  });
  const xpay = new XpayService(db, clock, virtualPaymentDirectory, { refunds: gateway.refunds, virtualOrders });
  const demoShopNotifyUrl = `${deps.config.publicUrl}/demo/merchant/notify`;
  // Seals the demo shop's pasted merchant credentials.
  const demoShopSecrets = {
    seal: (text: string) => secretBox.seal(text, sealingContexts.demoMerchantCredentials),
    open: (sealed: string) => secretBox.open(sealed, sealingContexts.demoMerchantCredentials),
  };
  const demoWorld = new DemoWorldService(db, clock, secretBox, deps.config, tenancy);
  extendDemoWorldWithPayment(demoWorld, payment, {
    clock,
    timezone: deps.config.timezone,
    // The demo superapp is set up and pays yesterday on yesterday's clock, in a copy of these services built on it.
    servicesAt: (at) => demoDayServicesOf(createServices({ ...deps, clock: at })),
    notifyUrl: demoShopNotifyUrl,
  });
  extendDemoWorldWithMiniGame(
    demoWorld,
    { miniPrograms: tenancy.miniPrograms, enablements: payment.enablements, approvals: payment.approvals, ...virtualPayment },
    { deliveryUrl: `${deps.config.publicUrl}/demo/game/delivery` },
  );
  // The master keys this instance holds, as reported to the others, and their rotation (SPEC §7).
  const masterKeyInstances = new MasterKeyInstanceService(db, clock, secretBox);
  /** Daily reconciliation against each channel connection's statement (SPEC §9). */
  const statementReconciliation = new StatementReconciliationService(
    db,
    clock,
    deps.config,
    {
      // The connection's channel, reached as its orders and refunds reach it; none: the run is NO_STATEMENT.
      async statementSourceFor(run) {
        const source = await gateway.gatewayChannels.statementSourceFor(run.application_id, run.channel_connection_id);
        return source.available ? { channel: source.channel } : { unavailable: source.message };
      },
    },
    masterKeyInstances.instanceId,
    // What matching acts through: the payment.succeeded path and refunds' channel views (SPEC §9.3).
    { orders: gateway.orders, refunds: gateway.refunds },
  );
  const paymentData = new PaymentDataService(db, clock, deps.config, paymentStats);
  return {
    ...tenancy,
    ...payment,
    ...virtualPayment,
    ...gatewayParts,
    ...gateway,
    ...host,
    rateLimiter,
    signatureFailures: new SignatureFailureLimiter(rateLimiter, { ...signatureFailureLimit, failures: deps.config.signatureFailureLimit }),
    auth: new AuthService(db, clock, passwordHasher, new PasswordAttemptLimiter(rateLimiter)),
    audit: new AuditService(db),
    managementAuth: new ManagementAuthService(db, clock, tenancy.apiKeys),
    platform: new PlatformService(db, clock),
    paymentData,
    miniGamePaymentData: new MiniGamePaymentDataService(db, clock, deps.config, paymentData),
    /** The database gauges of /metrics (outbox, stuck refunds, reconciler lag, exports). */
    operationsMetrics: new OperationsMetricsService(db, clock, {
      refundStuckMs: deps.config.metricsRefundStuckMinutes * 60_000,
      timezone: deps.config.timezone,
      reconciliationCutoff: deps.config.reconciliationCutoff,
    }),
    ...records,
    paymentBridge,
    virtualPaymentDirectory,
    virtualOrders,
    xpay,
    demoWorld,
    masterKeyInstances,
    masterKeyRotation: new MasterKeyRotationService(db, clock, secretBox, masterKeyInstances),
    statementReconciliation,
    /** Days, reports and exceptions of daily reconciliation as the console and the management API read them (SPEC §9.5). */
    reconciliationRecords: new ReconciliationRecordsService(db, clock, deps.config, statementReconciliation),
    /** The demo shop's merchant server, which calls the gateway at the address the server listens on. */
    createDemoMerchant: (gatewayBaseUrl: () => string) =>
      new DemoMerchant(db, clock, demoShopSecrets, demoWorld, gatewayBaseUrl, demoShopNotifyUrl),
    createDemoGameMerchant: (paythroughBaseUrl: () => string) =>
      new DemoGameMerchant(db, clock, () => demoGameCredentials(demoWorld), paythroughBaseUrl),
  };
}

export type Services = ReturnType<typeof createServices>;

/** What the demo world's yesterday is built with (a narrow view, so createServices does not infer its own type). */
function demoDayServicesOf(services: Services): DemoDayServices {
  return services;
}

/** Everything but HTTP: what the app, the CLI and the tests are built from. */
export interface AppContext {
  config: Config;
  database: DatabaseHandle;
  clock: Clock;
  services: Services;
}

interface GatewayParts {
  channelConnections: ChannelConnectionService;
  credentials: PaymentCredentialService;
  platformKeys: PlatformKeyService;
  nonces: NonceStore;
  merchantRequests: MerchantRequestLimiter;
  channelEvents: DeferredEventSink;
  sandbox: PaymentChannel | null;
  notifications: Pick<NotificationService, 'enqueue'>;
  virtualNotifier: VirtualPaymentNotifier;
}

/**
 * The v3 gateway's services: authentication, orders, refunds, bills, certificates, the channel
 * resolver, and the jobs that keep orders honest (auto-close, reconciler). The order service becomes the
 * sink of channel events.
 */
function createGatewayServices(deps: ServiceDependencies, parts: GatewayParts) {
  const { db, clock, config } = deps;
  const gatewayChannels = new GatewayChannelResolver(clock, parts.channelConnections, config, parts.sandbox);
  const notifier = notifierFrom(parts.notifications, parts.virtualNotifier);
  const refunds = new RefundService(db, clock, config, gatewayChannels, notifier);
  const orders = new OrderService(db, clock, config, parts.credentials, gatewayChannels, notifier, refunds);
  parts.channelEvents.attach(orders);
  return {
    gatewayAuth: new GatewayAuthService(db, clock, parts.credentials, parts.nonces, {
      merchantRequests: parts.merchantRequests,
      oneCommit: databaseKindOf(config.databaseUrl) === 'sqlite',
    }),
    gatewayChannels,
    orders,
    refunds,
    bills: new BillService(db, clock, config, parts.credentials),
    gatewayCertificates: new GatewayCertificateService(db, clock, config, parts.credentials, parts.platformKeys),
    autoCloseJob: new AutoCloseJob(orders),
    reconcilerJob: new ReconcilerJob(orders, refunds),
  };
}

export interface BackgroundJobs {
  outboxWorker: OutboxWorker;
  stop(): Promise<void>;
}

/**
 * The jobs every instance runs: the outbox worker, auto-close, the reconciler, the in-process sandbox's
 * clock-driven work, and the purges of expired nonces, rate-limit counters and old delivery attempts.
 * Safe on any number of instances (claims and compare-and-set in the database).
 */
export function startBackgroundJobs(context: AppContext, options: { intervalMs?: number } = {}): BackgroundJobs {
  const { config, database, clock, services } = context;
  const intervalMs = options.intervalMs ?? 1000;
  const notificationDeliverer = new NotificationDeliverer({
    keys: services.notificationKeys,
    clock,
    allowPrivateTargets: config.allowPrivateTargets,
    sandboxEnabled: config.sandboxEnabled,
    timeZone: config.timezone,
  });
  const virtualDeliverer = new VirtualDeliveryDeliverer({
    db: database.db,
    directory: services.virtualPaymentDirectory,
    clock,
    allowPrivateTargets: config.allowPrivateTargets,
    sandboxEnabled: config.sandboxEnabled,
  });
  const outboxWorker = new OutboxWorker({
    db: database.db,
    kind: database.kind,
    clock,
    handlers: {
      [merchantNotificationTopic]: notificationDeliverer,
      [virtualDeliveryTopic]: virtualDeliverer,
      [hostRefundWebhookTopic]: new RefundWebhookDeliverer({
        hostKeyOf: (applicationId) => services.hostKeys.signingHostKeyOf(applicationId),
        clock,
        allowPrivateTargets: config.allowPrivateTargets,
      }),
    },
  });
  // What this instance enqueues is delivered at once; the interval finds the other instances' rows.
  const stopWaking = services.outbox.onEnqueued(() => outboxWorker.wake());
  const loops: JobLoop[] = [
    outboxWorker.start(intervalMs),
    startJobLoop('security-purge', 60_000, () => purgeExpiredSecurityState(services)),
    // Delivery attempts past PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS (finished notifications only), in batches.
    startJobLoop('delivery-attempt-purge', 60_000, () => services.outbox.purgeOldAttempts()),
    // Keeps this instance's master key report live for rotate-master-key (SPEC §7).
    startJobLoop('master-key-heartbeat', masterKeyHeartbeatMs, () => services.masterKeyInstances.report()),
  ];
  loops.push(...startRecordJobs(services, intervalMs));
  // Orders past time_expire close (channel first); unknown channel outcomes are settled by querying.
  // One instance at a time runs each pass, so a due order is closed or queried on its channel once.
  const { db, kind } = database;
  loops.push(startJobLoop('auto-close', 5_000, () => whenDatabaseLockFree(db, kind, 'auto-close', () => services.autoCloseJob.runOnce())));
  loops.push(startJobLoop('reconciler', 5_000, () => whenDatabaseLockFree(db, kind, 'reconciler', () => services.reconcilerJob.runOnce())));
  // Replaced channel connections that carry nothing open any more are retired, and keys no connection needs forgotten.
  loops.push(
    startJobLoop('channel-connection-retirement', 60_000, () =>
      whenDatabaseLockFree(db, kind, 'channel-connection-retirement', () => services.channelConnections.retireIdle()),
    ),
  );
  // Each day's statement from the cut-off on the next day; runs are leased, so instances share the work (SPEC §9.2).
  loops.push(
    startJobLoop('statement-reconciliation', 60_000, async () => {
      await services.statementReconciliation.scheduleDue();
      await services.statementReconciliation.runDue();
      await services.statementReconciliation.purgeOldLines();
    }),
  );
  const sandbox = services.sandbox;
  if (sandbox) loops.push(startJobLoop('sandbox', intervalMs, () => sandbox.tick()));
  return {
    outboxWorker,
    async stop() {
      stopWaking();
      await Promise.all(loops.map((loop) => loop.stop()));
      notificationDeliverer.close();
      virtualDeliverer.close();
      // A stopped instance no longer holds back a rotation.
      await services.masterKeyInstances.withdraw();
    },
  };
}
