import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  sign,
  verify,
  KeyObject,
} from 'node:crypto';
import { randomString } from '../domain/ids.ts';

/**
 * WeChat Pay API v3 protocol primitives (see shared/reference/wechatpay-v3-subset.md): request
 * authentication (`WECHATPAY2-SHA256-RSA2048`), response / notification signatures, AEAD_AES_256_GCM
 * resources and the `wx.requestPayment` paySign. Pure functions: time comes in as `nowMs`.
 */

export const v3AuthorizationScheme = 'WECHATPAY2-SHA256-RSA2048';
/** Requests, responses and notifications are accepted within this many seconds of the receiver's clock. */
export const v3TimestampWindowSeconds = 300;

/** A PEM string or buffer (private key, public key or X.509 certificate), or a ready KeyObject. */
export type KeyInput = string | Buffer | KeyObject;

/**
 * Parsing a PEM costs about half a millisecond, on every signed answer and every verified request: the
 * parsed keys of the few PEM texts in use are kept (by their text, so a new key is a new entry; SPEC §7).
 */
const parsedKeys = new Map<string, KeyObject>();
const maxParsedKeys = 64;
function parsedKey(kind: 'private' | 'public', pem: string | Buffer, parse: (pem: string | Buffer) => KeyObject): KeyObject {
  const text = `${kind}:${typeof pem === 'string' ? pem : pem.toString('latin1')}`;
  const cached = parsedKeys.get(text);
  if (cached) return cached;
  const key = parse(pem);
  if (parsedKeys.size >= maxParsedKeys) parsedKeys.delete(parsedKeys.keys().next().value!);
  parsedKeys.set(text, key);
  return key;
}

const toPrivateKey = (key: KeyInput): KeyObject => (key instanceof KeyObject ? key : parsedKey('private', key, createPrivateKey));
const toPublicKey = (key: KeyInput): KeyObject => {
  if (key instanceof KeyObject) return key.type === 'private' ? createPublicKey(key) : key;
  return parsedKey('public', key, createPublicKey);
};

/** Unix seconds, as v3 timestamps are. */
export const v3Timestamp = (nowMs: number): number => Math.floor(nowMs / 1000);
/** A fresh 32-character alphanumeric nonce, like the official SDKs send. */
export const newV3Nonce = (): string => randomString(32);

/** Lines joined by `\n`, the last one terminated too: the shape of every v3 string-to-sign. */
function joinLines(parts: ReadonlyArray<string | Buffer>): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(typeof part === 'string' ? Buffer.from(part, 'utf8') : part, Buffer.from('\n'));
  }
  return Buffer.concat(chunks);
}

function rsaSign(message: Buffer, privateKey: KeyInput): string {
  return sign('sha256', message, { key: toPrivateKey(privateKey), padding: constants.RSA_PKCS1_PADDING }).toString('base64');
}

