import type { Executor } from '../../db/schema.ts';
import type { OrderRow } from '../../repositories/order.repository.ts';
import type { RefundRow } from '../../repositories/refund.repository.ts';
import { toV3RefundNotice, toV3Transaction } from './gateway-views.ts';

export type PaymentEventType = 'TRANSACTION.SUCCESS' | 'REFUND.SUCCESS' | 'REFUND.ABNORMAL' | 'REFUND.CLOSED';

/** A merchant notification (SPEC §4.2), written in the transaction of the state change it reports. */
export interface PaymentNotification {
  eventType: PaymentEventType;
  mchid: string;
  /** `transaction` or `refund`: the resource's original_type and associated_data. */
  originalType: 'transaction' | 'refund';
  /** The resource in clear; the delivery encrypts it under the mini program's APIv3 key. */
  resource: Record<string, unknown>;
  notifyUrl: string;
  sandbox: boolean;
  subjectType: 'order' | 'refund';
  subjectId: string;
  mnpId: string;
  applicationId: string;
  miniProgramTeamId: string;
  superappTeamId: string;
}

/**
 * Virtual payment's notifications (SPEC §8.4): a paid order's delivery notification and a refund's
 * `xpay_refund_notify`, to the mini program's delivery URL, through the outbox in the caller's transaction.
 */
export interface VirtualPaymentNotifier {
  orderPaid(trx: Executor, order: OrderRow): Promise<void>;
  refundSettled(trx: Executor, refund: RefundRow, order: OrderRow): Promise<void>;
}

/** Where payment notifications go: the outbox, in the caller's transaction. */
export interface PaymentNotifier {
  enqueue(trx: Executor, notification: PaymentNotification): Promise<void>;
  /** Orders and refunds of payment_type 2 notify through this instead of `enqueue`. */
  virtual: VirtualPaymentNotifier;
}

const owners = (row: OrderRow | RefundRow) => ({
  mnpId: row.mnp_id,
  applicationId: row.application_id,
  miniProgramTeamId: row.mini_program_team_id,
  superappTeamId: row.superapp_team_id,
  sandbox: row.sandbox === 1,
});

export function transactionSuccessNotification(order: OrderRow, timeZone: string): PaymentNotification {
  return {
    eventType: 'TRANSACTION.SUCCESS',
    mchid: order.mchid,
    originalType: 'transaction',
    resource: { ...toV3Transaction(order, timeZone) },
    notifyUrl: order.notify_url,
    subjectType: 'order',
    subjectId: String(order.id),
    ...owners(order),
  };
}

export function refundNotification(refund: RefundRow, order: OrderRow, timeZone: string): PaymentNotification | undefined {
  if (refund.status === 'PROCESSING') return undefined;
  return {
    eventType: `REFUND.${refund.status}`,
    mchid: refund.mchid,
    originalType: 'refund',
    resource: { ...toV3RefundNotice(refund, timeZone) },
    notifyUrl: refund.notify_url ?? order.notify_url,
    subjectType: 'refund',
    subjectId: String(refund.id),
    ...owners(refund),
  };
}
