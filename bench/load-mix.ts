import { createPrivateKey, type KeyObject } from 'node:crypto';
import { signV3Request, verifyV3Response } from '../src/crypto/wechatpay-v3.ts';
import type { DemoReadyMiniProgram } from '../src/services/demo/demo-world.service.ts';
import { errorKindOf, type HttpAnswer, type LoadHttpClient } from './load-http.ts';
import type { LoadNotifyReceiver } from './load-notify-receiver.ts';
import type { Outcome, ScheduledOperation } from './load-scheduler.ts';

/**
 * The load bench's mix: what a merchant server, its users (through the sandbox channel's control API)
 * and console users do, as shares of the total offered rate. Every v3 request is signed afresh
 * (WECHATPAY2-SHA256-RSA2048, new nonce) with the same signing as test/helpers/gateway-client.ts, and
 * every v3 answer's platform signature is checked; an answer that does not verify is an error.
 */
export const mixShares = {
  prepay: 0.22,
  query: 0.2,
  sandbox_pay: 0.18,
  refund: 0.08,
  refund_query: 0.1,
  console_orders: 0.08,
  console_refunds: 0.06,
  console_payment_data: 0.04,
  // The cheapest route (one `select 1`): its latency is the in-run baseline for queueing in the server.
  healthz: 0.04,
} as const;

export type OperationName = keyof typeof mixShares;

interface CreatedOrder {
  outTradeNo: string;
  prepayId: string;
  total: number;
}

const refundAmount = 100;
const refundsPerOrder = 3;
/** Reads pick among the newest records, as merchants mostly look at recent ones. */
const recentWindow = 500;

const pickRecent = <T>(items: T[]): T | undefined =>
  items.length === 0 ? undefined : items[items.length - 1 - Math.floor(Math.random() * Math.min(items.length, recentWindow))];

export interface ConsoleSession {
  cookie: string;
  csrfToken: string;
}

