import type { Updateable } from 'kysely';
import type { OrderTable, RefundTable } from '../db/order-schema.ts';
import type { Executor } from '../db/schema.ts';
import { orderStateMachine, type OrderEvent } from '../domain/order-state.ts';
import { refundStateMachine, type RefundEvent } from '../domain/refund-state.ts';
import { orderRepository, type OrderRow } from '../repositories/order.repository.ts';
import { refundRepository, type RefundRow } from '../repositories/refund.repository.ts';
import { paymentStateHistoryRepository } from '../repositories/channel-payment.repository.ts';

/**
 * Persisting a state change of an order or a refund, the one way: the machine says where `event`
 * leads, a compare-and-set update moves the row only if it is still in the state read, and the
 * history row lands in the same transaction. Undefined means someone else moved it first.
 */
export async function transitionOrder(
  trx: Executor,
  order: OrderRow,
  event: OrderEvent,
  input: { nowMs: number; reason: string; changes?: Updateable<OrderTable> },
): Promise<OrderRow | undefined> {
  const to = orderStateMachine.transition(order.trade_state, event);
  const changes = { ...input.changes, updated_at: input.nowMs };
  if ((await orderRepository.transition(trx, order.id, order.trade_state, to, changes)) === 0) return undefined;
  await paymentStateHistoryRepository.append(trx, {
    subject: 'order',
    subject_id: order.id,
    from_state: order.trade_state,
    to_state: to,
    at: input.nowMs,
    reason: input.reason,
  });
  return { ...order, ...(changes as Partial<OrderRow>), trade_state: to };
}

export async function transitionRefund(
  trx: Executor,
  refund: RefundRow,
  event: RefundEvent,
  input: { nowMs: number; reason: string; changes?: Updateable<RefundTable> },
): Promise<RefundRow | undefined> {
  const to = refundStateMachine.transition(refund.status, event);
  const changes = { ...input.changes, updated_at: input.nowMs };
  if ((await refundRepository.transition(trx, refund.id, refund.status, to, changes)) === 0) return undefined;
  await paymentStateHistoryRepository.append(trx, {
    subject: 'refund',
    subject_id: refund.id,
    from_state: refund.status,
    to_state: to,
    at: input.nowMs,
    reason: input.reason,
  });
  return { ...refund, ...(changes as Partial<RefundRow>), status: to };
}

/** The first history row of a new order or refund. */
export const recordCreation = (trx: Executor, subject: 'order' | 'refund', subjectId: number, state: string, nowMs: number, reason: string) =>
  paymentStateHistoryRepository.append(trx, { subject, subject_id: subjectId, from_state: null, to_state: state, at: nowMs, reason });
