import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import { ExemptionStatus, exemptionMachine, type ExemptionEvent } from '../../domain/approval-state.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { isUniqueViolation } from '../../repositories/constraint-errors.ts';
import {
  itemExemptionRepository,
  type ItemExemptionChanges,
  type ItemExemptionRow,
  type StoredExemptionStatus,
} from '../../repositories/virtual-item-exemption.repository.ts';
import {
  alreadyProcessed,
  approvalPersister,
  persistTransition,
  recordApprovalCreation,
  validDecision,
  type DecisionInput,
} from '../payment-setup/index.ts';
import { accessSuperapp, recordAudit, seesSuperapp } from '../tenancy/index.ts';
import { accessVirtualSetup } from './virtual-access.ts';

export const exemptionTransitions = approvalPersister<ExemptionStatus, ExemptionEvent, ItemExemptionChanges>(
  'item_exemption',
  exemptionMachine,
  (trx, id, from, to, changes) =>
    itemExemptionRepository.compareAndSet(trx, id, from as StoredExemptionStatus, to as StoredExemptionStatus, changes),
);

export interface ExemptionView {
  mnpId: string;
  /** -1 never requested, 0 pending, 10 approved, 20 rejected, 30 revoked. */
  status: ExemptionStatus;
  approvalNo: string | null;
  applyNote: string;
  applyTime: number;
  approvalTime: number;
  approvalNote: string;
  /** 1 when a request may be made now (never requested, rejected or revoked). */
  applyShow: 0 | 1;
}

const pendingExists = () =>
  new AppError('FailedOperation.ExistPaymentOpenApply', 'An exemption request for this mini program is already pending');

/** The approval exemption for virtual items (SPEC §8.1): requested by the mini program, decided by the superapp. */
export class ItemExemptionService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  async describe(actor: Actor, mnpId: string): Promise<ExemptionView> {
    const { miniProgram } = await accessVirtualSetup(this.db, actor, mnpId, 'item_exemption.view');
    return viewOf(miniProgram.id, await itemExemptionRepository.findLatestByMnp(this.db, miniProgram.id));
  }

  async request(actor: Actor, input: { mnpId: string; applyNote: string }): Promise<{ approvalNo: string }> {
    const applyNote = input.applyNote.trim();
    if (applyNote.length > 500) throw new AppError('InvalidParameterValue', 'applyNote: at most 500 characters', { field: 'applyNote' });
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { miniProgram, team } = await accessVirtualSetup(trx, actor, input.mnpId, 'item_exemption.view', 'item_exemption.request');
        const latest = await itemExemptionRepository.findLatestByMnp(trx, miniProgram.id);
        const current = latest?.status ?? ExemptionStatus.NeverApplied;
        if (current === ExemptionStatus.Pending) throw pendingExists();
        if (current === ExemptionStatus.Approved)
          throw new AppError('FailedOperation', 'Items of this mini program are already exempt from approval');
        const status = exemptionMachine.transition(current, 'apply') as StoredExemptionStatus;
        const now = this.clock.nowMs();
        const approvalNo = newId('apr', now);
        const id = await itemExemptionRepository.insert(trx, {
          approval_no: approvalNo,
          mnp_id: miniProgram.id,
          superapp_id: team.superapp_id,
          team_id: team.id,
          apply_note: applyNote,
          status,
          requested_by: actor.userId,
          requested_at: now,
          decided_by: null,
          decided_at: null,
          approval_note: '',
          revoked_by: null,
          revoked_at: null,
        });
        await recordApprovalCreation(trx, this.clock, actor, exemptionTransitions, {
          record: { id, approval_no: approvalNo, status },
          event: 'apply',
          note: applyNote,
        });
        await recordAudit(trx, this.clock, actor, {
          action: 'item_exemption.apply',
          targetType: 'item_exemption',
          targetId: approvalNo,
          teamId: team.id,
          before: { status: current },
          after: { id, mnpId: miniProgram.id, status, applyNote },
        });
        return { approvalNo };
      });
    } catch (error) {
      // The one-pending-per-mini-program index caught a concurrent request.
      if (isUniqueViolation(error)) throw pendingExists();
      throw error;
    }
  }

  /** Whether `approvalNo` names an exemption request (the approvals dispatch asks before deciding). */
  async owns(approvalNo: string): Promise<boolean> {
    return (await itemExemptionRepository.findByApprovalNo(this.db, approvalNo)) !== undefined;
  }

  async decide(actor: Actor, input: DecisionInput): Promise<{ id: number }> {
    // Reach first, as the standard decide does: a superapp out of reach is not found whatever the decision says.
    await accessSuperapp(this.db, actor, input.applicationId, 'approval.decide');
    const decision = validDecision(input);
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, input.applicationId, 'approval.decide');
      const request = await itemExemptionRepository.findByApprovalNo(trx, input.approvalNo);
      if (!request || (request.superapp_id !== superapp.id && !(await seesSuperapp(trx, actor, request.superapp_id))))
        throw new AppError('InvalidParameterValue.InvalidApprovalNo', 'No request has this ApprovalNo', { field: 'approvalNo' });
      if (request.superapp_id !== superapp.id)
        throw new AppError('FailedOperation.ApprovalNotBelongToApplication', 'This request belongs to another superapp');
      if (request.status !== ExemptionStatus.Pending) throw alreadyProcessed();
      await persistTransition(trx, this.clock, actor, {
        persister: exemptionTransitions,
        record: { id: request.id, approval_no: request.approval_no, status: request.status },
        event: decision.approve ? 'approve' : 'reject',
        changes: { decided_by: actor.userId, decided_at: this.clock.nowMs(), approval_note: decision.note },
        note: decision.note,
        auditTeamId: superapp.team_id,
        auditDetails: { mnpId: request.mnp_id, teamId: request.team_id },
      });
      return { id: request.id };
    });
  }

  /** The superapp revokes an approved exemption (APPROVED → REVOKED): items saved from now on wait for approval again. */
  async revoke(actor: Actor, input: { applicationId: string; mnpId: string; note?: string | undefined }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, input.applicationId, 'approval.decide');
      const latest = await itemExemptionRepository.findLatestByMnp(trx, input.mnpId);
      // Another superapp's mini program is as unknown as a made-up one.
      if (!latest || latest.superapp_id !== superapp.id) throw new AppError('ResourceNotFound', 'Exemption not found');
      if (latest.status !== ExemptionStatus.Approved) throw alreadyProcessed();
      const note = (input.note ?? '').trim().slice(0, 500);
      await persistTransition(trx, this.clock, actor, {
        persister: exemptionTransitions,
        record: { id: latest.id, approval_no: latest.approval_no, status: latest.status },
        event: 'revoke',
        changes: { revoked_by: actor.userId, revoked_at: this.clock.nowMs() },
        note,
        auditTeamId: superapp.team_id,
        auditDetails: { mnpId: latest.mnp_id, teamId: latest.team_id },
      });
    });
  }
}

function viewOf(mnpId: string, row: ItemExemptionRow | undefined): ExemptionView {
  const status: ExemptionStatus = row?.status ?? ExemptionStatus.NeverApplied;
  return {
    mnpId,
    status,
    approvalNo: row?.approval_no ?? null,
    applyNote: row?.apply_note ?? '',
    applyTime: row ? Number(row.requested_at) : 0,
    approvalTime: Number((status === ExemptionStatus.Revoked ? row?.revoked_at : row?.decided_at) ?? 0),
    approvalNote: row?.approval_note ?? '',
    applyShow: exemptionMachine.can(status, 'apply') ? 1 : 0,
  };
}
