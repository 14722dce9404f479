import { certificateExpiry, type CertificateExpiry } from '../../domain/certificate-expiry.ts';
import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { accessLevel, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { EnablementStatus, enablementMachine, PaymentType, type EnablementEvent } from '../../domain/approval-state.ts';
import { isUniqueViolation } from '../../repositories/constraint-errors.ts';
import { merchantBindingRepository } from '../../repositories/merchant-binding.repository.ts';
import { miniProgramRepository } from '../../repositories/mini-program.repository.ts';
import { paymentAccountRepository } from '../../repositories/payment-account.repository.ts';
import {
  paymentEnablementRepository,
  type PaymentEnablementChanges,
  type PaymentEnablementRow,
} from '../../repositories/payment-enablement.repository.ts';
import { accessMiniProgram, accessMiniProgramTeam, accessSuperapp, recordAudit, seesSuperapp } from '../tenancy/index.ts';
import {
  alreadyProcessed,
  enablementTransitions,
  persistTransition,
  virtualEnablementTransitions,
  recordApprovalCreation,
  validDecision,
  type DecisionInput,
} from './approval-transition.ts';
import { resolvePaymentConfig } from './payment-config.service.ts';
import type { PaymentCredentialService, PreparedMerchantKey } from './payment-credential.service.ts';

/** DescribeMNPPaymentApprovalInfo (SPEC §7 "Status values"). */
export interface EnablementDescription {
  /** -1 never applied, 0 pending, 10 approved, 20 rejected, 30 disabled. */
  approvalStatus: EnablementStatus;
  /** ms; 0 when never applied. */
  applyTime: number;
  /** ms of the last decision (approval, rejection, or disabling); 0 while there is none. */
  approvalTime: number;
  approvalNote: string;
  /** 1 when there is a decided record to show (10, 20, 30). */
  approvalShow: 0 | 1;
  /** 1 when the mini program may apply now: not pending, not approved, binding effective, superapp payment on. */
  applyShow: 0 | 1;
}

export interface MiniProgramPaymentView extends EnablementDescription {
  mnpId: string;
  name: string;
  iconUrl: string;
  category: string;
  approvalNo: string | null;
  applyNote: string;
  /** The payment record id while approved or disabled (what DisableMNPPayment takes). */
  paymentRecordId: number | null;
  /** The payment account's merchant, once payment was approved. */
  mchid: string | null;
  /** The payment account's active certificate and where it stands (SPEC §7: the console warns 30 days before). */
  certificate: ({ serialNo: string; notAfter: number } & CertificateExpiry) | null;
}

const recordNotFound = (message: string) => new AppError('FailedOperation.PaymentRecordNotFound', message);
const paymentClosed = () => new AppError('FailedOperation.MerchantPaymentFunctionClosed', "The superapp's payment function is closed");

function transitionOf(
  trx: Executor,
  clock: Clock,
  actor: Actor,
  row: PaymentEnablementRow,
  event: EnablementEvent,
  options: { note?: string; auditTeamId: string; changes: PaymentEnablementChanges },
) {
  return persistTransition(trx, clock, actor, {
    persister: row.payment_type === PaymentType.Virtual ? virtualEnablementTransitions : enablementTransitions,
    record: { id: Number(row.id), approval_no: row.approval_no, status: row.status },
    event,
    changes: options.changes,
    ...(options.note === undefined ? {} : { note: options.note }),
    auditTeamId: options.auditTeamId,
    auditDetails: { mnpId: row.mnp_id, teamId: row.team_id },
  });
}

/** SPEC §7: unbinding disables every approved mini program of the team, in the unbinding's transaction. */
export async function disableApprovedOfTeam(
  trx: Executor,
  clock: Clock,
  actor: Actor,
  teamId: string,
  auditTeamId: string,
): Promise<number> {
  const approved = await paymentEnablementRepository.listApprovedByTeam(trx, teamId);
  const now = clock.nowMs();
  for (const row of approved) {
    await transitionOf(trx, clock, actor, row, 'disable', {
      note: 'merchant unbound',
      auditTeamId,
      changes: { disabled_by: actor.userId, disabled_at: now },
    });
  }
  return approved.length;
}

/**
 * Opens (or re-points) a mini program's virtual payment account when its virtual payment (PaymentType 2) is approved,
 * in the approval's transaction (SPEC §8.1). Implemented by the virtual payment group.
 */
export interface VirtualAccountOpener {
  openAccount(trx: Executor, actor: Actor, account: { mnpId: string; superappId: string; teamId: string; mchid: string }): Promise<void>;
}

const paymentTypes: readonly number[] = Object.values(PaymentType);

/** Checks a PaymentType on input (SPEC §8.1: 1 standard, 2 virtual; omitted means 1). */
export function validPaymentType(value: number | undefined): PaymentType {
  if (value === undefined) return PaymentType.Standard;
  if (!paymentTypes.includes(value))
    throw new AppError('InvalidParameterValue', 'PaymentType: 1 (standard) or 2 (virtual)', { field: 'paymentType' });
  return value as PaymentType;
}

/** SPEC §2.2 and §8.1: payment enablement per (mini program, PaymentType) — request, describe, decide, disable. */
export class PaymentEnablementService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly credentials: PaymentCredentialService,
    private readonly virtualAccounts?: VirtualAccountOpener,
  ) {}

  /** RequestPaymentEnable: the MP Administrator asks the superapp to enable payment (of a PaymentType), with a message. */
  async request(
    actor: Actor,
    input: { mnpId: string; applyNote: string; paymentType?: number | undefined },
  ): Promise<{ approvalNo: string }> {
    const paymentType = validPaymentType(input.paymentType);
    const capability = paymentType === PaymentType.Virtual ? 'virtual_payment.request' : 'payment_enable.request';
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { miniProgram, team } = await accessMiniProgram(trx, actor, input.mnpId, capability);
        const applyNote = input.applyNote.trim();
        if (applyNote.length > 500)
          throw new AppError('InvalidParameterValue', 'applyNote: at most 500 characters', { field: 'applyNote' });
        const latest = await paymentEnablementRepository.findLatestByMnp(trx, miniProgram.id, paymentType);
        const current = latest?.status ?? EnablementStatus.NeverApplied;
        if (current === EnablementStatus.Pending)
          throw new AppError('FailedOperation.ExistPaymentOpenApply', 'A payment request for this mini program is already pending');
        if (current === EnablementStatus.Approved)
          throw new AppError('FailedOperation.MNPPaymentAlreadyEnabled', 'Payment is already enabled for this mini program');
        if (!(await resolvePaymentConfig(trx, team.superapp_id)).paymentEnabled) throw paymentClosed();
        const binding = await merchantBindingRepository.findEffectiveByTeam(trx, team.id);
        if (!binding) throw recordNotFound('The team has no effective merchant binding');
        const status = enablementMachine.next(current, 'apply');
        if (status === undefined) throw alreadyProcessed();
        const now = this.clock.nowMs();
        const approvalNo = newId('apr', now);
        const id = await paymentEnablementRepository.insert(trx, {
          approval_no: approvalNo,
          superapp_id: team.superapp_id,
          team_id: team.id,
          mnp_id: miniProgram.id,
          merchant_id: binding.merchant_id,
          merchant_name: binding.merchant_name,
          apply_note: applyNote,
          status: status as PaymentEnablementRow['status'],
          requested_by: actor.userId,
          requested_at: now,
          decided_by: null,
          decided_at: null,
          approval_note: '',
          disabled_by: null,
          disabled_at: null,
          payment_type: paymentType,
        });
        const persister = paymentType === PaymentType.Virtual ? virtualEnablementTransitions : enablementTransitions;
        await recordApprovalCreation(trx, this.clock, actor, persister, {
          record: { id, approval_no: approvalNo, status },
          event: 'apply',
          note: applyNote,
        });
        await recordAudit(trx, this.clock, actor, {
          action: `${persister.kind}.apply`,
          targetType: persister.kind,
          targetId: approvalNo,
          teamId: team.id,
          before: { status: current },
          after: { id, mnpId: miniProgram.id, status, applyNote, merchantId: binding.merchant_id },
        });
        return { approvalNo };
      });
    } catch (error) {
      // The one-pending-per-mini-program index caught a concurrent request.
      if (isUniqueViolation(error))
        throw new AppError('FailedOperation.ExistPaymentOpenApply', 'A payment request for this mini program is already pending');
      throw error;
    }
  }

  /** DescribeMNPPaymentApprovalInfo: the mini program's payment state (of a PaymentType); -1 when it never applied. */
  async describe(actor: Actor, mnpId: string, paymentTypeInput?: number): Promise<EnablementDescription> {
    const paymentType = validPaymentType(paymentTypeInput);
    const { miniProgram, team } = await accessMiniProgram(this.db, actor, mnpId);
    const latest = await paymentEnablementRepository.findLatestByMnp(this.db, miniProgram.id, paymentType);
    return this.describeRow(this.db, latest, team);
  }

  /** Standard payment page: the team's mini programs with their payment state. */
  async listTeamMiniPrograms(actor: Actor, teamId: string): Promise<MiniProgramPaymentView[]> {
    const { team, scope } = await accessMiniProgramTeam(this.db, actor, teamId, 'mini_program.view');
    // Certificates are part of the payment credentials (SPEC §1.1): only those who manage them see where they stand.
    const seesCredentials = accessLevel(actor, 'payment_credentials.manage', scope) === 'write';
    const miniPrograms = await miniProgramRepository.listByTeam(this.db, team.id);
    const latest = new Map(
      (await paymentEnablementRepository.listLatestByTeam(this.db, team.id, PaymentType.Standard)).map((row) => [row.mnp_id, row]),
    );
    const accounts = new Map((await paymentAccountRepository.listByTeam(this.db, team.id)).map((row) => [row.mnp_id, row]));
    const applyContext = await this.applyContext(this.db, team);
    const activeKeys = new Map(
      (seesCredentials ? await paymentAccountRepository.listActiveKeysByTeam(this.db, team.id) : []).map((key) => [key.mnp_id, key]),
    );
    const now = this.clock.nowMs();
    return miniPrograms.map((miniProgram) => {
      const row = latest.get(miniProgram.id);
      const key = activeKeys.get(miniProgram.id);
      return {
        mnpId: miniProgram.id,
        name: miniProgram.name,
        iconUrl: miniProgram.icon_url,
        category: miniProgram.category,
        ...describeWith(row, applyContext),
        approvalNo: row?.approval_no ?? null,
        applyNote: row?.apply_note ?? '',
        paymentRecordId:
          row && (row.status === EnablementStatus.Approved || row.status === EnablementStatus.Disabled) ? Number(row.id) : null,
        mchid: accounts.get(miniProgram.id)?.mchid ?? null,
        certificate: key ? { serialNo: key.serial_no, notAfter: key.not_after, ...certificateExpiry(key.not_after, now) } : null,
      };
    });
  }

  /** ApproveMNPPaymentEnable: approval opens (or re-points) the payment account; rejection needs a note. */
  async decide(actor: Actor, input: DecisionInput, onlyPaymentType?: PaymentType): Promise<{ id: number }> {
    await accessSuperapp(this.db, actor, input.applicationId, 'approval.decide');
    const decision = validDecision(input);
    // Key generation is slow: do it before the transaction, only when a first account will need it.
    let prepared: PreparedMerchantKey | undefined;
    const peek = await paymentEnablementRepository.findByApprovalNo(this.db, input.approvalNo);
    if (
      decision.approve &&
      peek?.status === EnablementStatus.Pending &&
      peek.payment_type === PaymentType.Standard &&
      peek.superapp_id === input.applicationId &&
      !(await paymentAccountRepository.find(this.db, peek.mnp_id))
    ) {
      prepared = await this.credentials.prepareKey(peek.mnp_id, peek.merchant_id, { mode: 'generate' }, { keepPrivateKey: true });
    }
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, input.applicationId, 'approval.decide');
      const found = await paymentEnablementRepository.findByApprovalNo(trx, input.approvalNo);
      // Each decide action names its own PaymentType; another type's ApprovalNo is unknown to it.
      const request = onlyPaymentType === undefined || found?.payment_type === onlyPaymentType ? found : undefined;
      if (!request || (request.superapp_id !== superapp.id && !(await seesSuperapp(trx, actor, request.superapp_id)))) {
        throw new AppError('InvalidParameterValue.InvalidApprovalNo', 'No payment request has this ApprovalNo', { field: 'approvalNo' });
      }
      if (request.superapp_id !== superapp.id)
        throw new AppError('FailedOperation.ApprovalNotBelongToApplication', 'This request belongs to another superapp');
      if (request.status !== EnablementStatus.Pending) throw alreadyProcessed();
      const decided = { decided_by: actor.userId, decided_at: this.clock.nowMs(), approval_note: decision.note };
      if (!decision.approve) {
        await transitionOf(trx, this.clock, actor, request, 'reject', {
          note: decision.note,
          auditTeamId: superapp.team_id,
          changes: decided,
        });
        return { id: Number(request.id) };
      }
      if (!(await resolvePaymentConfig(trx, superapp.id)).paymentEnabled) throw paymentClosed();
      const binding = await merchantBindingRepository.findEffectiveByTeam(trx, request.team_id);
      if (!binding) throw recordNotFound('The team has no effective merchant binding');
      await transitionOf(trx, this.clock, actor, request, 'approve', {
        note: decision.note,
        auditTeamId: superapp.team_id,
        changes: decided,
      });
      const account = { mnpId: request.mnp_id, superappId: superapp.id, teamId: request.team_id, mchid: binding.merchant_id };
      if (request.payment_type === PaymentType.Virtual) {
        if (!this.virtualAccounts) throw new Error('virtual payment accounts are not wired');
        await this.virtualAccounts.openAccount(trx, actor, account);
      } else {
        await this.credentials.openAccount(trx, actor, { ...account, prepared });
      }
      return { id: Number(request.id) };
    });
  }

  /** The PaymentType of an enablement request, undefined when `approvalNo` names none (the approvals dispatch asks). */
  async paymentTypeOf(approvalNo: string): Promise<PaymentType | undefined> {
    return (await paymentEnablementRepository.findByApprovalNo(this.db, approvalNo))?.payment_type;
  }

  /** DisableMNPPayment: the superapp disables an approved payment record; new orders stop. */
  async disable(actor: Actor, input: { applicationId: string; id: number }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, input.applicationId, 'approval.decide');
      const record = await paymentEnablementRepository.findById(trx, input.id);
      if (!record || (record.superapp_id !== superapp.id && !(await seesSuperapp(trx, actor, record.superapp_id))))
        throw recordNotFound('No such payment record');
      if (record.superapp_id !== superapp.id) {
        throw new AppError('FailedOperation.PaymentRecordNotBelongToApplication', 'This payment record belongs to another superapp');
      }
      if (record.status === EnablementStatus.Disabled) throw alreadyProcessed();
      if (record.status !== EnablementStatus.Approved) throw recordNotFound('This payment record is not approved');
      await transitionOf(trx, this.clock, actor, record, 'disable', {
        auditTeamId: superapp.team_id,
        changes: { disabled_by: actor.userId, disabled_at: this.clock.nowMs() },
      });
    });
  }

  private async applyContext(db: Executor, team: { id: string; superapp_id: string }) {
    const binding = await merchantBindingRepository.findEffectiveByTeam(db, team.id);
    const config = await resolvePaymentConfig(db, team.superapp_id);
    return { bindingEffective: binding !== undefined, paymentEnabled: config.paymentEnabled };
  }

  private async describeRow(
    db: Executor,
    row: PaymentEnablementRow | undefined,
    team: { id: string; superapp_id: string },
  ): Promise<EnablementDescription> {
    return describeWith(row, await this.applyContext(db, team));
  }
}

function describeWith(
  row: PaymentEnablementRow | undefined,
  context: { bindingEffective: boolean; paymentEnabled: boolean },
): EnablementDescription {
  const status: EnablementStatus = row?.status ?? EnablementStatus.NeverApplied;
  const decided = status === EnablementStatus.Approved || status === EnablementStatus.Rejected || status === EnablementStatus.Disabled;
  const mayApply = enablementMachine.can(status, 'apply') && context.bindingEffective && context.paymentEnabled;
  return {
    approvalStatus: status,
    applyTime: row?.requested_at ?? 0,
    approvalTime: (status === EnablementStatus.Disabled ? row?.disabled_at : row?.decided_at) ?? 0,
    approvalNote: row?.approval_note ?? '',
    approvalShow: decided ? 1 : 0,
    applyShow: mayApply ? 1 : 0,
  };
}
