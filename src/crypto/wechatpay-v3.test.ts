import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { keyFixtures } from '../../test/fixtures/keys/index.ts';
import {
  aeadAes256GcmDecrypt,
  aeadAes256GcmEncrypt,
  buildRequestPaymentParams,
  decryptV3Resource,
  encryptV3Resource,
  isV3TimestampFresh,
  isWellFormedApiV3Key,
  parseV3Authorization,
  prepayIdOfPackage,
  signV3Request,
  signV3Response,
  V3CryptoError,
  v3RequestMessage,
  verifyRequestPaymentParams,
  verifyV3RequestSignature,
  verifyV3Response,
  type V3Authorization,
} from './wechatpay-v3.ts';

// The published client's own building blocks, loaded as it loads them (CommonJS).
const require = createRequire(import.meta.url);
const Rsa = require('wechatpay-axios-plugin/lib/rsa.js');
const Aes = require('wechatpay-axios-plugin/lib/aes.js');
const Formatter = require('wechatpay-axios-plugin/lib/formatter.js');
const Decorator = require('wechatpay-axios-plugin/lib/decorator.js');

const merchant = keyFixtures.merchantA;
const platform = keyFixtures.platform;
const mchid = '1900000001';
const apiV3Key = 'a7Bc9dEf1gHi2jKl3mNo4pQr5sTu6vWx';
const nowMs = Date.UTC(2026, 0, 15, 4, 0, 0);

function parsed(header: string): V3Authorization {
  const result = parseV3Authorization(header);
  if (!result.ok) throw new Error(`expected ${header} to parse: ${result.message}`);
  return result.authorization;
}

/** Signs a request with the plugin's own request interceptor, as `new Wechatpay(...)` does before sending. */
function signWithPlugin(config: { method: string; url: string; data?: unknown; params?: Record<string, string> }) {
  const signer = Decorator.requestInterceptor();
  const signed = signer({
    baseURL: 'http://127.0.0.1:8080/',
    headers: {},
    mchid,
    serial: merchant.serialNo,
    privateKey: Rsa.from(merchant.privateKeyPem, Rsa.KEY_TYPE_PRIVATE),
    ...config,
  });
  return String(signed.headers.get('Authorization'));
}

