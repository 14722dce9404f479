import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface RsaKeyPair {
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`), what v3 clients read as apiclient_key.pem. */
  privateKeyPem: string;
  /** SPKI PEM (`BEGIN PUBLIC KEY`). */
  publicKeyPem: string;
}

export async function generateRsaKeyPair(): Promise<RsaKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A certificate serial number as v3 clients expect it: 40 upper-case hex digits, positive in DER. */
export function newCertificateSerial(): string {
  const bytes = randomBytes(20);
  // Clear the top bit (a DER INTEGER with it set would be negative) and keep the first digit non-zero.
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex').toUpperCase();
}

export interface CertificateName {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
}

function forgeName(name: CertificateName): forge.pki.CertificateField[] {
  return [
    { shortName: 'CN', value: name.commonName },
    ...(name.organizationalUnit ? [{ shortName: 'OU', value: name.organizationalUnit }] : []),
    ...(name.organization ? [{ shortName: 'O', value: name.organization }] : []),
  ];
}

export interface CertificateRequest {
  serialNo: string;
  subject: CertificateName;
  publicKeyPem: string;
  issuer: CertificateName;
  /** The issuer's private key; the subject's own key for a self-signed certificate. */
  issuerPrivateKeyPem: string;
  notBefore: number;
  notAfter: number;
  /** The platform's own certificate issues the merchants' certificates. */
  certificateAuthority?: boolean;
}

/** An X.509 v3 certificate (SHA256withRSA) as PEM. */
export function issueCertificate(request: CertificateRequest): string {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(request.publicKeyPem);
  certificate.serialNumber = request.serialNo.toLowerCase();
  certificate.validity.notBefore = new Date(request.notBefore);
  certificate.validity.notAfter = new Date(request.notAfter);
  certificate.setSubject(forgeName(request.subject));
  certificate.setIssuer(forgeName(request.issuer));
  certificate.setExtensions([
    { name: 'basicConstraints', cA: request.certificateAuthority ?? false },
    request.certificateAuthority
      ? { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, keyCertSign: true }
      : { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, keyEncipherment: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  // forge reads PKCS#1 most reliably; Node converts whatever PEM we hold.
  const issuerKeyPem = createPrivateKey(request.issuerPrivateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  certificate.sign(forge.pki.privateKeyFromPem(issuerKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(certificate);
}

export class KeyMaterialError extends Error {}

function requireRsa2048(key: KeyObject): string {
  if (key.asymmetricKeyType !== 'rsa') throw new KeyMaterialError('the key must be an RSA key');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new KeyMaterialError(`the RSA key must have at least 2048 bits (it has ${bits})`);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** A merchant-supplied public key (SPKI or PKCS#1 PEM, or a certificate) as SPKI PEM; RSA ≥ 2048 bits. */
export function normalizePublicKeyPem(pem: string): string {
  // A private key must never be sent to us, even though one could be reduced to its public half.
  if (/PRIVATE KEY/.test(pem)) throw new KeyMaterialError('a public key is expected; never send a private key');
  let key: KeyObject;
  try {
    key = /BEGIN CERTIFICATE/.test(pem) ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  } catch {
    throw new KeyMaterialError('not a PEM public key');
  }
  if (key.type !== 'public') throw new KeyMaterialError('a public key is expected, never a private key');
  return requireRsa2048(key);
}

/** The public key of a PKCS#10 CSR as SPKI PEM, after checking the CSR's own signature (proof of possession). */
export function publicKeyOfCsr(pem: string): string {
  let request: forge.pki.CertificateSigningRequest;
  try {
    request = forge.pki.certificationRequestFromPem(pem);
  } catch {
    throw new KeyMaterialError('not a PEM certificate signing request (RSA keys only)');
  }
  let signatureValid = false;
  try {
    signatureValid = request.verify();
  } catch {
    signatureValid = false;
  }
  if (!signatureValid) throw new KeyMaterialError("the CSR's signature does not verify");
  if (!request.publicKey) throw new KeyMaterialError('the CSR carries no public key');
  return requireRsa2048(createPublicKey(forge.pki.publicKeyToPem(request.publicKey as forge.pki.rsa.PublicKey)));
}

/** The certificate's expiry as ms since the epoch. */
export function certificateNotAfter(pem: string): number {
  return Date.parse(new X509Certificate(pem).validTo);
}
