import { createCipheriv, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppContext } from '../../src/bootstrap.ts';
import { startServer } from '../../src/server.ts';
import type { AppContext } from '../../src/composition.ts';
import type { Config } from '../../src/config/config.ts';
import { testHashingCost } from '../../src/crypto/passwords.ts';
import { masterKeyId, SecretBox } from '../../src/crypto/secret-box.ts';
import { systemActor } from '../../src/domain/access.ts';
import { ApprovalType } from '../../src/domain/approval-state.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { masterKeyLivenessMs } from '../../src/services/master-key/index.ts';
import { PlatformKeyService } from '../../src/services/payment-setup/index.ts';
import { demoActor, readyMerchant } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Master key rotation (SPEC §7): sealed values carry their key's id; with `new,old` both open and `new` seals;
 * `rotate-master-key` waits for every live instance to seal with `new`, re-seals every kind of secret in batches
 * while another instance keeps reading them, resumes after an interruption and is idempotent; a value under a key
 * no configured key matches stops the start naming that key id.
 */

const oldKey = SecretBox.generateMasterKey();
const newKey = SecretBox.generateMasterKey();
const oldId = masterKeyId(oldKey);
const newId = masterKeyId(newKey);

/** A value as sealed before key ids existed (`v1.<iv>.<tag>.<ciphertext>`). */
function sealUnlabelled(key: string, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** Every secret the world holds, read through the services of `reader` (so each through its own sealing context). */
async function readSecrets(reader: AppContext, manifest: DemoManifest, masterKeys: string[]) {
  const { services, database, clock } = reader;
  const secretIds = Object.values(manifest.superapp.users).map((user) => user.secretId);
  const apiSecretKeys = await Promise.all(secretIds.map(async (secretId) => (await services.apiKeys.resolve(secretId))?.secretKey));
  const account = await services.credentials.findPaymentAccount(database.db, manifest.miniPrograms.ready.mnpId);
  // A service of its own: the app's platform key service caches the rows it read.
  const platformKeys = new PlatformKeyService(database.db, clock, new SecretBox(masterKeys));
  const platformKey = (await platformKeys.signingKey()).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const demoShop = await services.createDemoMerchant(() => 'http://127.0.0.1:1').credentials();
  return {
    apiSecretKeys,
    apiV3Key: account?.apiV3Key,
    platformKey,
    hostKeys: await services.hostKeys.hostKeysOf(manifest.superapp.applicationId),
    manifest: await services.demoWorld.ensure(),
    demoShop: demoShop?.source === 'settings' ? demoShop.credentials : undefined,
    appKey: (await services.virtualPaymentDirectory.accountOf(database.db, manifest.miniGames!.ready.mnpId))?.appKey,
  };
}

/** Every sealed value in the database, by column. */
async function sealedValues(context: AppContext) {
  const db = context.database.db;
  const sealedSettings = ['demo.manifest', 'demo.merchant.credentials'];
  const settings = await db.selectFrom('settings').select('setting_value').where('setting_key', 'in', sealedSettings).execute();
  return {
    api_keys: (await db.selectFrom('api_keys').select('secret_key_encrypted').execute()).map((row) => row.secret_key_encrypted),
    superapp_payment_configs: (
      await db
        .selectFrom('superapp_payment_configs')
        .select(['channel_key_sealed', 'previous_channel_key_sealed', 'host_key_sealed', 'previous_host_key_sealed'])
        .execute()
    )
      .flatMap((row) => [row.channel_key_sealed, row.previous_channel_key_sealed, row.host_key_sealed, row.previous_host_key_sealed])
      .filter((value) => value !== null),
    payment_accounts: (await db.selectFrom('payment_accounts').select('api_v3_key_sealed').execute())
      .map((row) => row.api_v3_key_sealed)
      .filter((value) => value !== null),
    merchant_api_keys: (await db.selectFrom('merchant_api_keys').select('private_key_sealed').execute())
      .map((row) => row.private_key_sealed)
      .filter((value) => value !== null),
    platform_signing_keys: (await db.selectFrom('platform_signing_keys').select('private_key_sealed').execute()).map(
      (row) => row.private_key_sealed,
    ),
    virtual_payment_accounts: (await db.selectFrom('virtual_payment_accounts').select('app_key_sealed').execute()).map(
      (row) => row.app_key_sealed,
    ),
    settings: settings.map((row) => row.setting_value),
  };
}

describe('sealed values carry the id of their key (unit)', () => {
  it('seals under the first key with its id; new,old opens values of both; a value from before key ids still opens', () => {
    const before = new SecretBox(oldKey);
    const sealedBefore = before.seal('api-v3-secret', 'ctx');
    expect(sealedBefore.startsWith(`v2.${oldId}.`)).toBe(true);
    const legacy = sealUnlabelled(oldKey, 'legacy-secret', 'ctx');
    expect(before.open(legacy, 'ctx')).toBe('legacy-secret');

    const during = new SecretBox([newKey, oldKey]);
    expect(during.sealingKeyId).toBe(newId);
    expect(during.keyIds).toEqual([newId, oldId]);
    const sealedDuring = during.seal('new-secret', 'ctx');
    expect(sealedDuring.startsWith(`v2.${newId}.`)).toBe(true);
    expect(during.open(sealedBefore, 'ctx')).toBe('api-v3-secret');
    expect(during.open(legacy, 'ctx')).toBe('legacy-secret');
    expect(during.open(sealedDuring, 'ctx')).toBe('new-secret');
    expect(during.isSealedUnderSealingKey(sealedDuring)).toBe(true);
    expect(during.isSealedUnderSealingKey(sealedBefore)).toBe(false);
    // The old key alone cannot open what the new one sealed, and says which key it lacks.
    expect(() => before.open(sealedDuring, 'ctx')).toThrow(`Sealed under master key ${newId}`);
    // The context still binds a value to its purpose.
    expect(() => during.open(sealedDuring, 'other')).toThrow();
    expect(() => during.open(legacy, 'other')).toThrow();
  });

  it('the key id is stable, differs per key, and is no part of the key', () => {
    expect(masterKeyId(oldKey)).toBe(oldId);
    expect(oldId).toMatch(/^[0-9a-f]{8}$/);
    expect(newId).not.toBe(oldId);
    expect(Buffer.from(oldKey, 'base64').toString('hex')).not.toContain(oldId);
  });
});

describeOnEachDatabase('master key rotation (SPEC §7)', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  const others: AppContext[] = [];
  let secretsBefore: Awaited<ReturnType<typeof readSecrets>>;

  /** Another instance over the same database, with its own master keys and the test's clock. */
  async function instance(masterKeys: string[]): Promise<AppContext> {
    const config: Config = { ...context.config, masterKeys };
    const other = await createAppContext(config, {
      clock: context.clock,
      hashingCost: testHashingCost,
      postgresSchema: context.postgresSchema,
      postgresPoolSize: 3,
      migrate: false,
    });
    others.push(other);
    return other;
  }

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { masterKeys: [oldKey] } });
    manifest = await context.services.demoWorld.ensure();
    await context.services.platformKeys.ensure();
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    await context.services.paymentConfig.update(saAdmin, manifest.superapp.applicationId, {
      channel: { kind: 'host_reported', webhookUrl: 'https://93.184.215.14/refund-webhook' },
    });
    await context.services.hostKeys.rotate(saAdmin, manifest.superapp.applicationId);
    // Rotated again: the replaced host key stays sealed (accepted during the key overlap) and is re-sealed too.
    await context.services.hostKeys.rotate(saAdmin, manifest.superapp.applicationId);
    await context.services.createDemoMerchant(() => 'http://127.0.0.1:1').saveCredentials(readyMerchant(manifest));
    // A fresh mini program approved: its generated private key stays sealed until downloaded.
    const mpAdmin = await demoActor(context, manifest.miniProgramTeam.users.admin.account);
    const reviewer = await demoActor(context, manifest.superapp.users.reviewer.account);
    const application = await context.services.enablements.request(mpAdmin, { mnpId: manifest.miniPrograms.fresh.mnpId, applyNote: 'x' });
    await context.services.approvals.decide(reviewer, {
      applicationId: manifest.superapp.applicationId,
      approvalNo: application.approvalNo,
      approvalType: ApprovalType.Approve,
      approvalNote: 'ok',
    });
    // One API key as sealed before key ids existed.
    const secretId = manifest.superapp.users.operator.secretId;
    await context.database.db
      .updateTable('api_keys')
      .set({ secret_key_encrypted: sealUnlabelled(oldKey, manifest.superapp.users.operator.secretKey, `api-key:${secretId}`) })
      .where('secret_id', '=', secretId)
      .execute();
    secretsBefore = await readSecrets(context, manifest, [oldKey]);
  });
  afterAll(async () => {
    for (const other of others) await other.database.close();
    await context?.close();
  });

  it('every kind of secret was made, sealed under the old key (one from before key ids)', async () => {
    const values = await sealedValues(context);
    for (const [table, sealed] of Object.entries(values)) expect(sealed.length, table).toBeGreaterThan(0);
    expect(values.settings).toHaveLength(2);
    expect(values.superapp_payment_configs).toHaveLength(2);
    expect(secretsBefore.hostKeys).toHaveLength(2);
    const all = Object.values(values).flat();
    expect(all.filter((value) => value.startsWith('v1.'))).toHaveLength(1);
    expect(all.every((value) => value.startsWith(`v2.${oldId}.`) || value.startsWith('v1.'))).toBe(true);
    expect(secretsBefore.apiSecretKeys.every((key) => typeof key === 'string' && key.length > 0)).toBe(true);
    expect(secretsBefore.demoShop?.apiV3Key).toBe(manifest.miniPrograms.ready.apiV3Key);
  });

  it('a start with a key list that lacks the key of a sealed value fails naming that key id', async () => {
    await expect(instance([SecretBox.generateMasterKey()])).rejects.toThrow(
      new RegExp(`sealed under master key ${oldId}, which PAYTHROUGH_MASTER_KEY does not hold`),
    );
  });

  it('refuses while a live instance reports only the old key; goes ahead once that instance is gone', async () => {
    await context.services.masterKeyInstances.report();
    const rotator = await instance([newKey, oldKey]);
    await rotator.services.masterKeyInstances.report();
    const refusal = rotator.services.masterKeyRotation.rotate(systemActor('cli'));
    await expect(refusal).rejects.toThrow(`do not seal with the new master key ${newId}`);
    await expect(refusal).rejects.toThrow(context.services.masterKeyInstances.instanceId);
    const message = await refusal.catch((error: Error) => error.message);
    expect(message).not.toContain(rotator.services.masterKeyInstances.instanceId);
    expect((await sealedValues(context)).api_keys.some((value) => value.startsWith(`v2.${newId}.`))).toBe(false);

    // The old instance stops reporting (it crashed): past the liveness window it no longer counts; the rotator reports on.
    context.clock.advance(masterKeyLivenessMs + 1);
    await rotator.services.masterKeyInstances.report();
    expect((await rotator.services.masterKeyInstances.liveInstances()).map((live) => live.instanceId)).toEqual([
      rotator.services.masterKeyInstances.instanceId,
    ]);
  });

  it('re-seals in batches while a second instance keeps reading; resumes after an interruption; a re-run changes nothing', async () => {
    const rotator = others.at(-1)!;
    const reader = await instance([newKey, oldKey]);
    await reader.services.masterKeyInstances.report();
    // Interrupted after its first batch of one value.
    const interrupted = rotator.services.masterKeyRotation.rotate(systemActor('cli'), {
      batchSize: 1,
      onBatch: () => {
        throw new Error('operator pressed Ctrl-C');
      },
    });
    await expect(interrupted).rejects.toThrow('Ctrl-C');
    const afterInterruption = Object.values(await sealedValues(context)).flat();
    expect(afterInterruption.filter((value) => value.startsWith(`v2.${newId}.`))).toHaveLength(1);

    let batches = 0;
    const summary = await rotator.services.masterKeyRotation.rotate(systemActor('cli'), {
      batchSize: 2,
      onBatch: async () => {
        batches += 1;
        expect(await readSecrets(reader, manifest, [newKey, oldKey])).toEqual(secretsBefore);
      },
    });
    const total = afterInterruption.length;
    expect(summary.keyId).toBe(newId);
    expect(summary.resealed).toBe(total - 1);
    expect(summary.remaining).toBe(0);
    expect(summary.liveInstances).toBe(2);
    expect(batches).toBeGreaterThan(5);
    for (const table of [
      'api_keys',
      'superapp_payment_configs',
      'payment_accounts',
      'merchant_api_keys',
      'platform_signing_keys',
      'settings',
    ]) {
      expect(summary.tables[table]?.resealed, table).toBeGreaterThan(0);
    }
    const after = await sealedValues(context);
    expect(
      Object.values(after)
        .flat()
        .every((value) => value.startsWith(`v2.${newId}.`)),
    ).toBe(true);

    const again = await rotator.services.masterKeyRotation.rotate(systemActor('cli'));
    expect(again.resealed).toBe(0);
    expect(again.remaining).toBe(0);
    expect(await sealedValues(context)).toEqual(after);
    const audit = await context.database.db
      .selectFrom('audit_log')
      .select(['actor_account', 'target_id'])
      .where('action', '=', 'master_key.rotate')
      .execute();
    expect(audit).toEqual([
      { actor_account: 'cli', target_id: newId },
      { actor_account: 'cli', target_id: newId },
    ]);
  });

  it('with the old key dropped every secret opens under the new key alone; the old key alone fails naming the new id', async () => {
    const renewed = await instance([newKey]);
    expect(await readSecrets(renewed, manifest, [newKey])).toEqual(secretsBefore);
    // The merchant private key still waiting for its download opens in its own context.
    const mpAdmin = await demoActor(renewed, manifest.miniProgramTeam.users.admin.account);
    const downloaded = await renewed.services.credentials.downloadPrivateKey(mpAdmin, manifest.miniPrograms.fresh.mnpId);
    expect(downloaded.privateKeyPem).toContain('PRIVATE KEY');
    await expect(instance([oldKey])).rejects.toThrow(new RegExp(`sealed under master key ${newId}`));
  });

  it('a server reports its keys as it starts and withdraws them as it stops', async () => {
    const serving = await instance([newKey]);
    others.splice(others.indexOf(serving), 1);
    const server = await startServer(serving.config, { context: serving });
    const instanceId = serving.services.masterKeyInstances.instanceId;
    const live = await context.services.masterKeyInstances.liveInstances();
    expect(live.find((entry) => entry.instanceId === instanceId)).toMatchObject({ keyIds: [newId], sealingKeyId: newId });
    await server.stop();
    expect((await context.services.masterKeyInstances.liveInstances()).map((entry) => entry.instanceId)).not.toContain(instanceId);
  });
});
