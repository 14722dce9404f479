export { ApprovalService, type VirtualApprovalDecider } from './approval.service.ts';
export { ConfigCache } from './config-cache.ts';
export {
  ChannelConnectionService,
  type ChannelKeys,
  type ChannelRoute,
  type PreviousConnectionView,
  type StatementSettings,
} from './channel-connection.service.ts';
export { GatewayCertificateService } from './gateway-certificates.service.ts';
export { HostKeyService } from './host-key.service.ts';
export { MerchantBindingService } from './merchant-binding.service.ts';
export { MerchantService } from './merchant.service.ts';
export { PaymentConfigService, channelKinds, resolvePaymentConfig, type ChannelSettings } from './payment-config.service.ts';
export {
  PaymentCredentialService,
  findPaymentAccount,
  paymentGateOf,
  type MerchantKeySource,
  type PaymentAccountLookup,
  type PaymentAccounts,
} from './payment-credential.service.ts';
export { PaymentEnablementService } from './payment-enablement.service.ts';
export { PlatformKeyService } from './platform-key.service.ts';
export {
  alreadyProcessed,
  approvalPersister,
  persistTransition,
  recordApprovalCreation,
  validDecision,
  type ApprovalPersister,
  type DecisionInput,
} from './approval-transition.ts';
export { validPaymentType, type EnablementDescription, type VirtualAccountOpener } from './payment-enablement.service.ts';
