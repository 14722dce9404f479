import type { Executor, DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { BindingStatus, bindingMachine, type BindingEvent } from '../../domain/approval-state.ts';
import { approvalTransitionRepository } from '../../repositories/approval-transition.repository.ts';
import { isUniqueViolation } from '../../repositories/constraint-errors.ts';
import { merchantBindingRepository, type MerchantBindingRow } from '../../repositories/merchant-binding.repository.ts';
import { merchantRepository } from '../../repositories/merchant.repository.ts';
import { paymentAccountRepository } from '../../repositories/payment-account.repository.ts';
import { virtualPaymentAccountRepository } from '../../repositories/virtual-payment-account.repository.ts';
import { accessMiniProgramTeam, accessSuperapp, recordAudit, seesSuperapp } from '../tenancy/index.ts';
import {
  alreadyProcessed,
  bindingTransitions,
  persistTransition,
  recordApprovalCreation,
  validDecision,
  type DecisionInput,
} from './approval-transition.ts';
import { resolvePaymentConfig } from './payment-config.service.ts';
import { disableApprovedOfTeam } from './payment-enablement.service.ts';

export interface BindingRequestInput {
  teamId: string;
  merchantId: string;
  merchantName: string;
}

export interface TeamMerchantInfo {
  merchantId: string;
  merchantName: string;
  approvalStatus: BindingStatus;
  /** The binding (request) id. */
  id: number;
}

export interface BindingTransitionView {
  event: string;
  fromStatus: number | null;
  toStatus: number;
  actorAccount: string;
  note: string;
  at: number;
}

export interface BindingView {
  id: number;
  approvalNo: string;
  applicationId: string;
  teamId: string;
  merchantId: string;
  merchantName: string;
  requestKind: 'bind' | 'change';
  replacesBindingId: number | null;
  approvalStatus: BindingStatus;
  requestedAt: number;
  decidedAt: number | null;
  approvalNote: string;
  endedAt: number | null;
  endReason: MerchantBindingRow['end_reason'];
}

export const toBindingView = (row: MerchantBindingRow): BindingView => ({
  id: Number(row.id),
  approvalNo: row.approval_no,
  applicationId: row.superapp_id,
  teamId: row.team_id,
  merchantId: row.merchant_id,
  merchantName: row.merchant_name,
  requestKind: row.request_kind,
  replacesBindingId: row.replaces_binding_id === null ? null : Number(row.replaces_binding_id),
  approvalStatus: row.status,
  requestedAt: row.requested_at,
  decidedAt: row.decided_at,
  approvalNote: row.approval_note,
  endedAt: row.ended_at,
  endReason: row.end_reason,
});

const paymentClosed = () => new AppError('FailedOperation.MerchantPaymentFunctionClosed', "The superapp's payment function is closed");
const merchantTaken = (message = 'This merchant is already bound to another team') =>
  new AppError('FailedOperation.ExistMerchantBindRelation', message);
const recordNotFound = (message = 'No such binding record') => new AppError('FailedOperation.PaymentRecordNotFound', message);

/** SPEC §2.1: merchant binding per mini program team — request, change, decide, unbind, records. */
export class MerchantBindingService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  /** RequestPaymentMerchantBinding: a new binding for a team without one. */
  request(actor: Actor, input: BindingRequestInput): Promise<{ approvalNo: string }> {
    return this.submit(actor, input, 'bind');
  }

  /** ChangePaymentBoundMerchant: a pending request to replace the effective binding (which stays until approved). */
  requestChange(actor: Actor, input: BindingRequestInput): Promise<{ approvalNo: string }> {
    return this.submit(actor, input, 'change');
  }

  /** QueryMNPMerchantInfo: the effective binding (even while a change is pending), else the latest request. */
  async queryTeamMerchant(actor: Actor, teamId: string): Promise<TeamMerchantInfo> {
    const { team } = await accessMiniProgramTeam(this.db, actor, teamId, 'merchant_binding.view');
    const row =
      (await merchantBindingRepository.findEffectiveByTeam(this.db, team.id)) ??
      (await merchantBindingRepository.findLatestByTeam(this.db, team.id));
    if (!row) throw recordNotFound('This team has no merchant binding and no binding request');
    return { merchantId: row.merchant_id, merchantName: row.merchant_name, approvalStatus: row.status, id: Number(row.id) };
  }

  /** The console's "Bind merchant" page: the effective binding, the pending request, and the superapp's currencies. */
  async overview(actor: Actor, teamId: string) {
    const { team } = await accessMiniProgramTeam(this.db, actor, teamId, 'merchant_binding.view');
    const effective = await merchantBindingRepository.findEffectiveByTeam(this.db, team.id);
    const pending = await merchantBindingRepository.findPendingByTeam(this.db, team.id);
    const latest = await merchantBindingRepository.findLatestByTeam(this.db, team.id);
    const config = await resolvePaymentConfig(this.db, team.superapp_id);
    return {
      teamId: team.id,
      applicationId: team.superapp_id,
      effective: effective ? toBindingView(effective) : null,
      pending: pending ? toBindingView(pending) : null,
      latest: latest ? toBindingView(latest) : null,
      superappPaymentEnabled: config.paymentEnabled,
      /** Shown once the binding is effective (SPEC §2.1). */
      currencies: effective ? config.currencies : [],
    };
  }

  /** Every binding request of a team with its transitions, newest first. */
  async records(actor: Actor, teamId: string): Promise<(BindingView & { history: BindingTransitionView[] })[]> {
    const { team } = await accessMiniProgramTeam(this.db, actor, teamId, 'merchant_binding.view');
    const rows = await merchantBindingRepository.listByTeam(this.db, team.id);
    const transitions = await approvalTransitionRepository.listByRecords(
      this.db,
      'merchant_binding',
      rows.map((row) => Number(row.id)),
    );
    return rows.map((row) => ({
      ...toBindingView(row),
      history: transitions
        .filter((t) => Number(t.record_id) === Number(row.id))
        .map((t) => ({
          event: t.event,
          fromStatus: t.from_status,
          toStatus: t.to_status,
          actorAccount: t.actor_account,
          note: t.note,
          at: t.at,
        })),
    }));
  }

  /** UnbindMNPPaymentMerchant: the team ends its effective binding; its approved mini programs are disabled. */
  async unbindByTeam(actor: Actor, input: { teamId: string; id: number }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { team } = await accessMiniProgramTeam(trx, actor, input.teamId, 'merchant_binding.view', 'merchant_binding.manage');
      const binding = await merchantBindingRepository.findById(trx, input.id);
      if (!binding || binding.team_id !== team.id) throw recordNotFound();
      await this.unbind(trx, actor, binding, 'unbound_by_team', team.id);
    });
  }

  /** UnbindPaymentMerchant: the superapp ends a team's effective binding. */
  async unbindBySuperapp(actor: Actor, input: { applicationId: string; id: number }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, input.applicationId, 'approval.decide');
      const binding = await merchantBindingRepository.findById(trx, input.id);
      if (!binding || (binding.superapp_id !== superapp.id && !(await seesSuperapp(trx, actor, binding.superapp_id))))
        throw recordNotFound();
      if (binding.superapp_id !== superapp.id) {
        throw new AppError('FailedOperation.PaymentRecordNotBelongToApplication', 'This binding belongs to another superapp');
      }
      await this.unbind(trx, actor, binding, 'unbound_by_superapp', superapp.team_id);
    });
  }

  /** ApprovePaymentMerchantBinding: approve (10) or reject (20, note required) a pending request. */
  async decide(actor: Actor, input: DecisionInput): Promise<{ id: number }> {
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, input.applicationId, 'approval.decide');
      const decision = validDecision(input);
      const request = await merchantBindingRepository.findByApprovalNo(trx, input.approvalNo);
      if (!request || (request.superapp_id !== superapp.id && !(await seesSuperapp(trx, actor, request.superapp_id)))) {
        throw new AppError('InvalidParameterValue.InvalidApprovalNo', 'No merchant binding request has this ApprovalNo', {
          field: 'approvalNo',
        });
      }
      if (request.superapp_id !== superapp.id) {
        throw new AppError('FailedOperation.ApprovalNotBelongToApplication', 'This request belongs to another superapp');
      }
      if (request.status !== BindingStatus.Pending) throw alreadyProcessed();
      const now = this.clock.nowMs();
      const decided = { decided_by: actor.userId, decided_at: now, approval_note: decision.note };
      const transition = (row: MerchantBindingRow, event: BindingEvent, changes: object, auditDetails?: Record<string, unknown>) =>
        persistTransition(trx, this.clock, actor, {
          persister: bindingTransitions,
          record: { id: Number(row.id), approval_no: row.approval_no, status: row.status },
          event,
          changes,
          note: event === 'approve' || event === 'reject' ? decision.note : '',
          auditTeamId: superapp.team_id,
          auditDetails: { teamId: row.team_id, merchantId: row.merchant_id, ...auditDetails },
        });

      if (!decision.approve) {
        await transition(request, 'reject', decided);
        return { id: Number(request.id) };
      }
      if (!(await resolvePaymentConfig(trx, superapp.id)).paymentEnabled) throw paymentClosed();
      const holder = await merchantBindingRepository.findEffectiveByMerchant(trx, superapp.id, request.merchant_id);
      if (holder && holder.team_id !== request.team_id) throw merchantTaken();
      const current = await merchantBindingRepository.findEffectiveByTeam(trx, request.team_id);
      if (current) {
        if (request.request_kind !== 'change') throw merchantTaken('This team already has an effective binding');
        // The old binding stays effective until now; it ends in the same transaction that makes the new one effective.
        await transition(
          current,
          'replace',
          { ended_by: actor.userId, ended_at: now, end_reason: 'replaced' },
          { replacedBy: request.approval_no },
        );
      }
      try {
        await transition(request, 'approve', decided, current ? { replaces: Number(current.id) } : {});
      } catch (error) {
        throw isUniqueViolation(error) ? merchantTaken() : error;
      }
      // New orders use the new merchant: every payment account of the team follows the effective binding.
      if (current) await this.followMerchant(trx, actor, request.team_id, request.merchant_id);
      return { id: Number(request.id) };
    });
  }

  private async submit(actor: Actor, input: BindingRequestInput, kind: 'bind' | 'change'): Promise<{ approvalNo: string }> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { team } = await accessMiniProgramTeam(trx, actor, input.teamId, 'merchant_binding.view', 'merchant_binding.manage');
        const merchantId = input.merchantId.trim();
        const merchantName = input.merchantName.trim();
        const merchant = merchantId ? await merchantRepository.findByMerchantId(trx, team.superapp_id, merchantId) : undefined;
        if (!merchant) {
          throw new AppError('InvalidParameterValue.InvalidMerchantId', "This merchant ID is not in the superapp's merchant list", {
            field: 'merchantId',
          });
        }
        if (merchant.merchant_name !== merchantName) {
          throw new AppError('InvalidParameterValue.InvalidMerchantName', 'The merchant name does not match the merchant ID', {
            field: 'merchantName',
          });
        }
        if (!(await resolvePaymentConfig(trx, team.superapp_id)).paymentEnabled) throw paymentClosed();
        await this.requireNoPending(trx, team.id);
        const effective = await merchantBindingRepository.findEffectiveByTeam(trx, team.id);
        if (kind === 'bind' && effective) throw merchantTaken('This team already has an effective binding; request a change instead');
        if (kind === 'change' && !effective) throw recordNotFound('This team has no effective binding to change');
        if (effective && effective.merchant_id === merchantId) throw merchantTaken('This team is already bound to this merchant');
        const holder = await merchantBindingRepository.findEffectiveByMerchant(trx, team.superapp_id, merchantId);
        if (holder && holder.team_id !== team.id) throw merchantTaken();

        const now = this.clock.nowMs();
        const approvalNo = newId('apr', now);
        const id = await merchantBindingRepository.insert(trx, {
          approval_no: approvalNo,
          superapp_id: team.superapp_id,
          team_id: team.id,
          merchant_ref: Number(merchant.id),
          merchant_id: merchantId,
          merchant_name: merchantName,
          request_kind: kind,
          replaces_binding_id: effective ? Number(effective.id) : null,
          status: bindingMachine.initial,
          requested_by: actor.userId,
          requested_at: now,
          decided_by: null,
          decided_at: null,
          approval_note: '',
          ended_by: null,
          ended_at: null,
          end_reason: null,
        });
        const event = kind === 'bind' ? 'request' : 'request_change';
        await recordApprovalCreation(trx, this.clock, actor, bindingTransitions, {
          record: { id, approval_no: approvalNo, status: bindingMachine.initial },
          event,
        });
        await recordAudit(trx, this.clock, actor, {
          action: `merchant_binding.${event}`,
          targetType: 'merchant_binding',
          targetId: approvalNo,
          teamId: team.id,
          ...(effective ? { before: { id: Number(effective.id), merchantId: effective.merchant_id, status: effective.status } } : {}),
          after: { id, merchantId, merchantName, status: bindingMachine.initial },
        });
        return { approvalNo };
      });
    } catch (error) {
      // The one-pending-per-team index caught a concurrent request that the check above could not see.
      if (isUniqueViolation(error))
        throw new AppError('FailedOperation.ExistMerchantBindApply', 'This team already has a pending binding request');
      throw error;
    }
  }

  private async requireNoPending(db: Executor, teamId: string) {
    if (await merchantBindingRepository.findPendingByTeam(db, teamId)) {
      throw new AppError('FailedOperation.ExistMerchantBindApply', 'This team already has a pending binding request');
    }
  }

  private async unbind(
    trx: Executor,
    actor: Actor,
    binding: MerchantBindingRow,
    reason: 'unbound_by_team' | 'unbound_by_superapp',
    auditTeamId: string,
  ) {
    if (binding.status === BindingStatus.Unbound) throw alreadyProcessed();
    if (binding.status !== BindingStatus.Effective) throw recordNotFound('This binding is not effective');
    const now = this.clock.nowMs();
    await persistTransition(trx, this.clock, actor, {
      persister: bindingTransitions,
      record: { id: Number(binding.id), approval_no: binding.approval_no, status: binding.status },
      event: 'unbind',
      changes: { ended_by: actor.userId, ended_at: now, end_reason: reason },
      auditTeamId,
      auditDetails: { teamId: binding.team_id, merchantId: binding.merchant_id, reason },
    });
    // SPEC §7: unbinding disables every approved mini program of the team; new orders stop.
    await disableApprovedOfTeam(trx, this.clock, actor, binding.team_id, auditTeamId);
  }

  private async followMerchant(trx: Executor, actor: Actor, teamId: string, mchid: string) {
    const now = this.clock.nowMs();
    for (const account of await paymentAccountRepository.listByTeam(trx, teamId)) {
      if (account.mchid === mchid) continue;
      await paymentAccountRepository.setMchid(trx, account.mnp_id, mchid, now);
      await recordAudit(trx, this.clock, actor, {
        action: 'payment_account.change_merchant',
        targetType: 'payment_account',
        targetId: account.mnp_id,
        teamId,
        before: { mchid: account.mchid },
        after: { mchid },
      });
    }
    // The virtual payment accounts (SPEC §8.1) carry the binding's mchid too.
    for (const account of await virtualPaymentAccountRepository.listByTeam(trx, teamId)) {
      if (account.mchid === mchid) continue;
      await virtualPaymentAccountRepository.setMchid(trx, account.mnp_id, mchid, now);
      await recordAudit(trx, this.clock, actor, {
        action: 'virtual_payment_account.change_merchant',
        targetType: 'virtual_payment_account',
        targetId: account.mnp_id,
        teamId,
        before: { mchid: account.mchid },
        after: { mchid },
      });
    }
  }
}
