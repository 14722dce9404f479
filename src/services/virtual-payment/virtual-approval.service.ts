import type { ApprovalKind } from '../../domain/approval-state.ts';
import { PaymentType } from '../../domain/approval-state.ts';
import type { Actor } from '../../domain/access.ts';
import { AppError } from '../../domain/errors.ts';
import type { DecisionInput, PaymentEnablementService } from '../payment-setup/index.ts';
import type { ItemExemptionService } from './item-exemption.service.ts';
import type { VirtualItemService } from './virtual-item.service.ts';

/** ApproveVirtualPaymentRequest (SPEC §8.1): one decision for virtual enablement, item and exemption requests, by ApprovalNo. */
export class VirtualApprovalService {
  constructor(
    private readonly enablements: Pick<PaymentEnablementService, 'decide' | 'paymentTypeOf'>,
    private readonly items: VirtualItemService,
    private readonly exemptions: ItemExemptionService,
  ) {}

  /** Decides the request if `approvalNo` names a virtual one; undefined otherwise (the caller tries its own kinds). */
  async decideIfVirtual(actor: Actor, input: DecisionInput): Promise<{ kind: ApprovalKind; id: number } | undefined> {
    if ((await this.enablements.paymentTypeOf(input.approvalNo)) === PaymentType.Virtual)
      return { kind: 'virtual_payment_enable', ...(await this.enablements.decide(actor, input, PaymentType.Virtual)) };
    if (await this.items.owns(input.approvalNo)) return { kind: 'virtual_item', ...(await this.items.decide(actor, input)) };
    if (await this.exemptions.owns(input.approvalNo)) return { kind: 'item_exemption', ...(await this.exemptions.decide(actor, input)) };
    return undefined;
  }

  async decide(actor: Actor, input: DecisionInput): Promise<{ kind: ApprovalKind; id: number }> {
    const decided = await this.decideIfVirtual(actor, input);
    if (decided) return decided;
    throw new AppError('InvalidParameterValue.InvalidApprovalNo', 'No virtual payment request has this ApprovalNo', {
      field: 'approvalNo',
    });
  }
}
