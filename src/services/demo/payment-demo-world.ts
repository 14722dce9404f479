import { generateApiV3Key } from '../../domain/credentials.ts';
import { ApprovalType } from '../../domain/approval-state.ts';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../domain/business-time.ts';
import { ManualClock, type Clock } from '../../domain/clock.ts';
import type { PlatformKeyService } from '../payment-setup/index.ts';
import type { DemoManifest, DemoWorldService } from './demo-world.service.ts';
import { reconcileDemoYesterday, type DemoDayServices } from './demo-yesterday.ts';

export const demoMerchants = [
  { merchantId: '1900000101', merchantName: 'Demo Shop Merchant' },
  { merchantId: '1900000102', merchantName: 'Demo Spare Merchant' },
] as const;

/** Where the payment part of the demo world is built: services on a clock of its choosing, the business day's zone. */
export interface DemoPaymentBuild {
  /** The app's clock: "now". */
  clock: Clock;
  timezone: string;
  /** The app's services, on another clock (yesterday's part of the build runs at yesterday's time). */
  servicesAt(clock: Clock): DemoDayServices;
  /** The demo shop's notify_url, which yesterday's orders name like the shop's own. */
  notifyUrl: string;
}

/**
 * The payment part of the demo world (SPEC §6.2), through the same services and roles a person would use:
 * the superapp enables payment (CNY, sandbox) and lists two merchants; the shop team binds the first and
 * gets payment approved for the `ready` mini program, downloads its private key once and sets an APIv3 key.
 * That happens yesterday morning, so the superapp has a yesterday: a few payments and a refund, and that day
 * reconciled with one exception of each common kind (SPEC §9.5).
 */
export function extendDemoWorldWithPayment(
  demoWorld: DemoWorldService,
  services: { platformKeys: PlatformKeyService },
  build: DemoPaymentBuild,
) {
  const refreshPlatformKey = async (manifest: DemoManifest) => {
    const key = await services.platformKeys.signingKey();
    manifest.miniPrograms.ready.platformSerial = key.publicKeyId;
    manifest.miniPrograms.ready.platformPublicKeyPem = key.publicKeyPem;
    manifest.miniPrograms.ready.platformCertificateSerial = key.serialNo;
  };
  demoWorld.extend(async (manifest, actors) => {
    const yesterday = addCalendarDays(businessDateOf(build.clock.nowMs(), build.timezone), -1);
    const dayClock = new ManualClock(businessTimeOn(yesterday, '09:00', build.timezone));
    const day = build.servicesAt(dayClock);
    const { applicationId } = manifest.superapp;
    const saAdmin = await actors.actorOfAccount(manifest.superapp.users.admin.account);
    const reviewer = await actors.actorOfAccount(manifest.superapp.users.reviewer.account);
    const mpAdmin = await actors.actorOfAccount(manifest.miniProgramTeam.users.admin.account);
    const mpSenior = await actors.actorOfAccount(manifest.miniProgramTeam.users.seniorDeveloper.account);

    const config = await day.paymentConfig.update(saAdmin, applicationId, {
      paymentEnabled: true,
      currencies: ['CNY'],
      channel: (await day.paymentConfig.get(saAdmin, applicationId)).sandboxAvailable ? { kind: 'sandbox' } : undefined,
    });
    for (const merchant of demoMerchants) await day.merchants.create(saAdmin, applicationId, merchant);
    const bound = demoMerchants[0];

    const binding = await day.bindings.request(mpAdmin, { teamId: manifest.miniProgramTeam.teamId, ...bound });
    await day.approvals.decide(reviewer, {
      applicationId,
      approvalNo: binding.approvalNo,
      approvalType: ApprovalType.Approve,
      approvalNote: 'Demo merchant verified',
    });

    const ready = manifest.miniPrograms.ready;
    const application = await day.enablements.request(mpAdmin, { mnpId: ready.mnpId, applyNote: 'The demo shop sells coffee beans' });
    await day.approvals.decide(reviewer, {
      applicationId,
      approvalNo: application.approvalNo,
      approvalType: ApprovalType.Approve,
      approvalNote: 'Approved for the demo',
    });
    const key = await day.credentials.downloadPrivateKey(mpAdmin, ready.mnpId);
    const apiV3Key = generateApiV3Key();
    await day.credentials.setApiV3Key(mpSenior, ready.mnpId, apiV3Key);

    manifest.superapp.currencies = [...config.currencies];
    manifest.superapp.merchants = demoMerchants.map((m) => ({ ...m }));
    ready.mchid = bound.merchantId;
    ready.serialNo = key.serialNo;
    ready.privateKeyPem = key.privateKeyPem;
    ready.apiV3Key = apiV3Key;
    await refreshPlatformKey(manifest);
    await reconcileDemoYesterday({ manifest, yesterday, dayClock, day, now: build.servicesAt(build.clock), ...build });
  }, refreshPlatformKey);
}
