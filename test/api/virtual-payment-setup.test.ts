import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { snapshotDatabase } from '../helpers/factories.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/** SPEC §8.1 through the console API (session) and the management API (TC3, the cloud SDK's CommonClient). */
describeOnEachDatabase('virtual payment setup: console and management API', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let baseUrl: string;
  let call: (user: { secretId: string; secretKey: string }, action: string, params?: Record<string, unknown>) => Promise<any>;
  const clients = {} as Record<'mpAdmin' | 'senior' | 'developer' | 'memberAdmin' | 'reviewer' | 'saDeveloper' | 'unbound', ConsoleClient>;

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    manifest = await context.services.demoWorld.ensure();
    call = (user, action, params = {}) =>
      callAction(managementClient(baseUrl, user), action, { PlatformId: manifest.platformId, ...params });
    const signIn = (user: { account: string; password: string }) => ConsoleClient.signIn(context.app, user.account, user.password);
    const team = manifest.miniProgramTeam.users;
    Object.assign(clients, {
      mpAdmin: await signIn(team.admin),
      senior: await signIn(team.seniorDeveloper),
      developer: await signIn(team.developer),
      memberAdmin: await signIn(team.memberAdmin),
      reviewer: await signIn(manifest.superapp.users.reviewer),
      saDeveloper: await signIn(manifest.superapp.users.developer),
      unbound: await signIn(manifest.unboundTeam.users.admin),
    });
  });
  afterAll(() => context?.close());

  const mnpId = () => manifest.miniPrograms.fresh.mnpId;
  const applicationId = () => manifest.superapp.applicationId;
  const decide = (approvalNo: string, approvalType = 10, approvalNote = '') =>
    clients.reviewer.post(`/superapps/${applicationId()}/approvals/decide`, { approvalNo, approvalType, approvalNote });

  it('console: request, approve, AppKey, delivery URL, items and exemption, with the console error shape', async () => {
    const base = `/mini-programs/${mnpId()}`;
    expect((await clients.mpAdmin.get(`${base}/virtual-payment`)).body).toMatchObject({ approvalStatus: -1, applyShow: 1 });
    expect((await clients.senior.post(`${base}/virtual-payment/requests`, { applyNote: 'items' })).statusCode).toBe(403);
    const requested = await clients.mpAdmin.post(`${base}/virtual-payment/requests`, { applyNote: 'we sell gems' });
    expect(requested.statusCode).toBe(201);
    const enabled = await decide(requested.body.approvalNo);
    expect(enabled.statusCode, JSON.stringify(enabled.body)).toBe(200);
    expect(enabled.body).toEqual({ kind: 'virtual_payment_enable', id: expect.any(Number) });
    expect((await clients.developer.get(`${base}/virtual-payment`)).body).toMatchObject({ approvalStatus: 10 });
    // The standard payment of the same mini program is a record of its own.
    expect((await clients.mpAdmin.get(`${base}/payment`)).body).toMatchObject({ approvalStatus: -1 });

    // Basic configuration: the developer sees it (never the key); the AppKey is the admin's and senior developer's.
    const config = await clients.developer.get(`${base}/virtual-payment/config`);
    expect(config.statusCode).toBe(200);
    expect(config.body).toMatchObject({ kind: 'miniprogram', deliveryUrl: null, account: { appKeyGeneration: 1 } });
    expect(JSON.stringify(config.body)).not.toContain('appKey"');
    expect((await clients.developer.get(`${base}/virtual-payment/app-key`)).statusCode).toBe(403);
    expect((await clients.memberAdmin.get(`${base}/virtual-payment/config`)).statusCode).toBe(404);
    expect((await clients.unbound.get(`${base}/virtual-payment/app-key`)).statusCode).toBe(404);
    const key = await clients.senior.get(`${base}/virtual-payment/app-key`);
    expect(key.body.appKey).toMatch(/^[A-Za-z0-9]{32}$/);
    const reset = await clients.mpAdmin.post(`${base}/virtual-payment/app-key/reset`);
    expect(reset.statusCode).toBe(200);
    expect(reset.body).toMatchObject({ appKeyGeneration: 2, offerId: key.body.offerId });
    expect(reset.body.appKey).not.toBe(key.body.appKey);
    const directory = await context.services.virtualPaymentDirectory.accountOf(context.database.db, mnpId());
    expect(directory?.appKey).toBe(reset.body.appKey);

    const badUrl = await clients.mpAdmin.request('PUT', `${base}/virtual-payment/delivery-url`, { deliveryUrl: 'https://x.example/d?q=1' });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.body.error.code).toBe('InvalidParameterValue');
    const url = await clients.senior.request('PUT', `${base}/virtual-payment/delivery-url`, {
      deliveryUrl: 'https://shop.example/deliver',
    });
    expect(url.statusCode).toBe(200);
    expect(url.body.deliveryUrl).toBe('https://shop.example/deliver');
    expect(
      (await clients.developer.request('PUT', `${base}/virtual-payment/delivery-url`, { deliveryUrl: 'https://a.example/' })).statusCode,
    ).toBe(403);

    // Items: the SPEC's codes, nothing written by a refused request.
    const before = await snapshotDatabase(context.database.db);
    const refusals: [Record<string, unknown>, number, string][] = [
      [{ productId: 'bad id', name: 'Gems', price: 600 }, 400, 'InvalidParameterValue.InvalidProductId'],
      [{ productId: 'gem_pack_60', name: 'Gems', price: 0 }, 400, 'InvalidParameterValue.InvalidItemPrice'],
      [{ productId: 'gem_pack_60', name: 'Gems', price: 1_000_000_001 }, 400, 'InvalidParameterValue.InvalidItemPrice'],
      [{ productId: 'gem_pack_60', name: 'Gems', price: '600' }, 400, 'InvalidParameterValue'],
      [{ productId: 'gem_pack_60', name: '', price: 600 }, 400, 'InvalidParameterValue'],
      [{ productId: 'gem_pack_60', name: 'Gems', price: 600, itemUrl: 'https://cdn.example/g.gif' }, 400, 'InvalidParameterValue'],
    ];
    for (const [body, status, code] of refusals) {
      const response = await clients.mpAdmin.post(`${base}/virtual-items`, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(status);
      expect(response.body.error.code, JSON.stringify(body)).toBe(code);
    }
    expect((await clients.developer.post(`${base}/virtual-items`, { productId: 'gem_pack_60', name: 'Gems', price: 600 })).statusCode).toBe(
      403,
    );
    expect(await snapshotDatabase(context.database.db)).toEqual(before);

    const created = await clients.mpAdmin.post(`${base}/virtual-items`, { productId: 'gem_pack_60', name: 'Gems', price: 600 });
    expect(created.statusCode).toBe(201);
    expect(created.body).toMatchObject({ productId: 'gem_pack_60', status: 0, approved: null, pending: { currency: 'CNY', price: 600 } });
    const duplicate = await clients.senior.post(`${base}/virtual-items`, { productId: 'gem_pack_60', name: 'Gems', price: 600 });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.body.error.code).toBe('FailedOperation.VirtualItemExists');
    expect((await decide(created.body.pending.approvalNo)).body).toMatchObject({ kind: 'virtual_item' });
    const edited = await clients.senior.patch(`${base}/virtual-items/gem_pack_60`, { price: 800 });
    expect(edited.body).toMatchObject({ status: 10, approved: { price: 600 }, pending: { price: 800 } });
    expect(await context.services.virtualPaymentDirectory.sellableItemOf(context.database.db, mnpId(), 'gem_pack_60')).toMatchObject({
      price: 600,
    });
    // Every superapp role sees items; the developer of the mini program too, read-only.
    const seen = await clients.saDeveloper.get(`${base}/virtual-items`);
    expect(seen.statusCode).toBe(200);
    expect(seen.body.items.map((item: { productId: string }) => item.productId)).toEqual(['gem_pack_60']);
    expect((await clients.developer.get(`${base}/virtual-items/gem_pack_60`)).body.pending.price).toBe(800);
    expect((await clients.developer.patch(`${base}/virtual-items/gem_pack_60`, { price: 1 })).statusCode).toBe(403);
    expect((await clients.unbound.get(`${base}/virtual-items/gem_pack_60`)).statusCode).toBe(404);
    expect((await clients.mpAdmin.get(`${base}/virtual-items/no_such_item`)).statusCode).toBe(404);

    const offline = await clients.mpAdmin.post(`${base}/virtual-items/gem_pack_60/offline`);
    expect(offline.body).toMatchObject({ status: 30, pending: null });
    expect((await clients.mpAdmin.post(`${base}/virtual-items/gem_pack_60/offline`)).statusCode).toBe(409);
    const resubmitted = await clients.mpAdmin.post(`${base}/virtual-items/gem_pack_60/resubmit`);
    expect(resubmitted.body).toMatchObject({ status: 0, pending: { price: 600 } });

    // Exemption: requested by the senior developer, approved on the Approvals page, revoked by the superapp.
    expect((await clients.developer.get(`${base}/item-exemption`)).body).toMatchObject({ status: -1 });
    expect((await clients.developer.post(`${base}/item-exemption/requests`, { applyNote: 'x' })).statusCode).toBe(403);
    const exemption = await clients.senior.post(`${base}/item-exemption/requests`, { applyNote: 'trusted' });
    expect(exemption.statusCode).toBe(201);
    expect((await decide(exemption.body.approvalNo)).body).toMatchObject({ kind: 'item_exemption' });
    const instant = await clients.mpAdmin.post(`${base}/virtual-items`, { productId: 'skin_knight', name: 'Knight', price: 1200 });
    expect(instant.body).toMatchObject({ status: 10, latest: { exempt: true } });
    expect((await clients.saDeveloper.post(`/superapps/${applicationId()}/item-exemptions/revoke`, { mnpId: mnpId() })).statusCode).toBe(
      403,
    );
    const revoked = await clients.reviewer.post(`/superapps/${applicationId()}/item-exemptions/revoke`, { mnpId: mnpId() });
    expect(revoked.statusCode).toBe(204);
    expect((await clients.mpAdmin.get(`${base}/item-exemption`)).body).toMatchObject({ status: 30, applyShow: 1 });

    const approvals = await clients.reviewer.get(`/superapps/${applicationId()}/approvals?kind=virtual_item&approvalStatus=0`);
    expect(approvals.statusCode).toBe(200);
    expect(approvals.body.list).toEqual([
      expect.objectContaining({ kind: 'virtual_item', productId: 'gem_pack_60', paymentType: 2, mnpId: mnpId(), approvalStatus: 0 }),
    ]);
  });

  it('management API: PaymentType on the enablement actions, ApproveVirtualPaymentRequest, the approvals list', async () => {
    const team = manifest.miniProgramTeam.users;
    const reviewer = manifest.superapp.users.reviewer;
    const ready = manifest.miniPrograms.ready.mnpId;
    // The default PaymentType is 1: the standard record, exactly as before.
    expect(await call(team.admin, 'DescribeMNPPaymentApprovalInfo', { MNPId: ready })).toMatchObject({ ApprovalStatus: 10 });
    expect(await call(team.admin, 'DescribeMNPPaymentApprovalInfo', { MNPId: ready, PaymentType: 2 })).toEqual({
      ApprovalStatus: -1,
      ApplyTime: 0,
      ApprovalTime: 0,
      ApprovalNote: '',
      ApprovalShow: 0,
      ApplyShow: 1,
    });
    expect((await call(team.admin, 'RequestPaymentEnable', { MNPId: ready, ApplyNote: 'x', PaymentType: 3 })).error.code).toBe(
      'InvalidParameterValue',
    );
    expect((await call(team.seniorDeveloper, 'RequestPaymentEnable', { MNPId: ready, ApplyNote: 'x', PaymentType: 2 })).error.code).toBe(
      'UnauthorizedOperation',
    );
    const requested = await call(team.admin, 'RequestPaymentEnable', { MNPId: ready, ApplyNote: 'gems', PaymentType: 2 });
    expect(requested).toEqual({ Result: true, ApprovalNo: expect.any(String) });
    expect((await call(team.admin, 'DescribeMNPPaymentApprovalInfo', { MNPId: ready, PaymentType: 2 })).ApprovalStatus).toBe(0);
    expect((await call(team.admin, 'DescribeMNPPaymentApprovalInfo', { MNPId: ready })).ApprovalStatus).toBe(10);

    const decision = { ApplicationId: manifest.superapp.applicationId, ApprovalNo: requested.ApprovalNo, ApprovalType: 10 };
    // ApproveMNPPaymentEnable decides standard requests only.
    expect((await call(reviewer, 'ApproveMNPPaymentEnable', decision)).error.code).toBe('InvalidParameterValue.InvalidApprovalNo');
    expect((await call(manifest.superapp.users.developer, 'ApproveVirtualPaymentRequest', decision)).error.code).toBe(
      'UnauthorizedOperation',
    );
    expect(await call(reviewer, 'ApproveVirtualPaymentRequest', decision)).toEqual({ Result: true, ID: expect.any(Number) });
    expect((await call(reviewer, 'ApproveVirtualPaymentRequest', decision)).error.code).toBe('FailedOperation.ApprovalAlreadyProcessed');
    expect((await call(reviewer, 'ApproveVirtualPaymentRequest', { ...decision, ApprovalNo: 'apr_made_up' })).error.code).toBe(
      'InvalidParameterValue.InvalidApprovalNo',
    );
    expect((await call(reviewer, 'ApproveVirtualPaymentRequest', { ...decision, ApprovalType: 20 })).error.code).toBe(
      'InvalidParameterValue.ApprovalNoteRequired',
    );

    // An item and an exemption request (console), each decided through the management API.
    const senior = await ConsoleClient.signIn(context.app, team.seniorDeveloper.account, team.seniorDeveloper.password);
    const item = await senior.post(`/mini-programs/${ready}/virtual-items`, {
      productId: 'coin_100',
      name: 'Coins',
      price: 100,
      currency: 'CNY',
    });
    expect(item.statusCode).toBe(201);
    const exemption = await senior.post(`/mini-programs/${ready}/item-exemption/requests`, { applyNote: 'trusted' });
    const rejected = await call(reviewer, 'ApproveVirtualPaymentRequest', {
      ...decision,
      ApprovalNo: item.body.pending.approvalNo,
      ApprovalType: 20,
      ApprovalNote: 'blurry picture',
    });
    expect(rejected).toEqual({ Result: true, ID: expect.any(Number) });
    expect(await call(reviewer, 'ApproveVirtualPaymentRequest', { ...decision, ApprovalNo: exemption.body.approvalNo })).toEqual({
      Result: true,
      ID: expect.any(Number),
    });

    const list = await call(reviewer, 'DescribePaymentApprovalList', { ApplicationId: manifest.superapp.applicationId, MNPId: ready });
    const byKind = Object.fromEntries(list.List.map((entry: { Kind: string }) => [entry.Kind, entry]));
    expect(byKind.virtual_item).toMatchObject({
      PaymentType: 2,
      ProductId: 'coin_100',
      ApprovalStatus: 20,
      ApprovalNote: 'blurry picture',
    });
    expect(byKind.item_exemption).toMatchObject({ PaymentType: 2, ProductId: null, ApprovalStatus: 10 });
    expect(byKind.virtual_payment_enable).toMatchObject({ PaymentType: 2, ApprovalStatus: 10, ID: expect.any(Number) });
    expect(byKind.payment_enable).toMatchObject({ PaymentType: 1, ProductId: null });
    const onlyItems = await call(reviewer, 'DescribePaymentApprovalList', {
      ApplicationId: manifest.superapp.applicationId,
      Kind: 'virtual_item',
    });
    expect(onlyItems.List.every((entry: { Kind: string }) => entry.Kind === 'virtual_item')).toBe(true);
  });
});
