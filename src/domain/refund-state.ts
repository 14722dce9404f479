import { defineStateMachine } from './state-machine.ts';

/**
 * A refund's `status` (SPEC §4.1, §7): PROCESSING → SUCCESS | CLOSED | ABNORMAL; ABNORMAL is not a dead end:
 * a later result of the channel (or a superapp administrator's settlement) moves it on to SUCCESS or CLOSED.
 * PROCESSING, SUCCESS and ABNORMAL refunds count against the refundable amount; CLOSED ones release it.
 */
export const refundStatuses = ['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'] as const;
export type RefundStatus = (typeof refundStatuses)[number];

export const refundEvents = ['succeed', 'close', 'abnormal'] as const;
export type RefundEvent = (typeof refundEvents)[number];

export const refundStateMachine = defineStateMachine<RefundStatus, RefundEvent>({
  name: 'refund',
  states: refundStatuses,
  initial: 'PROCESSING',
  terminal: ['SUCCESS', 'CLOSED'],
  transitions: [
    { from: 'PROCESSING', event: 'succeed', to: 'SUCCESS' },
    { from: 'PROCESSING', event: 'close', to: 'CLOSED' },
    { from: 'PROCESSING', event: 'abnormal', to: 'ABNORMAL' },
    { from: 'ABNORMAL', event: 'succeed', to: 'SUCCESS' },
    { from: 'ABNORMAL', event: 'close', to: 'CLOSED' },
  ],
});

/** Refund numbers of refunds Paythrough starts itself (late and duplicate payments); refused to merchants (SPEC §7). */
export const systemRefundPrefix = '_PT_';

/** Refunds in these states hold part of the order's refundable amount. */
export const refundStatusesHoldingAmount: readonly RefundStatus[] = ['PROCESSING', 'SUCCESS', 'ABNORMAL'];

/** The notification a refund's final status sends (SPEC §4.2). */
export const refundNotificationEvent: Partial<Record<RefundStatus, 'REFUND.SUCCESS' | 'REFUND.CLOSED' | 'REFUND.ABNORMAL'>> = {
  SUCCESS: 'REFUND.SUCCESS',
  CLOSED: 'REFUND.CLOSED',
  ABNORMAL: 'REFUND.ABNORMAL',
};
