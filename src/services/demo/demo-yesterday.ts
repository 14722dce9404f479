import type { ChannelResult } from '../../channels/channel.ts';
import type { SandboxChannel } from '../../channels/sandbox/sandbox-channel.ts';
import type { SandboxStatementFaultKind } from '../../db/gateway-schema.ts';
import { businessTimeOn } from '../../domain/business-time.ts';
import { minuteMs, type ManualClock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { GatewayCaller } from '../auth/index.ts';
import type { OrderService, RefundService } from '../payments/index.ts';
import type { StatementReconciliationService } from '../reconciliation/index.ts';
import type { DemoManifest } from './demo-world.service.ts';
import { demoGoods } from './demo-merchant.service.ts';
import type {
  ApprovalService,
  MerchantBindingService,
  MerchantService,
  PaymentConfigService,
  PaymentCredentialService,
  PaymentEnablementService,
  PlatformKeyService,
} from '../payment-setup/index.ts';

/** The services the payment part of the demo world is built with, all on one clock. */
export interface DemoDayServices {
  paymentConfig: PaymentConfigService;
  merchants: MerchantService;
  bindings: MerchantBindingService;
  enablements: PaymentEnablementService;
  approvals: ApprovalService;
  credentials: PaymentCredentialService;
  platformKeys: PlatformKeyService;
  orders: Pick<OrderService, 'prepay' | 'queryByOutTradeNo'>;
  refunds: Pick<RefundService, 'create' | 'query'>;
  /** The in-process sandbox; null while the sandbox is off (then the demo superapp has no yesterday). */
  sandbox: SandboxChannel | null;
  statementReconciliation: Pick<StatementReconciliationService, 'reconcileDay' | 'rerunDay'>;
}

interface YesterdaysOrder {
  /** `HH:MM` on yesterday, in PAYTHROUGH_TIMEZONE: the shopper pays a minute later. */
  at: string;
  goods: (typeof demoGoods)[number];
  quantity: number;
  /** The statement fault that bends this order's payment line. */
  fault?: SandboxStatementFaultKind;
  /** Refunded in full at this time, settled SUCCESS a minute later; its refund line is bent by `refundFault`. */
  refundAt?: string;
  refundFault?: SandboxStatementFaultKind;
}

/**
 * Yesterday at the demo shop (SPEC §9.5): five payments and a refund. The statement misses the first payment
 * (MISSING_AT_CHANNEL), shows the second one a cent more (AMOUNT_MISMATCH) and the refund CLOSED, where
 * Paythrough has it SUCCESS (STATE_MISMATCH): three OPEN exceptions, the others MATCHED.
 */
const yesterdaysOrders: readonly YesterdaysOrder[] = [
  { at: '10:12', goods: demoGoods[0], quantity: 2, fault: 'drop' },
  { at: '11:05', goods: demoGoods[1], quantity: 1, fault: 'amount' },
  { at: '12:40', goods: demoGoods[2], quantity: 1, refundAt: '15:20', refundFault: 'state' },
  { at: '13:31', goods: demoGoods[0], quantity: 1 },
  { at: '14:47', goods: demoGoods[2], quantity: 3 },
];

/** Yesterday's numbers: `DEMO` and the day, as the shop's own orders are `DEMO` and a time (`DEMO20260114Y1`). */
export const demoYesterdayOutTradeNo = (yesterday: string, index: number) => `DEMO${yesterday.replaceAll('-', '')}Y${index + 1}`;
export const demoYesterdayOutRefundNo = (yesterday: string, index: number) => `R${demoYesterdayOutTradeNo(yesterday, index)}`;

/** How long to wait (real time) for what another instance's job took over: a sandbox event, a run of the day. */
const settleWaitMs = 15_000;

export interface DemoYesterdayInput {
  manifest: DemoManifest;
  /** `YYYY-MM-DD`. */
  yesterday: string;
  timezone: string;
  /** The clock yesterday's services run on; moved through the day here. */
  dayClock: ManualClock;
  day: DemoDayServices;
  /** The same services on the app's clock: the day is reconciled now, once it is over. */
  now: DemoDayServices;
  notifyUrl: string;
}

/**
 * Builds the demo superapp's yesterday through the gateway's own paths at yesterday's times (the channel's
 * times are what a day is reconciled by), bends that day's sandbox statement with the faults (kept in the
 * database, so any later run of the day reads the same statement), then reconciles the day: its run is DONE,
 * and the daily job finds it so and leaves it.
 */
export async function reconcileDemoYesterday(input: DemoYesterdayInput): Promise<void> {
  const { manifest, yesterday, timezone, dayClock, day } = input;
  const sandbox = day.sandbox;
  const ready = manifest.miniPrograms.ready;
  if (!sandbox) return;
  const applicationId = manifest.superapp.applicationId;
  const caller: GatewayCaller = { mnpId: ready.mnpId, applicationId, mchid: ready.mchid, serialNo: ready.serialNo };
  const faults: { kind: SandboxStatementFaultKind; outTradeNo?: string; outRefundNo?: string }[] = [];

  for (const [index, order] of yesterdaysOrders.entries()) {
    const outTradeNo = demoYesterdayOutTradeNo(yesterday, index);
    dayClock.set(businessTimeOn(yesterday, order.at, timezone));
    const total = order.goods.price * order.quantity;
    const { prepay_id: prepayId } = await day.orders.prepay(caller, {
      appid: ready.mnpId,
      mchid: ready.mchid,
      description: order.quantity > 1 ? `${order.goods.name} × ${order.quantity}` : order.goods.name,
      out_trade_no: outTradeNo,
      notify_url: input.notifyUrl,
      amount: { total, currency: 'CNY' },
      payer: { openid: 'demo-shopper' },
      attach: `goods=${order.goods.id}`,
    });
    dayClock.advance(minuteMs);
    const paid = await sandbox.succeedPayment(prepayId, { payerOpenid: 'demo-shopper' });
    if (paid.outcome !== 'ok') throw new Error(`The sandbox refused to pay the demo order ${outTradeNo}: ${whyNot(paid)}`);
    await settled(sandbox, async () => (await day.orders.queryByOutTradeNo(caller, ready.mchid, outTradeNo)).trade_state === 'SUCCESS');
    if (order.fault) faults.push({ kind: order.fault, outTradeNo });

    if (order.refundAt) {
      const outRefundNo = demoYesterdayOutRefundNo(yesterday, index);
      dayClock.set(businessTimeOn(yesterday, order.refundAt, timezone));
      await day.refunds.create(caller, {
        out_trade_no: outTradeNo,
        out_refund_no: outRefundNo,
        reason: 'The shopper asked for a refund in the demo shop',
        notify_url: input.notifyUrl,
        amount: { refund: total, total, currency: 'CNY' },
      });
      // Settled within the day whatever PAYTHROUGH_SANDBOX_REFUND_DELAY_MS says.
      dayClock.advance(minuteMs);
      const refunded = await sandbox.settleRefund(outRefundNo, 'SUCCESS', { merchantId: ready.mchid, applicationId });
      if (refunded.outcome !== 'ok') throw new Error(`The sandbox refused to settle the demo refund ${outRefundNo}: ${whyNot(refunded)}`);
      await settled(sandbox, async () => (await day.refunds.query(caller, outRefundNo)).status === 'SUCCESS');
      if (order.refundFault) faults.push({ kind: order.refundFault, outRefundNo });
    }
  }

  dayClock.set(businessTimeOn(yesterday, '16:00', timezone));
  for (const fault of faults) {
    const added = await sandbox.addStatementFault(applicationId, { billDate: yesterday, ...fault });
    if (added.outcome !== 'ok') throw new Error(`The sandbox refused the demo statement fault ${fault.kind}: ${whyNot(added)}`);
  }
  // From the cut-off on, the daily job may have taken the day up while it was being built: once such a run is over,
  // the day is read afresh, every payment, refund and fault of it in place (no run yet: the day is simply run).
  const reconciliation = input.now.statementReconciliation;
  for (const giveUpAt = Date.now() + settleWaitMs; ;) {
    const running = await reconciliation.rerunDay(applicationId, yesterday).then(
      () => false,
      (error: unknown) => {
        if (error instanceof AppError && error.code === 'FailedOperation.ReconciliationRunning') return true;
        if (error instanceof AppError && error.code === 'ResourceNotFound') return false;
        throw error;
      },
    );
    if (!running || Date.now() >= giveUpAt) break;
    await pause();
  }
  // A run that could not finish now is the daily job's to finish; the demo world is built either way.
  await reconciliation.reconcileDay(yesterday, applicationId);
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

const whyNot = (result: ChannelResult<unknown>) =>
  result.outcome === 'rejected' ? `${result.code} ${result.message}` : result.outcome === 'unknown' ? result.reason : 'ok';

/**
 * Waits until the sandbox's event has reached Paythrough: delivered at once by the sandbox that made it, or by
 * another instance's sandbox job that happened to take it first.
 */
async function settled(sandbox: SandboxChannel, done: () => Promise<boolean>): Promise<void> {
  const giveUpAt = Date.now() + settleWaitMs;
  for (;;) {
    if (await done()) return;
    if (Date.now() >= giveUpAt) throw new Error('A sandbox event of the demo world did not reach its order');
    await sandbox.deliverPendingEvents();
    await pause();
  }
}
