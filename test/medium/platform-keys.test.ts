import { createVerify, sign, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secret-box.ts';
import { systemActor } from '../../src/domain/access.ts';
import { PlatformKeyService } from '../../src/services/payment-setup/platform-key.service.ts';
import { actorOf, createUser } from '../helpers/factories.ts';
import { expectCode } from '../helpers/payment-world.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

describeOnEachDatabase('platform signing keys and their rotation (SPEC §7)', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  it('the first key is made on first use, signs at once, and is published with its certificate and PUB_KEY_ID', async () => {
    const { platformKeys } = context.services;
    const signer = await platformKeys.signingKey();
    expect(signer.serialNo).toMatch(/^[0-9A-F]{40}$/);
    expect(signer.publicKeyId).toMatch(/^PUB_KEY_ID_\d{31}$/);
    const published = await platformKeys.publishedKeys();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ serialNo: signer.serialNo, signing: true, publishedUntil: null });
    // What the gateway signs verifies with the published public key and with the certificate.
    const body = `${Math.floor(context.clock.nowMs() / 1000)}\nnonce\n{"prepay_id":"x"}\n`;
    const signature = sign('sha256', Buffer.from(body), signer.privateKey).toString('base64');
    expect(createVerify('RSA-SHA256').update(body).verify(published[0]!.publicKeyPem, signature, 'base64')).toBe(true);
    const certificate = new X509Certificate(published[0]!.certificatePem);
    expect(certificate.serialNumber.toUpperCase()).toBe(signer.serialNo);
    expect(createVerify('RSA-SHA256').update(body).verify(certificate.publicKey, signature, 'base64')).toBe(true);
    expect(certificate.checkIssued(certificate)).toBe(true);
    // The private key is sealed at rest.
    const row = await context.database.db.selectFrom('platform_signing_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.private_key_sealed).toMatch(/^v2\.[0-9a-f]{8}\./);
    expect(JSON.stringify(row)).not.toContain('PRIVATE KEY');
  });

  it('another instance on the same database uses the same key', async () => {
    const first = await context.services.platformKeys.signingKey();
    const other = new PlatformKeyService(context.database.db, context.clock, new SecretBox(context.config.masterKeys!));
    expect((await other.signingKey()).serialNo).toBe(first.serialNo);
  });

  const rotationTitle =
    'rotation: the new key is published first, signs after the grace period; ' + 'the old stays published for another grace period';
  it(rotationTitle, async () => {
    const { platformKeys } = context.services;
    const old = await platformKeys.signingKey();
    const start = context.clock.nowMs();
    const admin = await actorOf(context, await createUser(context, { platformRole: 'platform_admin' }));
    const next = await platformKeys.rotate(admin);
    expect(next).toMatchObject({ publishedAt: start, signingFrom: start + 7 * day, signing: false });

    const published = async () => (await platformKeys.publishedKeys()).map((k) => [k.serialNo, k.signing]);
    expect(await published()).toEqual([
      [old.serialNo, true],
      [next.serialNo, false],
    ]);
    context.clock.set(start + 7 * day - 1);
    expect((await platformKeys.signingKey()).serialNo).toBe(old.serialNo);
    context.clock.set(start + 7 * day);
    expect((await platformKeys.signingKey()).serialNo).toBe(next.serialNo);
    expect(await published()).toEqual([
      [old.serialNo, false],
      [next.serialNo, true],
    ]);
    expect((await platformKeys.publishedKeys()).find((k) => k.serialNo === old.serialNo)?.publishedUntil).toBe(start + 14 * day);
    context.clock.set(start + 14 * day - 1);
    expect(await published()).toHaveLength(2);
    context.clock.set(start + 14 * day);
    expect(await published()).toEqual([[next.serialNo, true]]);
    // Asking about a moment in the past answers for that moment.
    expect((await platformKeys.signingKey(start + day)).serialNo).toBe(old.serialNo);
    expect(
      await context.database.db.selectFrom('audit_log').select('action').where('action', '=', 'platform_key.rotate').execute(),
    ).toHaveLength(1);
  });

  it('the grace period is configurable per rotation; only platform admins rotate', async () => {
    const { platformKeys } = context.services;
    const member = await actorOf(context, await createUser(context));
    await expectCode(platformKeys.rotate(member), 'UnauthorizedOperation');
    const before = await platformKeys.signingKey();
    const start = context.clock.nowMs();
    const next = await platformKeys.rotate(systemActor('operator'), { graceMs: day });
    expect(next.signingFrom).toBe(start + day);
    context.clock.set(start + day);
    expect((await platformKeys.signingKey()).serialNo).toBe(next.serialNo);
    expect((await platformKeys.publishedKeys()).map((k) => k.serialNo)).toEqual([before.serialNo, next.serialNo]);
    context.clock.set(start + 2 * day);
    expect((await platformKeys.publishedKeys()).map((k) => k.serialNo)).toEqual([next.serialNo]);
    await expectCode(platformKeys.rotate(systemActor(), { graceMs: -1 }), 'InvalidParameterValue');
  });

  it('one rotation at a time: another is refused until the new key signs; the rotation names the key it retires and when', async () => {
    const { platformKeys } = context.services;
    const current = await platformKeys.signingKey();
    const start = context.clock.nowMs();
    const rotation = await platformKeys.rotate(systemActor('cli'), { graceMs: 3 * day });
    expect(rotation).toMatchObject({
      signingFrom: start + 3 * day,
      signing: false,
      graceMs: 3 * day,
      retiring: {
        serialNo: current.serialNo,
        publicKeyId: current.publicKeyId,
        signsUntil: start + 3 * day,
        publishedUntil: start + 6 * day,
      },
    });
    context.clock.set(start + 3 * day - 1);
    await expectCode(platformKeys.rotate(systemActor('cli')), 'FailedOperation');
    expect((await platformKeys.publishedKeys()).map((k) => k.serialNo)).toEqual([current.serialNo, rotation.serialNo]);
    context.clock.set(start + 3 * day);
    const again = await platformKeys.rotate(systemActor('cli'), { graceMs: day });
    expect(again.retiring.serialNo).toBe(rotation.serialNo);
    // The first retiring key keeps its own end while the second rotation runs.
    expect((await platformKeys.publishedKeys()).map((k) => [k.serialNo, k.signing, k.publishedUntil])).toEqual([
      [current.serialNo, false, start + 6 * day],
      [rotation.serialNo, true, null],
      [again.serialNo, false, null],
    ]);
    const audited = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'platform_key.rotate')
      .where('target_id', '=', rotation.serialNo)
      .execute();
    expect(audited.map((row) => row.actor_account)).toEqual(['cli']);
  });
});
