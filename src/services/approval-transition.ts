import type { Executor } from '../db/schema.ts';
import type { Actor } from '../domain/access.ts';
import type { Clock } from '../domain/clock.ts';
import { AppError } from '../domain/errors.ts';
import { ApprovalType, type ApprovalKind, type StateMachine } from '../domain/state-machines.ts';
import { approvalTransitionRepository } from '../repositories/approval-transition.repository.ts';
import { recordAudit } from './audit.service.ts';

export const alreadyProcessed = () => new AppError('FailedOperation.ApprovalAlreadyProcessed', 'This request was already processed');

export interface TransitionRequest<S extends number, E extends string> {
  machine: StateMachine<S, E>;
  kind: ApprovalKind;
  record: { id: number; approval_no: string; status: S };
  event: E;
  note?: string;
  /** The team whose audit trail shows the entry (the acting side's team). */
  auditTeamId: string | null;
  /** What the audit entry adds to before/after besides the status (never secrets). */
  auditDetails?: Record<string, unknown>;
  /** The compare-and-set update `... WHERE id = ? AND status = from`; returns the rows changed. */
  compareAndSet: (from: S, to: S) => Promise<number>;
}

/**
 * Persists one transition inside the caller's transaction: checks it against the machine, updates the row
 * only if it is still in the state read (else someone else won: ApprovalAlreadyProcessed), and appends the
 * history row and the audit entry with it.
 */
export async function persistTransition<S extends number, E extends string>(trx: Executor, clock: Clock, actor: Actor, request: TransitionRequest<S, E>): Promise<S> {
  const from = request.record.status;
  const to = request.machine.next(from, request.event);
  if (to === undefined) throw alreadyProcessed();
  if ((await request.compareAndSet(from, to)) !== 1) throw alreadyProcessed();
  await approvalTransitionRepository.append(trx, {
    kind: request.kind,
    record_id: request.record.id,
    approval_no: request.record.approval_no,
    event: request.event,
    from_status: from,
    to_status: to,
    actor_user_id: actor.userId,
    actor_account: actor.account,
    note: request.note ?? '',
    at: clock.nowMs(),
  });
  await recordAudit(trx, clock, actor, {
    action: `${request.kind}.${request.event}`,
    targetType: request.kind,
    targetId: request.record.approval_no,
    teamId: request.auditTeamId,
    before: { id: request.record.id, status: from },
    after: { id: request.record.id, status: to, ...(request.note ? { note: request.note } : {}), ...request.auditDetails },
  });
  return to;
}

/** The history row of a record's creation (from nothing to its initial state). */
export async function recordCreation(trx: Executor, clock: Clock, actor: Actor, created: { kind: ApprovalKind; id: number; approvalNo: string; event: string; status: number; note?: string }) {
  await approvalTransitionRepository.append(trx, {
    kind: created.kind,
    record_id: created.id,
    approval_no: created.approvalNo,
    event: created.event,
    from_status: null,
    to_status: created.status,
    actor_user_id: actor.userId,
    actor_account: actor.account,
    note: created.note ?? '',
    at: clock.nowMs(),
  });
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
    throw new AppError('InvalidParameterValue.InvalidApprovalType', 'ApprovalType is 10 (approve) or 20 (reject)', { field: 'approvalType' });
  }
  const note = (input.approvalNote ?? '').trim();
  if (note.length > 500) throw new AppError('InvalidParameterValue', 'approvalNote: at most 500 characters', { field: 'approvalNote' });
  const approve = input.approvalType === ApprovalType.Approve;
  if (!approve && !note) throw new AppError('InvalidParameterValue.ApprovalNoteRequired', 'A rejection needs a note', { field: 'approvalNote' });
  return { approve, note };
}
