import { createPublicKey, createSign, createVerify, generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dayMs } from '../../src/domain/clock.ts';
import { generateApiV3Key } from '../../src/domain/credentials.ts';
import { keyFixtures } from '../fixtures/keys/index.ts';
import { approvePayment, bindTeam, createPaymentWorld, expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import { signIn } from '../helpers/factories.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/** The WECHATPAY2-SHA256-RSA2048 string a v3 client signs, and its signature. */
const message = 'GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n';
const signWith = (privateKeyPem: string) => createSign('RSA-SHA256').update(message).sign(privateKeyPem, 'base64');
const verifies = (publicKeyPem: string, signature: string) =>
  createVerify('RSA-SHA256').update(message).verify(publicKeyPem, signature, 'base64');

function csrOf(privateKeyPem: string, publicKeyPem: string, tamper = false): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  csr.setSubject([{ shortName: 'CN', value: '1900000101' }]);
  csr.sign(forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  const pem = forge.pki.certificationRequestToPem(csr);
  if (!tamper) return pem;
  // Flip a bit of the signature (the DER's last byte): the request no longer proves possession of the key.
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der[der.length - 1]! ^= 0x01;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

describeOnEachDatabase('payment credentials (SPEC §2.2)', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  const approvedWorld = async () => {
    world = await createPaymentWorld(context);
    await bindTeam(world);
    await approvePayment(world);
    return world;
  };
  const lookup = (serialNo: string) => context.services.credentials.findMerchantKeyBySerial(context.database.db, serialNo);

  it('approval issues a key pair with a 40-hex serial; the private key downloads once and signs what the gateway verifies', async () => {
    await approvedWorld();
    const { credentials, platformKeys } = context.services;
    const view = await credentials.get(world.mpAdmin, world.mnpId);
    expect(view).toMatchObject({ mnpId: world.mnpId, mchid: world.merchants[0]!.merchantId, apiV3KeySet: false });
    expect(view.activeKey).toMatchObject({ source: 'generated', status: 'active', privateKeyDownloadable: true });
    expect(view.activeKey!.serialNo).toMatch(/^[0-9A-F]{40}$/);

    const key = await credentials.downloadPrivateKey(world.as['mp:senior_developer'], world.mnpId);
    expect(key.serialNo).toBe(view.activeKey!.serialNo);
    expect(key.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    await expectCode(credentials.downloadPrivateKey(world.mpAdmin, world.mnpId), 'FailedOperation');
    expect((await credentials.get(world.mpAdmin, world.mnpId)).activeKey).toMatchObject({
      privateKeyDownloadable: false,
      downloadedAt: context.clock.nowMs(),
    });

    const found = await lookup(key.serialNo);
    expect(found).toEqual({
      mnpId: world.mnpId,
      applicationId: world.applicationId,
      mchid: world.merchants[0]!.merchantId,
      publicKeyPem: view.activeKey!.publicKeyPem,
      status: 'active',
      notAfter: view.activeKey!.notAfter,
    });
    expect(verifies(found!.publicKeyPem, signWith(key.privateKeyPem))).toBe(true);
    expect(verifies(found!.publicKeyPem, signWith(keyFixtures.merchantA.privateKeyPem))).toBe(false);

    // The merchant certificate: this serial, this public key, issued and signed by the platform key.
    const certificate = new X509Certificate(key.certificatePem);
    expect(certificate.serialNumber.toUpperCase()).toBe(key.serialNo);
    expect(certificate.publicKey.export({ type: 'spki', format: 'pem' })).toBe(found!.publicKeyPem);
    expect(certificate.subject).toContain(`CN=${world.merchants[0]!.merchantId}`);
    const platform = await platformKeys.signingKey();
    expect(certificate.verify(createPublicKey(platform.publicKeyPem))).toBe(true);
    expect(certificate.checkIssued(new X509Certificate(platform.certificatePem))).toBe(true);
    expect(await lookup('0'.repeat(40))).toBeUndefined();
  });

  it('the generated private key is sealed at rest until its download, then gone', async () => {
    await approvedWorld();
    const row = await context.database.db
      .selectFrom('merchant_api_keys')
      .selectAll()
      .where('mnp_id', '=', world.mnpId)
      .executeTakeFirstOrThrow();
    expect(row.private_key_sealed).toMatch(/^v2\.[0-9a-f]{8}\./);
    expect(row.private_key_sealed).not.toContain('PRIVATE KEY');
    const { privateKeyPem } = await context.services.credentials.downloadPrivateKey(world.mpAdmin, world.mnpId);
    const body = privateKeyPem.split('\n')[1]!;
    expect(JSON.stringify(row)).not.toContain(body);
    const after = await context.database.db
      .selectFrom('merchant_api_keys')
      .selectAll()
      .where('mnp_id', '=', world.mnpId)
      .executeTakeFirstOrThrow();
    expect(after.private_key_sealed).toBeNull();
    const audit = await context.database.db.selectFrom('audit_log').select(['before_json', 'after_json']).execute();
    expect(JSON.stringify(audit)).not.toContain(body);
  });

  it('reset issues a new key (private key in that answer only) and revokes the old serial', async () => {
    await approvedWorld();
    const { credentials } = context.services;
    const old = (await credentials.get(world.mpAdmin, world.mnpId)).activeKey!;
    const issued = await credentials.resetKey(world.mpAdmin, world.mnpId, { mode: 'generate' });
    expect(issued.serialNo).not.toBe(old.serialNo);
    expect(issued.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect((await lookup(old.serialNo))?.status).toBe('revoked');
    const found = await lookup(issued.serialNo);
    expect(found?.status).toBe('active');
    expect(verifies(found!.publicKeyPem, signWith(issued.privateKeyPem!))).toBe(true);
    await expectCode(credentials.downloadPrivateKey(world.mpAdmin, world.mnpId), 'FailedOperation');
    const view = await credentials.get(world.mpAdmin, world.mnpId);
    expect(view.keys.map((k) => [k.serialNo, k.status])).toEqual([
      [issued.serialNo, 'active'],
      [old.serialNo, 'revoked'],
    ]);
    expect(view.keys[1]!.revokedAt).toBe(context.clock.nowMs());
    const audit = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'payment_credentials.reset')
      .where('target_id', '=', world.mnpId)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.after_json!)).toEqual({ serialNo: issued.serialNo, source: 'generated', revoked: old.serialNo });
    expect(audit.after_json).not.toContain('PRIVATE');
  });

  it("the merchant's own public key or CSR: the private key never leaves them", async () => {
    await approvedWorld();
    const { credentials } = context.services;
    const byPublicKey = await credentials.resetKey(world.mpAdmin, world.mnpId, {
      mode: 'public_key',
      publicKeyPem: keyFixtures.merchantA.publicKeyPem,
    });
    expect(byPublicKey.privateKeyPem).toBeUndefined();
    expect((await credentials.get(world.mpAdmin, world.mnpId)).activeKey).toMatchObject({
      source: 'public_key',
      privateKeyDownloadable: false,
    });
    expect(verifies((await lookup(byPublicKey.serialNo))!.publicKeyPem, signWith(keyFixtures.merchantA.privateKeyPem))).toBe(true);

    const byCsr = await credentials.resetKey(world.mpAdmin, world.mnpId, {
      mode: 'csr',
      csrPem: csrOf(keyFixtures.merchantB.privateKeyPem, keyFixtures.merchantB.publicKeyPem),
    });
    expect(byCsr.privateKeyPem).toBeUndefined();
    expect((await lookup(byPublicKey.serialNo))?.status).toBe('revoked');
    expect(verifies((await lookup(byCsr.serialNo))!.publicKeyPem, signWith(keyFixtures.merchantB.privateKeyPem))).toBe(true);
    expect(new X509Certificate(byCsr.certificatePem).publicKey.export({ type: 'spki', format: 'pem' })).toBe(
      keyFixtures.merchantB.publicKeyPem,
    );
  });

  it('refuses key material that is not an RSA-2048 public key or a valid CSR (nothing changes)', async () => {
    await approvedWorld();
    const { credentials } = context.services;
    const before = (await credentials.get(world.mpAdmin, world.mnpId)).activeKey!.serialNo;
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cases: [Parameters<typeof credentials.resetKey>[2], string][] = [
      [{ mode: 'public_key', publicKeyPem: 'not a key' }, 'publicKeyPem'],
      [{ mode: 'public_key', publicKeyPem: '' }, 'publicKeyPem'],
      [{ mode: 'public_key', publicKeyPem: keyFixtures.merchantA.privateKeyPem }, 'publicKeyPem'],
      [{ mode: 'public_key', publicKeyPem: weak.publicKey.export({ type: 'spki', format: 'pem' }).toString() }, 'publicKeyPem'],
      [{ mode: 'public_key', publicKeyPem: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString() }, 'publicKeyPem'],
      [{ mode: 'csr', csrPem: 'not a CSR' }, 'csrPem'],
      [{ mode: 'csr', csrPem: csrOf(keyFixtures.merchantB.privateKeyPem, keyFixtures.merchantB.publicKeyPem, true) }, 'csrPem'],
      [{ mode: 'csr', csrPem: csrOf(keyFixtures.merchantA.privateKeyPem, keyFixtures.merchantB.publicKeyPem) }, 'csrPem'],
    ];
    for (const [source, field] of cases) {
      const error = await expectCode(credentials.resetKey(world.mpAdmin, world.mnpId, source), 'InvalidParameterValue');
      expect(error.details?.field).toBe(field);
    }
    expect((await credentials.get(world.mpAdmin, world.mnpId)).activeKey!.serialNo).toBe(before);
  });

  it('APIv3 key: exactly 32 characters mixing digits, upper and lower case; sealed at rest; opened for the gateway only', async () => {
    await approvedWorld();
    const { credentials } = context.services;
    for (const bad of [
      'a'.repeat(32),
      'abcdefghABCDEFGH12345678abcdefg',
      'abcdefghABCDEFGH12345678abcdefghi',
      'abcdefghijklmnopqrstuvwxyz123456',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ123456',
      'abcdefghABCDEFGHabcdefghABCDEFGH',
      'abcdefghABCDEFGH1234567!abcdefgh',
      'abcdefghABCDEFGH 234567Xabcdefgh',
    ]) {
      const error = await expectCode(credentials.setApiV3Key(world.mpAdmin, world.mnpId, bad), 'InvalidParameterValue');
      expect(error.details?.field).toBe('apiV3Key');
    }
    const apiV3Key = generateApiV3Key();
    expect(apiV3Key).toMatch(/^[A-Za-z0-9]{32}$/);
    await credentials.setApiV3Key(world.as['mp:senior_developer'], world.mnpId, apiV3Key);
    const row = await context.database.db
      .selectFrom('payment_accounts')
      .selectAll()
      .where('mnp_id', '=', world.mnpId)
      .executeTakeFirstOrThrow();
    expect(row.api_v3_key_sealed).toMatch(/^v2\.[0-9a-f]{8}\./);
    expect(JSON.stringify(row)).not.toContain(apiV3Key);
    const view = await credentials.get(world.mpAdmin, world.mnpId);
    expect(view).toMatchObject({ apiV3KeySet: true, apiV3KeySetAt: context.clock.nowMs() });
    expect(JSON.stringify(view)).not.toContain(apiV3Key);
    expect((await credentials.findPaymentAccount(context.database.db, world.mnpId))?.apiV3Key).toBe(apiV3Key);
    const audit = await context.database.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(audit)).not.toContain(apiV3Key);
    expect(audit.some((a) => a.action === 'payment_credentials.set_api_v3_key' && a.target_id === world.mnpId)).toBe(true);
  });

  it('only the MP Administrator and Senior developer touch credentials; none before approval', async () => {
    world = await createPaymentWorld(context);
    await bindTeam(world);
    const { credentials } = context.services;
    await expectCode(credentials.get(world.mpAdmin, world.mnpId), 'FailedOperation.PaymentRecordNotFound');
    await approvePayment(world);
    for (const actor of [
      world.as['mp:developer'],
      world.as['mp:operator'],
      world.as['mp:member_admin'],
      world.as['sa:administrator'],
      world.superAdmin,
      world.platformAdmin,
    ]) {
      await expectCode(credentials.get(actor, world.mnpId), 'UnauthorizedOperation');
      await expectCode(credentials.downloadPrivateKey(actor, world.mnpId), 'UnauthorizedOperation');
      await expectCode(credentials.resetKey(actor, world.mnpId, { mode: 'generate' }), 'UnauthorizedOperation');
      await expectCode(credentials.setApiV3Key(actor, world.mnpId, generateApiV3Key()), 'UnauthorizedOperation');
    }
    await expectCode(credentials.get(world.second.administrator, world.mnpId), 'ResourceNotFound');
    expect((await credentials.get(world.as['mp:senior_developer'], world.mnpId)).activeKey?.privateKeyDownloadable).toBe(true);
  });

  const expiryTitle =
    'a certificate within 30 days of its not_after is expiring (days left, rounded up), expired from not_after on; ' +
    'the console API says so to those who manage credentials';
  it(expiryTitle, async () => {
    await approvedWorld();
    const { credentials, enablements } = context.services;
    const serialNo = (await credentials.get(world.mpAdmin, world.mnpId)).activeKey!.serialNo;
    const now = context.clock.nowMs();
    const startsAt = now;
    const { not_after: notAfter } = await context.database.db
      .selectFrom('merchant_api_keys')
      .select('not_after')
      .where('serial_no', '=', serialNo)
      .executeTakeFirstOrThrow();
    const viewed = async () => {
      // Signed in afresh at each moment: a session does not last years.
      const console_ = await signIn(context, world.tenant.members['mp:senior_developer']);
      const api = await console_.get(`/mini-programs/${world.mnpId}/payment-credentials`);
      expect(api.statusCode).toBe(200);
      const list = await console_.get(`/teams/${world.teamId}/payment/mini-programs`);
      expect(list.statusCode).toBe(200);
      return {
        key: api.body.activeKey as { expiry: string; expiresInDays: number },
        listed: (list.body.items as { mnpId: string; certificate: unknown }[]).find((item) => item.mnpId === world.mnpId)!.certificate,
      };
    };
    try {
      expect((await viewed()).key).toMatchObject({ expiry: 'valid', expiresInDays: Math.ceil((notAfter - now) / dayMs) });
      context.clock.set(notAfter - 30 * dayMs - 1);
      expect(await viewed()).toEqual({
        key: expect.objectContaining({ expiry: 'valid', expiresInDays: 31 }),
        listed: { serialNo, notAfter, expiry: 'valid', expiresInDays: 31 },
      });
      context.clock.set(notAfter - 20 * dayMs + 60_000);
      expect(await viewed()).toEqual({
        key: expect.objectContaining({ expiry: 'expiring', expiresInDays: 20 }),
        listed: { serialNo, notAfter, expiry: 'expiring', expiresInDays: 20 },
      });
      context.clock.set(notAfter);
      expect(await viewed()).toEqual({
        key: expect.objectContaining({ expiry: 'expired', expiresInDays: 0 }),
        listed: { serialNo, notAfter, expiry: 'expired', expiresInDays: 0 },
      });
      // Developers see the payment status, not the credentials (SPEC §1.1).
      const developerView = await enablements.listTeamMiniPrograms(world.as['mp:developer'], world.teamId);
      expect(developerView.find((item) => item.mnpId === world.mnpId)).toMatchObject({ certificate: null });
    } finally {
      context.clock.set(startsAt);
    }
  });
});
