import type { Config } from '../../config/config.ts';
import { encryptV3Resource } from '../../crypto/wechatpay-v3.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { rfc3339In } from '../../domain/business-time.ts';
import type { PaymentAccounts } from './payment-credential.service.ts';
import type { GatewayCaller } from '../auth/index.ts';
import type { PlatformKeyService } from './platform-key.service.ts';

export interface EncryptedCertificate {
  serial_no: string;
  effective_time: string;
  expire_time: string;
  encrypt_certificate: { algorithm: 'AEAD_AES_256_GCM'; nonce: string; associated_data: string; ciphertext: string };
}

/** `GET /v3/certificates`: every published platform certificate, encrypted under the caller's own APIv3 key. */
export class GatewayCertificateService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone'>,
    private readonly accounts: PaymentAccounts,
    private readonly platformKeys: Pick<PlatformKeyService, 'publishedKeys'>,
  ) {}

  async list(caller: GatewayCaller): Promise<{ data: EncryptedCertificate[] }> {
    const account = await this.accounts.findPaymentAccount(this.db, caller.mnpId);
    if (!account?.apiV3Key)
      throw new AppError('FailedOperation', 'Set the APIv3 key in the console first: the certificates are encrypted with it');
    const keys = await this.platformKeys.publishedKeys(this.clock.nowMs());
    return {
      data: keys.map((key) => {
        const { original_type: _originalType, ...encrypted } = encryptV3Resource({
          plaintext: key.certificatePem,
          apiV3Key: account.apiV3Key!,
          associatedData: 'certificate',
          originalType: 'certificate',
        });
        return {
          serial_no: key.serialNo,
          effective_time: rfc3339In(key.publishedAt, this.config.timezone),
          expire_time: rfc3339In(key.publishedUntil ?? key.notAfter, this.config.timezone),
          encrypt_certificate: { ...encrypted, algorithm: 'AEAD_AES_256_GCM' as const },
        };
      }),
    };
  }
}
