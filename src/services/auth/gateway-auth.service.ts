import { createPublicKey, type KeyObject } from 'node:crypto';
import { isV3TimestampFresh, parseV3Authorization, verifyV3RequestSignature } from '../../crypto/wechatpay-v3.ts';
import type { DatabaseClient, Executor } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { merchantRequestLimitMessage, type MerchantRequestLimiter } from './merchant-request-limiter.ts';
import type { NonceStore } from './nonce.service.ts';

const maxCachedKeys = 1000;

/** What the gateway learns from a merchant certificate serial (`serial_no` of WECHATPAY2-SHA256-RSA2048). */
export interface MerchantKeyLookup {
  mnpId: string;
  /** The superapp the mini program pays on: its merchant IDs are its own (SPEC §7 "Credential scope"). */
  applicationId: string;
  mchid: string;
  publicKeyPem: string;
  status: 'active' | 'revoked';
  /** The certificate's expiry (ms): past it the key authenticates nothing, like a revoked one. */
  notAfter: number;
}

/** Who called the gateway: the mini program whose merchant certificate signed the request. */
export interface GatewayCaller {
  mnpId: string;
  /** The superapp whose merchant `mchid` is: every merchant-keyed thing is keyed by both. */
  applicationId: string;
  mchid: string;
  serialNo: string;
  /** The configuration generation read when the request arrived: its later look-ups may answer from caches of it. */
  configGeneration?: number;
}

export interface SignedGatewayRequest {
  authorization: string | undefined;
  method: string;
  /** The raw request target (path and query exactly as received). */
  url: string;
  /** The raw body; empty for GET. */
  body: string;
}

export interface MerchantKeys {
  /** The configuration generation now (see ConfigCache); keys of it may come from memory. */
  currentGeneration(): Promise<number>;
  findMerchantKeyBySerial(db: Executor, serialNo: string, generation?: number): Promise<MerchantKeyLookup | undefined>;
}

/**
 * The gateway's request authentication (SPEC §4.1): `WECHATPAY2-SHA256-RSA2048` against the merchant
 * certificate named by `serial_no` (and owned by `mchid`), a timestamp within 5 minutes of our clock,
 * and a nonce never seen in that window. The nonce is remembered only after the signature verified,
 * so forged requests cannot burn a merchant's nonces.
 */
export class GatewayAuthService {
  // Parsed merchant public keys by PEM: parsing costs more than verifying, and a serial's key never changes.
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly keys: MerchantKeys,
    private readonly nonces: NonceStore,
    private readonly options: {
      /** Counts each authenticated request against its merchant's limit (SPEC §7), with the nonce. */
      merchantRequests?: Pick<MerchantRequestLimiter, 'count'>;
      /**
       * Remember the nonce and count the request in one transaction: SQLite pays per commit, PostgreSQL per round
       * trip (there the two statements run on their own).
       */
      oneCommit?: boolean;
    } = {},
  ) {}

  async authenticate(request: SignedGatewayRequest): Promise<GatewayCaller> {
    const parsed = parseV3Authorization(request.authorization);
    if (!parsed.ok) throw new AppError('AuthFailure.SignatureFailure', parsed.message);
    const authorization = parsed.authorization;
    if (!isV3TimestampFresh(authorization.timestamp, this.clock.nowMs())) {
      throw new AppError('AuthFailure.SignatureExpire', 'The request timestamp is more than 5 minutes away from the server time');
    }
    const configGeneration = await this.keys.currentGeneration();
    const key = await this.keys.findMerchantKeyBySerial(this.db, authorization.serialNo, configGeneration);
    // One answer for every key problem: which serials exist is nobody's business.
    if (!key || key.status !== 'active' || key.mchid !== authorization.mchid) {
      throw new AppError('AuthFailure.SignatureFailure', 'No active merchant certificate with this serial_no for this mchid');
    }
    if (
      !verifyV3RequestSignature(
        authorization,
        { method: request.method, url: request.url, body: request.body },
        this.publicKeyOf(key.publicKeyPem),
      )
    ) {
      throw new AppError('AuthFailure.SignatureFailure', 'The signature does not verify');
    }
    // Said only to a caller holding the key, so it tells nobody else which serials exist.
    if (key.notAfter <= this.clock.nowMs()) {
      const expiredAt = new Date(key.notAfter).toISOString();
      throw new AppError(
        'AuthFailure.SignatureFailure',
        `The merchant certificate ${authorization.serialNo} expired at ${expiredAt}: reset it in the console`,
      );
    }
    const caller = {
      mnpId: key.mnpId,
      applicationId: key.applicationId,
      mchid: key.mchid,
      serialNo: authorization.serialNo,
      configGeneration,
    };
    const nonceScope = `v3:${key.applicationId}:${authorization.mchid}`;
    // A replay counts nothing; a request over the merchant's limit keeps its nonce spent and its hit counted.
    const admit = async (db: Executor): Promise<'replay' | 'over-limit' | 'admitted'> => {
      if (!(await this.nonces.rememberNonce(nonceScope, authorization.nonceStr, authorization.timestamp, db))) return 'replay';
      const { merchantRequests } = this.options;
      return !merchantRequests || (await merchantRequests.count(caller, db)) ? 'admitted' : 'over-limit';
    };
    const outcome = this.options.oneCommit ? await this.db.transaction().execute(admit) : await admit(this.db);
    if (outcome === 'replay')
      throw new AppError('AuthFailure.SignatureFailure', 'This nonce_str was used already: the request is a replay');
    if (outcome === 'over-limit') throw new AppError('RequestLimitExceeded', merchantRequestLimitMessage);
    return caller;
  }

  private publicKeyOf(pem: string): KeyObject {
    let key = this.publicKeys.get(pem);
    if (!key) {
      key = createPublicKey(pem);
      if (this.publicKeys.size >= maxCachedKeys) this.publicKeys.delete(this.publicKeys.keys().next().value!);
      this.publicKeys.set(pem, key);
    }
    return key;
  }
}