function rsaVerify(message: Buffer, signatureBase64: string, publicKey: KeyInput): boolean {
  let key: KeyObject;
  try {
    key = toPublicKey(publicKey);
  } catch {
    return false;
  }
  // The scheme is RSA: an EC key must not turn this into an ECDSA check.
  if (key.asymmetricKeyType !== 'rsa') return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureBase64) || signatureBase64.length % 4 !== 0) return false;
  try {
    return verify('sha256', message, { key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

/** True when `timestampSeconds` is within ±window of `nowMs` (both ends inclusive, like the clients check). */
export function isV3TimestampFresh(timestampSeconds: number, nowMs: number, windowSeconds = v3TimestampWindowSeconds): boolean {
  return Number.isSafeInteger(timestampSeconds) && Math.abs(v3Timestamp(nowMs) - timestampSeconds) <= windowSeconds;
}

// ---------------------------------------------------------------------------------------------
// Request authentication: Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",...

export interface V3Authorization {
  mchid: string;
  serialNo: string;
  nonceStr: string;
  /** Unix seconds. */
  timestamp: number;
  /** The timestamp exactly as sent (it is what was signed). */
  timestampText: string;
  /** Standard base64. */
  signature: string;
}

export type V3AuthorizationProblem = 'missing' | 'scheme' | 'syntax' | 'duplicate' | 'missing_field' | 'invalid_field';

export type ParseV3AuthorizationResult =
  { ok: true; authorization: V3Authorization } | { ok: false; problem: V3AuthorizationProblem; message: string };

const maxAuthorizationLength = 4096;
const maxAuthorizationParams = 16;

const fieldRules: Record<string, { key: keyof Omit<V3Authorization, 'timestamp'>; pattern: RegExp }> = {
  mchid: { key: 'mchid', pattern: /^[0-9A-Za-z_-]{1,32}$/ },
  serial_no: { key: 'serialNo', pattern: /^[0-9A-Za-z_-]{1,64}$/ },
  // Clients differ (32 base62, ≤15 base36, hex): no length is enforced beyond a sane bound.
  nonce_str: { key: 'nonceStr', pattern: /^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]{1,64}$/ },
  timestamp: { key: 'timestampText', pattern: /^[0-9]{1,12}$/ },
  signature: { key: 'signature', pattern: /^(?:[A-Za-z0-9+/]{4}){1,256}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ },
};

const isWhitespace = (char: string | undefined) => char === ' ' || char === '\t';

/**
 * Parses the v3 Authorization header. Tolerant where clients differ (parameter order, spaces around
 * `=` and `,`, scheme and parameter-name case, unquoted token values, unknown extra parameters);
 * strict about everything else (each of the five fields exactly once, well-formed values, no stray
 * characters, no escapes).
 */
export function parseV3Authorization(header: string | undefined | null): ParseV3AuthorizationResult {
  const fail = (problem: V3AuthorizationProblem, message: string): ParseV3AuthorizationResult => ({ ok: false, problem, message });
  if (header === undefined || header === null || header.trim() === '') return fail('missing', 'The Authorization header is missing');
  if (header.length > maxAuthorizationLength) return fail('syntax', 'The Authorization header is too long');
  const text = header.trim();
  const schemeEnd = text.search(/[ \t]/);
  const scheme = schemeEnd < 0 ? text : text.slice(0, schemeEnd);
  if (scheme.toUpperCase() !== v3AuthorizationScheme) {
    return fail('scheme', `The Authorization scheme must be ${v3AuthorizationScheme}`);
  }
  if (schemeEnd < 0) return fail('missing_field', 'The Authorization header has no parameters');

  const params = new Map<string, string>();
  let position = schemeEnd;
  const skipWhitespace = () => {
    while (isWhitespace(text[position])) position += 1;
  };
  skipWhitespace();
  while (position < text.length) {
    const nameMatch = /^[A-Za-z][A-Za-z0-9_]*/.exec(text.slice(position));
    if (!nameMatch) return fail('syntax', `Unexpected character at position ${position} of the Authorization header`);
    const name = nameMatch[0].toLowerCase();
    position += nameMatch[0].length;
    skipWhitespace();
    if (text[position] !== '=') return fail('syntax', `Parameter ${name} has no value`);
    position += 1;
    skipWhitespace();
    let value: string;
    if (text[position] === '"') {
      const close = text.indexOf('"', position + 1);
      if (close < 0) return fail('syntax', `Parameter ${name} has an unterminated quoted value`);
      value = text.slice(position + 1, close);
      if (value.includes('\\')) return fail('syntax', `Parameter ${name} contains an escape`);
      position = close + 1;
    } else {
      const tokenMatch = /^[^\s",\\]+/.exec(text.slice(position));
      if (!tokenMatch) return fail('syntax', `Parameter ${name} has an empty value`);
      value = tokenMatch[0];
      position += value.length;
    }
    if (params.has(name)) return fail('duplicate', `Parameter ${name} appears more than once`);
    params.set(name, value);
    if (params.size > maxAuthorizationParams) return fail('syntax', 'The Authorization header has too many parameters');
    skipWhitespace();
    if (position >= text.length) break;
    if (text[position] !== ',') return fail('syntax', `Expected "," after parameter ${name}`);
    position += 1;
    skipWhitespace();
    if (position >= text.length) return fail('syntax', 'The Authorization header ends with ","');
  }

  const parsed: Partial<Record<keyof V3Authorization, string>> = {};
  for (const [field, rule] of Object.entries(fieldRules)) {
    const value = params.get(field);
    if (value === undefined) return fail('missing_field', `The Authorization header lacks ${field}`);
    if (!rule.pattern.test(value)) return fail('invalid_field', `The Authorization header's ${field} is malformed`);
    parsed[rule.key] = value;
  }
  return {
    ok: true,
    authorization: {
      mchid: parsed.mchid!,
      serialNo: parsed.serialNo!,
      nonceStr: parsed.nonceStr!,
      timestamp: Number(parsed.timestampText),
      timestampText: parsed.timestampText!,
      signature: parsed.signature!,
    },
  };
}

/** `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`; URL is the path plus `?query` exactly as sent, BODY the raw bytes. */
export function v3RequestMessage(
  method: string,
  url: string,
  timestamp: string | number,
  nonce: string,
  body: string | Buffer = '',
): Buffer {
  return joinLines([method, url, String(timestamp), nonce, body]);
}

export interface V3RequestToVerify {
  /** As received; HTTP methods are case-sensitive, so `get` does not verify a `GET` signature. */
  method: string;
  /** The raw request target: path and query exactly as received (no decoding, no normalising). */
  url: string;
  /** The raw body bytes; empty for GET. */
  body: string | Buffer;
}

/** Checks the signature of a parsed Authorization against the request and the merchant's public key. */
export function verifyV3RequestSignature(authorization: V3Authorization, request: V3RequestToVerify, publicKey: KeyInput): boolean {
  const message = v3RequestMessage(request.method, request.url, authorization.timestampText, authorization.nonceStr, request.body);
  return rsaVerify(message, authorization.signature, publicKey);
}

export interface V3RequestSigner {
  mchid: string;
  serialNo: string;
  privateKey: KeyInput;
}

/** Builds an Authorization header the way v3 clients do (for our tests, docs and sample code). */
export function signV3Request(signer: V3RequestSigner, request: V3RequestToVerify, options: { nowMs: number; nonce?: string }): string {
  const timestamp = v3Timestamp(options.nowMs);
  const nonce = options.nonce ?? newV3Nonce();
  const signature = rsaSign(v3RequestMessage(request.method, request.url, timestamp, nonce, request.body), signer.privateKey);
  return (
    `${v3AuthorizationScheme} mchid="${signer.mchid}",nonce_str="${nonce}",signature="${signature}",` +
    `timestamp="${timestamp}",serial_no="${signer.serialNo}"`
  );
}

// ---------------------------------------------------------------------------------------------
// Response and notification signatures: Wechatpay-Timestamp / -Nonce / -Signature / -Serial.

export const v3ResponseHeaderNames = {
  timestamp: 'Wechatpay-Timestamp',
  nonce: 'Wechatpay-Nonce',
  signature: 'Wechatpay-Signature',
  serial: 'Wechatpay-Serial',
  requestId: 'Request-ID',
} as const;

export interface V3SignedHeaders {
  'Wechatpay-Timestamp': string;
  'Wechatpay-Nonce': string;
  'Wechatpay-Signature': string;
  'Wechatpay-Serial': string;
  'Request-ID': string;
}

export interface V3ResponseSigner {
  /** The platform key's serial (certificate serial or `PUB_KEY_ID_...`), sent as Wechatpay-Serial. */
  serial: string;
  privateKey: KeyInput;
}

/** `TIMESTAMP\nNONCE\nBODY\n`; an empty body (204) gives `TIMESTAMP\nNONCE\n\n`. */
export function v3ResponseMessage(timestamp: string | number, nonce: string, body: string | Buffer = ''): Buffer {
  return joinLines([String(timestamp), nonce, body]);
}

/**
 * The headers that sign a response or a notification body: a fresh timestamp and nonce each call.
 * Sign exactly the bytes sent (uncompressed, no BOM): clients verify the decoded body text.
 */
export function signV3Response(
  signer: V3ResponseSigner,
  body: string | Buffer,
  options: { nowMs: number; nonce?: string; requestId?: string },
): V3SignedHeaders {
  const timestamp = String(v3Timestamp(options.nowMs));
  const nonce = options.nonce ?? newV3Nonce();
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature': rsaSign(v3ResponseMessage(timestamp, nonce, body), signer.privateKey),
    'Wechatpay-Serial': signer.serial,
    'Request-ID': options.requestId ?? randomUUID(),
  };
}

export type V3ResponseVerification =
  | { ok: true; serial: string; timestamp: number; nonce: string }
  | { ok: false; problem: 'headers_incomplete' | 'timestamp_offset' | 'unknown_serial' | 'bad_signature'; message: string };

function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    if (typeof value === 'number') return String(value);
  }
  return undefined;
}

