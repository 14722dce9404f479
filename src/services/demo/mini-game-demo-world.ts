import { randomBytes } from 'node:crypto';
import { ApprovalType } from '../../domain/approval-state.ts';
import type { ApprovalService, PaymentEnablementService } from '../payment-setup/index.ts';
import type { MiniProgramService } from '../tenancy/index.ts';
import type { VirtualDeliveryService, VirtualItemService, VirtualPaymentAccountService } from '../virtual-payment/index.ts';
import type { DemoWorldService } from './demo-world.service.ts';

/** The demo mini game's two items (SPEC §8.9). */
export const demoGameItems = [
  { productId: 'gem_pack_60', name: '60 gems', price: 600, currency: 'CNY', remark: 'A pack of 60 gems' },
  { productId: 'skin_knight', name: 'Knight skin', price: 1800, currency: 'CNY', remark: 'The knight, in steel' },
] as const;

/**
 * The mini game part of the demo world (SPEC §8.9), through the same services and roles a person would use: the shop
 * team (already bound to the demo merchant) adds a mini game, requests virtual payment, which the superapp's review
 * staff approve (creating its OfferId and AppKey); the senior developer points its delivery URL at the demo's own
 * receiver and submits two items, which review staff approve. Runs after the payment part of the world.
 */
export function extendDemoWorldWithMiniGame(
  demoWorld: DemoWorldService,
  services: {
    miniPrograms: MiniProgramService;
    enablements: PaymentEnablementService;
    approvals: ApprovalService;
    virtualAccounts: VirtualPaymentAccountService;
    virtualDelivery: VirtualDeliveryService;
    virtualItems: VirtualItemService;
  },
  build: { deliveryUrl: string },
) {
  demoWorld.extend(async (manifest, actors) => {
    const { applicationId } = manifest.superapp;
    const admin = await actors.actorOfAccount(manifest.miniProgramTeam.users.admin.account);
    const senior = await actors.actorOfAccount(manifest.miniProgramTeam.users.seniorDeveloper.account);
    const reviewer = await actors.actorOfAccount(manifest.superapp.users.reviewer.account);
    const approve = (approvalNo: string, approvalNote: string) =>
      services.approvals.decide(reviewer, { applicationId, approvalNo, approvalType: ApprovalType.Approve, approvalNote });

    const game = await services.miniPrograms.create(admin, manifest.miniProgramTeam.teamId, {
      name: 'Demo Knights',
      category: 'Games',
      kind: 'minigame',
    });
    const request = await services.enablements.request(admin, {
      mnpId: game.mnpId,
      applyNote: 'Demo Knights sells gems and skins',
      paymentType: 2,
    });
    await approve(request.approvalNo, 'Approved for the demo');
    await services.virtualDelivery.setDeliveryUrl(senior, game.mnpId, build.deliveryUrl);
    for (const item of demoGameItems) {
      const created = await services.virtualItems.create(senior, game.mnpId, { ...item });
      if (created.pending) await approve(created.pending.approvalNo, 'Demo item');
    }
    const account = await services.virtualAccounts.viewAppKey(admin, game.mnpId);
    manifest.miniGames = {
      ready: {
        mnpId: game.mnpId,
        mchid: account.mchid,
        offerId: account.offerId,
        appKey: account.appKey,
        deliveryUrl: build.deliveryUrl,
        items: demoGameItems.map(({ productId, name, price, currency }) => ({ productId, name, price, currency })),
        sessionKey: randomBytes(16).toString('base64'),
      },
    };
  });
}
