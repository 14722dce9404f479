import { createPrivateKey, randomInt, type KeyObject } from 'node:crypto';
import { generateRsaKeyPair, issueCertificate, newCertificateSerial, type CertificateName } from '../../crypto/certificates.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { isPlatformAdmin, systemActor, type Actor } from '../../domain/access.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { AppError, forbidden } from '../../domain/errors.ts';
import { isUniqueViolation } from '../../repositories/constraint-errors.ts';
import { platformKeyRepository, type PlatformSigningKeyRow } from '../../repositories/platform-key.repository.ts';
import { recordAudit } from '../tenancy/index.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';
import { ConfigCache } from './config-cache.ts';

export const defaultPlatformKeyGraceMs = 7 * dayMs;
const certificateLifetimeMs = 5 * 365 * dayMs;

export const platformCertificateName: CertificateName = { commonName: 'Paythrough platform signing key', organization: 'Paythrough' };

/** A published platform key: what `/v3/certificates` and the console's download list. */
export interface PublishedPlatformKey {
  /** The X.509 certificate serial (40 hex), as in platform-certificate mode. */
  serialNo: string;
  /** The public-key-mode id (`PUB_KEY_ID_…`), what the demo manifest's `platformSerial` names. */
  publicKeyId: string;
  /** SPKI PEM. */
  publicKeyPem: string;
  /** Self-signed X.509 certificate PEM. */
  certificatePem: string;
  publishedAt: number;
  /** When it starts (or started) signing. */
  signingFrom: number;
  /** When it stops being published, once a successor has signed for a grace period; null while open. */
  publishedUntil: number | null;
  notAfter: number;
  /** Whether it is the key that signs at the time asked. */
  signing: boolean;
}

/** What a rotation did: the new key (published, not signing yet) and the key it replaces. */
export interface PlatformKeyRotation extends PublishedPlatformKey {
  graceMs: number;
  retiring: { serialNo: string; publicKeyId: string; signsUntil: number; publishedUntil: number };
}

export interface PlatformSigningKey extends Omit<PublishedPlatformKey, 'signing' | 'publishedUntil'> {
  privateKey: KeyObject;
}

/**
 * The platform's own signing keys (SPEC §2.2, §7 "Platform key rotation"). A new key is published first and
 * signs only after a grace period; the old one stays published until it has signed nothing for another
 * grace period. The first key is made on first use.
 */
