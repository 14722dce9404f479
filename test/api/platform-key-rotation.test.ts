import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import type { PublishedPlatformKey } from '../../src/services/payment-setup/platform-key.service.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { readyMerchant, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

// The published client, unmodified: it verifies every answer against the platform keys it was given.
const require = createRequire(import.meta.url);
const { Wechatpay, Aes } = require('wechatpay-axios-plugin');

/**
 * SPEC §7 "Platform key rotation" seen by merchants' v3 clients: during the grace period both keys are
 * published (`/v3/certificates`, console download) and the old one signs; at the switch the new one signs
 * and a client that fetched both keeps verifying; after another grace period only the new one is listed.
 * The client checks answer timestamps against its own clock, so Date moves with the server's manual clock.
 */
describeOnEachDatabase('platform key rotation through wechatpay-axios-plugin', (kind) => {
  let context: TestContext;
  let merchant: MerchantCredentials;
  let baseUrl: string;
  let admin: { account: string; password: string };
  let outTradeNo: string;
  const client = (certs: Record<string, string>) =>
    new Wechatpay({ baseURL: `${baseUrl}/`, mchid: merchant.mchid, serial: merchant.serialNo, privateKey: merchant.privateKeyPem, certs });

  const moveTo = (ms: number) => {
    context.clock.set(ms);
    vi.setSystemTime(ms);
  };
  /** Queries the order; resolves with the Wechatpay-Serial that signed the verified answer, or the client's refusal. */
  const query = async (wxpay: any, headers: Record<string, string> = {}) => {
    try {
      const answer = await wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({
        params: { mchid: merchant.mchid },
        out_trade_no: outTradeNo,
        headers,
      });
      expect(answer.data.out_trade_no).toBe(outTradeNo);
      return { verifiedWith: answer.headers['wechatpay-serial'] as string };
    } catch (error: any) {
      return { refused: String(error.message) };
    }
  };
  const certificates = async (wxpay: any) => {
    const { data } = await wxpay.v3.certificates.get();
    return (data.data as any[]).map((entry) => {
      const { ciphertext, nonce, associated_data: aad } = entry.encrypt_certificate;
      return {
        serialNo: entry.serial_no as string,
        certificatePem: Aes.AesGcm.decrypt(ciphertext, merchant.apiV3Key, nonce, aad) as string,
      };
    });
  };
  // A fresh sign-in each time: days pass between the looks, longer than a console session lives.
  const downloaded = async () =>
    (await (await ConsoleClient.signIn(context.app, admin.account, admin.password)).get('/platform-keys')).body
      .items as PublishedPlatformKey[];

  beforeAll(async () => {
    context = await createTestContext(kind);
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(context.app.server.address() as AddressInfo).port}`;
    const manifest = await context.services.demoWorld.ensure();
    merchant = readyMerchant(manifest);
    admin = manifest.miniProgramTeam.users.admin;
    outTradeNo = `ROT-${Date.now().toString(36).toUpperCase()}`;
    await client({ [merchant.platformSerial]: merchant.platformPublicKeyPem }).v3.pay.transactions.jsapi.post({
      appid: merchant.mnpId,
      mchid: merchant.mchid,
      description: 'Rotation probe',
      out_trade_no: outTradeNo,
      notify_url: 'https://merchant.example.com/notify',
      amount: { total: 100 },
      payer: { openid: 'openid-rotation' },
    });
    // Only Date: timers and the database driver keep running on real time.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(context.clock.nowMs());
  });
  afterAll(async () => {
    vi.useRealTimers();
    await context?.close();
  });

  it('publishes both keys during the grace period, switches signer at its end, withdraws the old key one grace period later', async () => {
    const old = await context.services.platformKeys.signingKey();
    const oldOnly = client({ [old.publicKeyId]: old.publicKeyPem });
    expect(await query(oldOnly)).toEqual({ verifiedWith: old.publicKeyId });

    const start = context.clock.nowMs();
    const rotation = await context.services.platformKeys.rotate(systemActor('operator'));
    expect(rotation).toMatchObject({
      signingFrom: start + 7 * day,
      retiring: { serialNo: old.serialNo, publishedUntil: start + 14 * day },
    });

    // Overlap: both listed everywhere, the old one signs; a client built from the console download knows both.
    expect((await certificates(oldOnly)).map((c) => c.serialNo)).toEqual([old.serialNo, rotation.serialNo]);
    const listed = await downloaded();
    expect(listed.map((k) => [k.publicKeyId, k.signing])).toEqual([
      [old.publicKeyId, true],
      [rotation.publicKeyId, false],
    ]);
    const bothKeys = client(Object.fromEntries(listed.map((k) => [k.publicKeyId, k.publicKeyPem])));
    // A certificate-mode client: the certificates from /v3/certificates, keyed by serial, naming the one it holds.
    const fromCertificates = client(Object.fromEntries((await certificates(oldOnly)).map((c) => [c.serialNo, c.certificatePem])));
    const certificateHeaders = { 'Wechatpay-Serial': old.serialNo };
    expect(await query(bothKeys)).toEqual({ verifiedWith: old.publicKeyId });
    expect(await query(fromCertificates, certificateHeaders)).toEqual({ verifiedWith: old.serialNo });

    moveTo(start + 7 * day - 1000);
    expect(await query(oldOnly)).toEqual({ verifiedWith: old.publicKeyId });

    // The switch: the new key signs; clients that know it verify, one that knows only the old key refuses.
    moveTo(start + 7 * day);
    expect(await query(bothKeys)).toEqual({ verifiedWith: rotation.publicKeyId });
    expect(await query(fromCertificates, certificateHeaders)).toEqual({ verifiedWith: rotation.serialNo });
    expect((await query(oldOnly)).refused).toBeDefined();
    expect((await certificates(bothKeys)).map((c) => c.serialNo)).toEqual([old.serialNo, rotation.serialNo]);
    expect((await downloaded()).map((k) => [k.publicKeyId, k.signing])).toEqual([
      [old.publicKeyId, false],
      [rotation.publicKeyId, true],
    ]);

    moveTo(start + 14 * day - 1000);
    expect((await certificates(bothKeys)).map((c) => c.serialNo)).toEqual([old.serialNo, rotation.serialNo]);
    // The old key has signed nothing for a grace period: withdrawn.
    moveTo(start + 14 * day);
    expect((await certificates(bothKeys)).map((c) => c.serialNo)).toEqual([rotation.serialNo]);
    expect((await downloaded()).map((k) => k.publicKeyId)).toEqual([rotation.publicKeyId]);
    expect(await query(bothKeys)).toEqual({ verifiedWith: rotation.publicKeyId });
  });
});
