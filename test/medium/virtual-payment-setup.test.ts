import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/access.ts';
import { ApprovalType, EnablementStatus, ItemStatus, PaymentType } from '../../src/domain/approval-state.ts';
import { configGenerationRepository } from '../../src/repositories/config-generation.repository.ts';
import { paymentEnablementRepository } from '../../src/repositories/payment-enablement.repository.ts';
import { snapshotDatabase } from '../helpers/factories.ts';
import { approvePayment, bindTeam, createPaymentWorld, expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('virtual payment setup (SPEC §8.1)', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let other: PaymentWorld;
  beforeAll(async () => {
    context = await createTestContext(kind);
    other = await createPaymentWorld(context);
  });
  afterAll(() => context?.close());

  const services = () => context.services;
  const db = () => context.database.db;
  const approve = (approvalNo: string, actor: Actor = world.reviewer, applicationId = world.applicationId) =>
    services().virtualApprovals.decide(actor, { applicationId, approvalNo, approvalType: ApprovalType.Approve, approvalNote: '' });
  const reject = (approvalNo: string, note = 'not this one') =>
    services().virtualApprovals.decide(world.reviewer, {
      applicationId: world.applicationId,
      approvalNo,
      approvalType: ApprovalType.Reject,
      approvalNote: note,
    });
  /** A world whose mini program has virtual payment approved (and standard payment not). */
  const virtualWorld = async () => {
    world = await createPaymentWorld(context);
    await bindTeam(world);
    const { approvalNo } = await services().enablements.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'items', paymentType: 2 });
    await approve(approvalNo);
    return world;
  };
  const item = (productId: string, overrides: Record<string, unknown> = {}) => ({
    productId,
    name: `Item ${productId}`,
    price: 600,
    currency: 'CNY',
    remark: '',
    ...overrides,
  });
  const create = (productId: string, overrides: Record<string, unknown> = {}, actor: Actor = world.mpAdmin) =>
    services().virtualItems.create(actor, world.mnpId, item(productId, overrides));
  const sellable = (productId: string, mnpId = world.mnpId) => services().virtualPaymentDirectory.sellableItemOf(db(), mnpId, productId);

  describe('enablement per PaymentType', () => {
    it('PaymentType 2 is a record of its own: approval opens the virtual account, standard payment stays never applied', async () => {
      world = await createPaymentWorld(context);
      await bindTeam(world);
      expect(await services().virtualPaymentDirectory.accountOf(db(), world.mnpId)).toBeUndefined();
      // The virtual request is the MP administrator's (§8.1: request virtual payment †).
      await expectCode(
        services().enablements.request(world.as['mp:senior_developer'], { mnpId: world.mnpId, applyNote: 'x', paymentType: 2 }),
        'UnauthorizedOperation',
      );
      await expectCode(
        services().enablements.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'x', paymentType: 3 }),
        'InvalidParameterValue',
      );
      const { approvalNo } = await services().enablements.request(world.mpAdmin, {
        mnpId: world.mnpId,
        applyNote: 'items',
        paymentType: 2,
      });
      await expectCode(
        services().enablements.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'again', paymentType: 2 }),
        'FailedOperation.ExistPaymentOpenApply',
      );
      expect(await services().enablements.describe(world.mpAdmin, world.mnpId, 2)).toMatchObject({ approvalStatus: 0 });
      expect(await services().enablements.describe(world.mpAdmin, world.mnpId)).toMatchObject({ approvalStatus: -1, applyShow: 1 });
      // The standard decide action does not know a virtual ApprovalNo.
      await expectCode(
        services().enablements.decide(
          world.reviewer,
          { applicationId: world.applicationId, approvalNo, approvalType: 10, approvalNote: '' },
          PaymentType.Standard,
        ),
        'InvalidParameterValue.InvalidApprovalNo',
      );
      expect(await approve(approvalNo)).toMatchObject({ kind: 'virtual_payment_enable' });
      expect(await services().enablements.describe(world.mpAdmin, world.mnpId, 2)).toMatchObject({ approvalStatus: 10, approvalShow: 1 });
      expect(await services().enablements.describe(world.mpAdmin, world.mnpId, 1)).toMatchObject({ approvalStatus: -1 });
      expect(await services().credentials.findPaymentAccount(db(), world.mnpId)).toBeUndefined();
      const account = await services().virtualPaymentDirectory.accountOf(db(), world.mnpId);
      expect(account).toMatchObject({
        mnpId: world.mnpId,
        kind: 'miniprogram',
        mchid: world.merchants[0]!.merchantId,
        deliveryUrl: null,
        virtualPaymentEnabled: true,
        // No standard payment account is needed: the gate is the virtual account's own (its mchid, team, superapp).
        standard: expect.objectContaining({
          mchid: world.merchants[0]!.merchantId,
          applicationId: world.applicationId,
          enablementStatus: EnablementStatus.Approved,
          bindingEffective: true,
          apiV3Key: null,
        }),
      });
      expect(account!.offerId).toMatch(/^\d{10}$/);
      expect(account!.appKey).toMatch(/^[A-Za-z0-9]{32}$/);
      // Standard payment approved too: the virtual gate still reads the virtual record.
      await approvePayment(world);
      expect((await services().virtualPaymentDirectory.accountOf(db(), world.mnpId))!.standard).toMatchObject({
        enablementStatus: EnablementStatus.Approved,
      });
    });

    it('disabling the virtual record stops virtualPaymentEnabled; re-approval keeps the same account and AppKey', async () => {
      await virtualWorld();
      const before = (await services().virtualPaymentDirectory.accountOf(db(), world.mnpId))!;
      const list = await services().approvals.list(world.reviewer, { applicationId: world.applicationId, kind: 'virtual_payment_enable' });
      expect(list.total).toBe(1);
      expect(list.list[0]).toMatchObject({ kind: 'virtual_payment_enable', paymentType: 2, productId: null, approvalStatus: 10 });
      await services().enablements.disable(world.saAdmin, { applicationId: world.applicationId, id: list.list[0]!.id! });
      expect(await services().virtualPaymentDirectory.accountOf(db(), world.mnpId)).toMatchObject({ virtualPaymentEnabled: false });
      const { approvalNo } = await services().enablements.request(world.mpAdmin, {
        mnpId: world.mnpId,
        applyNote: 'again',
        paymentType: 2,
      });
      await approve(approvalNo);
      const after = (await services().virtualPaymentDirectory.accountOf(db(), world.mnpId))!;
      expect(after).toMatchObject({ virtualPaymentEnabled: true, offerId: before.offerId, appKey: before.appKey });
    });
    it('an approved merchant change re-points the virtual account; unbinding disables the virtual record too (SPEC §7)', async () => {
      await virtualWorld();
      await approvePayment(world);
      const { approvalNo } = await services().bindings.requestChange(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! });
      await services().bindings.decide(world.reviewer, {
        applicationId: world.applicationId,
        approvalNo,
        approvalType: 10,
        approvalNote: '',
      });
      const changed = (await services().virtualPaymentDirectory.accountOf(db(), world.mnpId))!;
      expect(changed.mchid).toBe(world.merchants[1]!.merchantId);
      expect(changed.standard?.mchid).toBe(world.merchants[1]!.merchantId);
      const binding = await services().bindings.queryTeamMerchant(world.mpAdmin, world.teamId);
      await services().bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id: binding.id });
      expect(await services().virtualPaymentDirectory.accountOf(db(), world.mnpId)).toMatchObject({ virtualPaymentEnabled: false });
      expect(await services().enablements.describe(world.mpAdmin, world.mnpId, 2)).toMatchObject({ approvalStatus: 30 });
      expect(await services().enablements.describe(world.mpAdmin, world.mnpId, 1)).toMatchObject({ approvalStatus: 30 });
    });
  });

  describe('AppKey', () => {
    it('is sealed at rest, shown only to MP admin and senior developer, and a reset revokes the old key at once', async () => {
      await virtualWorld();
      const shown = await services().virtualAccounts.viewAppKey(world.as['mp:senior_developer'], world.mnpId);
      expect(shown.appKey).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(shown.appKeyGeneration).toBe(1);
      const stored = await db()
        .selectFrom('virtual_payment_accounts')
        .selectAll()
        .where('mnp_id', '=', world.mnpId)
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(stored)).not.toContain(shown.appKey);
      const everything = JSON.stringify(await snapshotDatabase(db()));
      expect(everything).not.toContain(shown.appKey);

      for (const role of ['mp:developer', 'mp:operator'] as const) {
        await expectCode(services().virtualAccounts.viewAppKey(world.as[role], world.mnpId), 'UnauthorizedOperation');
        await expectCode(services().virtualAccounts.resetAppKey(world.as[role], world.mnpId), 'UnauthorizedOperation');
      }
      // Member admin has none of virtual payment: the setup does not exist for them.
      await expectCode(services().virtualAccounts.viewAppKey(world.as['mp:member_admin'], world.mnpId), 'ResourceNotFound');
      await expectCode(services().virtualAccounts.viewAppKey(world.superAdmin, world.mnpId), 'UnauthorizedOperation');
      // Another tenant's administrator: the mini program is as unknown as a made-up one.
      const outsider = other.mpAdmin;
      const unknown = await expectCode(services().virtualAccounts.viewAppKey(outsider, world.mnpId), 'ResourceNotFound');
      const madeUp = await expectCode(services().virtualAccounts.viewAppKey(outsider, 'mnp_made_up'), 'ResourceNotFound');
      expect(unknown.message).toBe(madeUp.message);

      const reset = await services().virtualAccounts.resetAppKey(world.mpAdmin, world.mnpId);
      expect(reset.appKey).not.toBe(shown.appKey);
      expect(reset.appKeyGeneration).toBe(2);
      expect((await services().virtualPaymentDirectory.accountOf(db(), world.mnpId))!.appKey).toBe(reset.appKey);
      expect((await services().virtualAccounts.viewAppKey(world.mpAdmin, world.mnpId)).appKey).toBe(reset.appKey);
      const afterReset = JSON.stringify(await snapshotDatabase(db()));
      expect(afterReset).not.toContain(shown.appKey);
      expect(afterReset).not.toContain(reset.appKey);
      const audit = await db().selectFrom('audit_log').select('action').where('target_id', '=', world.mnpId).execute();
      expect(audit.map((entry) => entry.action)).toEqual(
        expect.arrayContaining(['virtual_payment_account.create', 'virtual_app_key.view', 'virtual_app_key.reset']),
      );
    });

    it('a mini program never approved for virtual payment has no AppKey', async () => {
      world = await createPaymentWorld(context);
      await expectCode(services().virtualAccounts.viewAppKey(world.mpAdmin, world.mnpId), 'FailedOperation.PaymentRecordNotFound');
    });
  });

  describe('delivery URL', () => {
    it('follows the notify URL rules; every MP role but member admin sees it, admin and senior developer set it', async () => {
      await virtualWorld();
      const before = await snapshotDatabase(db());
      await expectCode(
        services().virtualDelivery.setDeliveryUrl(world.mpAdmin, world.mnpId, 'https://shop.example/deliver?x=1'),
        'InvalidParameterValue',
      );
      await expectCode(
        services().virtualDelivery.setDeliveryUrl(world.mpAdmin, world.mnpId, 'ftp://shop.example/'),
        'InvalidParameterValue',
      );
      await expectCode(services().virtualDelivery.setDeliveryUrl(world.mpAdmin, world.mnpId, 'not a url'), 'InvalidParameterValue');
      await expectCode(
        services().virtualDelivery.setDeliveryUrl(world.as['mp:developer'], world.mnpId, 'https://shop.example/deliver'),
        'UnauthorizedOperation',
      );
      await expectCode(
        services().virtualDelivery.setDeliveryUrl(other.mpAdmin, world.mnpId, 'https://shop.example/deliver'),
        'ResourceNotFound',
      );
      expect(await snapshotDatabase(db())).toEqual(before);

      const view = await services().virtualDelivery.setDeliveryUrl(
        world.as['mp:senior_developer'],
        world.mnpId,
        'https://shop.example/deliver',
      );
      expect(view).toMatchObject({ deliveryUrl: 'https://shop.example/deliver', account: { mchid: world.merchants[0]!.merchantId } });
      expect(JSON.stringify(view)).not.toMatch(/appKey"/);
      expect(await services().virtualDelivery.view(world.as['mp:operator'], world.mnpId)).toMatchObject({
        deliveryUrl: 'https://shop.example/deliver',
      });
      await expectCode(services().virtualDelivery.view(world.as['mp:member_admin'], world.mnpId), 'ResourceNotFound');
      expect(await services().virtualPaymentDirectory.accountOf(db(), world.mnpId)).toMatchObject({
        deliveryUrl: 'https://shop.example/deliver',
      });
      // The sandbox superapp with the sandbox on: plain http is allowed (SPEC §4.2).
      await services().virtualDelivery.setDeliveryUrl(world.mpAdmin, world.mnpId, 'http://127.0.0.1:9/deliver');
    });
  });

  describe('items', () => {
    it('PENDING → APPROVED sells; an edit opens a revision while the approved version keeps selling', async () => {
      await virtualWorld();
      const created = await create('gem_pack_60', { price: 600, itemUrl: 'https://cdn.example/gem.png' });
      expect(created).toMatchObject({ productId: 'gem_pack_60', status: ItemStatus.Pending, approved: null });
      expect(created.pending).toMatchObject({ price: 600, status: 0, exempt: false, itemUrl: 'https://cdn.example/gem.png' });
      expect(await sellable('gem_pack_60')).toBeUndefined();

      const { kind: decidedKind } = await approve(created.pending!.approvalNo);
      expect(decidedKind).toBe('virtual_item');
      expect(await sellable('gem_pack_60')).toEqual({ productId: 'gem_pack_60', name: 'Item gem_pack_60', price: 600, currency: 'CNY' });

      const edited = await services().virtualItems.edit(world.as['mp:senior_developer'], world.mnpId, 'gem_pack_60', { price: 800 });
      expect(edited).toMatchObject({ status: ItemStatus.Approved, approved: { price: 600 }, pending: { price: 800, status: 0 } });
      expect(await sellable('gem_pack_60')).toMatchObject({ price: 600 });
      // A second edit replaces the pending revision (the first is withdrawn, no longer decidable).
      const again = await services().virtualItems.edit(world.mpAdmin, world.mnpId, 'gem_pack_60', { price: 900, name: 'Gems' });
      await expectCode(approve(edited.pending!.approvalNo), 'FailedOperation.ApprovalAlreadyProcessed');
      expect(await sellable('gem_pack_60')).toMatchObject({ price: 600, name: 'Item gem_pack_60' });
      await approve(again.pending!.approvalNo);
      expect(await sellable('gem_pack_60')).toEqual({ productId: 'gem_pack_60', name: 'Gems', price: 900, currency: 'CNY' });
      await expectCode(approve(again.pending!.approvalNo), 'FailedOperation.ApprovalAlreadyProcessed');

      // A rejected revision leaves the approved version selling.
      const third = await services().virtualItems.edit(world.mpAdmin, world.mnpId, 'gem_pack_60', { price: 1000 });
      await reject(third.pending!.approvalNo);
      const afterReject = await services().virtualItems.get(world.mpAdmin, world.mnpId, 'gem_pack_60');
      expect(afterReject).toMatchObject({ status: ItemStatus.Approved, pending: null, latest: { status: 20, price: 1000 } });
      expect(await sellable('gem_pack_60')).toMatchObject({ price: 900 });
    });

    it('every transition the machine allows, and each one it refuses', async () => {
      await virtualWorld();
      const created = await create('skin_knight');
      // PENDING: neither offline nor resubmit.
      await expectCode(services().virtualItems.offline(world.mpAdmin, world.mnpId, 'skin_knight'), 'FailedOperation');
      await expectCode(services().virtualItems.resubmit(world.mpAdmin, world.mnpId, 'skin_knight'), 'FailedOperation');
      // PENDING → REJECTED (a note is required).
      await expectCode(reject(created.pending!.approvalNo, ''), 'InvalidParameterValue.ApprovalNoteRequired');
      await reject(created.pending!.approvalNo);
      expect(await services().virtualItems.get(world.mpAdmin, world.mnpId, 'skin_knight')).toMatchObject({ status: ItemStatus.Rejected });
      await expectCode(services().virtualItems.offline(world.mpAdmin, world.mnpId, 'skin_knight'), 'FailedOperation');
      await expectCode(reject(created.pending!.approvalNo), 'FailedOperation.ApprovalAlreadyProcessed');
      // REJECTED → PENDING → APPROVED.
      const resubmitted = await services().virtualItems.resubmit(world.mpAdmin, world.mnpId, 'skin_knight');
      expect(resubmitted).toMatchObject({ status: ItemStatus.Pending, pending: { status: 0 } });
      await approve(resubmitted.pending!.approvalNo);
      expect(await sellable('skin_knight')).toBeDefined();
      await expectCode(services().virtualItems.resubmit(world.mpAdmin, world.mnpId, 'skin_knight'), 'FailedOperation');
      // APPROVED → OFFLINE: it stops selling, and a pending revision goes with it.
      const revision = await services().virtualItems.edit(world.mpAdmin, world.mnpId, 'skin_knight', { price: 700 });
      const offline = await services().virtualItems.offline(world.mpAdmin, world.mnpId, 'skin_knight');
      expect(offline).toMatchObject({ status: ItemStatus.Offline, pending: null });
      expect(await sellable('skin_knight')).toBeUndefined();
      await expectCode(approve(revision.pending!.approvalNo), 'FailedOperation.ApprovalAlreadyProcessed');
      await expectCode(services().virtualItems.offline(world.mpAdmin, world.mnpId, 'skin_knight'), 'FailedOperation');
      // OFFLINE → PENDING (the approved version resubmitted) → APPROVED sells again.
      const back = await services().virtualItems.resubmit(world.mpAdmin, world.mnpId, 'skin_knight');
      expect(back).toMatchObject({ status: ItemStatus.Pending, pending: { price: 600 } });
      expect(await sellable('skin_knight')).toBeUndefined();
      await approve(back.pending!.approvalNo);
      expect(await sellable('skin_knight')).toMatchObject({ price: 600 });
      // An edit of an OFFLINE item resubmits it with the changes.
      await services().virtualItems.offline(world.mpAdmin, world.mnpId, 'skin_knight');
      const editedOffline = await services().virtualItems.edit(world.mpAdmin, world.mnpId, 'skin_knight', { price: 650 });
      expect(editedOffline).toMatchObject({ status: ItemStatus.Pending, pending: { price: 650 } });

      const audit = await db()
        .selectFrom('audit_log')
        .select('action')
        .where('target_id', '=', `${world.mnpId}/skin_knight`)
        .orderBy('id')
        .execute();
      expect(audit.map((entry) => entry.action)).toEqual(
        expect.arrayContaining([
          'virtual_item.create',
          'virtual_item.reject',
          'virtual_item.resubmit',
          'virtual_item.approve',
          'virtual_item.offline',
        ]),
      );
    });

    it('two concurrent decisions on one revision: one wins, the other is ApprovalAlreadyProcessed', async () => {
      await virtualWorld();
      const created = await create('race');
      const results = await Promise.allSettled([approve(created.pending!.approvalNo), reject(created.pending!.approvalNo)]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const failure = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(failure.reason.code).toBe('FailedOperation.ApprovalAlreadyProcessed');
      const after = await services().virtualItems.get(world.mpAdmin, world.mnpId, 'race');
      expect([ItemStatus.Approved, ItemStatus.Rejected]).toContain(after.status);
      expect(after.latest.status).toBe(after.status === ItemStatus.Approved ? 10 : 20);
    });

    it('refuses bad input with the SPEC codes and changes nothing', async () => {
      await virtualWorld();
      await create('taken');
      const before = await snapshotDatabase(db());
      const cases: [Record<string, unknown>, string, Parameters<typeof expectCode>[1]][] = [
        [{}, 'bad id!', 'InvalidParameterValue.InvalidProductId'],
        [{}, '', 'InvalidParameterValue.InvalidProductId'],
        [{}, 'x'.repeat(65), 'InvalidParameterValue.InvalidProductId'],
        [{ price: 0 }, 'p1', 'InvalidParameterValue.InvalidItemPrice'],
        [{ price: -5 }, 'p1', 'InvalidParameterValue.InvalidItemPrice'],
        [{ price: 1.5 }, 'p1', 'InvalidParameterValue.InvalidItemPrice'],
        [{ price: 1_000_000_001 }, 'p1', 'InvalidParameterValue.InvalidItemPrice'],
        [{ name: '' }, 'p1', 'InvalidParameterValue'],
        [{ name: 'n'.repeat(1025) }, 'p1', 'InvalidParameterValue'],
        [{ currency: 'JPY' }, 'p1', 'InvalidParameterValue'],
        [{ remark: 'r'.repeat(1025) }, 'p1', 'InvalidParameterValue'],
        [{ itemUrl: 'https://cdn.example/a.gif' }, 'p1', 'InvalidParameterValue'],
        [{ itemUrl: 'javascript:alert(1).png' }, 'p1', 'InvalidParameterValue'],
        [{}, 'taken', 'FailedOperation.VirtualItemExists'],
      ];
      for (const [overrides, productId, code] of cases) await expectCode(create(productId, overrides), code);
      await expectCode(
        services().virtualItems.edit(world.mpAdmin, world.mnpId, 'taken', { price: 0 }),
        'InvalidParameterValue.InvalidItemPrice',
      );
      await expectCode(services().virtualItems.create(world.as['mp:developer'], world.mnpId, item('p2')), 'UnauthorizedOperation');
      await expectCode(services().virtualItems.create(world.as['mp:member_admin'], world.mnpId, item('p2')), 'ResourceNotFound');
      expect(await snapshotDatabase(db())).toEqual(before);
      // The limits themselves are accepted.
      await create('A-z_0'.padEnd(64, '9'), { price: 1_000_000_000, name: 'n'.repeat(1024), remark: 'r'.repeat(1024), currency: 'USD' });
      await create('p1', { price: 1, itemUrl: 'https://cdn.example/a.JPG' });
    });

    it("another tenant's ids answer like made-up ones", async () => {
      await virtualWorld();
      const created = await create('mine');
      const notFound = await expectCode(services().virtualItems.get(other.mpAdmin, world.mnpId, 'mine'), 'ResourceNotFound');
      const madeUp = await expectCode(services().virtualItems.get(other.mpAdmin, 'mnp_made_up', 'mine'), 'ResourceNotFound');
      expect(notFound.message).toBe(madeUp.message);
      await expectCode(services().virtualItems.list(other.mpAdmin, world.mnpId), 'ResourceNotFound');
      await expectCode(services().virtualItems.edit(other.mpAdmin, world.mnpId, 'mine', { price: 1 }), 'ResourceNotFound');
      await expectCode(services().virtualItems.get(world.mpAdmin, world.mnpId, 'nope'), 'ResourceNotFound');
      // The other superapp's reviewer: the ApprovalNo does not exist for them.
      await expectCode(
        approve(created.pending!.approvalNo, other.reviewer, other.applicationId),
        'InvalidParameterValue.InvalidApprovalNo',
      );
      expect(await sellable('mine', other.mnpId)).toBeUndefined();
      // Every superapp role sees items (read), and may not edit them.
      expect(await services().virtualItems.list(world.as['sa:operator'], world.mnpId)).toHaveLength(1);
      await expectCode(services().virtualItems.create(world.as['sa:administrator'], world.mnpId, item('sa')), 'UnauthorizedOperation');
    });

    it('every virtual payment configuration change raises the configuration generation (every instance sees it)', async () => {
      await virtualWorld();
      const changes: [string, () => Promise<unknown>][] = [
        ['virtual_items', () => create('gen')],
        ['virtual_payment_accounts', () => services().virtualAccounts.resetAppKey(world.mpAdmin, world.mnpId)],
        ['virtual_delivery_configs', () => services().virtualDelivery.setDeliveryUrl(world.mpAdmin, world.mnpId, 'https://gen.example/d')],
        ['virtual_item_exemptions', () => services().itemExemptions.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'gen' })],
        ['mini_programs', () => services().miniPrograms.update(world.mpAdmin, world.mnpId, { kind: 'minigame' })],
      ];
      for (const [table, change] of changes) {
        const before = await configGenerationRepository.current(db());
        await change();
        expect(await configGenerationRepository.current(db()), table).toBeGreaterThan(before);
      }
      expect(await services().virtualPaymentDirectory.accountOf(db(), world.mnpId)).toMatchObject({ kind: 'minigame' });
    });

    it('the schema itself allows one pending and one approved enablement per (mini program, PaymentType)', async () => {
      await virtualWorld();
      const row = {
        superapp_id: world.applicationId,
        team_id: world.teamId,
        mnp_id: world.mnpId,
        merchant_id: 'm',
        merchant_name: 'm',
        apply_note: '',
        requested_by: null,
        requested_at: 1,
        decided_by: null,
        decided_at: null,
        approval_note: '',
        disabled_by: null,
        disabled_at: null,
      };
      // Virtual is approved already: a second approved virtual row is refused, a standard one is not.
      await expect(
        paymentEnablementRepository.insert(db(), { ...row, approval_no: 'apr_x1', status: 10, payment_type: 2 }),
      ).rejects.toThrow();
      // Written as rows were before 0027 (no payment_type): standard by default.
      await paymentEnablementRepository.insert(db(), { ...row, approval_no: 'apr_x2', status: 10 });
      await paymentEnablementRepository.insert(db(), { ...row, approval_no: 'apr_x3', status: 0, payment_type: 2 });
      await expect(
        paymentEnablementRepository.insert(db(), { ...row, approval_no: 'apr_x4', status: 0, payment_type: 2 }),
      ).rejects.toThrow();
      const standard = await paymentEnablementRepository.findLatestByMnp(db(), world.mnpId, PaymentType.Standard);
      expect(standard?.approval_no).toBe('apr_x2');
    });
  });

  describe('approval exemption', () => {
    it('PENDING → APPROVED: saved items are APPROVED at once, audited exempt; APPROVED → REVOKED: approval again', async () => {
      await virtualWorld();
      const exemptions = services().itemExemptions;
      expect(await exemptions.describe(world.as['mp:developer'], world.mnpId)).toMatchObject({ status: -1, applyShow: 1 });
      await expectCode(exemptions.request(world.as['mp:developer'], { mnpId: world.mnpId, applyNote: 'x' }), 'UnauthorizedOperation');
      const { approvalNo } = await exemptions.request(world.as['mp:senior_developer'], { mnpId: world.mnpId, applyNote: 'trusted' });
      await expectCode(
        exemptions.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'again' }),
        'FailedOperation.ExistPaymentOpenApply',
      );
      await expectCode(
        exemptions.revoke(world.saAdmin, { applicationId: world.applicationId, mnpId: world.mnpId }),
        'FailedOperation.ApprovalAlreadyProcessed',
      );
      // Pending: items still wait.
      expect(await create('before')).toMatchObject({ status: ItemStatus.Pending });
      await expectCode(approve(approvalNo, world.as['sa:developer']), 'UnauthorizedOperation');
      expect(await approve(approvalNo)).toMatchObject({ kind: 'item_exemption' });
      await expectCode(approve(approvalNo), 'FailedOperation.ApprovalAlreadyProcessed');
      expect(await exemptions.describe(world.mpAdmin, world.mnpId)).toMatchObject({ status: 10, applyShow: 0 });
      await expectCode(exemptions.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'again' }), 'FailedOperation');

      const exempt = await create('instant', { price: 300 });
      expect(exempt).toMatchObject({ status: ItemStatus.Approved, pending: null, latest: { exempt: true, status: 10 } });
      expect(await sellable('instant')).toMatchObject({ price: 300 });
      const edited = await services().virtualItems.edit(world.mpAdmin, world.mnpId, 'instant', { price: 350 });
      expect(edited).toMatchObject({ status: ItemStatus.Approved, approved: { price: 350 }, pending: null });
      const audit = await db()
        .selectFrom('audit_log')
        .select(['action', 'after_json'])
        .where('target_id', '=', `${world.mnpId}/instant`)
        .execute();
      expect(audit.filter((entry) => entry.action === 'virtual_item.exempt')).toHaveLength(2);

      await expectCode(exemptions.revoke(other.saAdmin, { applicationId: other.applicationId, mnpId: world.mnpId }), 'ResourceNotFound');
      await exemptions.revoke(world.reviewer, { applicationId: world.applicationId, mnpId: world.mnpId });
      expect(await exemptions.describe(world.mpAdmin, world.mnpId)).toMatchObject({ status: 30, applyShow: 1 });
      expect(await create('after')).toMatchObject({ status: ItemStatus.Pending });
      // REVOKED → a new request; a rejection needs a note and leaves items waiting.
      const second = await exemptions.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'please' });
      await reject(second.approvalNo);
      expect(await exemptions.describe(world.mpAdmin, world.mnpId)).toMatchObject({ status: 20, applyShow: 1 });
      expect(await create('rejected-time')).toMatchObject({ status: ItemStatus.Pending });
    });
  });

  describe('approvals list', () => {
    it('shows virtual enablement, item and exemption requests with PaymentType and ProductId', async () => {
      await virtualWorld();
      const created = await create('listed');
      await services().itemExemptions.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'trusted' });
      const list = await services().approvals.list(world.as['sa:operator'], { applicationId: world.applicationId });
      const kinds = list.list.map((entry) => entry.kind).sort();
      expect(kinds).toEqual(['item_exemption', 'merchant_binding', 'virtual_item', 'virtual_payment_enable']);
      expect(list.list.find((entry) => entry.kind === 'virtual_item')).toMatchObject({
        approvalNo: created.pending!.approvalNo,
        productId: 'listed',
        paymentType: 2,
        mnpId: world.mnpId,
        approvalStatus: 0,
        id: null,
      });
      expect(list.list.find((entry) => entry.kind === 'merchant_binding')).toMatchObject({ paymentType: null, productId: null });
      const items = await services().approvals.list(world.reviewer, { applicationId: world.applicationId, kind: 'virtual_item' });
      expect(items.total).toBe(1);
      // The console's decide dispatches by ApprovalNo.
      expect(
        await services().approvals.decide(world.reviewer, {
          applicationId: world.applicationId,
          approvalNo: created.pending!.approvalNo,
          approvalType: 10,
        }),
      ).toMatchObject({ kind: 'virtual_item' });
      const decided = await services().approvals.list(world.reviewer, { applicationId: world.applicationId, kind: 'virtual_item' });
      expect(decided.list[0]).toMatchObject({ approvalStatus: 10, id: expect.any(Number) });
    });
  });
});
