import { createHash, createHmac } from 'node:crypto';
import { constantTimeEqual } from './tokens.ts';

/** Tencent Cloud API 3.0 signatures (TC3-HMAC-SHA256), as the published SDKs compute them. */

export interface Tc3Authorization {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

// Built from two raw strings only to keep the line short: the same pattern as one literal.
const authorizationPattern = new RegExp(
  String.raw`^TC3-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s,]+)\/tc3_request` +
    String.raw`\s*,\s*SignedHeaders=([a-z0-9;-]+)\s*,\s*Signature=([0-9a-f]{64})$`,
  'i',
);

export function parseTc3Authorization(header: string | undefined): Tc3Authorization | undefined {
  const match = header ? authorizationPattern.exec(header.trim()) : null;
  if (!match) return undefined;
  const [, secretId, date, service, signedHeaders, signature] = match;
  return {
    secretId: secretId!,
    date: date!,
    service: service!,
    signedHeaders: signedHeaders!.toLowerCase().split(';'),
    signature: signature!.toLowerCase(),
  };
}

const sha256Hex = (message: string | Buffer) => createHash('sha256').update(message).digest('hex');
const hmac = (key: string | Buffer, message: string) => createHmac('sha256', key).update(message).digest();

/** The UTC date (YYYY-MM-DD) of a Unix timestamp in seconds, as the credential scope carries it. */
export function tc3Date(timestampSeconds: number): string {
  return new Date(timestampSeconds * 1000).toISOString().slice(0, 10);
}

export interface Tc3SignInput {
  method: string;
  path: string;
  query: string;
  /** Lower-case header name → value, in SignedHeaders order. */
  canonicalHeaders: [string, string][];
  body: string | Buffer;
  timestampSeconds: number;
  date: string;
  service: string;
  secretKey: string;
}

export function tc3Signature(input: Tc3SignInput): string {
  return tc3SignatureOverHash({ ...input, bodyHash: sha256Hex(input.body) });
}

/** The signature with the body already hashed, so a verifier trying several header forms hashes the body once. */
function tc3SignatureOverHash(input: Omit<Tc3SignInput, 'body'> & { bodyHash: string }): string {
  const headerBlock = input.canonicalHeaders.map(([name, value]) => `${name}:${value}\n`).join('');
  const signedHeaders = input.canonicalHeaders.map(([name]) => name).join(';');
  const canonicalRequest = [input.method.toUpperCase(), input.path, input.query, headerBlock, signedHeaders, input.bodyHash].join('\n');
  const scope = `${input.date}/${input.service}/tc3_request`;
  const stringToSign = ['TC3-HMAC-SHA256', String(input.timestampSeconds), scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(`TC3${input.secretKey}`, input.date), input.service), 'tc3_request');
  return createHmac('sha256', signingKey).update(stringToSign).digest('hex');
}

/** The SDKs sign two headers; a longer list only ever makes the verifier work for an attacker. */
export const maxSignedHeaders = 16;
/** What every TC3 request must sign, as Tencent Cloud requires. */
export const requiredSignedHeaders = ['content-type', 'host'] as const;

/** Why a SignedHeaders list is refused, or undefined when it is sound. */
export function signedHeadersProblem(signedHeaders: readonly string[]): string | undefined {
  if (signedHeaders.length > maxSignedHeaders) return `SignedHeaders names at most ${maxSignedHeaders} headers`;
  if (signedHeaders.some((name) => name === '')) return 'SignedHeaders has an empty header name';
  if (new Set(signedHeaders).size !== signedHeaders.length) return 'SignedHeaders names a header twice';
  const missing = requiredSignedHeaders.filter((name) => !signedHeaders.includes(name));
  return missing.length > 0 ? `SignedHeaders must include ${missing.join(' and ')}` : undefined;
}

export interface Tc3VerifyInput {
  authorization: Tc3Authorization;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: string | Buffer;
  timestampSeconds: number;
  secretKey: string;
}

/**
 * Checks the signature over exactly what the client signed, trying a fixed handful of canonical forms (never
 * more, however many headers are signed): every value as sent (the Node SDK) or lower-cased (the signing
 * spec), with the host as sent or without its port (the Node SDK signs it without). The body is hashed once.
 */
export function verifyTc3Signature(input: Tc3VerifyInput): boolean {
  const signedHeaders = input.authorization.signedHeaders;
  if (signedHeadersProblem(signedHeaders) !== undefined) return false;
  const headerValue = (name: string) => {
    const value = input.headers[name];
    return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim();
  };
  const sent = signedHeaders.map((name): [string, string] => [name, headerValue(name)]);
  const forms = [sent, sent.map(([name, value]): [string, string] => [name, value.toLowerCase()])];
  const withoutPort = (form: [string, string][]) =>
    form.map(([name, value]): [string, string] => [name, name === 'host' ? value.replace(/:\d+$/, '').toLowerCase() : value]);
  const candidates = [...forms, ...forms.map(withoutPort)];
  const bodyHash = sha256Hex(input.body);
  const tried = new Set<string>();
  let matched = false;
  for (const canonicalHeaders of candidates) {
    const key = JSON.stringify(canonicalHeaders);
    if (tried.has(key)) continue;
    tried.add(key);
    const signature = tc3SignatureOverHash({
      method: input.method,
      path: input.path,
      query: input.query,
      canonicalHeaders,
      bodyHash,
      timestampSeconds: input.timestampSeconds,
      date: input.authorization.date,
      service: input.authorization.service,
      secretKey: input.secretKey,
    });
    // Every form is compared, so the time taken does not tell which form was close.
    if (constantTimeEqual(signature, input.authorization.signature)) matched = true;
  }
  return matched;
}
