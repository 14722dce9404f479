import { describe, expect, it } from 'vitest';
import { refundEvents, refundStateMachine, refundStatuses, refundStatusesHoldingAmount } from './refund-state.ts';
import { validateDefinition } from './state-machine.ts';

describe('refund status machine', () => {
  it('is sound', () => {
    expect(validateDefinition(refundStateMachine.definition)).toEqual([]);
  });

  it('settles PROCESSING to SUCCESS, CLOSED or ABNORMAL, and ABNORMAL later to SUCCESS or CLOSED; nothing leaves those two', () => {
    expect(refundStateMachine.next('PROCESSING', 'succeed')).toBe('SUCCESS');
    expect(refundStateMachine.next('PROCESSING', 'close')).toBe('CLOSED');
    expect(refundStateMachine.next('PROCESSING', 'abnormal')).toBe('ABNORMAL');
    expect(refundStateMachine.next('ABNORMAL', 'succeed')).toBe('SUCCESS');
    expect(refundStateMachine.next('ABNORMAL', 'close')).toBe('CLOSED');
    expect(refundStateMachine.next('ABNORMAL', 'abnormal')).toBeUndefined();
    for (const state of ['SUCCESS', 'CLOSED'] as const) {
      for (const event of refundEvents) expect(refundStateMachine.next(state, event)).toBeUndefined();
      expect(refundStateMachine.isTerminal(state)).toBe(true);
    }
    expect(refundStateMachine.isTerminal('ABNORMAL')).toBe(false);
  });

  it('releases the amount only when CLOSED', () => {
    expect(refundStatuses.filter((s) => !refundStatusesHoldingAmount.includes(s))).toEqual(['CLOSED']);
  });
});
