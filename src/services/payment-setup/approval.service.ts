import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import { AppError } from '../../domain/errors.ts';
import { approvalKinds, BindingStatus, EnablementStatus, RevisionStatus, type ApprovalKind } from '../../domain/approval-state.ts';
import { approvalRepository } from '../../repositories/approval.repository.ts';
import { merchantBindingRepository } from '../../repositories/merchant-binding.repository.ts';
import type { DecisionInput } from './approval-transition.ts';
import type { MerchantBindingService } from './merchant-binding.service.ts';
import { accessSuperapp } from '../tenancy/index.ts';
import type { PaymentEnablementService } from './payment-enablement.service.ts';

export const maxListLimit = 100;
export const maxListOffset = 10_000;
export const defaultListLimit = 20;

export interface ApprovalListQuery {
  applicationId: string;
  kind?: ApprovalKind | undefined;
  approvalStatusList?: number[] | undefined;
  mnpId?: string | undefined;
  teamId?: string | undefined;
  offset?: number | undefined;
  limit?: number | undefined;
}

export interface ApprovalListItem {
  approvalNo: string;
  kind: ApprovalKind;
  teamId: string;
  /** Null for merchant binding requests (they are per team). */
  mnpId: string | null;
  merchantId: string;
  merchantName: string;
  applyNote: string;
  approvalStatus: number;
  applyTime: number;
  /** ms of the decision; null while pending. */
  approvalTime: number | null;
  approvalNote: string;
  /** The binding or payment record id once approved (also after unbinding / disabling); the item's id once a revision is
   * approved; the exemption's id once approved (also after revoking); null before. */
  id: number | null;
  /** 1 standard, 2 virtual (SPEC §8.1); null for merchant binding requests. */
  paymentType: number | null;
  /** The item of a `virtual_item` request; null for the other kinds. */
  productId: string | null;
}

/** Decides virtual payment requests (enablement, items, exemptions) for the Approvals page; the virtual payment group implements it. */
export interface VirtualApprovalDecider {
  decideIfVirtual(actor: Actor, input: DecisionInput): Promise<{ kind: ApprovalKind; id: number } | undefined>;
}

/** Checks Offset / Limit of a list action (SPEC §7: Limit default 20, at most 100; Offset at most 10,000). */
export function validPage(offset: number | undefined, limit: number | undefined): { offset: number; limit: number } {
  const page = { offset: offset ?? 0, limit: limit ?? defaultListLimit };
  if (!Number.isInteger(page.offset) || page.offset < 0 || page.offset > maxListOffset) {
    throw new AppError('InvalidParameterValue', `offset: an integer from 0 to ${maxListOffset}`, { field: 'offset' });
  }
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > maxListLimit) {
    throw new AppError('InvalidParameterValue', `limit: an integer from 1 to ${maxListLimit}`, { field: 'limit' });
  }
  return page;
}

const approvedStatuses = new Set<number>([
  BindingStatus.Effective,
  BindingStatus.Unbound,
  EnablementStatus.Approved,
  EnablementStatus.Disabled,
]);
/** A revision's 30 is "withdrawn", never approved. */
const idShownAt = (kind: ApprovalKind, status: number) =>
  kind === 'virtual_item' ? status === RevisionStatus.Approved : approvedStatuses.has(status);

/** The superapp's Approvals page (SPEC §5): binding requests and payment requests, pending and decided. */
export class ApprovalService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly bindings: MerchantBindingService,
    private readonly enablements: PaymentEnablementService,
    private readonly virtualApprovals?: VirtualApprovalDecider,
  ) {}

  /** DescribePaymentApprovalList: visible to every superapp role and to super and platform admins. */
  async list(actor: Actor, query: ApprovalListQuery): Promise<{ total: number; list: ApprovalListItem[] }> {
    const { superapp } = await accessSuperapp(this.db, actor, query.applicationId);
    const page = validPage(query.offset, query.limit);
    if (query.kind !== undefined && !approvalKinds.includes(query.kind)) {
      throw new AppError('InvalidParameterValue', `kind: one of ${approvalKinds.join(', ')}`, { field: 'kind' });
    }
    const { total, rows } = await approvalRepository.list(this.db, {
      superappId: superapp.id,
      kind: query.kind,
      statuses: query.approvalStatusList,
      mnpId: query.mnpId || undefined,
      teamId: query.teamId || undefined,
      ...page,
    });
    return {
      total,
      list: rows.map((row) => ({
        approvalNo: row.approval_no,
        kind: row.kind,
        teamId: row.team_id,
        mnpId: row.mnp_id,
        merchantId: row.merchant_id,
        merchantName: row.merchant_name,
        applyNote: row.apply_note,
        approvalStatus: Number(row.status),
        applyTime: Number(row.requested_at),
        approvalTime: row.decided_at === null ? null : Number(row.decided_at),
        approvalNote: row.approval_note,
        id: idShownAt(row.kind, Number(row.status)) ? Number(row.id) : null,
        paymentType: row.payment_type,
        productId: row.product_id,
      })),
    };
  }

  /** Decides any kind of request by its ApprovalNo (the console's Approvals page). */
  async decide(actor: Actor, input: DecisionInput): Promise<{ kind: ApprovalKind; id: number }> {
    if (await merchantBindingRepository.findByApprovalNo(this.db, input.approvalNo)) {
      return { kind: 'merchant_binding', ...(await this.bindings.decide(actor, input)) };
    }
    const virtual = await this.virtualApprovals?.decideIfVirtual(actor, input);
    if (virtual) return virtual;
    return { kind: 'payment_enable', ...(await this.enablements.decide(actor, input)) };
  }
}
