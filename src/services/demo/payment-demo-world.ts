import { generateApiV3Key } from '../../domain/credentials.ts';
import { ApprovalType } from '../../domain/approval-state.ts';
import type {
  ApprovalService,
  MerchantBindingService,
  MerchantService,
  PaymentConfigService,
  PaymentCredentialService,
  PaymentEnablementService,
  PlatformKeyService,
} from '../payment-setup/index.ts';
import type { DemoManifest, DemoWorldService } from './demo-world.service.ts';

interface PaymentServices {
  paymentConfig: PaymentConfigService;
  merchants: MerchantService;
  bindings: MerchantBindingService;
  enablements: PaymentEnablementService;
  approvals: ApprovalService;
  credentials: PaymentCredentialService;
  platformKeys: PlatformKeyService;
}

export const demoMerchants = [
  { merchantId: '1900000101', merchantName: 'Demo Shop Merchant' },
  { merchantId: '1900000102', merchantName: 'Demo Spare Merchant' },
] as const;

/**
 * The payment part of the demo world (SPEC §6.2), through the same services and roles a person would use:
 * the superapp enables payment (CNY, sandbox) and lists two merchants; the shop team binds the first and
 * gets payment approved for the `ready` mini program, downloads its private key once and sets an APIv3 key.
 */
export function extendDemoWorldWithPayment(demoWorld: DemoWorldService, services: PaymentServices) {
  const refreshPlatformKey = async (manifest: DemoManifest) => {
    const key = await services.platformKeys.signingKey();
    manifest.miniPrograms.ready.platformSerial = key.publicKeyId;
    manifest.miniPrograms.ready.platformPublicKeyPem = key.publicKeyPem;
    manifest.miniPrograms.ready.platformCertificateSerial = key.serialNo;
  };
  demoWorld.extend(async (manifest, actors) => {
    const { applicationId } = manifest.superapp;
    const saAdmin = await actors.actorOfAccount(manifest.superapp.users.admin.account);
    const reviewer = await actors.actorOfAccount(manifest.superapp.users.reviewer.account);
    const mpAdmin = await actors.actorOfAccount(manifest.miniProgramTeam.users.admin.account);
    const mpSenior = await actors.actorOfAccount(manifest.miniProgramTeam.users.seniorDeveloper.account);

    const config = await services.paymentConfig.update(saAdmin, applicationId, {
      paymentEnabled: true,
      currencies: ['CNY'],
      channel: (await services.paymentConfig.get(saAdmin, applicationId)).sandboxAvailable ? { kind: 'sandbox' } : undefined,
    });
    for (const merchant of demoMerchants) await services.merchants.create(saAdmin, applicationId, merchant);
    const bound = demoMerchants[0];

    const binding = await services.bindings.request(mpAdmin, { teamId: manifest.miniProgramTeam.teamId, ...bound });
    await services.approvals.decide(reviewer, {
      applicationId,
      approvalNo: binding.approvalNo,
      approvalType: ApprovalType.Approve,
      approvalNote: 'Demo merchant verified',
    });

    const ready = manifest.miniPrograms.ready;
    const application = await services.enablements.request(mpAdmin, { mnpId: ready.mnpId, applyNote: 'The demo shop sells coffee beans' });
    await services.approvals.decide(reviewer, {
      applicationId,
      approvalNo: application.approvalNo,
      approvalType: ApprovalType.Approve,
      approvalNote: 'Approved for the demo',
    });
    const key = await services.credentials.downloadPrivateKey(mpAdmin, ready.mnpId);
    const apiV3Key = generateApiV3Key();
    await services.credentials.setApiV3Key(mpSenior, ready.mnpId, apiV3Key);

    manifest.superapp.currencies = [...config.currencies];
    manifest.superapp.merchants = demoMerchants.map((m) => ({ ...m }));
    ready.mchid = bound.merchantId;
    ready.serialNo = key.serialNo;
    ready.privateKeyPem = key.privateKeyPem;
    ready.apiV3Key = apiV3Key;
    await refreshPlatformKey(manifest);
  }, refreshPlatformKey);
}