export class LoadMix {
  private readonly orders: CreatedOrder[] = [];
  private readonly unpaid: CreatedOrder[] = [];
  private readonly byOutTradeNo = new Map<string, CreatedOrder>();
  /** Paid orders the merchant heard of (TRANSACTION.SUCCESS), with refunds left to make. */
  private readonly refundable: { order: CreatedOrder; refundsLeft: number }[] = [];
  private readonly refunds: string[] = [];
  private readonly privateKey: KeyObject;
  private readonly runId = `L${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  private sequence = 0;
  /** Over the whole run (seed and warm-up included): what the notify_url should receive in the end. */
  readonly totals = { paid: 0, refunded: 0 };

  constructor(
    private readonly http: LoadHttpClient,
    private readonly merchant: DemoReadyMiniProgram,
    private readonly receiver: LoadNotifyReceiver,
    private readonly session: ConsoleSession,
  ) {
    this.privateKey = createPrivateKey(merchant.privateKeyPem);
  }

  /** Called by the notify receiver: the merchant now knows the order is paid and may refund it. */
  paid(outTradeNo: string): void {
    const order = this.byOutTradeNo.get(outTradeNo);
    if (order) this.refundable.push({ order, refundsLeft: refundsPerOrder });
  }

  operations(totalRate: number): ScheduledOperation[] {
    const run: Record<OperationName, () => Promise<Outcome> | 'skipped'> = {
      prepay: () => this.prepay(),
      query: () => {
        const order = pickRecent(this.orders);
        return order ? this.query(order) : 'skipped';
      },
      sandbox_pay: () => {
        const order = this.unpaid.shift();
        return order ? this.pay(order) : 'skipped';
      },
      refund: () => {
        const entry = this.refundable[0];
        if (!entry) return 'skipped';
        entry.refundsLeft -= 1;
        if (entry.refundsLeft === 0) this.refundable.shift();
        return this.refund(entry.order);
      },
      refund_query: () => {
        const outRefundNo = pickRecent(this.refunds);
        return outRefundNo ? this.queryRefund(outRefundNo) : 'skipped';
      },
      console_orders: () => this.consoleRead('/api/v1/orders?limit=20&withTotal=true', 'items'),
      console_refunds: () => this.consoleRead('/api/v1/refunds?limit=20', 'items'),
      console_payment_data: () => this.consoleRead('/api/v1/order-stats', 'overview'),
      healthz: () => this.expectJson({ method: 'GET', path: '/healthz' }, (body) => body.status === 'ok'),
    };
    return (Object.keys(mixShares) as OperationName[]).map((name) => ({ name, rate: totalRate * mixShares[name], run: run[name] }));
  }

  /**
   * Paid orders, a refund and a reserve of unpaid orders before the clock starts, so no operation starts
   * with nothing to act on (payments then find orders while the first prepays are still answering).
   */
  async seed(orders: number, unpaidReserve: number, timeoutMs = 30_000): Promise<void> {
    const created = await Promise.all(Array.from({ length: orders + unpaidReserve }, () => this.prepay()));
    const failed = created.find((outcome) => !outcome.ok);
    if (failed && !failed.ok) throw new Error(`seed prepay failed: ${failed.kind}`);
    const paid = await Promise.all(this.unpaid.splice(0, orders).map((order) => this.pay(order)));
    const unpaid = paid.find((outcome) => !outcome.ok);
    if (unpaid && !unpaid.ok) throw new Error(`seed payment failed: ${unpaid.kind}`);
    const until = performance.now() + timeoutMs;
    while (this.refundable.length < orders) {
      if (performance.now() > until)
        throw new Error(`only ${this.refundable.length} of ${orders} seed payments were notified in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const refunded = await this.refund(this.refundable[0]!.order);
    if (!refunded.ok) throw new Error(`seed refund failed: ${refunded.kind}`);
    this.refundable[0]!.refundsLeft -= 1;
  }

  // ---------------------------------------------------------------------------------------------

  private async signed(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpAnswer> {
    const raw = body === undefined ? '' : JSON.stringify(body);
    const authorization = signV3Request(
      { mchid: this.merchant.mchid, serialNo: this.merchant.serialNo, privateKey: this.privateKey },
      { method, url: path, body: raw },
      { nowMs: Date.now() },
    );
    return this.http.send({
      method,
      path,
      headers: {
        authorization,
        accept: 'application/json',
        ...(method === 'POST' ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      },
      ...(method === 'POST' ? { body: raw } : {}),
    });
  }

  /** A v3 answer: 200 with a valid platform signature and the expected body, or the error's kind. */
  private checkV3(answer: HttpAnswer, expect: (body: any) => boolean): Outcome & { body?: any } {
    if (answer.kind !== 'answer' || answer.status !== 200) return { ok: false, kind: errorKindOf(answer) };
    const verified = verifyV3Response({
      headers: answer.headers as Record<string, unknown>,
      body: answer.body,
      publicKeys: { [this.merchant.platformSerial]: this.merchant.platformPublicKeyPem },
      nowMs: Date.now(),
    });
    if (!verified.ok) return { ok: false, kind: `answer_${verified.problem}` };
    const body = JSON.parse(answer.body) as unknown;
    return expect(body) ? { ok: true, body } : { ok: false, kind: 'unexpected_body' };
  }

  private async prepay(): Promise<Outcome> {
    this.sequence += 1;
    const outTradeNo = `${this.runId}${this.sequence.toString(36)}`;
    const total = 500 + Math.floor(Math.random() * 1500);
    const answer = await this.signed('POST', '/v3/pay/transactions/jsapi', {
      appid: this.merchant.mnpId,
      mchid: this.merchant.mchid,
      description: 'Load bench coffee',
      out_trade_no: outTradeNo,
      notify_url: this.receiver.url,
      amount: { total, currency: 'CNY' },
      payer: { openid: `load-openid-${this.sequence % 50}` },
    });
    const checked = this.checkV3(answer, (body) => typeof body?.prepay_id === 'string');
    if (!checked.ok) return checked;
    const order = { outTradeNo, prepayId: checked.body.prepay_id as string, total };
    this.orders.push(order);
    this.unpaid.push(order);
    this.byOutTradeNo.set(outTradeNo, order);
    return { ok: true };
  }

  private async query(order: CreatedOrder): Promise<Outcome> {
    const answer = await this.signed('GET', `/v3/pay/transactions/out-trade-no/${order.outTradeNo}?mchid=${this.merchant.mchid}`);
    return this.checkV3(answer, (body) => body?.out_trade_no === order.outTradeNo && typeof body.trade_state === 'string');
  }

  private async pay(order: CreatedOrder): Promise<Outcome> {
    const answer = await this.http.send({
      method: 'POST',
      path: `/sandbox/v1/payments/${order.prepayId}/succeed`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payer_openid: 'load-payer' }),
    });
    if (answer.kind !== 'answer' || answer.status !== 200) return { ok: false, kind: errorKindOf(answer) };
    if ((JSON.parse(answer.body) as { state?: string }).state !== 'SUCCESS') return { ok: false, kind: 'unexpected_body' };
    this.totals.paid += 1;
    this.receiver.notePaid(order.outTradeNo, performance.now());
    return { ok: true };
  }

  private async refund(order: CreatedOrder): Promise<Outcome> {
    this.sequence += 1;
    const outRefundNo = `${this.runId}R${this.sequence.toString(36)}`;
    const answer = await this.signed('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: order.outTradeNo,
      out_refund_no: outRefundNo,
      reason: 'load bench partial refund',
      amount: { refund: refundAmount, total: order.total, currency: 'CNY' },
    });
    const checked = this.checkV3(answer, (body) => body?.out_refund_no === outRefundNo && typeof body.status === 'string');
    if (!checked.ok) return checked;
    this.refunds.push(outRefundNo);
    this.totals.refunded += 1;
    return { ok: true };
  }

  private async queryRefund(outRefundNo: string): Promise<Outcome> {
    const answer = await this.signed('GET', `/v3/refund/domestic/refunds/${outRefundNo}`);
    return this.checkV3(answer, (body) => body?.out_refund_no === outRefundNo && typeof body.status === 'string');
  }

  private consoleRead(path: string, field: string): Promise<Outcome> {
    return this.expectJson(
      { method: 'GET', path, headers: { cookie: this.session.cookie, 'x-csrf-token': this.session.csrfToken, accept: 'application/json' } },
      (body) => body?.[field] !== undefined,
    );
  }

  private async expectJson(request: Parameters<LoadHttpClient['send']>[0], expect: (body: any) => boolean): Promise<Outcome> {
    const answer = await this.http.send(request);
    if (answer.kind !== 'answer' || answer.status !== 200) return { ok: false, kind: errorKindOf(answer) };
    try {
      return expect(JSON.parse(answer.body)) ? { ok: true } : { ok: false, kind: 'unexpected_body' };
    } catch {
      return { ok: false, kind: 'unexpected_body' };
    }
  }
}

/** Signs in to the console once (sessions live in the database, so every instance honours the cookie). */
export async function signInToConsole(http: LoadHttpClient, account: string, password: string): Promise<ConsoleSession> {
  const answer = await http.send(
    {
      method: 'POST',
      path: '/api/v1/session',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account, password }),
    },
    0,
  );
  if (answer.kind !== 'answer' || answer.status !== 200) throw new Error(`console sign-in failed: ${errorKindOf(answer)}`);
  const setCookie = ([] as string[]).concat(answer.headers['set-cookie'] ?? []).find((cookie) => cookie.startsWith('paythrough_session='));
  if (!setCookie) throw new Error('console sign-in set no session cookie');
  return { cookie: setCookie.split(';')[0]!, csrfToken: (JSON.parse(answer.body) as { csrfToken: string }).csrfToken };
}