describe('parseV3Authorization', () => {
  const fields = { mchid, serial_no: merchant.serialNo, nonce_str: 'Nonce0123456789', timestamp: '1768449600', signature: 'c2lnbmF0dXJl' };
  const header = (order: Array<keyof typeof fields>, separator = ',') =>
    `WECHATPAY2-SHA256-RSA2048 ${order.map((key) => `${key}="${fields[key]}"`).join(separator)}`;

  it.each([
    ['wechatpay-axios-plugin', ['mchid', 'serial_no', 'timestamp', 'nonce_str', 'signature']],
    ['wechatpay-node-v3 and wechatpay-go', ['mchid', 'nonce_str', 'timestamp', 'serial_no', 'signature']],
    ['the official Java sample', ['mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no']],
    ['reversed', ['signature', 'timestamp', 'serial_no', 'nonce_str', 'mchid']],
  ] as const)('accepts the parameter order of %s', (_client, order) => {
    expect(parsed(header([...order]))).toEqual({
      mchid,
      serialNo: merchant.serialNo,
      nonceStr: 'Nonce0123456789',
      timestamp: 1768449600,
      timestampText: '1768449600',
      signature: 'c2lnbmF0dXJl',
    });
  });

  it('accepts the header the plugin builds (Formatter.authorization)', () => {
    const built = Formatter.authorization(mchid, 'abc', 'c2lnbmF0dXJl', 1768449600, merchant.serialNo);
    expect(parsed(built).nonceStr).toBe('abc');
  });

  it('tolerates spaces around separators, a lower-case scheme, upper-case names and unquoted tokens', () => {
    expect(parsed(`  ${header(['mchid', 'serial_no', 'timestamp', 'nonce_str', 'signature'], ' , ')}  `).mchid).toBe(mchid);
    expect(
      parsed(
        `wechatpay2-sha256-rsa2048   MCHID = "${mchid}",serial_no="${merchant.serialNo}",` +
          'timestamp=1768449600,nonce_str=abc,signature=c2lnbmF0dXJl',
      ).timestamp,
    ).toBe(1768449600);
  });

  it('ignores unknown, well-formed parameters', () => {
    expect(parsed(`${header(['mchid', 'serial_no', 'timestamp', 'nonce_str', 'signature'])},extra="x"`).mchid).toBe(mchid);
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['Bearer abc', 'scheme'],
    ['WECHATPAY2-SHA256-RSA2048', 'missing_field'],
    ['WECHATPAY2-SHA256-RSA2048X mchid="1"', 'scheme'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="n"', 'missing_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",serial_no="A",timestamp="1",nonce_str="n",signature="c2ln"', 'duplicate'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="n",signature="c2ln",', 'syntax'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",,serial_no="A",timestamp="1",nonce_str="n",signature="c2ln"', 'syntax'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1" serial_no="A",timestamp="1",nonce_str="n",signature="c2ln"', 'syntax'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1,serial_no="A",timestamp="1",nonce_str="n",signature="c2ln"', 'syntax'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="n",signature="c2ln', 'syntax'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="n\\"x",signature="c2ln"', 'syntax'],
    ['WECHATPAY2-SHA256-RSA2048 mchid,serial_no="A",timestamp="1",nonce_str="n",signature="c2ln"', 'syntax'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="-1",nonce_str="n",signature="c2ln"', 'invalid_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1.5",nonce_str="n",signature="c2ln"', 'invalid_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="n",signature="c2l*"', 'invalid_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="n",signature="c2l"', 'invalid_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="",serial_no="A",timestamp="1",nonce_str="n",signature="c2ln"', 'invalid_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A B",timestamp="1",nonce_str="n",signature="c2ln"', 'invalid_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="",signature="c2ln"', 'invalid_field'],
    ['WECHATPAY2-SHA256-RSA2048 mchid="1",serial_no="A",timestamp="1",nonce_str="a\tb",signature="c2ln"', 'invalid_field'],
  ])('refuses %j (%s)', (value, problem) => {
    const result = parseV3Authorization(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toBe(problem);
  });

  it('refuses an oversized header', () => {
    const result = parseV3Authorization(`WECHATPAY2-SHA256-RSA2048 mchid="${'1'.repeat(5000)}"`);
    expect(result.ok).toBe(false);
  });
});

describe('request signatures', () => {
  const body = JSON.stringify({ appid: 'wxd678efh567hg6787', mchid, description: '商品', out_trade_no: 'T1', amount: { total: 1 } });

  it('verifies a POST signed by the plugin over path, timestamp, nonce and the exact body', () => {
    const authorization = parsed(signWithPlugin({ method: 'post', url: '/v3/pay/transactions/jsapi', data: JSON.parse(body) }));
    expect(authorization.mchid).toBe(mchid);
    expect(authorization.serialNo).toBe(merchant.serialNo);
    expect(authorization.nonceStr).toHaveLength(32);
    expect(
      verifyV3RequestSignature(authorization, { method: 'POST', url: '/v3/pay/transactions/jsapi', body }, merchant.publicKeyPem),
    ).toBe(true);
    // The certificate works as the key too.
    expect(
      verifyV3RequestSignature(authorization, { method: 'POST', url: '/v3/pay/transactions/jsapi', body }, merchant.certificatePem),
    ).toBe(true);
  });

  it('verifies a GET with a raw query and unencoded | and * in the path, signed by the plugin', () => {
    const url = '/v3/pay/transactions/out-trade-no/T1|a*b-c_d?mchid=1900000001';
    const authorization = parsed(signWithPlugin({ method: 'get', url }));
    expect(verifyV3RequestSignature(authorization, { method: 'GET', url, body: '' }, merchant.publicKeyPem)).toBe(true);
  });

  it('refuses any change to the method, the URL, the body, the timestamp or the key', () => {
    const authorization = parsed(signWithPlugin({ method: 'post', url: '/v3/pay/transactions/jsapi', data: JSON.parse(body) }));
    const request = { method: 'POST', url: '/v3/pay/transactions/jsapi', body };
    expect(verifyV3RequestSignature(authorization, { ...request, method: 'post' }, merchant.publicKeyPem)).toBe(false);
    expect(verifyV3RequestSignature(authorization, { ...request, url: '/v3/pay/transactions/jsapi?x=1' }, merchant.publicKeyPem)).toBe(
      false,
    );
    expect(verifyV3RequestSignature(authorization, { ...request, body: `${body} ` }, merchant.publicKeyPem)).toBe(false);
    expect(
      verifyV3RequestSignature(authorization, { ...request, body: body.replace('"total":1', '"total":100') }, merchant.publicKeyPem),
    ).toBe(false);
    expect(
      verifyV3RequestSignature(
        { ...authorization, timestamp: authorization.timestamp + 1, timestampText: String(authorization.timestamp + 1) },
        request,
        merchant.publicKeyPem,
      ),
    ).toBe(false);
    expect(verifyV3RequestSignature(authorization, request, keyFixtures.merchantB.publicKeyPem)).toBe(false);
    expect(verifyV3RequestSignature(authorization, request, 'not a key')).toBe(false);
  });

  it('verifies over the raw bytes, so a body that is not valid UTF-8 is still checked exactly', () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const header = signV3Request(
      { mchid, serialNo: merchant.serialNo, privateKey: merchant.privateKeyPem },
      { method: 'POST', url: '/x', body: raw },
      { nowMs },
    );
    const authorization = parsed(header);
    expect(verifyV3RequestSignature(authorization, { method: 'POST', url: '/x', body: raw }, merchant.publicKeyPem)).toBe(true);
    expect(verifyV3RequestSignature(authorization, { method: 'POST', url: '/x', body: raw.toString('utf8') }, merchant.publicKeyPem)).toBe(
      false,
    );
  });

  it('builds exactly the documented string to sign', () => {
    expect(v3RequestMessage('GET', '/v3/certificates', 1554208460, '593BEC0C930BF1AFEB40B4A08C8FB242', '').toString()).toBe(
      'GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n',
    );
    expect(v3RequestMessage('POST', '/a?b=1', '1', 'n', '{}').toString()).toBe(Formatter.request('POST', '/a?b=1', '1', 'n', '{}'));
  });

  it('our own signer produces what the plugin would verify', () => {
    const header = signV3Request(
      { mchid, serialNo: merchant.serialNo, privateKey: merchant.privateKeyPem },
      { method: 'POST', url: '/v3/refund/domestic/refunds', body },
      { nowMs, nonce: 'n1' },
    );
    const authorization = parsed(header);
    expect(authorization.timestamp).toBe(nowMs / 1000);
    expect(
      Rsa.verify(
        Formatter.request('POST', '/v3/refund/domestic/refunds', authorization.timestampText, 'n1', body),
        authorization.signature,
        Rsa.from(merchant.publicKeyPem, 'public'),
      ),
    ).toBe(true);
  });

  it('refuses a valid ECDSA signature made with an EC key (the scheme is RSA)', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const header = signV3Request({ mchid, serialNo: 'EC', privateKey: ec.privateKey }, { method: 'GET', url: '/x', body: '' }, { nowMs });
    expect(verifyV3RequestSignature(parsed(header), { method: 'GET', url: '/x', body: '' }, ec.publicKey)).toBe(false);
  });

  it('accepts timestamps within 300 s either way, inclusive, and nothing beyond', () => {
    const now = nowMs / 1000;
    expect(isV3TimestampFresh(now, nowMs)).toBe(true);
    expect(isV3TimestampFresh(now - 300, nowMs)).toBe(true);
    expect(isV3TimestampFresh(now + 300, nowMs)).toBe(true);
    expect(isV3TimestampFresh(now - 301, nowMs)).toBe(false);
    expect(isV3TimestampFresh(now + 301, nowMs)).toBe(false);
    expect(isV3TimestampFresh(now - 300, nowMs + 999)).toBe(true);
    expect(isV3TimestampFresh(Number.NaN, nowMs)).toBe(false);
  });
});

describe('response and notification signatures', () => {
  const signer = { serial: 'PUB_KEY_ID_0114232134912410000000000000000', privateKey: platform.privateKeyPem };
  const certs = { [signer.serial]: Rsa.from(platform.publicKeyPem, Rsa.KEY_TYPE_PUBLIC) };
  /** The plugin's response verifier, called as axios calls it (this = request config). */
  const pluginVerify = (data: string, headers: Record<string, string>, status = 200, url = '/v3/pay/transactions/jsapi') =>
    Decorator.responseVerifier(certs).call({ url, validateStatus: (s: number) => s >= 200 && s < 300 }, data, headers, status);

  it('signs a JSON body so the plugin accepts it', () => {
    const body = JSON.stringify({ prepay_id: 'wx201410272009395522657a690389285100' });
    const headers = signV3Response(signer, body, { nowMs: Date.now() });
    expect(Object.keys(headers).sort()).toEqual([
      'Request-ID',
      'Wechatpay-Nonce',
      'Wechatpay-Serial',
      'Wechatpay-Signature',
      'Wechatpay-Timestamp',
    ]);
    expect(pluginVerify(body, { ...headers })).toBe(body);
  });

  it('signs an empty 204 body so the plugin accepts it', () => {
    const headers = signV3Response(signer, '', { nowMs: Date.now() });
    expect(pluginVerify('', { ...headers }, 204)).toBe('');
  });

  it('signs non-ASCII bodies over their UTF-8 bytes', () => {
    const body = JSON.stringify({ code: 'ORDER_NOT_EXIST', message: '订单不存在' });
    expect(pluginVerify(body, { ...signV3Response(signer, body, { nowMs: Date.now() }) })).toBe(body);
  });

  it('is refused by the plugin when tampered with, stale, or under an unknown serial', () => {
    const body = '{"a":1}';
    const headers = signV3Response(signer, body, { nowMs: Date.now() });
    expect(pluginVerify('{"a":2}', { ...headers }).code).toBe('EV3_RES_HEADER_SIGNATURE_DIGEST');
    const stale = signV3Response(signer, body, { nowMs: Date.now() - 301_000 });
    expect(pluginVerify(body, { ...stale }).code).toBe('EV3_RES_HEADER_TIMESTAMP_OFFSET');
    expect(pluginVerify(body, { ...headers, 'Wechatpay-Serial': 'OTHER' }).code).toBe('EV3_RES_HEADER_PLATFORM_SERIAL');
    const { 'Wechatpay-Nonce': _nonce, ...incomplete } = headers;
    expect(pluginVerify(body, incomplete).code).toBe('EV3_RES_HEADERS_INCOMPLATE');
  });

  it('uses a fresh nonce and the given time on every call', () => {
    const first = signV3Response(signer, '{}', { nowMs });
    const second = signV3Response(signer, '{}', { nowMs: nowMs + 15_000 });
    expect(first['Wechatpay-Nonce']).not.toBe(second['Wechatpay-Nonce']);
    expect(first['Wechatpay-Timestamp']).toBe(String(nowMs / 1000));
    expect(second['Wechatpay-Timestamp']).toBe(String(nowMs / 1000 + 15));
  });

  it('verifyV3Response checks what the plugin checks, in the same order', () => {
    const body = '{"id":"EV-1"}';
    const headers = signV3Response(signer, body, { nowMs });
    const publicKeys = { [signer.serial]: platform.certificatePem };
    expect(verifyV3Response({ headers: { ...headers }, body, publicKeys, nowMs })).toMatchObject({ ok: true, serial: signer.serial });
    const lowerCased = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifyV3Response({ headers: lowerCased, body, publicKeys, nowMs }).ok).toBe(true);
    expect(verifyV3Response({ headers: { ...headers }, body: `${body}\n`, publicKeys, nowMs })).toMatchObject({
      ok: false,
      problem: 'bad_signature',
    });
    expect(verifyV3Response({ headers: { ...headers }, body, publicKeys, nowMs: nowMs + 301_000 })).toMatchObject({
      ok: false,
      problem: 'timestamp_offset',
    });
    expect(verifyV3Response({ headers: { ...headers }, body, publicKeys: { other: platform.publicKeyPem }, nowMs })).toMatchObject({
      ok: false,
      problem: 'unknown_serial',
    });
    expect(verifyV3Response({ headers: { ...headers, 'Wechatpay-Timestamp': 'abc' }, body, publicKeys, nowMs })).toMatchObject({
      ok: false,
      problem: 'timestamp_offset',
    });
    expect(verifyV3Response({ headers: {}, body, publicKeys, nowMs })).toMatchObject({ ok: false, problem: 'headers_incomplete' });
  });
});

