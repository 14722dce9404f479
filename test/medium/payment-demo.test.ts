import { createSign, createVerify } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('demo world: payment parts (SPEC §6.2)', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
  });
  afterAll(() => context?.close());

  it('the superapp allows CNY and lists two merchants: the first bound to the mini program team, the last free', async () => {
    expect(manifest.superapp.currencies).toEqual(['CNY']);
    expect(manifest.superapp.merchants.length).toBeGreaterThanOrEqual(2);
    const admin = systemActor();
    const info = await context.services.bindings.queryTeamMerchant(admin, manifest.miniProgramTeam.teamId);
    expect(info).toMatchObject({ ...manifest.superapp.merchants[0], approvalStatus: 10 });
    const listed = await context.services.merchants.search(admin, manifest.superapp.applicationId, { offset: 0, limit: 100 });
    const last = manifest.superapp.merchants.at(-1)!;
    expect(listed.items.find((m) => m.merchantId === last.merchantId)).toMatchObject({
      merchantName: last.merchantName,
      boundTeamId: null,
    });
    await expect(context.services.bindings.queryTeamMerchant(admin, manifest.unboundTeam.teamId)).rejects.toMatchObject({
      code: 'FailedOperation.PaymentRecordNotFound',
    });
  });

  it('miniPrograms.ready is approved with a working key pair, APIv3 key and the platform key', async () => {
    const { ready, fresh, unbound } = manifest.miniPrograms;
    const { credentials, platformKeys, enablements } = context.services;
    expect(ready.mchid).toBe(manifest.superapp.merchants[0]!.merchantId);
    expect(ready.serialNo).toMatch(/^[0-9A-F]{40}$/);
    const account = await credentials.findPaymentAccount(context.database.db, ready.mnpId);
    expect(account).toMatchObject({
      mchid: ready.mchid,
      enablementStatus: 10,
      bindingEffective: true,
      paymentEnabled: true,
      currencies: ['CNY'],
      channelKind: 'sandbox',
      apiV3Key: ready.apiV3Key,
    });
    const key = await credentials.findMerchantKeyBySerial(context.database.db, ready.serialNo);
    expect(key).toMatchObject({ mnpId: ready.mnpId, mchid: ready.mchid, status: 'active' });
    const signature = createSign('RSA-SHA256').update('hello').sign(ready.privateKeyPem, 'base64');
    expect(createVerify('RSA-SHA256').update('hello').verify(key!.publicKeyPem, signature, 'base64')).toBe(true);
    const signer = await platformKeys.signingKey();
    expect(ready.platformSerial).toBe(signer.publicKeyId);
    expect(ready.platformPublicKeyPem).toBe(signer.publicKeyPem);
    expect(ready.platformCertificateSerial).toBe(signer.serialNo);
    expect(await enablements.describe(systemActor(), fresh.mnpId)).toMatchObject({ approvalStatus: -1, applyShow: 1 });
    expect(await enablements.describe(systemActor(), unbound.mnpId)).toMatchObject({ approvalStatus: -1, applyShow: 0 });
  });

  it('prints the same manifest again, with the platform key that signs at the time', async () => {
    expect(await context.services.demoWorld.ensure()).toEqual(manifest);
    const next = await context.services.platformKeys.rotate(systemActor(), { graceMs: 1000 });
    context.clock.advance(1000);
    const again = await context.services.demoWorld.ensure();
    expect(again.miniPrograms.ready.platformSerial).toBe(next.publicKeyId);
    expect(again.miniPrograms.ready.privateKeyPem).toBe(manifest.miniPrograms.ready.privateKeyPem);
  });
});
