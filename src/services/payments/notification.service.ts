import { randomUUID } from 'node:crypto';
import type { Executor } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import type { OutboxRow } from '../../repositories/outbox.repository.ts';
import { rfc3339In } from '../../domain/business-time.ts';
import type { PaymentNotification, PaymentNotifier, VirtualPaymentNotifier } from './gateway-notifications.ts';
import type { OutboxService } from './outbox.service.ts';

/**
 * Notifications to the mini program server's notify_url (SPEC §4.2), enqueued in the transaction that
 * changes the order or refund. The plaintext resource is kept; encryption (under the mini program's
 * APIv3 key as it is then) and the signature (fresh timestamp and nonce) happen at every attempt.
 */
export const merchantNotificationTopic = 'merchant_notification';

export type NotificationEventType = 'TRANSACTION.SUCCESS' | 'REFUND.SUCCESS' | 'REFUND.ABNORMAL' | 'REFUND.CLOSED';

const summaries: Record<NotificationEventType, string> = {
  'TRANSACTION.SUCCESS': '支付成功',
  'REFUND.SUCCESS': '退款成功',
  'REFUND.ABNORMAL': '退款异常',
  'REFUND.CLOSED': '退款关闭',
};

export interface MerchantNotificationInput {
  eventType: NotificationEventType;
  /** The mini program (appid) whose APIv3 key encrypts the resource. */
  appId: string;
  mchid: string;
  notifyUrl: string;
  /**
   * The decrypted resource: for TRANSACTION.* the transaction as the order query shows it; for REFUND.*
   * `{mchid, transaction_id, out_trade_no, refund_id, out_refund_no, refund_status, success_time,
   * user_received_account, amount{total, refund, payer_total, payer_refund}}`.
   */
  resource: Record<string, unknown>;
  /** The superapp's channel is the sandbox (http and loopback targets allowed while the sandbox is on). */
  sandbox: boolean;
  subject: { type: 'order' | 'refund'; id: string | number };
  owners?: { mnpId?: string | null; applicationId?: string | null; miniProgramTeamId?: string | null; superappTeamId?: string | null };
  summary?: string;
}

/** What the outbox keeps for a merchant notification; the deliverer builds the body from it. */
export interface MerchantNotificationPayload {
  id: string;
  create_time: string;
  event_type: NotificationEventType;
  summary: string;
  resource_type: 'encrypt-resource';
  /** `transaction` or `refund`: both the resource's original_type and its associated_data. */
  original_type: 'transaction' | 'refund';
  appid: string;
  mchid: string;
  resource: Record<string, unknown>;
}

export class NotificationService {
  constructor(
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
    private readonly timeZone: string,
  ) {}

  /** Call inside the transaction that makes the change the notification reports. */
  enqueue(trx: Executor, input: MerchantNotificationInput): Promise<OutboxRow> {
    const payload: MerchantNotificationPayload = {
      id: randomUUID(),
      create_time: rfc3339In(this.clock.nowMs(), this.timeZone),
      event_type: input.eventType,
      summary: input.summary ?? summaries[input.eventType],
      resource_type: 'encrypt-resource',
      original_type: input.eventType.startsWith('TRANSACTION.') ? 'transaction' : 'refund',
      appid: input.appId,
      mchid: input.mchid,
      resource: input.resource,
    };
    return this.outbox.enqueue(trx, {
      topic: merchantNotificationTopic,
      eventId: payload.id,
      eventType: input.eventType,
      payload,
      targetUrl: input.notifyUrl,
      sandbox: input.sandbox,
      subject: input.subject,
      owners: { mnpId: input.appId, ...input.owners },
    });
  }
}

/** Payment notifications through the notification service, into the outbox in the caller's transaction. */
export function notifierFrom(notifications: Pick<NotificationService, 'enqueue'>, virtual: VirtualPaymentNotifier): PaymentNotifier {
  return {
    virtual,
    async enqueue(trx, notification: PaymentNotification) {
      await notifications.enqueue(trx, {
        eventType: notification.eventType,
        appId: notification.mnpId,
        mchid: notification.mchid,
        notifyUrl: notification.notifyUrl,
        resource: notification.resource,
        sandbox: notification.sandbox,
        subject: { type: notification.subjectType, id: notification.subjectId },
        owners: {
          mnpId: notification.mnpId,
          applicationId: notification.applicationId,
          miniProgramTeamId: notification.miniProgramTeamId,
          superappTeamId: notification.superappTeamId,
        },
      });
    },
  };
}
