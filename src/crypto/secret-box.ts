import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Hex characters of a master key id: 32 bits of a hash of the key, enough to tell a handful of keys apart. */
export const masterKeyIdLength = 8;
/** The stored form's version that carries the sealing key's id. */
export const keyedVersion = 'v2';
/** Where the key id sits in a sealed value, for the database scans of the start-up check and the rotation. */
export const sealedKeyIdLayout = { version: keyedVersion, keyIdLength: masterKeyIdLength, legacyId: 'v1' } as const;

/** The id sealed values carry for a master key (base64 of 32 bytes); a hash, so it reveals nothing usable. */
export function masterKeyId(masterKeyBase64: string): string {
  return createHash('sha256')
    .update('paythrough master key id\0')
    .update(decodeMasterKey(masterKeyBase64))
    .digest('hex')
    .slice(0, masterKeyIdLength);
}

/** The id of the key a value was sealed under; null for a value sealed before key ids (`v1.`). */
export function keyIdOfSealed(sealed: string): string | null {
  const [version, keyId] = sealed.split('.', 2);
  return version === keyedVersion && keyId ? keyId : null;
}

function decodeMasterKey(masterKeyBase64: string): Buffer {
  const key = Buffer.from(masterKeyBase64, 'base64');
  if (key.length !== 32) throw new Error('PAYTHROUGH_MASTER_KEY must be 32 bytes, base64-encoded');
  return key;
}

/**
 * Encrypts secrets at rest (APIv3 keys, API secret keys, private keys) with the master keys, AES-256-GCM.
 * The first key seals, every key opens (a rotation lists `new,old`). Stored form:
 * `v2.<key id>.<iv>.<tag>.<ciphertext>`, base64url parts; `v1.<iv>.<tag>.<ciphertext>` (before key ids) still opens.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  /** The id of the key that seals. */
  readonly sealingKeyId: string;

  constructor(masterKeys: string | readonly string[]) {
    const list = typeof masterKeys === 'string' ? [masterKeys] : masterKeys;
    this.keys = new Map(list.map((key) => [masterKeyId(key), decodeMasterKey(key)]));
    const first = this.keys.keys().next();
    if (first.done) throw new Error('PAYTHROUGH_MASTER_KEY must hold at least one key');
    this.sealingKeyId = first.value;
  }

  static generateMasterKey(): string {
    return randomBytes(32).toString('base64');
  }

  /** Every key id this box opens, the sealing one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.sealingKeyId)!, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'));
    return [keyedVersion, this.sealingKeyId, ...parts].join('.');
  }

  open(sealed: string, context = ''): string {
    const parts = sealed.split('.');
    if (parts[0] === 'v1' && parts.length === 4) return this.openUnlabelled(parts.slice(1), context);
    if (parts[0] !== keyedVersion || parts.length !== 5) throw new Error('Unrecognised sealed secret');
    const key = this.keys.get(parts[1]!);
    if (!key) throw new Error(`Sealed under master key ${parts[1]}, which PAYTHROUGH_MASTER_KEY does not hold (${this.keyIds.join(', ')})`);
    return decrypt(key, parts.slice(2), context);
  }

  /** Whether the value is sealed under the sealing key already (a rotation skips it). */
  isSealedUnderSealingKey(sealed: string): boolean {
    return keyIdOfSealed(sealed) === this.sealingKeyId;
  }

  /** A value from before key ids: sealed by the one key configured then, which may now be any listed key. */
  private openUnlabelled(parts: string[], context: string): string {
    let failure: unknown;
    for (const key of this.keys.values()) {
      try {
        return decrypt(key, parts, context);
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  }
}

function decrypt(key: Buffer, [iv, tag, ciphertext]: string[], context: string): string {
  if (!iv || !tag || ciphertext === undefined) throw new Error('Unrecognised sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
