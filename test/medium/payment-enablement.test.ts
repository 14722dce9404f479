import { afterAll, beforeAll, expect, it } from 'vitest';
import { EnablementStatus } from '../../src/domain/approval-state.ts';
import { approvePayment, bindTeam, createPaymentWorld, expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import { systemActor } from '../../src/domain/access.ts';
import { actorOf } from '../helpers/factories.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('payment enablement (SPEC §2.2, §7)', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  const fresh = async (options?: Parameters<typeof createPaymentWorld>[1]) => {
    world = await createPaymentWorld(context, options);
    return world;
  };
  const request = (applyNote = 'We sell coffee', mnpId = world.mnpId, actor = world.mpAdmin) =>
    context.services.enablements.request(actor, { mnpId, applyNote });
  /** This world's reviewer made a reviewer of `other`'s superapp team too: someone who sees both superapps. */
  const reviewerOfBoth = async (of: PaymentWorld, other: PaymentWorld) => {
    await context.services.teams.addMember(systemActor(), other.tenant.superappTeamId, {
      account: of.tenant.members['sa:reviewer'].account,
      role: 'reviewer',
    });
    return actorOf(context, of.tenant.members['sa:reviewer']);
  };

  const decide = (
    approvalNo: string,
    approvalType: number,
    approvalNote = '',
    actor = world.reviewer,
    applicationId = world.applicationId,
  ) => context.services.enablements.decide(actor, { applicationId, approvalNo, approvalType, approvalNote });
  const describe = (mnpId = world.mnpId, actor = world.mpAdmin) => context.services.enablements.describe(actor, mnpId);

  it('never applied: ApprovalStatus -1, nothing to show; ApplyShow 1 only once the binding is effective', async () => {
    await fresh();
    expect(await describe()).toEqual({
      approvalStatus: -1,
      applyTime: 0,
      approvalTime: 0,
      approvalNote: '',
      approvalShow: 0,
      applyShow: 0,
    });
    await expectCode(request(), 'FailedOperation.PaymentRecordNotFound');
    await bindTeam(world);
    expect(await describe()).toMatchObject({ approvalStatus: -1, applyShow: 1 });
    await context.services.paymentConfig.update(world.saAdmin, world.applicationId, { paymentEnabled: false });
    expect(await describe()).toMatchObject({ approvalStatus: -1, applyShow: 0 });
    await expectCode(request(), 'FailedOperation.MerchantPaymentFunctionClosed');
  });

  it('request → PENDING(0): one pending at a time; approve → APPROVED(10) with a payment account', async () => {
    await fresh();
    await bindTeam(world);
    context.clock.advance(1000);
    const appliedAt = context.clock.nowMs();
    const { approvalNo } = await request('Our shop needs payment');
    expect(await describe()).toEqual({
      approvalStatus: 0,
      applyTime: appliedAt,
      approvalTime: 0,
      approvalNote: '',
      approvalShow: 0,
      applyShow: 0,
    });
    await expectCode(request(), 'FailedOperation.ExistPaymentOpenApply');
    expect(await context.services.credentials.findPaymentAccount(context.database.db, world.mnpId)).toBeUndefined();

    context.clock.advance(60_000);
    const { id } = await decide(approvalNo, 10, 'Welcome');
    expect(Number.isInteger(id)).toBe(true);
    expect(await describe(world.mnpId, world.as['mp:operator'])).toEqual({
      approvalStatus: 10,
      applyTime: appliedAt,
      approvalTime: appliedAt + 60_000,
      approvalNote: 'Welcome',
      approvalShow: 1,
      applyShow: 0,
    });
    await expectCode(request(), 'FailedOperation.MNPPaymentAlreadyEnabled');
    await expectCode(decide(approvalNo, 10), 'FailedOperation.ApprovalAlreadyProcessed');
    expect(await context.services.credentials.findPaymentAccount(context.database.db, world.mnpId)).toMatchObject({
      mnpId: world.mnpId,
      mchid: world.merchants[0]!.merchantId,
      applicationId: world.applicationId,
      enablementStatus: 10,
      bindingEffective: true,
      paymentEnabled: true,
      currencies: ['CNY', 'USD'],
      channelKind: 'sandbox',
      apiV3Key: null,
    });
  });

  it('reject (note required) → REJECTED(20) → re-apply → PENDING → approve', async () => {
    await fresh();
    await bindTeam(world);
    const first = await request();
    await expectCode(decide(first.approvalNo, 20), 'InvalidParameterValue.ApprovalNoteRequired');
    await expectCode(decide(first.approvalNo, 15, 'x'), 'InvalidParameterValue.InvalidApprovalType');
    await decide(first.approvalNo, 20, 'Describe the goods you sell');
    expect(await describe()).toMatchObject({
      approvalStatus: 20,
      approvalNote: 'Describe the goods you sell',
      approvalShow: 1,
      applyShow: 1,
    });
    await expectCode(decide(first.approvalNo, 10), 'FailedOperation.ApprovalAlreadyProcessed');
    const second = await request('Coffee beans and mugs');
    expect(second.approvalNo).not.toBe(first.approvalNo);
    expect(await describe()).toMatchObject({ approvalStatus: 0, approvalShow: 0, applyShow: 0 });
    await decide(second.approvalNo, 10);
    expect((await describe()).approvalStatus).toBe(10);
  });

  it('disable → DISABLED(30) → re-apply → approve again: the same account and keys', async () => {
    await fresh();
    await bindTeam(world);
    const id = await approvePayment(world);
    const before = await context.services.credentials.get(world.mpAdmin, world.mnpId);
    context.clock.advance(5000);
    await context.services.enablements.disable(world.reviewer, { applicationId: world.applicationId, id });
    expect(await describe()).toMatchObject({ approvalStatus: 30, approvalTime: context.clock.nowMs(), approvalShow: 1, applyShow: 1 });
    expect((await context.services.credentials.findPaymentAccount(context.database.db, world.mnpId))?.enablementStatus).toBe(
      EnablementStatus.Disabled,
    );
    await expectCode(
      context.services.enablements.disable(world.reviewer, { applicationId: world.applicationId, id }),
      'FailedOperation.ApprovalAlreadyProcessed',
    );
    const againId = await approvePayment(world);
    expect(againId).not.toBe(id);
    const after = await context.services.credentials.get(world.mpAdmin, world.mnpId);
    expect(after.activeKey?.serialNo).toBe(before.activeKey?.serialNo);
    expect(after.keys).toHaveLength(1);
  });

  it('DisableMNPPayment errors: unknown id, not approved, another superapp', async () => {
    const theirs = await fresh();
    await bindTeam(theirs);
    const theirId = await approvePayment(theirs);
    await fresh();
    await bindTeam(world);
    const { enablements } = context.services;
    await expectCode(
      enablements.disable(world.reviewer, { applicationId: world.applicationId, id: 99_999_999 }),
      'FailedOperation.PaymentRecordNotFound',
    );
    // Out of the caller's reach, another superapp's record is answered as an unknown id (SPEC §7);
    // who sees both is told it belongs elsewhere.
    await expectCode(
      enablements.disable(world.reviewer, { applicationId: world.applicationId, id: theirId }),
      'FailedOperation.PaymentRecordNotFound',
    );
    await expectCode(
      enablements.disable(await reviewerOfBoth(world, theirs), { applicationId: world.applicationId, id: theirId }),
      'FailedOperation.PaymentRecordNotBelongToApplication',
    );
    await request();
    const pendingId = (
      await context.services.approvals.list(world.reviewer, { applicationId: world.applicationId, kind: 'payment_enable' })
    ).list[0]!;
    expect(pendingId.id).toBeNull();
    const raw = await context.database.db
      .selectFrom('payment_enablements')
      .select('id')
      .where('approval_no', '=', pendingId.approvalNo)
      .executeTakeFirstOrThrow();
    await expectCode(
      enablements.disable(world.reviewer, { applicationId: world.applicationId, id: Number(raw.id) }),
      'FailedOperation.PaymentRecordNotFound',
    );
    await expectCode(
      enablements.disable(world.as['sa:operator'], { applicationId: world.applicationId, id: Number(raw.id) }),
      'UnauthorizedOperation',
    );
  });

  it("deciding: unknown ApprovalNo, another superapp's request, binding lost meanwhile, payment closed meanwhile", async () => {
    const theirs = await fresh();
    await bindTeam(theirs);
    const theirRequest = await context.services.enablements.request(theirs.mpAdmin, { mnpId: theirs.mnpId, applyNote: 'x' });
    await fresh();
    await expectCode(decide('apr_nothing', 10), 'InvalidParameterValue.InvalidApprovalNo');
    await expectCode(decide(theirRequest.approvalNo, 10), 'InvalidParameterValue.InvalidApprovalNo');
    await expectCode(
      decide(theirRequest.approvalNo, 10, '', await reviewerOfBoth(world, theirs)),
      'FailedOperation.ApprovalNotBelongToApplication',
    );
    const bindingId = await bindTeam(world);
    const { approvalNo } = await request();
    await context.services.paymentConfig.update(world.saAdmin, world.applicationId, { paymentEnabled: false });
    await expectCode(decide(approvalNo, 10), 'FailedOperation.MerchantPaymentFunctionClosed');
    await context.services.paymentConfig.update(world.saAdmin, world.applicationId, { paymentEnabled: true });
    await context.services.bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id: bindingId });
    await expectCode(decide(approvalNo, 10), 'FailedOperation.PaymentRecordNotFound');
    expect((await describe()).approvalStatus).toBe(0);
  });

  it('roles: only the MP Administrator requests; everyone who sees the mini program may describe it', async () => {
    await fresh();
    await bindTeam(world);
    for (const role of [
      'mp:senior_developer',
      'mp:developer',
      'mp:operator',
      'mp:member_admin',
      'sa:administrator',
      'sa:reviewer',
    ] as const) {
      await expectCode(request('x', world.mnpId, world.as[role]), 'UnauthorizedOperation');
    }
    await expectCode(request('x', world.mnpId, world.superAdmin), 'UnauthorizedOperation');
    await expectCode(request('x', world.mnpId, world.second.administrator), 'ResourceNotFound');
    for (const actor of [world.as['mp:member_admin'], world.as['sa:developer'], world.platformAdmin])
      expect((await describe(world.mnpId, actor)).approvalStatus).toBe(-1);
    await expectCode(describe(world.mnpId, world.second.administrator), 'ResourceNotFound');
  });

  it("the team's mini program list shows each one's payment state", async () => {
    await fresh();
    await bindTeam(world);
    const other = await context.services.miniPrograms.create(world.mpAdmin, world.teamId, { name: 'Tea house' });
    const id = await approvePayment(world);
    await request('tea', other.mnpId);
    const items = await context.services.enablements.listTeamMiniPrograms(world.as['mp:developer'], world.teamId);
    expect(items.find((m) => m.mnpId === world.mnpId)).toMatchObject({
      approvalStatus: 10,
      paymentRecordId: id,
      mchid: world.merchants[0]!.merchantId,
      approvalShow: 1,
      applyShow: 0,
    });
    expect(items.find((m) => m.mnpId === other.mnpId)).toMatchObject({
      approvalStatus: 0,
      paymentRecordId: null,
      mchid: null,
      applyNote: 'tea',
    });
  });

  it('two concurrent decisions on one request: one succeeds, the other gets ApprovalAlreadyProcessed', async () => {
    await fresh();
    await bindTeam(world);
    const { approvalNo } = await request();
    const outcomes = await Promise.allSettled([decide(approvalNo, 10, '', world.reviewer), decide(approvalNo, 10, '', world.saAdmin)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
    expect(failure.reason.code).toBe('FailedOperation.ApprovalAlreadyProcessed');
    // Exactly one account and one key came of it.
    const keys = await context.database.db.selectFrom('merchant_api_keys').selectAll().where('mnp_id', '=', world.mnpId).execute();
    expect(keys).toHaveLength(1);
  });

  it('two concurrent requests for one mini program: one pending application, the other ExistPaymentOpenApply', async () => {
    await fresh();
    await bindTeam(world);
    const outcomes = await Promise.allSettled([request('a'), request('b')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason.code).toBe(
      'FailedOperation.ExistPaymentOpenApply',
    );
  });

  it('the audit log records the application, the decision and the disabling', async () => {
    await fresh();
    await bindTeam(world);
    const { approvalNo } = await request('audit me');
    const { id } = await decide(approvalNo, 10, 'fine');
    await context.services.enablements.disable(world.saAdmin, { applicationId: world.applicationId, id });
    const audit = await context.database.db.selectFrom('audit_log').selectAll().where('target_id', '=', approvalNo).orderBy('id').execute();
    expect(audit.map((a) => [a.action, a.team_id])).toEqual([
      ['payment_enable.apply', world.teamId],
      ['payment_enable.approve', world.tenant.superappTeamId],
      ['payment_enable.disable', world.tenant.superappTeamId],
    ]);
    expect(JSON.parse(audit[0]!.after_json!)).toMatchObject({ applyNote: 'audit me', status: 0 });
    const account = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'payment_account.create')
      .where('target_id', '=', world.mnpId)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(account.after_json!)).toMatchObject({ mchid: world.merchants[0]!.merchantId, source: 'generated' });
  });
});

