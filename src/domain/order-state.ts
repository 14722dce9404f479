import { defineStateMachine } from './state-machine.ts';

/**
 * An order's `trade_state` (SPEC §4.1). WeChat Pay's `NOTPAY` is our `WAIT_PAY`.
 * Late payments (SPEC §4.5, "money is never stranded"): a payment reported for an order that is closed,
 * expired or failed is recorded, the order becomes SUCCESS and a full refund starts at once, so those
 * states have a `late_payment` way to SUCCESS. REFUND is entered when the first refund is accepted
 * and stays (further refunds, closed refunds, duplicate payments do not move it). An order the channel refused
 * to create is CLOSED, and a later prepay with its out_trade_no opens it again (`retry_refused`).
 */
export const tradeStates = ['WAIT_PAY', 'SUCCESS', 'CLOSED', 'AUTO_CLOSED', 'PAY_ERROR', 'REFUND'] as const;
export type TradeState = (typeof tradeStates)[number];

export const orderEvents = ['pay', 'close', 'expire', 'fail', 'late_payment', 'refund', 'retry_refused'] as const;
export type OrderEvent = (typeof orderEvents)[number];

export const orderStateMachine = defineStateMachine<TradeState, OrderEvent>({
  name: 'order',
  states: tradeStates,
  initial: 'WAIT_PAY',
  terminal: ['REFUND'],
  transitions: [
    { from: 'WAIT_PAY', event: 'pay', to: 'SUCCESS' },
    { from: 'WAIT_PAY', event: 'close', to: 'CLOSED' },
    { from: 'WAIT_PAY', event: 'expire', to: 'AUTO_CLOSED' },
    { from: 'WAIT_PAY', event: 'fail', to: 'PAY_ERROR' },
    { from: 'CLOSED', event: 'late_payment', to: 'SUCCESS' },
    // Only an order the channel refused to create (the service checks `channel_refused`): a prepay takes its row over.
    { from: 'CLOSED', event: 'retry_refused', to: 'WAIT_PAY' },
    { from: 'AUTO_CLOSED', event: 'late_payment', to: 'SUCCESS' },
    { from: 'PAY_ERROR', event: 'late_payment', to: 'SUCCESS' },
    { from: 'SUCCESS', event: 'refund', to: 'REFUND' },
  ],
});

/** Orders in these states can take a refund (SPEC §7). */
export const refundableTradeStates: readonly TradeState[] = ['SUCCESS', 'REFUND'];
/** Orders in these states were paid. */
export const paidTradeStates: readonly TradeState[] = ['SUCCESS', 'REFUND'];

/** What a query shows as `trade_state_desc`. */
export const tradeStateDescriptions: Record<TradeState, string> = {
  WAIT_PAY: 'Awaiting payment',
  SUCCESS: 'Payment succeeded',
  CLOSED: 'Closed',
  AUTO_CLOSED: 'Closed after its expiry time',
  PAY_ERROR: 'Payment failed',
  REFUND: 'Refund in progress or refunded',
};