/**
 * Verifies a signed response or notification as a v3 client does (wechatpay-axios-plugin 0.9.6
 * order: all four headers, |now − timestamp| ≤ 300 s, a known serial, then the signature).
 */
export function verifyV3Response(input: {
  headers: Record<string, unknown>;
  body: string | Buffer;
  /** Serial → public key or certificate, as a client configures `certs`. */
  publicKeys: Readonly<Record<string, KeyInput>>;
  nowMs: number;
}): V3ResponseVerification {
  const timestamp = headerValue(input.headers, v3ResponseHeaderNames.timestamp);
  const nonce = headerValue(input.headers, v3ResponseHeaderNames.nonce);
  const serial = headerValue(input.headers, v3ResponseHeaderNames.serial);
  const signature = headerValue(input.headers, v3ResponseHeaderNames.signature);
  if (timestamp === undefined || nonce === undefined || serial === undefined || signature === undefined) {
    return { ok: false, problem: 'headers_incomplete', message: 'A Wechatpay-Timestamp/-Nonce/-Serial/-Signature header is missing' };
  }
  if (!/^[0-9]{1,12}$/.test(timestamp) || !isV3TimestampFresh(Number(timestamp), input.nowMs)) {
    return {
      ok: false,
      problem: 'timestamp_offset',
      message: `Wechatpay-Timestamp ${timestamp} is outside ±${v3TimestampWindowSeconds} s`,
    };
  }
  if (!Object.prototype.hasOwnProperty.call(input.publicKeys, serial)) {
    return { ok: false, problem: 'unknown_serial', message: `No key is configured for Wechatpay-Serial ${serial}` };
  }
  if (!rsaVerify(v3ResponseMessage(timestamp, nonce, input.body), signature, input.publicKeys[serial]!)) {
    return { ok: false, problem: 'bad_signature', message: 'Wechatpay-Signature does not verify' };
  }
  return { ok: true, serial, timestamp: Number(timestamp), nonce };
}

