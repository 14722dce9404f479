import type { Executor } from '../../db/schema.ts';
import { orderStateMachine, type OrderEvent, type TradeState } from '../../domain/order-state.ts';
import { refundStateMachine, type RefundEvent, type RefundStatus } from '../../domain/refund-state.ts';
import type { StateMachine } from '../../domain/state-machine.ts';
import { createTransitionPersister } from '../../domain/state-transition.ts';
import { paymentStateHistoryRepository } from '../../repositories/channel-payment.repository.ts';
import { orderRepository, type OrderChanges, type OrderRow } from '../../repositories/order.repository.ts';
import { refundRepository, type RefundChanges, type RefundRow } from '../../repositories/refund.repository.ts';

interface PaymentTransitionInput<Changes> {
  nowMs: number;
  reason: string;
  changes?: Changes;
}

/**
 * Orders and refunds through the one persister: the machine says where `event` leads, a compare-and-set
 * update moves the row only if it is still in the state read, and the history row lands in the same
 * transaction. `transition` answers the row as written, or undefined when someone else moved it first.
 */
function paymentRecordTransitions<Row extends { id: number }, S extends string, E extends string, Changes extends object>(
  subject: 'order' | 'refund',
  machine: StateMachine<S, E>,
  stateField: keyof Row & string,
  compareAndSet: (trx: Executor, id: number, from: S, to: S, changes: Changes & { updated_at: number }) => Promise<number>,
) {
  const persister = createTransitionPersister<Executor, Row, S, E, { at: number; reason: string }, Changes & { updated_at: number }>(
    machine,
    {
      stateOf: (row) => row[stateField] as S,
      compareAndSet: (trx, row, from, to, changes) => compareAndSet(trx, row.id, from, to, changes),
      appendHistory: (trx, entry) =>
        paymentStateHistoryRepository.append(trx, {
          subject,
          subject_id: entry.row.id,
          from_state: entry.from,
          to_state: entry.to,
          at: entry.detail.at,
          reason: entry.detail.reason,
        }),
    },
  );
  return {
    async transition(trx: Executor, row: Row, event: E, input: PaymentTransitionInput<Changes>): Promise<Row | undefined> {
      const changes = { ...input.changes, updated_at: input.nowMs } as Changes & { updated_at: number };
      const to = await persister.transition(trx, row, event, { changes, detail: { at: input.nowMs, reason: input.reason } });
      return to === undefined ? undefined : { ...row, ...changes, [stateField]: to };
    },
    /** The first history row of a new record, in the machine's initial state. */
    recordCreation: (trx: Executor, id: number, nowMs: number, reason: string) =>
      persister.recordCreation(trx, { id } as Row, { event: 'create', detail: { at: nowMs, reason } }),
  };
}

export const orderTransitions = paymentRecordTransitions<OrderRow, TradeState, OrderEvent, OrderChanges>(
  'order',
  orderStateMachine,
  'trade_state',
  orderRepository.transition,
);

export const refundTransitions = paymentRecordTransitions<RefundRow, RefundStatus, RefundEvent, RefundChanges>(
  'refund',
  refundStateMachine,
  'status',
  refundRepository.transition,
);
