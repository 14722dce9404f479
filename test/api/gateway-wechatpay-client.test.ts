import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildRequestPaymentParams, verifyRequestPaymentParams } from '../../src/crypto/wechatpay-v3.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { NotifyServer, readyMerchant, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

// The published client, unmodified: it signs requests and verifies every answer with the platform key.
const require = createRequire(import.meta.url);
const { Wechatpay, Rsa, Aes, Formatter } = require('wechatpay-axios-plugin');

async function eventually<T>(probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describeOnEachDatabase('the v3 gateway driven by wechatpay-axios-plugin 0.9.6 over HTTP', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let merchant: MerchantCredentials;
  let baseUrl: string;
  let wxpay: any;
  let notify: NotifyServer;
  const suffix = Date.now().toString(36).toUpperCase();
  const paidNo = `AXP-PAID-${suffix}`;
  const unpaidNo = `AXP-OPEN-${suffix}`;
  let prepayId: string;
  let transactionId: string;

  const sandbox = async (path: string) => {
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    context = await createTestContext(kind);
    // The client checks answers against the real time; the server's clock starts there.
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(context.app.server.address() as AddressInfo).port}`;
    // download_url is absolute on PUBLIC_URL: point it at this listening server.
    context.config.publicUrl = baseUrl;
    manifest = await context.services.demoWorld.ensure();
    merchant = readyMerchant(manifest);
    notify = await new NotifyServer().start();
    wxpay = new Wechatpay({
      baseURL: `${baseUrl}/`,
      mchid: merchant.mchid,
      serial: merchant.serialNo,
      privateKey: merchant.privateKeyPem,
      certs: { [merchant.platformSerial]: merchant.platformPublicKeyPem },
    });
  });
  afterAll(async () => {
    await notify?.stop();
    await context?.close();
  });

  it('prepays, and hands the mini program wx.requestPayment parameters the client library agrees with', async () => {
    const { status, data } = await wxpay.v3.pay.transactions.jsapi.post({
      appid: merchant.mnpId,
      mchid: merchant.mchid,
      description: 'Demo coffee beans 250 g',
      out_trade_no: paidNo,
      attach: 'cart=7',
      notify_url: notify.url,
      amount: { total: 1000, currency: 'CNY' },
      payer: { openid: 'openid-axp' },
      scene_info: { payer_client_ip: '127.0.0.1' },
    });
    expect(status).toBe(200);
    prepayId = data.prepay_id;
    expect(prepayId).toMatch(/^wx/);

    const params = buildRequestPaymentParams({
      appId: merchant.mnpId,
      prepayId,
      merchantPrivateKey: merchant.privateKeyPem,
      nowMs: Date.now(),
    });
    expect(params.package).toBe(`prepay_id=${prepayId}`);
    const publicKeyPem = (await context.services.credentials.findMerchantKeyBySerial(context.database.db, merchant.serialNo))!.publicKeyPem;
    const message = Formatter.joinedByLineFeed(params.appId, params.timeStamp, params.nonceStr, params.package);
    expect(Rsa.verify(message, params.paySign, publicKeyPem)).toBe(true);
    expect(Rsa.sign(message, merchant.privateKeyPem)).toBe(params.paySign);
    expect(verifyRequestPaymentParams(params, publicKeyPem)).toBe(true);
  });

  it('queries the unpaid order by out_trade_no (WAIT_PAY)', async () => {
    const { data } = await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({
      params: { mchid: merchant.mchid },
      out_trade_no: paidNo,
    });
    expect(data).toMatchObject({
      out_trade_no: paidNo,
      trade_state: 'WAIT_PAY',
      mchid: merchant.mchid,
      mch_id: merchant.mchid,
      attach: 'cart=7',
    });
  });

  it('is paid through the sandbox control API and queried both ways', async () => {
    const paid = await sandbox(`/sandbox/v1/payments/${prepayId}/succeed`);
    expect(paid.status).toBe(200);
    const byNumber = (
      await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: merchant.mchid }, out_trade_no: paidNo })
    ).data;
    expect(byNumber.trade_state).toBe('SUCCESS');
    transactionId = byNumber.transaction_id;
    expect(transactionId).toMatch(/^\d{28,32}$/);
    const byId = (
      await wxpay.v3.pay.transactions.id.$transaction_id$.get({ params: { mchid: merchant.mchid }, transaction_id: transactionId })
    ).data;
    expect(byId).toEqual(byNumber);
  });

  it('refunds partially twice, and both refunds are queryable and complete', async () => {
    for (const [index, amount] of [
      [1, 300],
      [2, 200],
    ] as const) {
      const { data } = await wxpay.v3.refund.domestic.refunds.post({
        transaction_id: transactionId,
        out_refund_no: `${paidNo}-R${index}`,
        reason: 'partial refund',
        notify_url: notify.url,
        amount: { refund: amount, total: 1000, currency: 'CNY' },
      });
      expect(data).toMatchObject({ out_refund_no: `${paidNo}-R${index}`, status: 'PROCESSING', amount: { refund: amount, total: 1000 } });
      expect((await sandbox(`/sandbox/v1/refunds/${paidNo}-R${index}/succeed`)).status).toBe(200);
    }
    for (const index of [1, 2]) {
      const { data } = await wxpay.v3.refund.domestic.refunds.$out_refund_no$.get({ out_refund_no: `${paidNo}-R${index}` });
      expect(data).toMatchObject({ status: 'SUCCESS', transaction_id: transactionId, out_trade_no: paidNo });
    }
    const order = (
      await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: merchant.mchid }, out_trade_no: paidNo })
    ).data;
    expect(order.trade_state).toBe('REFUND');
  });

  it('closes an unpaid order (a signed 204 the client accepts) and answers errors the client can read', async () => {
    await wxpay.v3.pay.transactions.jsapi.post({
      appid: merchant.mnpId,
      mchid: merchant.mchid,
      description: 'Never paid',
      out_trade_no: unpaidNo,
      notify_url: notify.url,
      amount: { total: 50 },
      payer: { openid: 'openid-axp' },
    });
    const closed = await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.close.post(
      { mchid: merchant.mchid },
      { out_trade_no: unpaidNo },
    );
    expect(closed.status).toBe(204);
    const { data } = await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({
      params: { mchid: merchant.mchid },
      out_trade_no: unpaidNo,
    });
    expect(data.trade_state).toBe('CLOSED');
    const refused = await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.close
      .post({ mchid: merchant.mchid }, { out_trade_no: paidNo })
      .catch((error: any) => error);
    expect(refused.response.status).toBe(400);
    expect(refused.response.data).toMatchObject({ code: 'ORDERPAID' });
  });

  it('delivers the notifications to the notify_url: signed with the platform key, encrypted with the APIv3 key', async () => {
    const decrypted = () =>
      notify.received.map((request) => {
        const headers = request.headers;
        const verified = Rsa.verify(
          Formatter.response(headers['wechatpay-timestamp'], headers['wechatpay-nonce'], request.body),
          headers['wechatpay-signature'],
          merchant.platformPublicKeyPem,
        );
        expect(verified).toBe(true);
        expect(headers['wechatpay-serial']).toBe(merchant.platformSerial);
        const body = JSON.parse(request.body);
        const { ciphertext, nonce, associated_data: aad } = body.resource;
        return { event: body.event_type, resource: JSON.parse(Aes.AesGcm.decrypt(ciphertext, merchant.apiV3Key, nonce, aad)) };
      });
    const all = await eventually(() => {
      const seen = decrypted();
      return seen.filter((n) => n.event === 'REFUND.SUCCESS').length >= 2 && seen.some((n) => n.event === 'TRANSACTION.SUCCESS')
        ? seen
        : undefined;
    });
    const payment = all.find((n) => n.event === 'TRANSACTION.SUCCESS')!;
    expect(payment.resource).toMatchObject({
      out_trade_no: paidNo,
      transaction_id: transactionId,
      trade_state: 'SUCCESS',
      amount: { total: 1000 },
    });
    const refunds = all
      .filter((n) => n.event === 'REFUND.SUCCESS')
      .map((n) => n.resource.out_refund_no)
      .sort();
    expect(refunds).toEqual([`${paidNo}-R1`, `${paidNo}-R2`]);
  });

  it("downloads today's trade bill; its SHA1 is the announced hash_value", async () => {
    // Today's bill holds what settled up to 2 seconds before it is asked for.
    context.clock.advance(3000);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: context.config.timezone }).format(new Date(context.clock.nowMs()));
    const { data } = await wxpay.v3.bill.tradebill.get({ params: { bill_date: today, bill_type: 'ALL', tar_type: 'GZIP' } });
    expect(data.hash_type).toBe('SHA1');
    const url = new URL(data.download_url);
    expect(url.origin).toBe(baseUrl);
    const file = await wxpay.v3.billdownload.file.get({ params: { token: url.searchParams.get('token') }, responseType: 'arraybuffer' });
    const plain = gunzipSync(Buffer.from(file.data));
    expect(createHash('sha1').update(plain).digest('hex')).toBe(data.hash_value);
    const bill = Formatter.castCsvBill(plain);
    const rows = bill.rows as Record<string, string>[];
    expect(
      rows
        .filter((row) => row['Merchant order no'] === paidNo)
        .map((row) => row['Trade state'])
        .sort(),
    ).toEqual(['REFUND', 'REFUND', 'SUCCESS']);
    expect(rows.find((row) => row['Trade state'] === 'SUCCESS')).toMatchObject({
      'Transaction ID': transactionId,
      'Settlement amount': '10.00',
    });
    expect(bill.summary).toMatchObject({
      'Total trades': '3',
      'Total settlement amount': '10.00',
      'Total refund amount': '5.00',
      Currency: 'CNY',
    });
  });

  it('fetches the platform certificates and decrypts them with its APIv3 key', async () => {
    const { data } = await wxpay.v3.certificates.get();
    const [entry] = data.data;
    const { ciphertext, nonce, associated_data: aad } = entry.encrypt_certificate;
    const pem = Aes.AesGcm.decrypt(ciphertext, merchant.apiV3Key, nonce, aad);
    expect(pem).toContain('-----BEGIN CERTIFICATE-----');
    // The certificate's key is the one that signs the gateway's answers.
    expect(Rsa.verify('probe', Rsa.sign('probe', (await context.services.platformKeys.signingKey()).privateKey), pem)).toBe(true);
  });
});
