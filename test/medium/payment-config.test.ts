import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import { actorOf } from '../helpers/factories.ts';
import { bindTeam, createPaymentWorld, expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('superapp payment configuration and merchant list', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  beforeAll(async () => {
    context = await createTestContext(kind);
    world = await createPaymentWorld(context, { merchants: 0 });
  });
  afterAll(() => context?.close());

  it('defaults to payment off, CNY, no channel; the SA Administrator changes it, audited before/after', async () => {
    const { paymentConfig, superapps } = context.services;
    const fresh = await superapps.create(world.superAdmin, {
      teamId: world.tenant.superappTeamId,
      name: 'Second superapp',
      description: '',
    });
    expect(await paymentConfig.get(world.saAdmin, fresh.applicationId)).toMatchObject({
      applicationId: fresh.applicationId,
      paymentEnabled: false,
      currencies: ['CNY'],
      channelKind: null,
      sandboxAvailable: true,
      selectableChannelKinds: ['sandbox', 'http', 'host_reported'],
      updatedAt: null,
    });
    const updated = await paymentConfig.update(world.saAdmin, fresh.applicationId, {
      paymentEnabled: true,
      currencies: ['usd', 'JPY', 'KWD'],
      channel: { kind: 'sandbox' },
    });
    expect(updated).toMatchObject({
      paymentEnabled: true,
      currencies: ['USD', 'JPY', 'KWD'],
      channelKind: 'sandbox',
      updatedAt: context.clock.nowMs(),
    });
    expect(await paymentConfig.get(world.superAdmin, fresh.applicationId)).toEqual(updated);
    const audit = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'payment_config.update')
      .where('target_id', '=', fresh.applicationId)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.before_json!)).toMatchObject({ paymentEnabled: false, currencies: ['CNY'], channelKind: null });
    expect(JSON.parse(audit.after_json!)).toMatchObject({
      paymentEnabled: true,
      currencies: ['USD', 'JPY', 'KWD'],
      channelKind: 'sandbox',
    });
    expect(audit.team_id).toBe(world.tenant.superappTeamId);
  });

  it('currencies must be supported ISO 4217 codes, at least one, no repeats', async () => {
    const { paymentConfig } = context.services;
    for (const currencies of [[], ['XXX'], ['CNY', 'cny'], ['RMB']]) {
      const error = await expectCode(paymentConfig.update(world.saAdmin, world.applicationId, { currencies }), 'InvalidParameterValue');
      expect(error.details?.field).toBe('currencies');
    }
    expect((await paymentConfig.get(world.saAdmin, world.applicationId)).currencies).toEqual(['CNY', 'USD']);
    expect(paymentConfig.listCurrencies().find((c) => c.code === 'KWD')?.exponent).toBe(3);
  });

  it('the HTTP and host-reported channels take an https URL (and a long enough secret); anything else is refused', async () => {
    const { paymentConfig } = context.services;
    const fresh = await context.services.superapps.create(world.superAdmin, {
      teamId: world.tenant.superappTeamId,
      name: 'Channel kinds',
      description: '',
    });
    const id = fresh.applicationId;
    for (const channel of [
      { kind: 'http' as const, baseUrl: 'http://pay.example.com' },
      { kind: 'http' as const, baseUrl: 'not a url' },
      { kind: 'http' as const, baseUrl: 'https://pay.example.com', secret: 'short' },
      { kind: 'host_reported' as const, webhookUrl: 'https://user:pw@pay.example.com/hook' },
    ]) {
      await expectCode(paymentConfig.update(world.saAdmin, id, { channel }), 'InvalidParameterValue');
    }
    const http = await paymentConfig.update(world.saAdmin, id, {
      channel: { kind: 'http', baseUrl: 'https://pay.example.com', secret: 'k'.repeat(32) },
    });
    expect(http).toMatchObject({ channelKind: 'http', channelSettings: { baseUrl: 'https://pay.example.com' }, channelSecretSet: true });
    // Switching kinds drops the HTTP channel key: the host key is issued separately (shown once).
    const host = await paymentConfig.update(world.saAdmin, id, {
      channel: { kind: 'host_reported', webhookUrl: 'https://pay.example.com/hook' },
    });
    expect(host).toMatchObject({
      channelKind: 'host_reported',
      channelSettings: { webhookUrl: 'https://pay.example.com/hook' },
      channelSecretSet: false,
    });
  });

  it('roles: SA Administrator changes; admins read; other superapp roles may not; mini program roles do not see it', async () => {
    const { paymentConfig } = context.services;
    for (const actor of [world.superAdmin, world.platformAdmin]) {
      expect((await paymentConfig.get(actor, world.applicationId)).paymentEnabled).toBe(true);
      await expectCode(paymentConfig.update(actor, world.applicationId, { paymentEnabled: false }), 'UnauthorizedOperation');
    }
    for (const role of ['sa:senior_developer', 'sa:developer', 'sa:operator', 'sa:reviewer', 'sa:member_admin'] as const) {
      await expectCode(paymentConfig.get(world.as[role], world.applicationId), 'UnauthorizedOperation');
      await expectCode(paymentConfig.update(world.as[role], world.applicationId, { paymentEnabled: false }), 'UnauthorizedOperation');
    }
    await expectCode(paymentConfig.get(world.mpAdmin, world.applicationId), 'ResourceNotFound');
    expect((await paymentConfig.get(world.saAdmin, world.applicationId)).paymentEnabled).toBe(true);
  });

  it('merchants: add and edit (ID and name unique per superapp), search by ID or name, case-insensitively', async () => {
    const { merchants } = context.services;
    const a = await merchants.create(world.saAdmin, world.applicationId, { merchantId: '1900000001', merchantName: 'Blue Bottle Coffee' });
    const b = await merchants.create(world.as['sa:senior_developer'], world.applicationId, {
      merchantId: '1900000002',
      merchantName: 'Green_Tea 100%',
    });
    expect(a).toMatchObject({
      applicationId: world.applicationId,
      merchantId: '1900000001',
      merchantName: 'Blue Bottle Coffee',
      boundTeamId: null,
    });
    await expectCode(
      merchants.create(world.saAdmin, world.applicationId, { merchantId: '1900000001', merchantName: 'Other' }),
      'ResourceInUse',
    );
    await expectCode(
      merchants.create(world.saAdmin, world.applicationId, { merchantId: '1900000003', merchantName: 'Blue Bottle Coffee' }),
      'ResourceInUse',
    );
    await expectCode(
      merchants.create(world.saAdmin, world.applicationId, { merchantId: 'has space', merchantName: 'x' }),
      'InvalidParameterValue',
    );
    // Another superapp may list the same merchant ID.
    const otherWorld = await createPaymentWorld(context, { merchants: 0 });
    await merchants.create(otherWorld.saAdmin, otherWorld.applicationId, { merchantId: '1900000001', merchantName: 'Blue Bottle Coffee' });

    expect(
      (await merchants.search(world.as['sa:operator'], world.applicationId, { search: 'bottle', offset: 0, limit: 20 })).items.map(
        (m) => m.id,
      ),
    ).toEqual([a.id]);
    expect(
      (await merchants.search(world.reviewer, world.applicationId, { search: '0002', offset: 0, limit: 20 })).items.map((m) => m.id),
    ).toEqual([b.id]);
    expect(
      (await merchants.search(world.reviewer, world.applicationId, { search: '_tea 100%', offset: 0, limit: 20 })).items.map((m) => m.id),
    ).toEqual([b.id]);
    expect(
      (await merchants.search(world.reviewer, world.applicationId, { search: '%', offset: 0, limit: 20 })).items.map((m) => m.id),
    ).toEqual([b.id]);
    const page = await merchants.search(world.reviewer, world.applicationId, { offset: 1, limit: 1 });
    expect(page).toMatchObject({ total: 2, items: [{ id: b.id }] });

    const edited = await merchants.update(world.as['sa:senior_developer'], world.applicationId, a.id, { merchantName: 'Blue Bottle' });
    expect(edited.merchantName).toBe('Blue Bottle');
    await expectCode(merchants.update(world.saAdmin, world.applicationId, a.id, { merchantId: '1900000002' }), 'ResourceInUse');
    await expectCode(merchants.update(world.saAdmin, otherWorld.applicationId, a.id, { merchantName: 'x' }), 'ResourceNotFound');
    const audit = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'merchant.update')
      .where('target_id', '=', String(a.id))
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.before_json!)).toEqual({ merchantId: '1900000001', merchantName: 'Blue Bottle Coffee' });
    expect(JSON.parse(audit.after_json!)).toEqual({ merchantId: '1900000001', merchantName: 'Blue Bottle' });
  });

  it('a merchant that is requested or bound cannot be edited; the list shows which team holds it', async () => {
    const { merchants } = context.services;
    const m = await merchants.create(world.saAdmin, world.applicationId, { merchantId: '1900000009', merchantName: 'Bound merchant' });
    await bindTeam(world, { merchantId: m.merchantId, merchantName: m.merchantName });
    await expectCode(merchants.update(world.saAdmin, world.applicationId, m.id, { merchantName: 'Renamed' }), 'ResourceInUse');
    const found = await merchants.search(world.saAdmin, world.applicationId, { search: '1900000009', offset: 0, limit: 20 });
    expect(found.items[0]).toMatchObject({ id: m.id, boundTeamId: world.teamId });
  });

  it('merchant roles: add/edit for SA Administrator and Senior developer; view for every superapp role and admins', async () => {
    const { merchants } = context.services;
    for (const role of ['sa:developer', 'sa:operator', 'sa:reviewer', 'sa:member_admin'] as const) {
      await expectCode(
        merchants.create(world.as[role], world.applicationId, { merchantId: `x-${role.length}`, merchantName: role }),
        'UnauthorizedOperation',
      );
    }
    for (const role of ['sa:developer', 'sa:operator', 'sa:reviewer'] as const) {
      expect((await merchants.search(world.as[role], world.applicationId, { offset: 0, limit: 5 })).total).toBeGreaterThan(0);
    }
    // Member admin manages members and nothing else (SPEC §7): it sees the superapp, not its merchants.
    await expectCode(merchants.search(world.as['sa:member_admin'], world.applicationId, { offset: 0, limit: 5 }), 'UnauthorizedOperation');
    await expectCode(
      merchants.create(world.platformAdmin, world.applicationId, { merchantId: 'x-admin', merchantName: 'admin' }),
      'UnauthorizedOperation',
    );
    expect((await merchants.search(world.platformAdmin, world.applicationId, { offset: 0, limit: 5 })).total).toBeGreaterThan(0);
    await expectCode(merchants.search(world.mpAdmin, world.applicationId, { offset: 0, limit: 5 }), 'ResourceNotFound');
  });
});

