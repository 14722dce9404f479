import { describe, expect, it } from 'vitest';
import { refundEvents, refundStateMachine, refundStatuses, refundStatusesHoldingAmount } from './refund-state.ts';
import { validateDefinition } from './state-machine.ts';

describe('refund status machine', () => {
  it('is sound', () => {
    expect(validateDefinition(refundStateMachine.definition)).toEqual([]);
  });

  it('settles PROCESSING once, to SUCCESS, CLOSED or ABNORMAL', () => {
    expect(refundStateMachine.next('PROCESSING', 'succeed')).toBe('SUCCESS');
    expect(refundStateMachine.next('PROCESSING', 'close')).toBe('CLOSED');
    expect(refundStateMachine.next('PROCESSING', 'abnormal')).toBe('ABNORMAL');
    for (const state of refundStatuses.filter((s) => s !== 'PROCESSING')) {
      for (const event of refundEvents) expect(refundStateMachine.next(state, event)).toBeUndefined();
      expect(refundStateMachine.isTerminal(state)).toBe(true);
    }
  });

  it('releases the amount only when CLOSED', () => {
    expect(refundStatuses.filter((s) => !refundStatusesHoldingAmount.includes(s))).toEqual(['CLOSED']);
  });
});
