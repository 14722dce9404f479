export { ApiKeyService } from './api-key.service.ts';
export { AuthService, loadActor, sessionLifetimeMs, type PasswordChanged } from './auth.service.ts';
export { GatewayAuthService, type GatewayCaller, type MerchantKeyLookup } from './gateway-auth.service.ts';
export { ManagementAuthService } from './management-auth.service.ts';
export { MerchantRequestLimiter } from './merchant-request-limiter.ts';
export { NonceService, type NonceStore } from './nonce.service.ts';
export { PasswordAttemptLimiter, passwordAttemptPolicy } from './password-attempt-limiter.ts';
export { RateLimiter } from './rate-limiter.ts';
export { SignatureFailureLimiter, signatureFailureLimit, signatureFailureMessage } from './signature-failure-limiter.ts';
