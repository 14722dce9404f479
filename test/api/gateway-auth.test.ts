import { afterAll, beforeAll, expect, it } from 'vitest';
import { signV3Request } from '../../src/crypto/wechatpay-v3.ts';
import { EnablementStatus } from '../../src/domain/approval-state.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { keyFixtures } from '../fixtures/keys/index.ts';
import { demoActor, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

let sequence = 0;
const number = () => `AUTH${Date.now().toString(36)}${(sequence += 1)}`;

describeOnEachDatabase('gateway authentication and the payment gate', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
  });
  afterAll(() => context?.close());

  const signed = (
    method: string,
    url: string,
    body: string,
    overrides: { serialNo?: string; privateKey?: string; nowMs?: number; nonce?: string } = {},
  ) =>
    signV3Request(
      {
        mchid: client.merchant.mchid,
        serialNo: overrides.serialNo ?? client.merchant.serialNo,
        privateKey: overrides.privateKey ?? client.merchant.privateKeyPem,
      },
      { method, url, body },
      { nowMs: overrides.nowMs ?? context.clock.nowMs(), ...(overrides.nonce ? { nonce: overrides.nonce } : {}) },
    );
  const prepayBody = () => ({
    appid: client.merchant.mnpId,
    mchid: client.merchant.mchid,
    description: 'd',
    out_trade_no: number(),
    notify_url: 'https://m.example/n',
    amount: { total: 1, currency: 'CNY' },
    payer: { openid: 'o' },
  });

  it('accepts a correctly signed request and signs its answer', async () => {
    expect((await client.request('POST', '/v3/pay/transactions/jsapi', prepayBody())).statusCode).toBe(200);
  });

  it('refuses a tampered body', async () => {
    const answer = await client.request('POST', '/v3/pay/transactions/jsapi', prepayBody(), {
      tamper: (raw) => raw.replace('"total":1', '"total":2'),
    });
    expect([answer.statusCode, answer.body.code]).toEqual([401, 'SIGN_ERROR']);
  });

  it('refuses a wrong serial_no, a key that does not match it, and an unknown mchid', async () => {
    const body = JSON.stringify(prepayBody());
    const url = '/v3/pay/transactions/jsapi';
    for (const authorization of [
      signed('POST', url, body, { serialNo: keyFixtures.merchantB.serialNo, privateKey: keyFixtures.merchantB.privateKeyPem }),
      signed('POST', url, body, { privateKey: keyFixtures.merchantA.privateKeyPem }),
      signed('POST', url, body).replace(`mchid="${client.merchant.mchid}"`, 'mchid="1900009999"'),
    ]) {
      const answer = await client.request('POST', url, JSON.parse(body), { authorization });
      expect([answer.statusCode, answer.body.code]).toEqual([401, 'SIGN_ERROR']);
    }
  });

  it('refuses a certificate past its not_after like a revoked one, saying it expired', async () => {
    const { not_after: notAfter } = await context.database.db
      .selectFrom('merchant_api_keys')
      .select('not_after')
      .where('serial_no', '=', client.merchant.serialNo)
      .executeTakeFirstOrThrow();
    const now = context.clock.nowMs();
    try {
      context.clock.set(notAfter - 1000);
      expect((await client.request('POST', '/v3/pay/transactions/jsapi', prepayBody())).statusCode).toBe(200);
      context.clock.set(notAfter);
      const answer = await client.request('POST', '/v3/pay/transactions/jsapi', prepayBody());
      expect([answer.statusCode, answer.body.code]).toEqual([401, 'SIGN_ERROR']);
      expect(answer.body.message).toMatch(/expired at/);
    } finally {
      context.clock.set(now);
    }
  });

  it('refuses timestamps more than 5 minutes away, either way', async () => {
    const url = `/v3/pay/transactions/out-trade-no/NOSUCHORDER?mchid=${client.merchant.mchid}`;
    for (const skew of [-301_000, 301_000]) {
      const answer = await client.request('GET', url, undefined, {
        authorization: signed('GET', url, '', { nowMs: context.clock.nowMs() + skew }),
      });
      expect([answer.statusCode, answer.body.code]).toEqual([401, 'SIGN_ERROR']);
    }
    const inside = await client.request('GET', url, undefined, {
      authorization: signed('GET', url, '', { nowMs: context.clock.nowMs() - 299_000 }),
    });
    expect(inside.body.code).toBe('ORDER_NOT_EXIST');
  });

  it('refuses a replayed nonce, even with a fresh signature', async () => {
    const url = `/v3/pay/transactions/out-trade-no/NOSUCHORDER?mchid=${client.merchant.mchid}`;
    const authorization = signed('GET', url, '');
    expect((await client.request('GET', url, undefined, { authorization })).body.code).toBe('ORDER_NOT_EXIST');
    const replay = await client.request('GET', url, undefined, { authorization });
    expect([replay.statusCode, replay.body.code]).toEqual([401, 'SIGN_ERROR']);
    expect(replay.body.message).toMatch(/replay/);
    const nonce = /nonce_str="([^"]+)"/.exec(authorization)![1]!;
    context.clock.advance(1000);
    const resigned = await client.request('GET', url, undefined, { authorization: signed('GET', url, '', { nonce }) });
    expect(resigned.body.code).toBe('SIGN_ERROR');
  });

  it('refuses a missing or malformed Authorization', async () => {
    for (const authorization of ['', 'Bearer x', 'WECHATPAY2-SHA256-RSA2048 mchid="1"']) {
      const response = await context.app.inject({
        method: 'GET',
        url: '/v3/certificates',
        headers: authorization ? { authorization } : {},
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('SIGN_ERROR');
      expect(response.headers['wechatpay-signature']).toBeTruthy();
    }
  });

  it('refuses a mini program whose payment the superapp disabled (NO_AUTH), and one not approved again', async () => {
    const reviewer = await demoActor(context, manifest.superapp.users.reviewer.account);
    const record = await context.database.db
      .selectFrom('payment_enablements')
      .select('id')
      .where('mnp_id', '=', client.merchant.mnpId)
      .where('status', '=', EnablementStatus.Approved)
      .executeTakeFirstOrThrow();
    await context.services.enablements.disable(reviewer, { applicationId: manifest.superapp.applicationId, id: Number(record.id) });
    const disabled = await client.request('POST', '/v3/pay/transactions/jsapi', prepayBody());
    expect([disabled.statusCode, disabled.body.code]).toEqual([403, 'NO_AUTH']);

    const mpAdmin = await demoActor(context, manifest.miniProgramTeam.users.admin.account);
    await context.services.enablements.request(mpAdmin, { mnpId: client.merchant.mnpId, applyNote: 'please again' });
    const pending = await client.request('POST', '/v3/pay/transactions/jsapi', prepayBody());
    expect([pending.statusCode, pending.body.code]).toEqual([403, 'NO_AUTH']);
  });
});
