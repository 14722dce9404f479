import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createAppContext } from '../../src/bootstrap.ts';
import { testHashingCost } from '../../src/crypto/passwords.ts';
import { tc3Date, tc3Signature } from '../../src/crypto/tc3.ts';
import { signV3Request } from '../../src/crypto/wechatpay-v3.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { signatureFailureLimit, signatureFailureMessage } from '../../src/services/auth/signature-failure-limiter.ts';
import { readyMerchant, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Brute force (SPEC §7 "Shared state when scaled out"): failed sign-ins per account and per address,
 * and failed signatures per address on every signed surface, counted in the database. Each surface is
 * attacked from its own address; the limit then refuses even a correct credential from that address,
 * other addresses are unaffected, and the window's end lifts it.
 */
describeOnEachDatabase('brute-force limits', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let merchant: MerchantCredentials;
  let sequence = 0;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    merchant = readyMerchant(manifest);
  });
  afterAll(() => context?.close());

  const limit = signatureFailureLimit.failures;

  function v3Request(address: string, options: { forged?: boolean; app?: TestContext['app'] } = {}) {
    const url = `/v3/pay/transactions/out-trade-no/BF${(sequence += 1)}?mchid=${merchant.mchid}`;
    let authorization = signV3Request(
      { mchid: merchant.mchid, serialNo: merchant.serialNo, privateKey: merchant.privateKeyPem },
      { method: 'GET', url, body: '' },
      { nowMs: context.clock.nowMs() },
    );
    if (options.forged) authorization = authorization.replace(/signature="[^"]{8}/, 'signature="AAAAAAAA');
    return (options.app ?? context.app).inject({
      method: 'GET',
      url,
      remoteAddress: address,
      headers: { authorization, accept: 'application/json' },
    });
  }

  const gatewayTitle =
    `gateway: after ${limit} failed signatures an address gets 429 FREQUENCY_LIMITED, ` +
    'a genuine signature included; other addresses do not';
  it(gatewayTitle, async () => {
    const attacker = '198.51.100.10';
    for (let i = 0; i < limit; i++) {
      const response = await v3Request(attacker, { forged: true });
      expect([response.statusCode, response.json().code]).toEqual([401, 'SIGN_ERROR']);
    }
    const blocked = await v3Request(attacker);
    expect([blocked.statusCode, blocked.json().code]).toEqual([429, 'FREQUENCY_LIMITED']);
    expect(blocked.headers['wechatpay-signature'], 'the refusal is signed like every answer').toBeTruthy();
    const bystander = await v3Request('198.51.100.11');
    expect([bystander.statusCode, bystander.json().code]).toEqual([404, 'ORDER_NOT_EXIST']);
    // Genuine requests do not count: a busy merchant is never limited by its own successes.
    for (let i = 0; i < 20; i++) expect((await v3Request('198.51.100.12')).statusCode).toBe(404);
    context.clock.advance(signatureFailureLimit.windowMs);
    expect((await v3Request(attacker)).statusCode).toBe(404);
  });

  it('the counters are shared: failures seen by one instance block the address on another instance over the same database', async () => {
    const second = await createAppContext(context.config, {
      clock: context.clock,
      hashingCost: testHashingCost,
      postgresSchema: context.postgresSchema,
    });
    const secondApp = await buildApp(second, { backgroundJobs: false });
    try {
      const attacker = '198.51.100.20';
      for (let i = 0; i < limit; i++)
        expect((await v3Request(attacker, { forged: true, app: i % 2 === 0 ? context.app : secondApp })).statusCode).toBe(401);
      expect((await v3Request(attacker, { app: secondApp })).statusCode).toBe(429);
      expect((await v3Request(attacker, { app: context.app })).statusCode).toBe(429);
    } finally {
      await secondApp.close();
      await second.database.close();
    }
  });

  it(`management API: after ${limit} failed signatures an address gets RequestLimitExceeded in the envelope (HTTP 200)`, async () => {
    const user = manifest.miniProgramTeam.users.admin;
    const call = (address: string, secretKey: string) => {
      const body = JSON.stringify({ PlatformId: manifest.platformId, MNPId: manifest.miniPrograms.ready.mnpId });
      const timestampSeconds = Math.floor(context.clock.nowMs() / 1000);
      const date = tc3Date(timestampSeconds);
      const signature = tc3Signature({
        method: 'POST',
        path: '/',
        query: '',
        canonicalHeaders: [
          ['content-type', 'application/json'],
          ['host', 'localhost:80'],
        ],
        body,
        timestampSeconds,
        date,
        service: 'paythrough',
        secretKey,
      });
      const authorization =
        `TC3-HMAC-SHA256 Credential=${user.secretId}/${date}/paythrough/tc3_request, ` +
        `SignedHeaders=content-type;host, Signature=${signature}`;
      return context.app.inject({
        method: 'POST',
        url: '/',
        remoteAddress: address,
        payload: body,
        headers: {
          'content-type': 'application/json',
          host: 'localhost:80',
          authorization,
          'x-tc-action': 'DescribeMNPPaymentApprovalInfo',
          'x-tc-version': '2025-01-06',
          'x-tc-timestamp': String(timestampSeconds),
        },
      });
    };
    const codeOf = (response: { statusCode: number; json(): any }) => [response.statusCode, response.json().Response.Error?.Code ?? 'OK'];
    expect(codeOf(await call('198.51.100.30', user.secretKey))).toEqual([200, 'OK']);
    for (let i = 0; i < limit; i++)
      expect(codeOf(await call('198.51.100.31', `${user.secretKey}x`))).toEqual([200, 'AuthFailure.SignatureFailure']);
    const blocked = await call('198.51.100.31', user.secretKey);
    expect(codeOf(blocked)).toEqual([200, 'RequestLimitExceeded']);
    expect(blocked.json().Response.Error.Message).toBe(signatureFailureMessage);
    expect(codeOf(await call('198.51.100.30', user.secretKey))).toEqual([200, 'OK']);
  });

  it(`host API: after ${limit} failed signatures an address gets FAIL (HTTP 200, XML) even for an unsigned sandbox report`, async () => {
    const xml = (fields: Record<string, string>) =>
      `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><xml>${Object.entries(fields)
        .map(([k, v]) => `<${k}>${v}</${k}>`)
        .join('')}</xml>`;
    const query = (address: string, headers: Record<string, string> = {}) =>
      context.app.inject({
        method: 'POST',
        url: '/superapp/pay/queryPreOrder',
        remoteAddress: address,
        headers: { 'content-type': 'application/xml', ...headers },
        payload: xml({
          appid: manifest.miniPrograms.ready.mnpId,
          nonce_str: 'n'.repeat(32),
          prepay_id: 'wx00000000000000000000000000000000',
        }),
      });
    const forged = {
      'paythrough-timestamp': String(Math.floor(context.clock.nowMs() / 1000)),
      'paythrough-nonce': 'forged-nonce',
      'paythrough-signature': 'AAAA',
    };
    for (let i = 0; i < limit; i++) {
      const response = await query('198.51.100.40', { ...forged, 'paythrough-nonce': `forged-${i}` });
      expect(response.statusCode).toBe(200);
      expect(response.body).toMatch(/<return_code><!\[CDATA\[FAIL\]\]><\/return_code>|<return_code>FAIL<\/return_code>/);
      expect(response.body).not.toContain(signatureFailureMessage);
    }
    const blocked = await query('198.51.100.40');
    expect(blocked.statusCode).toBe(200);
    expect(blocked.headers['content-type']).toMatch(/application\/xml/);
    expect(blocked.body).toContain(signatureFailureMessage);
    expect((await query('198.51.100.41')).body).not.toContain(signatureFailureMessage);
  });

  it('console sign-in: 30 failures from one address lock that address (any account), in the database', async () => {
    const signIn = (account: string, password: string, address: string) =>
      context.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: address, payload: { account, password } });
    const admin = manifest.superAdmin;
    // Spread over many accounts so that no account reaches its own limit of 5.
    for (let i = 0; i < 30; i++) expect((await signIn(`nobody-${i % 10}`, 'guess', '198.51.100.50')).statusCode).toBe(401);
    const blocked = await signIn(admin.account, admin.password, '198.51.100.50');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error.code).toBe('RequestLimitExceeded');
    expect((await signIn(admin.account, admin.password, '198.51.100.51')).statusCode).toBe(200);
    const counters = await context.database.db
      .selectFrom('rate_limit_counters')
      .select(['counter_key', 'hits'])
      .where('counter_key', 'like', 'sign-in:address:198.51.100.50%')
      .execute();
    expect(counters.reduce((sum, row) => sum + Number(row.hits), 0)).toBeGreaterThanOrEqual(30);
    context.clock.advance(15 * 60 * 1000);
  });

  it('IPv6: the addresses of one /64 share a per-address limit (sign-in and signatures); another /64 does not', async () => {
    const signIn = (account: string, password: string, address: string) =>
      context.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: address, payload: { account, password } });
    const admin = manifest.superAdmin;
    // A fresh interface identifier for every attempt, all in 2001:db8:50:1::/64; spread over accounts as above.
    for (let i = 0; i < 30; i++) {
      expect((await signIn(`ipv6-nobody-${i % 10}`, 'guess', `2001:db8:50:1::${(i + 1).toString(16)}`)).statusCode).toBe(401);
    }
    const blocked = await signIn(admin.account, admin.password, '2001:db8:50:1:dead:beef:0:1');
    expect([blocked.statusCode, blocked.json().error?.code]).toEqual([429, 'RequestLimitExceeded']);
    expect((await signIn(admin.account, admin.password, '2001:db8:50:2::1')).statusCode).toBe(200);

    for (let i = 0; i < limit; i++) {
      expect((await v3Request(`2001:db8:51:1:${(i + 1).toString(16)}::1`, { forged: true })).statusCode).toBe(401);
    }
    const gatewayBlocked = await v3Request('2001:db8:51:1:ffff::2');
    expect([gatewayBlocked.statusCode, gatewayBlocked.json().code]).toEqual([429, 'FREQUENCY_LIMITED']);
    expect((await v3Request('2001:db8:51:2::1')).statusCode).toBe(404);
    context.clock.advance(15 * 60 * 1000);
  });
});