describe('AEAD_AES_256_GCM resources', () => {
  const plaintext = JSON.stringify({ mchid, out_trade_no: 'T1', trade_state: 'SUCCESS', description: '测试' });

  it('encrypts so the plugin decrypts (associated_data and original_type as given)', () => {
    const resource = encryptV3Resource({ plaintext, apiV3Key, associatedData: 'transaction', originalType: 'transaction' });
    expect(resource).toMatchObject({ algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction', original_type: 'transaction' });
    expect(resource.nonce).toMatch(/^[0-9A-Za-z]{12}$/);
    expect(Aes.AesGcm.decrypt(resource.ciphertext, apiV3Key, resource.nonce, resource.associated_data)).toBe(plaintext);
  });

  it('decrypts what the plugin encrypts', () => {
    const ciphertext = Aes.AesGcm.encrypt(plaintext, apiV3Key, 'abcdefghijkl', 'refund');
    expect(
      decryptV3Resource({ algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'refund', nonce: 'abcdefghijkl' }, apiV3Key),
    ).toBe(plaintext);
    expect(aeadAes256GcmDecrypt(ciphertext, apiV3Key, 'abcdefghijkl', 'refund')).toBe(plaintext);
  });

  it('puts the 16-byte tag after the ciphertext (RFC 5116 layout)', () => {
    const ciphertext = aeadAes256GcmEncrypt('abc', apiV3Key, '000000000000', '');
    expect(Buffer.from(ciphertext, 'base64')).toHaveLength(3 + 16);
  });

  it('refuses a changed ciphertext, associated data, nonce or key, and a truncated tag', () => {
    const resource = encryptV3Resource({
      plaintext,
      apiV3Key,
      associatedData: 'transaction',
      originalType: 'transaction',
      nonce: 'nonce0000001',
    });
    const bytes = Buffer.from(resource.ciphertext, 'base64');
    const flipped = Buffer.from(bytes);
    flipped[0] = flipped[0]! ^ 1;
    expect(() => decryptV3Resource({ ...resource, ciphertext: flipped.toString('base64') }, apiV3Key)).toThrow(V3CryptoError);
    expect(() => decryptV3Resource({ ...resource, associated_data: 'refund' }, apiV3Key)).toThrow(V3CryptoError);
    expect(() => decryptV3Resource({ ...resource, nonce: 'nonce0000002' }, apiV3Key)).toThrow(V3CryptoError);
    expect(() => decryptV3Resource(resource, 'B7Bc9dEf1gHi2jKl3mNo4pQr5sTu6vWx')).toThrow(V3CryptoError);
    expect(() => decryptV3Resource({ ...resource, ciphertext: bytes.subarray(0, bytes.length - 4).toString('base64') }, apiV3Key)).toThrow(
      V3CryptoError,
    );
    expect(() => decryptV3Resource({ ...resource, algorithm: 'AES_128_CBC' }, apiV3Key)).toThrow(/Unsupported/);
  });

  it('requires a 32-byte key and a 12-byte nonce', () => {
    expect(() => aeadAes256GcmEncrypt('x', 'short', 'abcdefghijkl')).toThrow(V3CryptoError);
    expect(() => aeadAes256GcmEncrypt('x', apiV3Key, 'short')).toThrow(V3CryptoError);
  });

  it('knows a well-formed APIv3 key', () => {
    expect(isWellFormedApiV3Key(apiV3Key)).toBe(true);
    expect(isWellFormedApiV3Key('a'.repeat(32))).toBe(false);
    expect(isWellFormedApiV3Key('abcdefghijklmnopqrstuvwxyz012345')).toBe(false);
    expect(isWellFormedApiV3Key(`${apiV3Key}x`)).toBe(false);
    expect(isWellFormedApiV3Key('a7Bc9dEf1gHi2jKl3mNo4pQr5sTu6vW!')).toBe(false);
  });
});

describe('wx.requestPayment paySign', () => {
  const appId = 'wx2421b1c4370ec43b';
  const prepayId = 'wx201410272009395522657a690389285100';

  it('signs appId, timeStamp, nonceStr and package so the plugin verifies it', () => {
    const params = buildRequestPaymentParams({
      appId,
      prepayId,
      merchantPrivateKey: merchant.privateKeyPem,
      nowMs,
      nonceStr: '593BEC0C930BF1AFEB40B4A08C8FB242',
    });
    expect(params).toMatchObject({
      appId,
      timeStamp: '1768449600',
      nonceStr: '593BEC0C930BF1AFEB40B4A08C8FB242',
      package: `prepay_id=${prepayId}`,
      signType: 'RSA',
    });
    const message = Formatter.joinedByLineFeed(appId, params.timeStamp, params.nonceStr, params.package);
    expect(message).toBe(`${appId}\n1768449600\n593BEC0C930BF1AFEB40B4A08C8FB242\nprepay_id=${prepayId}\n`);
    expect(Rsa.verify(message, params.paySign, Rsa.from(merchant.publicKeyPem, 'public'))).toBe(true);
    expect(verifyRequestPaymentParams(params, merchant.publicKeyPem)).toBe(true);
  });

  it('verifies a paySign made by the plugin the way its README shows', () => {
    const timeStamp = String(Formatter.timestamp());
    const nonceStr = Formatter.nonce();
    const packageValue = `prepay_id=${prepayId}`;
    const paySign = Rsa.sign(
      Formatter.joinedByLineFeed(appId, timeStamp, nonceStr, packageValue),
      Rsa.from(merchant.privateKeyPem, 'private'),
    );
    expect(
      verifyRequestPaymentParams({ appId, timeStamp, nonceStr, package: packageValue, signType: 'RSA', paySign }, merchant.publicKeyPem),
    ).toBe(true);
  });

  it('refuses another appId, package, signType or key', () => {
    const params = buildRequestPaymentParams({ appId, prepayId, merchantPrivateKey: merchant.privateKeyPem, nowMs });
    expect(verifyRequestPaymentParams({ ...params, appId: 'wx0000000000000000' }, merchant.publicKeyPem)).toBe(false);
    expect(verifyRequestPaymentParams({ ...params, package: 'prepay_id=other' }, merchant.publicKeyPem)).toBe(false);
    expect(verifyRequestPaymentParams({ ...params, signType: 'MD5' }, merchant.publicKeyPem)).toBe(false);
    expect(verifyRequestPaymentParams(params, keyFixtures.merchantB.publicKeyPem)).toBe(false);
    expect(prepayIdOfPackage(params.package)).toBe(prepayId);
    expect(prepayIdOfPackage(prepayId)).toBeUndefined();
  });
});
