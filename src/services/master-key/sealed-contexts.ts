import type { SealedColumnName } from '../../repositories/sealed-value.repository.ts';

/**
 * The sealing context (AES-GCM associated data) of each sealed column, from its context column: the same strings
 * the owning services seal with, so a re-sealed value opens where it is read. The rotation test opens every kind.
 */
export const sealedContexts: Record<SealedColumnName, (contextValue: string) => string> = {
  api_key_secret: (secretId) => `api-key:${secretId}`,
  channel_secret: (superappId) => `channel-secret:${superappId}`,
  api_v3_key: (mnpId) => `api-v3-key:${mnpId}`,
  merchant_private_key: (serialNo) => `merchant-private-key:${serialNo}`,
  platform_private_key: (serialNo) => `platform-key:${serialNo}`,
  'demo.manifest': () => 'demo-manifest',
  'demo.merchant.credentials': () => 'demo-merchant',
};
