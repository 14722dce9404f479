import { expect } from 'vitest';
import type { Actor } from '../../src/domain/access.ts';
import { AppError, type ErrorCode } from '../../src/domain/errors.ts';
import { ApprovalType } from '../../src/domain/approval-state.ts';
import { userRepository } from '../../src/repositories/user.repository.ts';
import { actorOf, addMiniProgramTeam, createTenant, createUser, type TeamRoleKey, type Tenant, type TestUser } from './factories.ts';
import type { TestContext } from './test-context.ts';

/**
 * A tenant ready for payment tests: a superapp with payment enabled (CNY, sandbox) and merchants on its
 * list, a mini program team with every preset role, a second mini program team, and each user's actor.
 */
export interface PaymentWorld {
  context: TestContext;
  tenant: Tenant;
  applicationId: string;
  teamId: string;
  mnpId: string;
  second: { teamId: string; mnpId: string; administrator: Actor };
  merchants: { merchantId: string; merchantName: string }[];
  as: Record<TeamRoleKey, Actor>;
  /** The sign-ins of the platform admins (team members' are in `tenant.members`). */
  adminUsers: { super_admin: TestUser; platform_admin: TestUser };
  superAdmin: Actor;
  platformAdmin: Actor;
  /** SA Administrator and review staff, for brevity. */
  saAdmin: Actor;
  reviewer: Actor;
  mpAdmin: Actor;
}

let worldSequence = 0;
const superAdmins = new WeakMap<TestContext, TestUser>();

export async function createPaymentWorld(
  context: TestContext,
  options: { paymentEnabled?: boolean; merchants?: number } = {},
): Promise<PaymentWorld> {
  worldSequence += 1;
  const tenant = await createTenant(context, `pay${worldSequence}${Math.random().toString(36).slice(2, 6)}`);
  const second = await addMiniProgramTeam(context, tenant);
  const as = {} as Record<TeamRoleKey, Actor>;
  for (const [key, user] of Object.entries(tenant.members) as [TeamRoleKey, TestUser][]) as[key] = await actorOf(context, user);
  // One super admin per deployment: the first world of a context makes it, later ones reuse it.
  let superAdminUser = superAdmins.get(context);
  if (!superAdminUser) {
    if (await userRepository.findSuperAdmin(context.database.db))
      throw new Error('this context already has a super admin the payment world does not know');
    superAdminUser = await createUser(context, { platformRole: 'super_admin' });
    superAdmins.set(context, superAdminUser);
  }
  const platformAdminUser = await createUser(context, { platformRole: 'platform_admin' });
  const superAdmin = await actorOf(context, superAdminUser);
  const platformAdmin = await actorOf(context, platformAdminUser);
  const { paymentConfig, merchants } = context.services;
  const saAdmin = as['sa:administrator'];
  await paymentConfig.update(saAdmin, tenant.applicationId, {
    paymentEnabled: options.paymentEnabled ?? true,
    currencies: ['CNY', 'USD'],
    channel: { kind: 'sandbox' },
  });
  const list = [];
  for (let index = 1; index <= (options.merchants ?? 3); index++) {
    const merchant = {
      merchantId: `19${worldSequence.toString().padStart(4, '0')}${index.toString().padStart(4, '0')}`,
      merchantName: `${tenant.name} merchant ${index}`,
    };
    await merchants.create(saAdmin, tenant.applicationId, merchant);
    list.push(merchant);
  }
  return {
    context,
    tenant,
    applicationId: tenant.applicationId,
    teamId: tenant.miniProgramTeamId,
    mnpId: tenant.mnpId,
    second: { teamId: second.teamId, mnpId: second.mnpId, administrator: await actorOf(context, second.administrator) },
    merchants: list,
    as,
    adminUsers: { super_admin: superAdminUser, platform_admin: platformAdminUser },
    superAdmin,
    platformAdmin,
    saAdmin,
    reviewer: as['sa:reviewer'],
    mpAdmin: as['mp:administrator'],
  };
}

/** Requests and approves a binding of `teamId` to `merchant`; returns the binding id. */
export async function bindTeam(
  world: PaymentWorld,
  merchant = world.merchants[0]!,
  teamId = world.teamId,
  requester = world.mpAdmin,
): Promise<number> {
  const { approvalNo } = await world.context.services.bindings.request(requester, { teamId, ...merchant });
  const { id } = await world.context.services.bindings.decide(world.reviewer, {
    applicationId: world.applicationId,
    approvalNo,
    approvalType: ApprovalType.Approve,
    approvalNote: 'ok',
  });
  return id;
}

/** Requests and approves payment of a mini program; returns the payment record id. */
export async function approvePayment(world: PaymentWorld, mnpId = world.mnpId, requester = world.mpAdmin): Promise<number> {
  const { approvalNo } = await world.context.services.enablements.request(requester, { mnpId, applyNote: 'please' });
  const { id } = await world.context.services.enablements.decide(world.reviewer, {
    applicationId: world.applicationId,
    approvalNo,
    approvalType: ApprovalType.Approve,
    approvalNote: '',
  });
  return id;
}

/** The promise fails with an AppError of exactly this code. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `expected ${code}, but it succeeded`).toBeInstanceOf(AppError);
  expect((error as AppError).code, (error as AppError).message).toBe(code);
  return error as AppError;
}
