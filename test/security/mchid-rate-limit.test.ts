import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createAppContext } from '../../src/bootstrap.ts';
import { testHashingCost } from '../../src/crypto/passwords.ts';
import { merchantRequestLimitMessage, merchantRequestWindowMs } from '../../src/services/auth/merchant-request-limiter.ts';
import { readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Per-mchid gateway request limit (PAYTHROUGH_MCHID_RATE_LIMIT a minute, here 5): past it the merchant
 * gets 429 FREQUENCY_LIMITED as a signed v3 error until the minute ends; counted in the database, so two
 * instances over one database share it; forged requests do not spend a merchant's allowance.
 */
describeOnEachDatabase('per-mchid gateway request limit', (kind) => {
  const limit = 5;
  let context: TestContext;
  let client: V3InjectClient;

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { mchidRateLimit: limit } });
    client = new V3InjectClient(context.app, readyMerchant(await context.services.demoWorld.ensure()), context.clock);
    // Start at the beginning of a window, so the requests below share one.
    context.clock.advance(merchantRequestWindowMs - (context.clock.nowMs() % merchantRequestWindowMs));
  });
  afterAll(() => context?.close());

  let sequence = 0;
  const query = (via = client) => via.queryByOutTradeNo(`RL${(sequence += 1)}`);

  it(`answers the first ${limit} requests of a minute, then 429 FREQUENCY_LIMITED (signed) until the minute ends`, async () => {
    // Forged requests from the merchant's name spend nothing.
    for (let i = 0; i < 3; i++)
      expect(
        (
          await context.app.inject({
            method: 'GET',
            url: `/v3/pay/transactions/out-trade-no/RLF${i}?mchid=${client.merchant.mchid}`,
            headers: {
              authorization:
                `WECHATPAY2-SHA256-RSA2048 mchid="${client.merchant.mchid}",nonce_str="n${i}",signature="AAAA",` +
                `timestamp="${Math.floor(context.clock.nowMs() / 1000)}",serial_no="${client.merchant.serialNo}"`,
            },
          })
        ).statusCode,
      ).toBe(401);
    for (let i = 0; i < limit; i++) expect((await query()).body.code).toBe('ORDER_NOT_EXIST');
    const refused = await query();
    expect([refused.statusCode, refused.body]).toEqual([429, { code: 'FREQUENCY_LIMITED', message: merchantRequestLimitMessage }]);
    context.clock.advance(merchantRequestWindowMs);
    expect((await query()).statusCode).toBe(404);
    context.clock.advance(merchantRequestWindowMs);
  });

  it('two instances over one database share the count', async () => {
    const second = await createAppContext(context.config, {
      clock: context.clock,
      hashingCost: testHashingCost,
      postgresSchema: context.postgresSchema,
    });
    const secondApp = await buildApp(second, { backgroundJobs: false });
    try {
      const other = new V3InjectClient(secondApp, client.merchant, context.clock);
      for (let i = 0; i < limit; i++) expect((await query(i % 2 === 0 ? client : other)).statusCode).toBe(404);
      expect((await query(other)).statusCode).toBe(429);
      expect((await query(client)).statusCode).toBe(429);
    } finally {
      await secondApp.close();
      await second.database.close();
    }
  });
});
