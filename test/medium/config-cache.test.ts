import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createAppContext } from '../../src/bootstrap.ts';
import type { AppContext } from '../../src/composition.ts';
import { testHashingCost } from '../../src/crypto/passwords.ts';
import { systemActor } from '../../src/domain/access.ts';
import { configGenerationRepository } from '../../src/repositories/config-generation.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { demoActor, payInSandbox, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * The gateway's configuration caches (SPEC §7: revocations apply from the next request on every instance, whatever is
 * cached): two instances over one database, each keeping merchant keys, payment accounts with their gate, and platform
 * keys in memory. A change made on one instance — through a service, or by any writer straight in SQL — is seen by the
 * other's very next request; payments themselves do not move the generation (the caches stay warm under load).
 */
describeOnEachDatabase('configuration caches across two instances', (kind) => {
  let context: TestContext;
  let second: AppContext & { close(): Promise<void> };
  let manifest: DemoManifest;
  let first: V3InjectClient;
  let other: V3InjectClient;
  let sequence = 0;

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    manifest = await context.services.demoWorld.ensure();
    const secondContext = await createAppContext(context.config, {
      clock: context.clock,
      hashingCost: testHashingCost,
      postgresSchema: context.postgresSchema,
    });
    const secondApp = await buildApp(secondContext, { backgroundJobs: false });
    second = {
      ...secondContext,
      async close() {
        await secondApp.close();
        await secondContext.database.close();
      },
    };
    first = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    other = new V3InjectClient(secondApp, readyMerchant(manifest), context.clock);
  });
  afterAll(async () => {
    await second?.close();
    await context?.close();
  });

  const prepay = (client = first) => client.prepay({ outTradeNo: `CACHE${kind}${(sequence += 1)}`, total: 100 });
  const generation = () => configGenerationRepository.current(context.database.db);
  // Both instances answer once, so both have the account, the key and the platform keys in memory.
  const warmBoth = async () => {
    expect((await prepay(first)).statusCode).toBe(200);
    expect((await prepay(other)).statusCode).toBe(200);
  };

  it('payments and refunds leave the generation where it is', async () => {
    await warmBoth();
    const before = await generation();
    const paid = await prepay();
    await payInSandbox(context.app, paid.body.prepay_id);
    const outTradeNo = `CACHE${kind}${sequence}`;
    expect((await first.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('SUCCESS');
    expect((await first.refund({ outTradeNo, outRefundNo: `R${outTradeNo}`, refund: 10, total: 100 })).statusCode).toBe(200);
    expect(await generation()).toBe(before);
  });

  it("payment switched off on one instance: the other's next prepay is refused, and served again once it is back on", async () => {
    await warmBoth();
    const admin = await demoActor(second, manifest.superapp.users.admin.account);
    await second.services.paymentConfig.update(admin, manifest.superapp.applicationId, { paymentEnabled: false });
    const refused = await prepay(first);
    expect([refused.statusCode, refused.body.code]).toEqual([403, 'NO_AUTH']);
    await second.services.paymentConfig.update(admin, manifest.superapp.applicationId, { paymentEnabled: true });
    expect((await prepay(first)).statusCode).toBe(200);
  });

  it('any writer counts: a team disabled straight in SQL is refused at once by both instances', async () => {
    await warmBoth();
    const teamId = manifest.miniProgramTeam.teamId;
    await sql`update teams set status = 'disabled' where id = ${teamId}`.execute(second.database.db);
    for (const client of [first, other]) expect((await prepay(client)).body.code).toBe('NO_AUTH');
    await sql`update teams set status = 'active' where id = ${teamId}`.execute(context.database.db);
    await warmBoth();
  });

  it("a merchant key revoked on one instance authenticates nothing on the other's next request", async () => {
    await warmBoth();
    const { serialNo } = first.merchant;
    await sql`update merchant_api_keys set status = 'revoked' where serial_no = ${serialNo}`.execute(second.database.db);
    try {
      const refused = await prepay(first);
      expect([refused.statusCode, refused.body.code]).toEqual([401, 'SIGN_ERROR']);
    } finally {
      await sql`update merchant_api_keys set status = 'active' where serial_no = ${serialNo}`.execute(second.database.db);
    }
    await warmBoth();
  });

  it("a platform key rotated on one instance signs the other instance's next answer once its grace is over", async () => {
    await warmBoth();
    const rotation = await second.services.platformKeys.rotate(systemActor(), { graceMs: 0 });
    const answer = await context.app.inject({ method: 'GET', url: '/v3/certificates' });
    // Unsigned requests get a signed 401: signed with the key that signs now.
    expect(answer.headers['wechatpay-serial']).toBe(rotation.publicKeyId);
    const published = await context.services.platformKeys.publishedKeys();
    expect(published.map((key) => key.publicKeyId)).toContain(rotation.publicKeyId);
  });
});
