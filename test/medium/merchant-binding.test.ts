import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BindingStatus, EnablementStatus } from '../../src/domain/approval-state.ts';
import { isUniqueViolation } from '../../src/repositories/constraint-errors.ts';
import { approvePayment, bindTeam, createPaymentWorld, expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import { systemActor } from '../../src/domain/access.ts';
import { actorOf } from '../helpers/factories.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('merchant binding (SPEC §2.1)', (kind) => {
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
  ) => context.services.bindings.decide(actor, { applicationId, approvalNo, approvalType, approvalNote });

  it('request → PENDING(0) → approve → EFFECTIVE(10); the team then sees "Effective" and the currencies', async () => {
    await fresh();
    const { bindings } = context.services;
    const { approvalNo } = await bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! });
    expect(approvalNo).toMatch(/^apr_/);
    const pending = await bindings.queryTeamMerchant(world.as['mp:operator'], world.teamId);
    expect(pending).toMatchObject({ ...world.merchants[0], approvalStatus: BindingStatus.Pending });
    expect(Number.isInteger(pending.id)).toBe(true);
    expect((await bindings.overview(world.mpAdmin, world.teamId)).currencies).toEqual([]);

    const { id } = await decide(approvalNo, 10, 'verified');
    expect(id).toBe(pending.id);
    expect(await bindings.queryTeamMerchant(world.as['mp:developer'], world.teamId)).toEqual({
      ...world.merchants[0],
      approvalStatus: BindingStatus.Effective,
      id,
    });
    const overview = await bindings.overview(world.mpAdmin, world.teamId);
    expect(overview.effective?.approvalStatus).toBe(10);
    expect(overview.pending).toBeNull();
    expect(overview.currencies).toEqual(['CNY', 'USD']);
  });

  it('a typed merchant must be on the list with its exact name', async () => {
    await fresh();
    const { bindings } = context.services;
    await expectCode(
      bindings.request(world.mpAdmin, { teamId: world.teamId, merchantId: '0000000000', merchantName: world.merchants[0]!.merchantName }),
      'InvalidParameterValue.InvalidMerchantId',
    );
    await expectCode(
      bindings.request(world.mpAdmin, { teamId: world.teamId, merchantId: world.merchants[0]!.merchantId, merchantName: 'Someone else' }),
      'InvalidParameterValue.InvalidMerchantName',
    );
    // Picking from the list is the same request with the picked ID and name.
    const pickable = await context.services.merchants.listPickable(world.mpAdmin, world.teamId);
    expect(pickable).toEqual(world.merchants);
    await bindings.request(world.mpAdmin, { teamId: world.teamId, ...pickable[1]! });
  });

  it('the superapp must have payment enabled to request and to approve', async () => {
    await fresh({ paymentEnabled: false });
    const { bindings, paymentConfig } = context.services;
    await expectCode(
      bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! }),
      'FailedOperation.MerchantPaymentFunctionClosed',
    );
    await paymentConfig.update(world.saAdmin, world.applicationId, { paymentEnabled: true });
    const { approvalNo } = await bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! });
    await paymentConfig.update(world.saAdmin, world.applicationId, { paymentEnabled: false });
    await expectCode(decide(approvalNo, 10), 'FailedOperation.MerchantPaymentFunctionClosed');
    // A rejection is still possible while payment is closed.
    await decide(approvalNo, 20, 'payment is closed');
  });

  it('one pending request per team (ExistMerchantBindApply), one effective binding (ExistMerchantBindRelation)', async () => {
    await fresh();
    const { bindings } = context.services;
    await bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! });
    await expectCode(
      bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! }),
      'FailedOperation.ExistMerchantBindApply',
    );
    await expectCode(
      bindings.requestChange(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! }),
      'FailedOperation.ExistMerchantBindApply',
    );
    const pending = await bindings.queryTeamMerchant(world.mpAdmin, world.teamId);
    await decide((await bindings.overview(world.mpAdmin, world.teamId)).pending!.approvalNo, 10);
    expect((await bindings.queryTeamMerchant(world.mpAdmin, world.teamId)).id).toBe(pending.id);
    await expectCode(
      bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! }),
      'FailedOperation.ExistMerchantBindRelation',
    );
  });

  it('a merchant is bound to at most one team: taken at request and at approval', async () => {
    await fresh();
    const { bindings } = context.services;
    const other = world.second;
    // Both teams ask for the same merchant; the first approval wins, the second cannot be approved.
    const first = await bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! });
    const second = await bindings.request(other.administrator, { teamId: other.teamId, ...world.merchants[0]! });
    await decide(first.approvalNo, 10);
    await expectCode(decide(second.approvalNo, 10), 'FailedOperation.ExistMerchantBindRelation');
    await decide(second.approvalNo, 20, 'taken');
    await expectCode(
      bindings.request(other.administrator, { teamId: other.teamId, ...world.merchants[0]! }),
      'FailedOperation.ExistMerchantBindRelation',
    );
    expect(await context.services.merchants.listPickable(other.administrator, other.teamId)).toEqual(world.merchants.slice(1));
  });

  it('rejection needs a note; rejected (20) is shown until the team requests again', async () => {
    await fresh();
    const { bindings } = context.services;
    const { approvalNo } = await bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! });
    await expectCode(decide(approvalNo, 20, '  '), 'InvalidParameterValue.ApprovalNoteRequired');
    await expectCode(decide(approvalNo, 30, 'x'), 'InvalidParameterValue.InvalidApprovalType');
    await expectCode(decide('apr_does_not_exist', 10), 'InvalidParameterValue.InvalidApprovalNo');
    const { id } = await decide(approvalNo, 20, 'Merchant documents missing');
    expect(await bindings.queryTeamMerchant(world.mpAdmin, world.teamId)).toMatchObject({ approvalStatus: BindingStatus.Rejected, id });
    await expectCode(decide(approvalNo, 10), 'FailedOperation.ApprovalAlreadyProcessed');
    await expectCode(decide(approvalNo, 20, 'again'), 'FailedOperation.ApprovalAlreadyProcessed');
    const again = await bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! });
    expect(again.approvalNo).not.toBe(approvalNo);
    expect((await bindings.queryTeamMerchant(world.mpAdmin, world.teamId)).approvalStatus).toBe(BindingStatus.Pending);
  });

  const othersRequestTitle =
    "deciding another superapp's request: as unknown out of reach (SPEC §7), " + 'ApprovalNotBelongToApplication to who sees both';
  it(othersRequestTitle, async () => {
    const theirs = await fresh();
    const { approvalNo } = await context.services.bindings.request(theirs.mpAdmin, { teamId: theirs.teamId, ...theirs.merchants[0]! });
    const ours = await fresh();
    const unknown = await expectCode(
      decide('apr_nothing', 10, '', ours.reviewer, ours.applicationId),
      'InvalidParameterValue.InvalidApprovalNo',
    );
    expect(
      (await expectCode(decide(approvalNo, 10, '', ours.reviewer, ours.applicationId), 'InvalidParameterValue.InvalidApprovalNo')).message,
    ).toBe(unknown.message);
    await expectCode(
      decide(approvalNo, 10, '', await reviewerOfBoth(ours, theirs), ours.applicationId),
      'FailedOperation.ApprovalNotBelongToApplication',
    );
    // And their superapp itself is out of our reviewer's reach.
    await expectCode(decide(approvalNo, 10, '', ours.reviewer, theirs.applicationId), 'ResourceNotFound');
  });

  it('QueryMNPMerchantInfo: PaymentRecordNotFound before any request; the effective binding while a change is pending', async () => {
    await fresh();
    const { bindings } = context.services;
    await expectCode(bindings.queryTeamMerchant(world.mpAdmin, world.teamId), 'FailedOperation.PaymentRecordNotFound');
    await expectCode(
      bindings.requestChange(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! }),
      'FailedOperation.PaymentRecordNotFound',
    );
    const bindingId = await bindTeam(world, world.merchants[0]);
    await expectCode(
      bindings.requestChange(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! }),
      'FailedOperation.ExistMerchantBindRelation',
    );
    const change = await bindings.requestChange(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! });
    expect(await bindings.queryTeamMerchant(world.mpAdmin, world.teamId)).toEqual({
      ...world.merchants[0],
      approvalStatus: 10,
      id: bindingId,
    });
    const overview = await bindings.overview(world.mpAdmin, world.teamId);
    expect(overview.pending).toMatchObject({ approvalNo: change.approvalNo, requestKind: 'change', replacesBindingId: bindingId });
  });

  it('an approved change replaces the binding in one step and moves the payment accounts to the new mchid', async () => {
    await fresh();
    const { bindings, credentials } = context.services;
    const oldId = await bindTeam(world, world.merchants[0]);
    await approvePayment(world);
    expect((await credentials.findPaymentAccount(context.database.db, world.mnpId))?.mchid).toBe(world.merchants[0]!.merchantId);
    const change = await bindings.requestChange(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! });
    const { id: newId } = await decide(change.approvalNo, 10);
    expect(newId).not.toBe(oldId);
    const records = await bindings.records(world.mpAdmin, world.teamId);
    expect(records.find((r) => r.id === oldId)).toMatchObject({ approvalStatus: BindingStatus.Unbound, endReason: 'replaced' });
    expect(records.find((r) => r.id === newId)).toMatchObject({ approvalStatus: BindingStatus.Effective });
    const account = await credentials.findPaymentAccount(context.database.db, world.mnpId);
    expect(account).toMatchObject({
      mchid: world.merchants[1]!.merchantId,
      bindingEffective: true,
      enablementStatus: EnablementStatus.Approved,
    });
    // The old merchant is free again for another team.
    await bindTeam(world, world.merchants[0], world.second.teamId, world.second.administrator);
  });

  it('the team unbinds: UNBOUND(30), every approved mini program of the team is disabled (30)', async () => {
    await fresh();
    const { bindings, enablements, miniPrograms } = context.services;
    const id = await bindTeam(world);
    const second = await miniPrograms.create(world.mpAdmin, world.teamId, { name: 'second shop' });
    await approvePayment(world);
    await approvePayment(world, second.mnpId);
    await expectCode(bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id: 987654 }), 'FailedOperation.PaymentRecordNotFound');
    await bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id });
    expect(await bindings.queryTeamMerchant(world.mpAdmin, world.teamId)).toMatchObject({ approvalStatus: BindingStatus.Unbound, id });
    for (const mnpId of [world.mnpId, second.mnpId])
      expect((await enablements.describe(world.mpAdmin, mnpId)).approvalStatus).toBe(EnablementStatus.Disabled);
    expect((await context.services.credentials.findPaymentAccount(context.database.db, world.mnpId))?.bindingEffective).toBe(false);
    await expectCode(bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id }), 'FailedOperation.ApprovalAlreadyProcessed');
    // A pending or rejected request is not a binding to unbind; another team's binding is not ours.
    const pending = await bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! });
    const pendingId = (await bindings.queryTeamMerchant(world.mpAdmin, world.teamId)).id;
    await expectCode(
      bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id: pendingId }),
      'FailedOperation.PaymentRecordNotFound',
    );
    const otherId = await bindTeam(world, world.merchants[2], world.second.teamId, world.second.administrator);
    await expectCode(bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id: otherId }), 'FailedOperation.PaymentRecordNotFound');
    expect(pending.approvalNo).toMatch(/^apr_/);
  });

  it('the superapp unbinds; unknown or foreign ids are refused', async () => {
    const theirs = await fresh();
    const theirId = await bindTeam(theirs);
    await fresh();
    const { bindings } = context.services;
    const id = await bindTeam(world);
    // Out of the caller's reach, another superapp's binding is answered as an unknown id (SPEC §7);
    // who sees both is told it belongs elsewhere.
    await expectCode(
      bindings.unbindBySuperapp(world.reviewer, { applicationId: world.applicationId, id: theirId }),
      'FailedOperation.PaymentRecordNotFound',
    );
    await expectCode(
      bindings.unbindBySuperapp(await reviewerOfBoth(world, theirs), { applicationId: world.applicationId, id: theirId }),
      'FailedOperation.PaymentRecordNotBelongToApplication',
    );
    await expectCode(
      bindings.unbindBySuperapp(world.reviewer, { applicationId: world.applicationId, id: 99_999_999 }),
      'FailedOperation.PaymentRecordNotFound',
    );
    await expectCode(
      bindings.unbindBySuperapp(world.as['sa:developer'], { applicationId: world.applicationId, id }),
      'UnauthorizedOperation',
    );
    await bindings.unbindBySuperapp(world.saAdmin, { applicationId: world.applicationId, id });
    expect((await bindings.records(world.mpAdmin, world.teamId))[0]).toMatchObject({
      id,
      approvalStatus: 30,
      endReason: 'unbound_by_superapp',
    });
    await expectCode(
      bindings.unbindBySuperapp(world.reviewer, { applicationId: world.applicationId, id }),
      'FailedOperation.ApprovalAlreadyProcessed',
    );
  });

  it('roles: only the MP Administrator requests; review staff and the SA Administrator decide; admins read only', async () => {
    await fresh();
    const { bindings } = context.services;
    const request = (actor: typeof world.mpAdmin) => bindings.request(actor, { teamId: world.teamId, ...world.merchants[0]! });
    for (const role of ['mp:senior_developer', 'mp:developer', 'mp:operator'] as const)
      await expectCode(request(world.as[role]), 'UnauthorizedOperation');
    await expectCode(request(world.as['mp:member_admin']), 'ResourceNotFound');
    await expectCode(request(world.superAdmin), 'UnauthorizedOperation');
    await expectCode(request(world.second.administrator), 'ResourceNotFound');
    await expectCode(request(world.as['sa:administrator']), 'ResourceNotFound');
    const { approvalNo } = await request(world.mpAdmin);
    for (const actor of [world.as['sa:senior_developer'], world.as['sa:developer'], world.as['sa:operator'], world.platformAdmin]) {
      await expectCode(decide(approvalNo, 10, '', actor), 'UnauthorizedOperation');
    }
    await expectCode(decide(approvalNo, 10, '', world.mpAdmin), 'ResourceNotFound');
    await decide(approvalNo, 10, '', world.saAdmin);
    expect((await bindings.queryTeamMerchant(world.platformAdmin, world.teamId)).approvalStatus).toBe(10);
  });

  it('records keep every transition; the audit log has the request, the decision and the unbinding with before/after', async () => {
    await fresh();
    const { bindings } = context.services;
    const id = await bindTeam(world);
    await bindings.unbindByTeam(world.mpAdmin, { teamId: world.teamId, id });
    const [record] = await bindings.records(world.mpAdmin, world.teamId);
    expect(record!.history.map((h) => [h.event, h.fromStatus, h.toStatus])).toEqual([
      ['request', null, 0],
      ['approve', 0, 10],
      ['unbind', 10, 30],
    ]);
    const audit = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', record!.approvalNo)
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['merchant_binding.request', 'merchant_binding.approve', 'merchant_binding.unbind']);
    expect(JSON.parse(audit[1]!.before_json!)).toMatchObject({ status: 0 });
    expect(JSON.parse(audit[1]!.after_json!)).toMatchObject({ status: 10, teamId: world.teamId });
    expect(audit[1]!.actor_account).toBe(world.reviewer.account);
  });

  it('two concurrent decisions on one request: one succeeds, the other gets ApprovalAlreadyProcessed', async () => {
    await fresh();
    const { approvalNo } = await context.services.bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! });
    const outcomes = await Promise.allSettled([decide(approvalNo, 10, '', world.reviewer), decide(approvalNo, 20, 'no', world.saAdmin)]);
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.reason.code).toBe('FailedOperation.ApprovalAlreadyProcessed');
    const transitions = await context.database.db
      .selectFrom('approval_transitions')
      .selectAll()
      .where('approval_no', '=', approvalNo)
      .execute();
    expect(transitions).toHaveLength(2);
  });

  it('two concurrent requests of one team: one pending request, the other ExistMerchantBindApply', async () => {
    await fresh();
    const { bindings } = context.services;
    const outcomes = await Promise.allSettled([
      bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[0]! }),
      bindings.request(world.mpAdmin, { teamId: world.teamId, ...world.merchants[1]! }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason.code).toBe(
      'FailedOperation.ExistMerchantBindApply',
    );
  });

  it('the schema itself holds the one-at-a-time rules (partial unique indexes)', async () => {
    await fresh();
    const db = context.database.db;
    await bindTeam(world);
    const [row] = await db.selectFrom('merchant_bindings').selectAll().where('team_id', '=', world.teamId).execute();
    const { id: _id, ...copy } = row!;
    const insert = (changes: Partial<typeof copy>) =>
      db
        .insertInto('merchant_bindings')
        .values({ ...copy, approval_no: `apr_raw_${Math.random()}`, ...changes })
        .execute()
        .then(
          () => 'inserted',
          (error: unknown) => (isUniqueViolation(error) ? 'unique violation' : String(error)),
        );
    // A second effective binding for the team; the same merchant effective for another team.
    expect(await insert({})).toBe('unique violation');
    expect(await insert({ team_id: world.second.teamId })).toBe('unique violation');
    // Two pending requests for one team.
    expect(await insert({ status: 0, merchant_id: 'x1' })).toBe('inserted');
    expect(await insert({ status: 0, merchant_id: 'x2' })).toBe('unique violation');
    // And the transition log is append-only.
    await expect(sql`update approval_transitions set note = 'rewritten'`.execute(db)).rejects.toThrow(/append-only/);
  });
});