export class PlatformKeyService {
  private readonly privateKeys = new Map<string, KeyObject>();

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly options: { graceMs?: number } = {},
    private readonly configCache: ConfigCache = new ConfigCache(db),
  ) {}

  get graceMs(): number {
    return this.options.graceMs ?? defaultPlatformKeyGraceMs;
  }

  /**
   * The key that signs gateway responses and notifications at `now` (extension point for the gateway).
   * Send `publicKeyId` as `Wechatpay-Serial` to public-key-mode clients, `serialNo` to certificate-mode ones.
   * Call it outside database transactions: on first use it creates the first key.
   */
  async signingKey(now: number = this.clock.nowMs(), generation?: number): Promise<PlatformSigningKey> {
    const rows = await this.rows(now, false, generation);
    const signer = signerAt(rows, now);
    return { ...toPublished(rows, signer, now), privateKey: this.privateKeyOf(signer) };
  }

  /** The keys a client should trust at `now`: the signing one, a successor in its grace period, a predecessor in its grace period. */
  async publishedKeys(now: number = this.clock.nowMs(), generation?: number): Promise<PublishedPlatformKey[]> {
    const rows = await this.rows(now, false, generation);
    return rows
      .map((row) => toPublished(rows, row, now))
      .filter((key) => key.publishedAt <= now && (key.publishedUntil === null || now < key.publishedUntil));
  }

  /**
   * Publishes a new key that starts signing after the grace period; the key signing now stays published
   * for another grace period after that. One rotation at a time. Platform admins (and the CLI) only.
   */
  async rotate(actor: Actor, options: { graceMs?: number } = {}): Promise<PlatformKeyRotation> {
    if (actor.kind !== 'system' && !isPlatformAdmin(actor)) throw forbidden('Only platform admins rotate the platform key');
    const graceMs = options.graceMs ?? this.graceMs;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0)
      throw new AppError('InvalidParameterValue', 'graceMs: a non-negative number of milliseconds', { field: 'graceMs' });
    await this.ensure();
    const now = this.clock.nowMs();
    const retiring = signerAt(await this.rows(now, true), now);
    const row = await this.create(now, now + graceMs, graceMs, actor);
    const rows = await this.rows(now, true);
    const published = toPublished(rows, rows.find((r) => r.serial_no === row.serial_no) ?? row, now);
    return {
      ...published,
      graceMs,
      retiring: {
        serialNo: retiring.serial_no,
        publicKeyId: retiring.public_key_id,
        signsUntil: row.signing_from,
        publishedUntil: row.signing_from + graceMs,
      },
    };
  }

  /** Makes the first key when there is none (it signs at once: nothing to rotate from). */
  async ensure(): Promise<void> {
    if ((await this.rows(this.clock.nowMs())).length > 0) return;
    const now = this.clock.nowMs();
    await this.create(now, now, this.graceMs, undefined);
  }

  /** Every key, kept until the configuration generation moves (a rotation on any instance moves it). */
  private async rows(now: number, reload = false, generation?: number): Promise<PlatformSigningKeyRow[]> {
    const load = () => platformKeyRepository.listAll(this.db);
    let rows = reload ? await load() : await this.configCache.get('platform-keys', load, generation);
    if (rows.length === 0) {
      await this.create(now, now, this.graceMs, undefined);
      rows = await load();
    }
    return rows;
  }

  private async create(
    publishedAt: number,
    signingFrom: number,
    graceMs: number,
    actor: Actor | undefined,
  ): Promise<PlatformSigningKeyRow> {
    const pair = await generateRsaKeyPair();
    const serialNo = newCertificateSerial();
    const certificatePem = issueCertificate({
      serialNo,
      subject: platformCertificateName,
      issuer: platformCertificateName,
      publicKeyPem: pair.publicKeyPem,
      issuerPrivateKeyPem: pair.privateKeyPem,
      notBefore: publishedAt,
      notAfter: publishedAt + certificateLifetimeMs,
      certificateAuthority: true,
    });
    for (let attempt = 0; ; attempt++) {
      const existing = await platformKeyRepository.listAll(this.db);
      // The first key: another instance may have made it meanwhile; use theirs.
      if (!actor && existing.length > 0) return existing[0]!;
      // Read again on every attempt: a rotation started meanwhile (another operator) must not be stacked.
      const pending = existing.find((other) => other.signing_from > publishedAt);
      if (actor && pending) {
        throw new AppError(
          'FailedOperation',
          `A rotation is in progress: key ${pending.serial_no} starts signing at ${new Date(pending.signing_from).toISOString()}; ` +
            'rotate again after that',
        );
      }
      const row: PlatformSigningKeyRow = {
        serial_no: serialNo,
        generation: (existing.at(-1)?.generation ?? 0) + 1,
        public_key_id: `PUB_KEY_ID_01${Array.from({ length: 29 }, () => randomInt(10)).join('')}`,
        public_key_pem: pair.publicKeyPem,
        certificate_pem: certificatePem,
        private_key_sealed: this.secretBox.seal(pair.privateKeyPem, sealingContexts.platformPrivateKey(serialNo)),
        published_at: publishedAt,
        signing_from: signingFrom,
        grace_ms: graceMs,
        not_after: publishedAt + certificateLifetimeMs,
        created_at: publishedAt,
      };
      try {
        await this.db.transaction().execute(async (trx) => {
          await platformKeyRepository.insert(trx, row);
          await recordAudit(trx, this.clock, actor ?? systemActor(), {
            action: actor ? 'platform_key.rotate' : 'platform_key.create',
            targetType: 'platform_key',
            targetId: serialNo,
            after: { serialNo, publicKeyId: row.public_key_id, publishedAt, signingFrom, graceMs },
          });
        });
        return row;
      } catch (error) {
        // Another instance took this generation number first: read again and retry (or use its first key).
        if (!isUniqueViolation(error) || attempt >= 3) throw error;
      }
    }
  }

  private privateKeyOf(row: PlatformSigningKeyRow): KeyObject {
    let key = this.privateKeys.get(row.serial_no);
    if (!key) {
      key = createPrivateKey(this.secretBox.open(row.private_key_sealed, sealingContexts.platformPrivateKey(row.serial_no)));
      this.privateKeys.set(row.serial_no, key);
    }
    return key;
  }
}

/** The newest key whose signing period has begun (the first key if none has: the clock stands before it). */
function signerAt(rows: PlatformSigningKeyRow[], now: number): PlatformSigningKeyRow {
  const started = rows.filter((row) => row.signing_from <= now);
  return started.at(-1) ?? rows[0]!;
}

function toPublished(rows: PlatformSigningKeyRow[], row: PlatformSigningKeyRow, now: number): PublishedPlatformKey {
  const signer = signerAt(rows, now);
  // A key stops signing when a later key starts; it stays published for that later key's grace period after.
  const successor = rows
    .filter((other) => other.generation > row.generation && other.signing_from <= now)
    .sort((a, b) => a.signing_from - b.signing_from)[0];
  return {
    serialNo: row.serial_no,
    publicKeyId: row.public_key_id,
    publicKeyPem: row.public_key_pem,
    certificatePem: row.certificate_pem,
    publishedAt: row.published_at,
    signingFrom: row.signing_from,
    publishedUntil: successor ? successor.signing_from + successor.grace_ms : null,
    notAfter: row.not_after,
    signing: row.serial_no === signer.serial_no,
  };
}
