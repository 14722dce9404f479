import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/** The seed's whole enablement flow, driven only through the published CommonClient. */
describeOnEachDatabase('management API actions through CommonClient', (kind) => {
  let context: TestContext;
  let baseUrl: string;
  let manifest: DemoManifest;
  let call: (user: { secretId: string; secretKey: string }, action: string, params?: Record<string, unknown>) => Promise<any>;

  beforeAll(async () => {
    context = await createTestContext(kind);
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    manifest = await context.services.demoWorld.ensure();
    call = (user, action, params = {}) =>
      callAction(managementClient(baseUrl, user), action, { PlatformId: manifest.platformId, ...params });
  });
  afterAll(() => context?.close());

  it('runs binding → enablement → reject → re-apply → approve → disable, with the SPEC field names and types', async () => {
    const teamAdmin = manifest.unboundTeam.users.admin;
    const reviewer = manifest.superapp.users.reviewer;
    const applicationId = manifest.superapp.applicationId;
    const teamId = manifest.unboundTeam.teamId;
    const mnpId = manifest.miniPrograms.unbound.mnpId;
    const freeMerchant = manifest.superapp.merchants.at(-1)!;

    const requested = await call(teamAdmin, 'RequestPaymentMerchantBinding', {
      TeamId: teamId,
      MerchantID: freeMerchant.merchantId,
      MerchantName: freeMerchant.merchantName,
    });
    expect(requested).toEqual({ ApprovalResult: true, ResourceId: expect.any(String) });
    expect((await call(teamAdmin, 'QueryMNPMerchantInfo', { QueryTeamID: teamId })).ApprovalStatus).toBe(0);

    const approvedBinding = await call(reviewer, 'ApprovePaymentMerchantBinding', {
      ApplicationId: applicationId,
      ApprovalNo: requested.ResourceId,
      ApprovalType: 10,
      ApprovalNote: 'ok',
    });
    expect(approvedBinding).toEqual({ Result: true, ID: expect.any(Number) });
    const again = await call(reviewer, 'ApprovePaymentMerchantBinding', {
      ApplicationId: applicationId,
      ApprovalNo: requested.ResourceId,
      ApprovalType: 10,
    });
    expect(again.error.code).toBe('FailedOperation.ApprovalAlreadyProcessed');

    const info = await call(teamAdmin, 'QueryMNPMerchantInfo', { QueryTeamID: teamId });
    expect(info).toEqual({
      MerchantID: freeMerchant.merchantId,
      MerchantName: freeMerchant.merchantName,
      ApprovalStatus: 10,
      ID: String(approvedBinding.ID),
    });

    expect((await call(teamAdmin, 'DescribeMNPPaymentApprovalInfo', { MNPId: mnpId })).ApprovalStatus).toBe(-1);
    const firstApply = await call(teamAdmin, 'RequestPaymentEnable', { MNPId: mnpId, ApplyNote: 'We sell books' });
    expect(firstApply).toEqual({ Result: true, ApprovalNo: expect.any(String) });
    expect((await call(teamAdmin, 'RequestPaymentEnable', { MNPId: mnpId, ApplyNote: 'again' })).error.code).toBe(
      'FailedOperation.ExistPaymentOpenApply',
    );
    const pending = await call(teamAdmin, 'DescribeMNPPaymentApprovalInfo', { MNPId: mnpId });
    expect(pending).toMatchObject({ ApprovalStatus: 0, ApprovalShow: 0, ApplyShow: 0 });
    expect(pending.ApplyTime).toBeGreaterThan(0);

    const listed = await call(reviewer, 'DescribePaymentApprovalList', {
      ApplicationId: applicationId,
      Kind: 'payment_enable',
      ApprovalStatusList: [0],
    });
    expect(listed.Total).toBe(1);
    expect(listed.List[0]).toMatchObject({
      ApprovalNo: firstApply.ApprovalNo,
      Kind: 'payment_enable',
      MNPId: mnpId,
      ApplyNote: 'We sell books',
      ApprovalStatus: 0,
      ID: null,
    });

    const noNote = await call(reviewer, 'ApproveMNPPaymentEnable', {
      ApplicationId: applicationId,
      ApprovalNo: firstApply.ApprovalNo,
      ApprovalType: 20,
      ApprovalNote: '',
    });
    expect(noNote.error.code).toBe('InvalidParameterValue.ApprovalNoteRequired');
    const badType = await call(reviewer, 'ApproveMNPPaymentEnable', {
      ApplicationId: applicationId,
      ApprovalNo: firstApply.ApprovalNo,
      ApprovalType: 30,
      ApprovalNote: 'x',
    });
    expect(badType.error.code).toBe('InvalidParameterValue.InvalidApprovalType');
    expect(
      await call(reviewer, 'ApproveMNPPaymentEnable', {
        ApplicationId: applicationId,
        ApprovalNo: firstApply.ApprovalNo,
        ApprovalType: 20,
        ApprovalNote: 'Add a privacy policy',
      }),
    ).toMatchObject({ Result: true });
    const rejected = await call(teamAdmin, 'DescribeMNPPaymentApprovalInfo', { MNPId: mnpId });
    expect(rejected).toMatchObject({ ApprovalStatus: 20, ApprovalNote: 'Add a privacy policy', ApprovalShow: 1, ApplyShow: 1 });

    const secondApply = await call(teamAdmin, 'RequestPaymentEnable', { MNPId: mnpId, ApplyNote: 'Privacy policy added' });
    const approved = await call(reviewer, 'ApproveMNPPaymentEnable', {
      ApplicationId: applicationId,
      ApprovalNo: secondApply.ApprovalNo,
      ApprovalType: '10',
      ApprovalNote: '',
    });
    expect(approved).toEqual({ Result: true, ID: expect.any(Number) });
    expect(await call(teamAdmin, 'DescribeMNPPaymentApprovalInfo', { MNPId: mnpId })).toMatchObject({
      ApprovalStatus: 10,
      ApprovalShow: 1,
      ApplyShow: 0,
    });
    expect((await call(teamAdmin, 'RequestPaymentEnable', { MNPId: mnpId, ApplyNote: 'x' })).error.code).toBe(
      'FailedOperation.MNPPaymentAlreadyEnabled',
    );

    // The id is accepted as a number or as its decimal string.
    expect(await call(reviewer, 'DisableMNPPayment', { ApplicationId: applicationId, ID: String(approved.ID) })).toEqual({ Result: true });
    expect(await call(teamAdmin, 'DescribeMNPPaymentApprovalInfo', { MNPId: mnpId })).toMatchObject({ ApprovalStatus: 30, ApplyShow: 1 });
  });

  it('refuses roles without the capability and hides other tenants', async () => {
    const developer = manifest.miniProgramTeam.users.developer;
    const mnpId = manifest.miniPrograms.fresh.mnpId;
    expect((await call(developer, 'RequestPaymentEnable', { MNPId: mnpId, ApplyNote: 'x' })).error.code).toBe('UnauthorizedOperation');
    // The unbound team's administrator cannot see the bound team's mini program at all.
    expect((await call(manifest.unboundTeam.users.admin, 'DescribeMNPPaymentApprovalInfo', { MNPId: mnpId })).error.code).toBe(
      'ResourceNotFound',
    );
    // A superapp developer may not decide.
    const list = await call(manifest.superapp.users.reviewer, 'DescribePaymentApprovalList', {
      ApplicationId: manifest.superapp.applicationId,
    });
    expect(list.Total).toBeGreaterThan(0);
    const decision = await call(manifest.superapp.users.developer, 'ApproveMNPPaymentEnable', {
      ApplicationId: manifest.superapp.applicationId,
      ApprovalNo: list.List[0].ApprovalNo,
      ApprovalType: 10,
    });
    expect(decision.error.code).toBe('UnauthorizedOperation');
    // Mini program team members do not reach the superapp's approval list.
    expect((await call(developer, 'DescribePaymentApprovalList', { ApplicationId: manifest.superapp.applicationId })).error.code).toBe(
      'ResourceNotFound',
    );
  });

  it('validates input in the envelope: missing and mistyped fields, limits, platform id', async () => {
    const admin = manifest.miniProgramTeam.users.admin;
    const reviewer = manifest.superapp.users.reviewer;
    const missing = await call(admin, 'RequestPaymentEnable', {});
    expect(missing.error).toMatchObject({ code: 'InvalidParameter', message: expect.stringContaining('MNPId') });
    expect((await call(admin, 'QueryMNPMerchantInfo', { QueryTeamID: 42 })).error.code).toBe('InvalidParameter');
    expect(
      (await call(reviewer, 'DescribePaymentApprovalList', { ApplicationId: manifest.superapp.applicationId, Limit: 101 })).error.code,
    ).toBe('InvalidParameterValue');
    expect((await call(reviewer, 'DisableMNPPayment', { ApplicationId: manifest.superapp.applicationId, ID: 'abc' })).error.code).toBe(
      'InvalidParameterValue',
    );
    const wrongPlatform = await callAction(managementClient(baseUrl, admin), 'QueryMNPMerchantInfo', {
      PlatformId: 'plat_other',
      QueryTeamID: manifest.miniProgramTeam.teamId,
    });
    expect(wrongPlatform.error.code).toBe('ResourceNotFound');
    const noPlatform = await callAction(managementClient(baseUrl, admin), 'QueryMNPMerchantInfo', {
      QueryTeamID: manifest.miniProgramTeam.teamId,
    });
    expect(noPlatform.error.code).toBe('InvalidParameter');
  });

  it('answers a team with no binding at all with PaymentRecordNotFound', async () => {
    const developer = manifest.miniProgramTeam.users.developer;
    const [user] = await context.services.users.list(systemActor(), developer.account);
    const team = await context.services.teams.create(systemActor(), {
      kind: 'miniprogram',
      name: 'No binding yet',
      superappId: manifest.superapp.applicationId,
      administratorUserId: user!.id,
    });
    const result = await call(developer, 'QueryMNPMerchantInfo', { QueryTeamID: team.id });
    expect(result.error.code).toBe('FailedOperation.PaymentRecordNotFound');
  });
});
