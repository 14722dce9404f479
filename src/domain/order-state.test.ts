import { describe, expect, it } from 'vitest';
import { orderEvents, orderStateMachine, tradeStates, type OrderEvent, type TradeState } from './order-state.ts';
import { validateDefinition } from './state-machine.ts';

describe('order trade_state machine', () => {
  it('is sound', () => {
    expect(validateDefinition(orderStateMachine.definition)).toEqual([]);
  });

  // The whole table, spelled out: every (state, event) pair either leads where SPEC §4.1 says or nowhere.
  const expected: Partial<Record<TradeState, Partial<Record<OrderEvent, TradeState>>>> = {
    WAIT_PAY: { pay: 'SUCCESS', close: 'CLOSED', expire: 'AUTO_CLOSED', fail: 'PAY_ERROR' },
    SUCCESS: { refund: 'REFUND' },
    CLOSED: { late_payment: 'SUCCESS', retry_refused: 'WAIT_PAY' },
    AUTO_CLOSED: { late_payment: 'SUCCESS' },
    PAY_ERROR: { late_payment: 'SUCCESS' },
    REFUND: {},
  };
  for (const state of tradeStates) {
    for (const event of orderEvents) {
      const to = expected[state]?.[event];
      it(`${state} --${event}--> ${to ?? '(refused)'}`, () => {
        expect(orderStateMachine.next(state, event)).toBe(to);
      });
    }
  }

  it('starts at WAIT_PAY and never leaves REFUND', () => {
    expect(orderStateMachine.definition.initial).toBe('WAIT_PAY');
    expect(orderStateMachine.eventsFrom('REFUND')).toEqual([]);
  });
});