// ---------------------------------------------------------------------------------------------
// AEAD_AES_256_GCM resources (notifications, /v3/certificates).

export const v3ResourceAlgorithm = 'AEAD_AES_256_GCM';
const gcmTagLength = 16;
const gcmNonceLength = 12;

export interface V3EncryptedResource {
  algorithm: typeof v3ResourceAlgorithm;
  ciphertext: string;
  associated_data: string;
  original_type: string;
  nonce: string;
}

export class V3CryptoError extends Error {
  override name = 'V3CryptoError';
}

/** The APIv3 key as the 32 raw bytes AES-256 needs (its UTF-8 bytes). */
function apiV3KeyBytes(apiV3Key: string | Buffer): Buffer {
  const bytes = typeof apiV3Key === 'string' ? Buffer.from(apiV3Key, 'utf8') : apiV3Key;
  if (bytes.length !== 32) throw new V3CryptoError('The APIv3 key must be exactly 32 bytes');
  return bytes;
}

function gcmNonceBytes(nonce: string): Buffer {
  const bytes = Buffer.from(nonce, 'utf8');
  if (bytes.length !== gcmNonceLength) throw new V3CryptoError('The AEAD_AES_256_GCM nonce must be 12 bytes');
  return bytes;
}

/** True for an APIv3 key as SPEC §2.2 wants it: 32 characters mixing digits, upper- and lower-case letters. */
export function isWellFormedApiV3Key(key: string): boolean {
  return /^[0-9A-Za-z]{32}$/.test(key) && /[0-9]/.test(key) && /[A-Z]/.test(key) && /[a-z]/.test(key);
}

/** base64(AES-256-GCM(plaintext) ‖ 16-byte tag), key = APIv3 key, IV = the 12-character nonce, AAD = associated data. */
export function aeadAes256GcmEncrypt(plaintext: string | Buffer, apiV3Key: string | Buffer, nonce: string, associatedData = ''): string {
  const cipher = createCipheriv('aes-256-gcm', apiV3KeyBytes(apiV3Key), gcmNonceBytes(nonce), { authTagLength: gcmTagLength });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const encrypted = Buffer.concat([
    cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
    cipher.final(),
  ]);
  return Buffer.concat([encrypted, cipher.getAuthTag()]).toString('base64');
}

