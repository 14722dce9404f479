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

const authorizationPattern =
  /^TC3-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s,]+)\/tc3_request\s*,\s*SignedHeaders=([a-z0-9;-]+)\s*,\s*Signature=([0-9a-f]{64})$/i;

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
  const headerBlock = input.canonicalHeaders.map(([name, value]) => `${name}:${value}\n`).join('');
  const signedHeaders = input.canonicalHeaders.map(([name]) => name).join(';');
  const canonicalRequest = [input.method.toUpperCase(), input.path, input.query, headerBlock, signedHeaders, sha256Hex(input.body)].join(
    '\n',
  );
  const scope = `${input.date}/${input.service}/tc3_request`;
  const stringToSign = ['TC3-HMAC-SHA256', String(input.timestampSeconds), scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(`TC3${input.secretKey}`, input.date), input.service), 'tc3_request');
  return createHmac('sha256', signingKey).update(stringToSign).digest('hex');
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
 * Checks the signature over exactly what the client signed. The Node SDK signs the host without its
 * port while sending it with one, so both forms of the host are accepted.
 */
export function verifyTc3Signature(input: Tc3VerifyInput): boolean {
  const headerValue = (name: string) => {
    const value = input.headers[name];
    return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim();
  };
  let candidates: [string, string][][] = [[]];
  for (const name of input.authorization.signedHeaders) {
    const value = headerValue(name);
    const variants = new Set([value, value.toLowerCase()]);
    if (name === 'host') variants.add(value.replace(/:\d+$/, '').toLowerCase());
    candidates = candidates.flatMap((prefix) => [...variants].map((variant) => [...prefix, [name, variant] as [string, string]]));
  }
  return candidates.some((canonicalHeaders) =>
    constantTimeEqual(
      tc3Signature({
        method: input.method,
        path: input.path,
        query: input.query,
        canonicalHeaders,
        body: input.body,
        timestampSeconds: input.timestampSeconds,
        date: input.authorization.date,
        service: input.authorization.service,
        secretKey: input.secretKey,
      }),
      input.authorization.signature,
    ),
  );
}
