import type { SealedColumnName } from '../../repositories/sealed-value.repository.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';

/**
 * The sealing context (AES-GCM associated data) of each sealed column, from its context column: the owning
 * services' own contexts, so a re-sealed value opens where it is read.
 */
export const sealedContexts: Record<SealedColumnName, (contextValue: string) => string> = {
  api_key_secret: sealingContexts.apiKeySecret,
  // One context for every key of a superapp's channel: the keys that existed before 0020 open unchanged.
  channel_key: sealingContexts.channelSecret,
  previous_channel_key: sealingContexts.channelSecret,
  host_key: sealingContexts.channelSecret,
  previous_host_key: sealingContexts.channelSecret,
  api_v3_key: sealingContexts.apiV3Key,
  virtual_app_key: sealingContexts.virtualAppKey,
  merchant_private_key: sealingContexts.merchantPrivateKey,
  platform_private_key: sealingContexts.platformPrivateKey,
  'demo.manifest': () => sealingContexts.demoManifest,
  'demo.merchant.credentials': () => sealingContexts.demoMerchantCredentials,
};