describeOnEachDatabase('approvals list (DescribePaymentApprovalList)', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let approvedNo: string;
  let recordId: number;
  beforeAll(async () => {
    context = await createTestContext(kind);
    world = await createPaymentWorld(context);
    await bindTeam(world);
    context.clock.advance(1000);
    const { enablements } = context.services;
    approvedNo = (await enablements.request(world.mpAdmin, { mnpId: world.mnpId, applyNote: 'first shop' })).approvalNo;
    context.clock.advance(1000);
    recordId = (
      await enablements.decide(world.reviewer, {
        applicationId: world.applicationId,
        approvalNo: approvedNo,
        approvalType: 10,
        approvalNote: 'ok',
      })
    ).id;
    context.clock.advance(1000);
    await context.services.bindings.request(world.second.administrator, { teamId: world.second.teamId, ...world.merchants[1]! });
  });
  afterAll(() => context?.close());

  const list = (query: Partial<Parameters<typeof context.services.approvals.list>[1]> = {}, actor = world.reviewer) =>
    context.services.approvals.list(actor, { applicationId: world.applicationId, ...query });

  it('lists both kinds newest first, with ID only once approved', async () => {
    const { total, list: items } = await list();
    expect(total).toBe(3);
    expect(items.map((i) => [i.kind, i.approvalStatus])).toEqual([
      ['merchant_binding', 0],
      ['payment_enable', 10],
      ['merchant_binding', 10],
    ]);
    expect(items[0]).toMatchObject({
      teamId: world.second.teamId,
      mnpId: null,
      merchantId: world.merchants[1]!.merchantId,
      applyNote: '',
      approvalTime: null,
      id: null,
    });
    expect(items[1]).toMatchObject({
      approvalNo: approvedNo,
      mnpId: world.mnpId,
      applyNote: 'first shop',
      approvalNote: 'ok',
      id: recordId,
      merchantName: world.merchants[0]!.merchantName,
    });
    expect(items[1]!.approvalTime).toBeGreaterThan(items[1]!.applyTime);
  });

  it('filters by kind, status, mini program and team; pages with Offset/Limit', async () => {
    expect((await list({ kind: 'payment_enable' })).list.map((i) => i.approvalNo)).toEqual([approvedNo]);
    expect((await list({ approvalStatusList: [0] })).total).toBe(1);
    expect((await list({ approvalStatusList: [10, 20, 30] })).total).toBe(2);
    expect((await list({ approvalStatusList: [] })).total).toBe(0);
    expect((await list({ mnpId: world.mnpId })).list.map((i) => i.kind)).toEqual(['payment_enable']);
    expect((await list({ teamId: world.second.teamId })).total).toBe(1);
    const page = await list({ offset: 1, limit: 1 });
    expect(page.total).toBe(3);
    expect(page.list.map((i) => i.approvalNo)).toEqual([approvedNo]);
    await expectCode(list({ limit: 101 }), 'InvalidParameterValue');
    await expectCode(list({ offset: 10_001 }), 'InvalidParameterValue');
    expect((await list({ limit: 100 })).list).toHaveLength(3);
  });

  it('is visible to every superapp role and the admins; mini program roles do not see it', async () => {
    for (const role of [
      'sa:administrator',
      'sa:member_admin',
      'sa:senior_developer',
      'sa:developer',
      'sa:operator',
      'sa:reviewer',
    ] as const) {
      expect((await list({}, world.as[role])).total).toBe(3);
    }
    expect((await list({}, world.superAdmin)).total).toBe(3);
    expect((await list({}, world.platformAdmin)).total).toBe(3);
    await expectCode(list({}, world.mpAdmin), 'ResourceNotFound');
  });

  it('decides either kind by ApprovalNo through the approvals service', async () => {
    const pending = (await list({ approvalStatusList: [0] })).list[0]!;
    const decided = await context.services.approvals.decide(world.reviewer, {
      applicationId: world.applicationId,
      approvalNo: pending.approvalNo,
      approvalType: 20,
      approvalNote: 'no',
    });
    expect(decided.kind).toBe('merchant_binding');
    expect((await list({ approvalStatusList: [20] })).list[0]).toMatchObject({
      approvalNo: pending.approvalNo,
      approvalNote: 'no',
      id: null,
    });
    await expectCode(
      context.services.approvals.decide(world.reviewer, {
        applicationId: world.applicationId,
        approvalNo: 'apr_unknown',
        approvalType: 10,
      }),
      'InvalidParameterValue.InvalidApprovalNo',
    );
  });
});
