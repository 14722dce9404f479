import type { StateMachine, StateValue } from './state-machine.ts';

/** One history row: a record went `from` → `to` on `event` (`from` is null when it was created). */
export interface HistoryEntry<Row, S extends StateValue, Detail> {
  row: Row;
  event: string;
  from: S | null;
  to: S;
  detail: Detail;
}

/**
 * Where a kind of record keeps its state and its history: the extension point that lets approvals, orders
 * and refunds share one persister. Both calls run in the caller's transaction.
 */
export interface TransitionStore<Trx, Row, S extends StateValue, Detail, Changes> {
  stateOf(row: Row): S;
  /** `UPDATE ... SET state = to, ...changes WHERE id = :row AND state = from`: the rows it changed (0 or 1). */
  compareAndSet(trx: Trx, row: Row, from: S, to: S, changes: Changes): Promise<number>;
  appendHistory(trx: Trx, entry: HistoryEntry<Row, S, Detail>): Promise<unknown>;
}

export interface TransitionPersister<Trx, Row, S extends StateValue, E extends string, Detail, Changes> {
  readonly machine: StateMachine<S, E>;
  /**
   * Moves the row along `event` by compare-and-set and appends its history row. Undefined when someone else
   * moved it first; throws InvalidTransitionError when the machine has no such transition.
   */
  transition(trx: Trx, row: Row, event: E, input: { changes: Changes; detail: Detail }): Promise<S | undefined>;
  /** The history row of a record's creation, from nothing to its first state (the machine's initial one by default). */
  recordCreation(trx: Trx, row: Row, input: { event: string; detail: Detail; state?: S }): Promise<void>;
}

/** The one way a state change is persisted: the machine decides, a compare-and-set writes, the history follows. */
export function createTransitionPersister<Trx, Row, S extends StateValue, E extends string, Detail, Changes>(
  machine: StateMachine<S, E>,
  store: TransitionStore<Trx, Row, S, Detail, Changes>,
): TransitionPersister<Trx, Row, S, E, Detail, Changes> {
  return {
    machine,
    async transition(trx, row, event, input) {
      const from = store.stateOf(row);
      const to = machine.transition(from, event);
      if ((await store.compareAndSet(trx, row, from, to, input.changes)) === 0) return undefined;
      await store.appendHistory(trx, { row, event, from, to, detail: input.detail });
      return to;
    },
    async recordCreation(trx, row, input) {
      await store.appendHistory(trx, { row, event: input.event, from: null, to: input.state ?? machine.initial, detail: input.detail });
    },
  };
}
