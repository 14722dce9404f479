/**
 * The sealing context (AES-GCM associated data) of each kind of secret at rest: a sealed value opens only under
 * the context it was sealed with, so the services that own a secret and the master key rotation that re-seals it
 * take the context from here.
 */
export const sealingContexts = {
  apiKeySecret: (secretId: string) => `api-key:${secretId}`,
  channelSecret: (applicationId: string) => `channel-secret:${applicationId}`,
  apiV3Key: (mnpId: string) => `api-v3-key:${mnpId}`,
  virtualAppKey: (mnpId: string) => `virtual-app-key:${mnpId}`,
  merchantPrivateKey: (serialNo: string) => `merchant-private-key:${serialNo}`,
  platformPrivateKey: (serialNo: string) => `platform-key:${serialNo}`,
  demoManifest: 'demo-manifest',
  demoMerchantCredentials: 'demo-merchant',
} as const;