/** The inverse of `aeadAes256GcmEncrypt`; throws V3CryptoError when the tag does not authenticate. */
export function aeadAes256GcmDecrypt(ciphertextBase64: string, apiV3Key: string | Buffer, nonce: string, associatedData = ''): string {
  const data = Buffer.from(ciphertextBase64, 'base64');
  if (data.length < gcmTagLength) throw new V3CryptoError('The ciphertext is shorter than its authentication tag');
  // The full 16-byte tag is required: a truncated tag must not authenticate.
  const decipher = createDecipheriv('aes-256-gcm', apiV3KeyBytes(apiV3Key), gcmNonceBytes(nonce), { authTagLength: gcmTagLength });
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - gcmTagLength));
  try {
    return Buffer.concat([decipher.update(data.subarray(0, data.length - gcmTagLength)), decipher.final()]).toString('utf8');
  } catch {
    throw new V3CryptoError('The resource does not authenticate under this APIv3 key');
  }
}

/** Encrypts a notification resource (`associated_data` / `original_type` e.g. `transaction` or `refund`). */
export function encryptV3Resource(input: {
  plaintext: string;
  apiV3Key: string | Buffer;
  associatedData: string;
  originalType: string;
  /** 12 characters; a fresh random one by default. */
  nonce?: string;
}): V3EncryptedResource {
  const nonce = input.nonce ?? randomString(gcmNonceLength);
  return {
    algorithm: v3ResourceAlgorithm,
    ciphertext: aeadAes256GcmEncrypt(input.plaintext, input.apiV3Key, nonce, input.associatedData),
    associated_data: input.associatedData,
    original_type: input.originalType,
    nonce,
  };
}

/** Decrypts a resource as a merchant does; refuses an algorithm other than AEAD_AES_256_GCM. */
export function decryptV3Resource(
  resource: { algorithm?: string; ciphertext: string; associated_data?: string | null; nonce: string },
  apiV3Key: string | Buffer,
): string {
  if (resource.algorithm !== undefined && resource.algorithm !== v3ResourceAlgorithm) {
    throw new V3CryptoError(`Unsupported resource algorithm ${resource.algorithm}`);
  }
  return aeadAes256GcmDecrypt(resource.ciphertext, apiV3Key, resource.nonce, resource.associated_data ?? '');
}

// ---------------------------------------------------------------------------------------------
// wx.requestPayment: paySign over `appId\ntimeStamp\nnonceStr\npackage\n`, signType RSA.

export interface RequestPaymentParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  /** `prepay_id=...` */
  package: string;
  signType: 'RSA';
  paySign: string;
}

export function requestPaymentMessage(appId: string, timeStamp: string, nonceStr: string, packageValue: string): Buffer {
  return joinLines([appId, timeStamp, nonceStr, packageValue]);
}

/** What a mini program's server hands its mini program for `wx.requestPayment`, signed with the merchant key. */
export function buildRequestPaymentParams(input: {
  appId: string;
  prepayId: string;
  merchantPrivateKey: KeyInput;
  nowMs: number;
  nonceStr?: string;
}): RequestPaymentParams {
  const timeStamp = String(v3Timestamp(input.nowMs));
  const nonceStr = input.nonceStr ?? newV3Nonce();
  const packageValue = `prepay_id=${input.prepayId}`;
  return {
    appId: input.appId,
    timeStamp,
    nonceStr,
    package: packageValue,
    signType: 'RSA',
    paySign: rsaSign(requestPaymentMessage(input.appId, timeStamp, nonceStr, packageValue), input.merchantPrivateKey),
  };
}

/** Verifies a paySign against the appId and the merchant's public key (what the superapp's bridge checks). */
export function verifyRequestPaymentParams(
  params: { appId: string; timeStamp: string; nonceStr: string; package: string; signType?: string; paySign: string },
  merchantPublicKey: KeyInput,
): boolean {
  if (params.signType !== undefined && params.signType !== 'RSA') return false;
  if (!/^[0-9]{1,12}$/.test(params.timeStamp) || !params.package.startsWith('prepay_id=') || params.nonceStr === '') return false;
  if ([params.appId, params.timeStamp, params.nonceStr, params.package].some((part) => part.includes('\n'))) return false;
  return rsaVerify(
    requestPaymentMessage(params.appId, params.timeStamp, params.nonceStr, params.package),
    params.paySign,
    merchantPublicKey,
  );
}

/** The prepay_id inside a `prepay_id=...` package, or undefined. */
export function prepayIdOfPackage(packageValue: string): string | undefined {
  const match = /^prepay_id=([0-9A-Za-z_-]{1,64})$/.exec(packageValue);
  return match?.[1];
}
