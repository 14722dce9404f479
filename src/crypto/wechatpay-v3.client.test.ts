import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFixtures } from '../../test/fixtures/keys/index.ts';
import { isV3TimestampFresh, parseV3Authorization, signV3Response, verifyV3RequestSignature } from './wechatpay-v3.ts';

// The published client, unchanged, against a stub that authenticates with our parser and signs with our signer.
const require = createRequire(import.meta.url);
const { Wechatpay } = require('wechatpay-axios-plugin');

const merchant = keyFixtures.merchantA;
const platformSerial = 'PUB_KEY_ID_0114232134912410000000000000000';
const mchid = '1900000001';

interface Seen {
  method: string;
  url: string;
  body: string;
  verified: boolean;
  fresh: boolean;
}

describe('wechatpay-axios-plugin 0.9.6 against our v3 primitives over HTTP', () => {
  let server: Server;
  let baseURL: string;
  const seen: Seen[] = [];

  const readBody = (request: IncomingMessage) =>
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => resolve(Buffer.concat(chunks)));
    });

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const body = await readBody(request);
      const parsed = parseV3Authorization(request.headers.authorization);
      const verified =
        parsed.ok &&
        parsed.authorization.serialNo === merchant.serialNo &&
        verifyV3RequestSignature(parsed.authorization, { method: request.method!, url: request.url!, body }, merchant.publicKeyPem);
      seen.push({
        method: request.method!,
        url: request.url!,
        body: body.toString(),
        verified,
        fresh: parsed.ok && isV3TimestampFresh(parsed.authorization.timestamp, Date.now()),
      });
      const signer = { serial: platformSerial, privateKey: keyFixtures.platform.privateKeyPem };
      if (!verified) {
        const error = JSON.stringify({ code: 'SIGN_ERROR', message: 'signature does not verify' });
        response.writeHead(401, { 'Content-Type': 'application/json' }).end(error);
        return;
      }
      if (request.url!.endsWith('/close')) {
        response.writeHead(204, { ...signV3Response(signer, '', { nowMs: Date.now() }) }).end();
        return;
      }
      const answer = request.url!.startsWith('/v3/pay/transactions/jsapi')
        ? JSON.stringify({ prepay_id: 'wx201410272009395522657a690389285100' })
        : JSON.stringify({ mchid, out_trade_no: 'T1|a*b-c_d', trade_state: 'WAIT_PAY', trade_state_desc: '待支付' });
      response.writeHead(200, { 'Content-Type': 'application/json', ...signV3Response(signer, answer, { nowMs: Date.now() }) }).end(answer);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () =>
    new Wechatpay({
      baseURL,
      mchid,
      serial: merchant.serialNo,
      privateKey: merchant.privateKeyPem,
      certs: { [platformSerial]: keyFixtures.platform.publicKeyPem },
    });

  it('POST: our parser verifies the client, the client verifies our signed 200', async () => {
    const body = {
      appid: 'wxd678efh567hg6787',
      mchid,
      description: 'Image形象店-深圳腾大-QQ公仔',
      out_trade_no: '1217752501201407033233368018',
      notify_url: 'https://example.com/notify',
      amount: { total: 100, currency: 'CNY' },
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    };
    const response = await client().v3.pay.transactions.jsapi.post(body);
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ prepay_id: 'wx201410272009395522657a690389285100' });
    const request = seen.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', url: '/v3/pay/transactions/jsapi', verified: true, fresh: true });
    expect(JSON.parse(request.body)).toEqual(body);
  });

  it('GET with a query and special characters in the path', async () => {
    const response = await client().v3.pay.transactions.outTradeNo.$out_trade_no$.get({ out_trade_no: 'T1|a*b-c_d', params: { mchid } });
    expect(response.data.trade_state).toBe('WAIT_PAY');
    expect(seen.at(-1)).toMatchObject({
      method: 'GET',
      url: '/v3/pay/transactions/out-trade-no/T1|a*b-c_d?mchid=1900000001',
      verified: true,
      body: '',
    });
  });

  it('204 with a signed empty body is accepted', async () => {
    const response = await client().v3.pay.transactions.outTradeNo.$out_trade_no$.close.post({ mchid }, { out_trade_no: 'T1' });
    expect(response.status).toBe(204);
    expect(seen.at(-1)).toMatchObject({ url: '/v3/pay/transactions/out-trade-no/T1/close', verified: true });
  });

  it('a client with another key is refused (401, which the client passes through unverified)', async () => {
    const wrong = new Wechatpay({
      baseURL,
      mchid,
      serial: merchant.serialNo,
      privateKey: keyFixtures.merchantB.privateKeyPem,
      certs: { [platformSerial]: keyFixtures.platform.publicKeyPem },
    });
    await expect(wrong.v3.pay.transactions.jsapi.post({ mchid })).rejects.toMatchObject({
      response: { status: 401, data: { code: 'SIGN_ERROR' } },
    });
    expect(seen.at(-1)!.verified).toBe(false);
  });

  it('the client refuses our response when it trusts another platform key', async () => {
    const distrustful = new Wechatpay({
      baseURL,
      mchid,
      serial: merchant.serialNo,
      privateKey: merchant.privateKeyPem,
      certs: { [platformSerial]: keyFixtures.platformNext.publicKeyPem },
    });
    await expect(distrustful.v3.pay.transactions.jsapi.post({ mchid })).rejects.toMatchObject({ code: 'EV3_RES_HEADER_SIGNATURE_DIGEST' });
  });
});
