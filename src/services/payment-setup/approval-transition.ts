import type { Executor } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import {
  ApprovalType,
  bindingMachine,
  enablementMachine,
  type ApprovalKind,
  type BindingStatus,
  type EnablementStatus,
} from '../../domain/approval-state.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { StateMachine } from '../../domain/state-machine.ts';
import { createTransitionPersister, type TransitionPersister } from '../../domain/state-transition.ts';
import { approvalTransitionRepository } from '../../repositories/approval-transition.repository.ts';
import { merchantBindingRepository, type MerchantBindingChanges } from '../../repositories/merchant-binding.repository.ts';
import {
  paymentEnablementRepository,
  type PaymentEnablementChanges,
  type StoredEnablementStatus,
} from '../../repositories/payment-enablement.repository.ts';
import { recordAudit } from '../tenancy/index.ts';

export const alreadyProcessed = () => new AppError('FailedOperation.ApprovalAlreadyProcessed', 'This request was already processed');

/** What the approval history needs of a binding or enablement row. */
export interface ApprovalRecord<S extends number> {
  id: number;
  approval_no: string;
  status: S;
}

interface ApprovalHistoryDetail {
  actor: Actor;
  note: string;
  at: number;
}

export type ApprovalPersister<S extends number, E extends string, Changes> = TransitionPersister<
  Executor,
  ApprovalRecord<S>,
  S,
  E,
  ApprovalHistoryDetail,
  Changes
> & { kind: ApprovalKind };

export function approvalPersister<S extends number, E extends string, Changes>(
  kind: ApprovalKind,
  machine: StateMachine<S, E>,
  compareAndSet: (trx: Executor, id: number, from: S, to: S, changes: Changes) => Promise<number>,
): ApprovalPersister<S, E, Changes> {
  const persister = createTransitionPersister<Executor, ApprovalRecord<S>, S, E, ApprovalHistoryDetail, Changes>(machine, {
    stateOf: (record) => record.status,
    compareAndSet: (trx, record, from, to, changes) => compareAndSet(trx, record.id, from, to, changes),
    appendHistory: (trx, entry) =>
      approvalTransitionRepository.append(trx, {
        kind,
        record_id: entry.row.id,
        approval_no: entry.row.approval_no,
        event: entry.event,
        from_status: entry.from,
        to_status: entry.to,
        actor_user_id: entry.detail.actor.userId,
        actor_account: entry.detail.actor.account,
        note: entry.detail.note,
        at: entry.detail.at,
      }),
  });
  return { ...persister, kind };
}

export const bindingTransitions = approvalPersister<BindingStatus, Parameters<typeof bindingMachine.next>[1], MerchantBindingChanges>(
  'merchant_binding',
  bindingMachine,
  merchantBindingRepository.compareAndSet,
);

export const enablementTransitions = approvalPersister<
  EnablementStatus,
  Parameters<typeof enablementMachine.next>[1],
  PaymentEnablementChanges
>('payment_enable', enablementMachine, (trx, id, from, to, changes) =>
  paymentEnablementRepository.compareAndSet(trx, id, from as StoredEnablementStatus, to as StoredEnablementStatus, changes),
);

/** The same records with PaymentType 2 (SPEC §8.1): their history and audit entries name the kind `virtual_payment_enable`. */
export const virtualEnablementTransitions = approvalPersister<
  EnablementStatus,
  Parameters<typeof enablementMachine.next>[1],
  PaymentEnablementChanges
>('virtual_payment_enable', enablementMachine, (trx, id, from, to, changes) =>
  paymentEnablementRepository.compareAndSet(trx, id, from as StoredEnablementStatus, to as StoredEnablementStatus, changes),
);

export interface TransitionRequest<S extends number, E extends string, Changes> {
  persister: ApprovalPersister<S, E, Changes>;
  record: ApprovalRecord<S>;
  event: E;
  /** The columns the compare-and-set writes beside the status. */
  changes: Changes;
  note?: string;
  /** The team whose audit trail shows the entry (the acting side's team). */
  auditTeamId: string | null;
  /** What the audit entry adds to before/after besides the status (never secrets). */
  auditDetails?: Record<string, unknown>;
}

/**
 * Persists one approval decision inside the caller's transaction through the shared persister: a transition
 * the machine does not allow, or a row someone else moved first, is ApprovalAlreadyProcessed; the history row
 * and the audit entry land with it.
 */
export async function persistTransition<S extends number, E extends string, Changes>(
  trx: Executor,
  clock: Clock,
  actor: Actor,
  request: TransitionRequest<S, E, Changes>,
): Promise<S> {
  const from = request.record.status;
  if (!request.persister.machine.can(from, request.event)) throw alreadyProcessed();
  const detail = { actor, note: request.note ?? '', at: clock.nowMs() };
  const to = await request.persister.transition(trx, request.record, request.event, { changes: request.changes, detail });
  if (to === undefined) throw alreadyProcessed();
  await recordAudit(trx, clock, actor, {
    action: `${request.persister.kind}.${request.event}`,
    targetType: request.persister.kind,
    targetId: request.record.approval_no,
    teamId: request.auditTeamId,
    before: { id: request.record.id, status: from },
    after: { id: request.record.id, status: to, ...(request.note ? { note: request.note } : {}), ...request.auditDetails },
  });
  return to;
}

/** The history row of a new binding request or enablement application, in its first state. */
export function recordApprovalCreation<S extends number, E extends string, Changes>(
  trx: Executor,
  clock: Clock,
  actor: Actor,
  persister: ApprovalPersister<S, E, Changes>,
  created: { record: ApprovalRecord<S>; event: string; note?: string },
) {
  const detail = { actor, note: created.note ?? '', at: clock.nowMs() };
  return persister.recordCreation(trx, created.record, { event: created.event, detail, state: created.record.status });
}
export interface DecisionInput {
  applicationId: string;
  approvalNo: string;
  /** 10 approve, 20 reject. */
  approvalType: number;
  approvalNote?: string | undefined;
}

/** Checks an ApprovalType and note (SPEC §2.1: a rejection needs a note). */
export function validDecision(input: { approvalType: number; approvalNote?: string | undefined }): { approve: boolean; note: string } {
  if (input.approvalType !== ApprovalType.Approve && input.approvalType !== ApprovalType.Reject) {
    throw new AppError('InvalidParameterValue.InvalidApprovalType', 'ApprovalType is 10 (approve) or 20 (reject)', {
      field: 'approvalType',
    });
  }
  const note = (input.approvalNote ?? '').trim();
  if (note.length > 500) throw new AppError('InvalidParameterValue', 'approvalNote: at most 500 characters', { field: 'approvalNote' });
  const approve = input.approvalType === ApprovalType.Approve;
  if (!approve && !note)
    throw new AppError('InvalidParameterValue.ApprovalNoteRequired', 'A rejection needs a note', { field: 'approvalNote' });
  return { approve, note };
}