describeOnEachDatabase('payment configuration with the sandbox switched off', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind, { config: { sandboxEnabled: false } });
  });
  afterAll(() => context?.close());

  it('a superapp cannot choose the sandbox channel', async () => {
    const world = await createPaymentWorld(context, { merchants: 0 }).catch((error: unknown) => error);
    // The world helper itself chooses the sandbox, so building it fails exactly there.
    expect((world as { code?: string }).code).toBe('InvalidParameterValue');
    const superapp = (await context.services.superapps.list(systemActor()))[0]!;
    const { paymentConfig } = context.services;
    const admin = await context.database.db
      .selectFrom('team_members')
      .select('user_id')
      .where('team_id', '=', superapp.teamId)
      .where('role', '=', 'administrator')
      .executeTakeFirstOrThrow();
    const saAdmin = await actorOf(context, { id: admin.user_id });
    const error = await expectCode(
      paymentConfig.update(saAdmin, superapp.applicationId, { channel: { kind: 'sandbox' } }),
      'InvalidParameterValue',
    );
    expect(error.message).toMatch(/sandbox/);
    expect(await paymentConfig.get(saAdmin, superapp.applicationId)).toMatchObject({
      sandboxAvailable: false,
      selectableChannelKinds: ['http', 'host_reported'],
      channelKind: null,
    });
  });
});
