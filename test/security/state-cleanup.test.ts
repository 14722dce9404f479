import { afterAll, beforeAll, expect, it } from 'vitest';
import { signV3Request } from '../../src/crypto/wechatpay-v3.ts';
import { purgeExpiredSecurityState } from '../../src/jobs/security-purge.ts';
import { rateLimitRetentionMs } from '../../src/services/rate-limiter.ts';
import { replayWindowMs } from '../../src/services/nonce.service.ts';
import { readyMerchant, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Short-lived security state is purged by the periodic job once its window is over (SPEC §7 retention):
 * replay nonces after their 5 minutes, rate-limit counters (signature failures, sign-in, per mchid) after their
 * window; nothing still in force is deleted. Driven by the manual clock.
 */
describeOnEachDatabase('purge of nonces and rate-limit counters', (kind) => {
  let context: TestContext;
  let merchant: MerchantCredentials;
  let sequence = 0;

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { signatureFailureLimit: 3 } });
    merchant = readyMerchant(await context.services.demoWorld.ensure());
  });
  afterAll(() => context?.close());

  const v3Query = (address: string, forged = false) => {
    const url = `/v3/pay/transactions/out-trade-no/PURGE${(sequence += 1)}?mchid=${merchant.mchid}`;
    let authorization = signV3Request({ mchid: merchant.mchid, serialNo: merchant.serialNo, privateKey: merchant.privateKeyPem }, { method: 'GET', url, body: '' }, { nowMs: context.clock.nowMs() });
    if (forged) authorization = authorization.replace(/signature="[^"]{8}/, 'signature="AAAAAAAA');
    return context.app.inject({ method: 'GET', url, remoteAddress: address, headers: { authorization, accept: 'application/json' } });
  };
  const rowsOf = async () => ({
    nonces: (await context.database.db.selectFrom('replay_nonces').select('nonce').execute()).length,
    counters: (await context.database.db.selectFrom('rate_limit_counters').select(['counter_key', 'window_start']).execute()).map((row) => `${row.counter_key}@${row.window_start}`),
  });

  it('keeps what is in force, deletes nonces past their window and counters past theirs', async () => {
    // Start on the hour, so every window (5 and 15 minutes) starts now.
    context.clock.advance(rateLimitRetentionMs - (context.clock.nowMs() % rateLimitRetentionMs));
    for (let i = 0; i < 3; i++) expect((await v3Query('198.51.100.70', true)).statusCode).toBe(401);
    expect((await v3Query('198.51.100.70')).statusCode).toBe(429);
    expect((await v3Query('198.51.100.71')).statusCode).toBe(404);
    const signIn = await context.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: '198.51.100.72', payload: { account: 'nobody-purge', password: 'guess' } });
    expect(signIn.statusCode).toBe(401);
    const made = await rowsOf();
    expect(made.nonces).toBe(1);
    // Signature failures of .70, sign-in per account and per address, the merchant's per-mchid request count.
    expect(made.counters.length).toBe(4);

    context.clock.advance(replayWindowMs - 60_000);
    expect(await purgeExpiredSecurityState(context.services)).toEqual({ nonces: 0, counters: 0 });
    expect(await rowsOf()).toEqual(made);
    expect((await v3Query('198.51.100.70')).statusCode, 'the signature-failure block still holds').toBe(429);

    context.clock.advance(2 * 60_000);
    expect((await purgeExpiredSecurityState(context.services)).nonces).toBe(made.nonces);
    expect((await rowsOf()).nonces).toBe(0);

    context.clock.advance(rateLimitRetentionMs - replayWindowMs - 60_000 + 1);
    expect((await v3Query('198.51.100.73', true)).statusCode).toBe(401);
    const fresh = (await rowsOf()).counters.filter((counter) => !made.counters.includes(counter));
    expect(fresh).toHaveLength(1);
    expect(await purgeExpiredSecurityState(context.services)).toEqual({ nonces: 0, counters: 4 });
    expect((await rowsOf()).counters, 'only the counter of the current window is left').toEqual(fresh);
  });
});
