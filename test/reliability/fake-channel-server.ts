import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  channelProtocolPaths,
  signChannelMessage,
  verifyChannelSignature,
  wireCreateOrderSchema,
  wireCreateRefundSchema,
  wireOrderKeySchema,
  wireRefundKeySchema,
  type WireOrder,
  type WireRefund,
} from '../../src/channels/protocol.ts';
import {
  statementPageToWire,
  statementQueryFromWire,
  summarizeStatementLines,
  wireStatementQuerySchema,
  type StatementLine,
} from '../../src/channels/statement.ts';
import type { Clock } from '../../src/domain/clock.ts';

/** The PAYMENT line a statement lists for an order this channel paid (SPEC §9.1), with any field bent by `changes`. */
export const paymentLineOf = (order: WireOrder, changes: Partial<StatementLine> = {}): StatementLine =>
  ({
    type: 'PAYMENT',
    merchantId: order.merchant_id,
    outTradeNo: order.out_trade_no,
    channelOrderId: order.channel_order_id,
    prepayId: order.prepay_id,
    channelTransactionId: order.channel_transaction_id,
    amount: { total: order.amount.total, currency: order.amount.currency },
    state: 'SUCCESS',
    time: Date.parse(order.paid_time!),
    ...changes,
  }) as StatementLine;

/**
 * A superapp payment backend implementing docs/channel-protocol.md with an in-memory store, plus fault
 * switches: it can refuse connections, hang, answer slowly, answer 5xx, garbage, a wrong signature,
 * truncated JSON, a forged (unsigned) refusal, or cut the connection mid-answer — each either before
 * or after doing the work, which is what makes an outcome "unknown" for Paythrough.
 */
export type FaultMode = 'timeout' | 'slow' | 'error5xx' | 'garbage' | 'badSignature' | 'truncated' | 'cutConnection' | 'forgedRefusal';
export const badAnswerModes: readonly FaultMode[] = [
  'timeout',
  'error5xx',
  'garbage',
  'badSignature',
  'truncated',
  'cutConnection',
  'forgedRefusal',
];

/**
 * How the channel bends its statement (SPEC §9.1): not ready yet, not served at all, a page with one line more than
 * `limit`, a page naming another day or another superapp than asked, an answer of `oversizedBytes` (padded), or a
 * summary claiming one unit more paid than its lines add up to.
 */
export type StatementFault = 'notReady' | 'notSupported' | 'extraLine' | 'otherBillDate' | 'otherApplication' | 'oversized' | 'badSummary';

export interface Fault {
  mode: FaultMode;
  /** Do the work, then misbehave (the answer is lost, the effect is not). */
  applied: boolean;
  /** Only requests to this protocol path; every path when absent. */
  path?: string;
  /** How many matching requests it hits (default 1). */
  times?: number;
}

interface StoredOrder extends WireOrder {
  /** Every payment the channel took for the order (a second one is a duplicate payment). */
  payments: string[];
}

const orderKey = (merchantId: string, outTradeNo: string) => `${merchantId}\u0000${outTradeNo}`;

export class FakeChannelServer {
  readonly orders = new Map<string, StoredOrder>();
  readonly refunds = new Map<string, WireRefund>();
  /** Every request that reached the channel (path and parsed body), faulty or not. */
  readonly requests: Array<{ path: string; body: unknown }> = [];
  private faults: Array<Fault & { left: number }> = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly seenNonces = new Set<string>();
  private port = 0;
  private sequence = 0;
  /** How long a `slow` answer waits (keep it under the connector's timeout). */
  slowMs = 60;
  /** Runs after the work and before the answer (a channel that calls back while its answer is still on the way). */
  beforeAnswer: ((path: string, answer: unknown) => Promise<void>) | undefined;
  /** The lines its statements list (a day's page holds those whose time is in the day), paged by an offset cursor. */
  statementLines: StatementLine[] = [];
  statementId = 'FCS-1';
  statementFault: StatementFault | undefined;
  /** At most this many lines a page, fewer than the `limit` asked (a channel paging small); the limit when absent. */
  statementPageSize: number | undefined;
  /** Runs when a statement query arrives, before it is answered or faulted (a snapshot replaced between two pages). */
  onStatementQuery: ((query: { billDate: string; cursor: string | null }) => void) | undefined;
  /** Where it serves the statement: the protocol path, or a host-reported superapp's own statement URL path. */
  statementPath: string = channelProtocolPaths.queryStatement;
  /** How large an `oversized` statement answer is. */
  oversizedBytes = 8 * 1024 * 1024;
  /** Signs answers with this key instead of `channelKey` (a backend still on a replaced key). */
  answerKey: string | undefined;

  /**
   * `channelKey` is the superapp's channel key (changed when the superapp installs a new one); `tls` serves HTTPS
   * as `tls.hostname` (a connector that resolves that name to 127.0.0.1 and trusts the fixture CA reaches it).
   */
  constructor(
    public channelKey: string,
    private readonly clock: Clock,
    private readonly tls?: { keyPem: string; certPem: string; hostname: string },
  ) {}

  get url(): string {
    return this.tls ? `https://${this.tls.hostname}:${this.port}` : `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const serve = (request: IncomingMessage, response: ServerResponse) => void this.serve(request, response);
    this.server = this.tls ? createHttpsServer({ key: this.tls.keyPem, cert: this.tls.certPem }, serve) : createServer(serve);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The channel goes down: the port refuses connections until `start()` again (same port). */
  async refuseConnections(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  async stop(): Promise<void> {
    await this.refuseConnections();
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** The cursors of every statement query of `billDate` that reached it, in order (`null`: the first page). */
  statementCursors(billDate: string): (string | null)[] {
    return this.requests
      .filter((request) => request.path === this.statementPath)
      .map((request) => request.body as { bill_date?: string; cursor?: string | null })
      .filter((body) => body.bill_date === billDate)
      .map((body) => body.cursor ?? null);
  }

  order(merchantId: string, outTradeNo: string): StoredOrder | undefined {
    return this.orders.get(orderKey(merchantId, outTradeNo));
  }

  refund(merchantId: string, outRefundNo: string): WireRefund | undefined {
    return this.refunds.get(orderKey(merchantId, outRefundNo));
  }

  /** The user pays on the channel's cashier (`late`: even though the order is closed or failed). Returns the Order. */
  pay(merchantId: string, outTradeNo: string, options: { late?: boolean; transactionId?: string } = {}): WireOrder {
    const order = this.mustOrder(merchantId, outTradeNo);
    if (order.state !== 'WAIT_PAY' && !options.late && order.state !== 'SUCCESS') throw new Error(`order ${outTradeNo} is ${order.state}`);
    const now = new Date(this.clock.nowMs()).toISOString();
    const transactionId = options.transactionId ?? `FCT${(this.sequence += 1).toString().padStart(8, '0')}`;
    order.payments.push(transactionId);
    if (order.state !== 'SUCCESS')
      Object.assign(order, { state: 'SUCCESS', channel_transaction_id: transactionId, payer_openid: 'openid-fake', paid_time: now });
    return { ...publicOrder(order), channel_transaction_id: transactionId };
  }

  failPayment(merchantId: string, outTradeNo: string): WireOrder {
    const order = this.mustOrder(merchantId, outTradeNo);
    if (order.state !== 'WAIT_PAY') throw new Error(`order ${outTradeNo} is ${order.state}`);
    Object.assign(order, { state: 'PAY_ERROR', failure_reason: 'insufficient balance' });
    return publicOrder(order);
  }

  settleRefund(merchantId: string, outRefundNo: string, state: 'SUCCESS' | 'CLOSED' | 'ABNORMAL'): WireRefund {
    const refund = this.refunds.get(orderKey(merchantId, outRefundNo));
    if (!refund) throw new Error(`no refund ${outRefundNo}`);
    if (refund.state === 'PROCESSING') Object.assign(refund, { state, settle_time: new Date(this.clock.nowMs()).toISOString() });
    return { ...refund };
  }

  /** A callback body (docs/channel-protocol.md "Callbacks"); the same `eventId` for a repeat of one event. */
  event(type: 'payment.succeeded' | 'payment.failed', order: WireOrder, eventId?: string): string;
  event(type: 'refund.succeeded' | 'refund.closed' | 'refund.abnormal', refund: WireRefund, eventId?: string): string;
  event(type: string, subject: WireOrder | WireRefund, eventId = `evt_${(this.sequence += 1)}`): string {
    const occurred = new Date(this.clock.nowMs()).toISOString();
    return JSON.stringify({
      event_id: eventId,
      event_type: type,
      occurred_time: occurred,
      [type.startsWith('payment.') ? 'order' : 'refund']: subject,
    });
  }

  private mustOrder(merchantId: string, outTradeNo: string): StoredOrder {
    const order = this.orders.get(orderKey(merchantId, outTradeNo));
    if (!order) throw new Error(`no channel order ${outTradeNo}`);
    return order;
  }

  private takeFault(path: string): Fault | undefined {
    const index = this.faults.findIndex((fault) => fault.path === undefined || fault.path === path);
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.left -= 1;
    if (fault.left <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = request.url ?? '';
    const signature = verifyChannelSignature({
      headers: request.headers,
      body: raw,
      channelKeys: [this.channelKey],
      nowMs: this.clock.nowMs(),
    });
    if (!signature.ok || this.seenNonces.has(signature.nonce))
      return this.answer(response, 401, { code: 'SIGN_ERROR', message: signature.ok ? 'replay' : signature.message });
    this.seenNonces.add(signature.nonce);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return this.answer(response, 400, { code: 'PARAM_ERROR', message: 'not JSON' });
    }
    this.requests.push({ path, body });
    if (path === this.statementPath && this.onStatementQuery) {
      const query = body as { bill_date?: string; cursor?: string | null };
      this.onStatementQuery({ billDate: String(query.bill_date), cursor: query.cursor ?? null });
    }
    const fault = this.takeFault(path);
    if (fault && !fault.applied && fault.mode !== 'slow') return this.misbehave(response, fault.mode, 200, { note: 'not done' });
    const [status, answer] = this.handle(path, body);
    if (this.beforeAnswer) await this.beforeAnswer(path, answer);
    if (!fault) return this.answer(response, status, answer);
    if (fault.mode === 'slow') {
      await new Promise((resolve) => setTimeout(resolve, this.slowMs));
      return this.answer(response, status, answer);
    }
    return this.misbehave(response, fault.mode, status, answer);
  }

  private answer(response: ServerResponse, status: number, answer: unknown, signWith = this.answerKey ?? this.channelKey): void {
    const text = JSON.stringify(answer);
    response
      .writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        ...signChannelMessage(signWith, text, { nowMs: this.clock.nowMs() }),
      })
      .end(text);
  }

  private misbehave(response: ServerResponse, mode: FaultMode, status: number, answer: unknown): void {
    const text = JSON.stringify(answer);
    switch (mode) {
      case 'timeout':
        return; // never answers; the socket is destroyed when the server stops
      case 'error5xx':
        return this.answer(response, 503, { code: 'SYSTEM_ERROR', message: 'the channel failed' });
      case 'garbage': {
        const html = '<html><body>502 Bad Gateway</body></html>';
        response
          .writeHead(200, { 'content-type': 'text/html', ...signChannelMessage(this.channelKey, html, { nowMs: this.clock.nowMs() }) })
          .end(html);
        return;
      }
      case 'badSignature':
        return this.answer(response, status, answer, 'a-key-that-is-not-the-channel-key-0000');
      case 'truncated': {
        const half = text.slice(0, Math.floor(text.length / 2));
        response
          .writeHead(status, {
            'content-type': 'application/json',
            ...signChannelMessage(this.channelKey, half, { nowMs: this.clock.nowMs() }),
          })
          .end(half);
        return;
      }
      case 'cutConnection': {
        response.writeHead(status, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(text)),
          ...signChannelMessage(this.channelKey, text, { nowMs: this.clock.nowMs() }),
        });
        response.write(text.slice(0, 20));
        setTimeout(() => response.socket?.destroy(), 5);
        return;
      }
      case 'forgedRefusal': {
        const refusal = JSON.stringify({ code: 'ORDER_NOT_EXIST', message: 'forged' });
        response.writeHead(404, { 'content-type': 'application/json' }).end(refusal);
        return;
      }
      case 'slow':
        return this.answer(response, status, answer);
    }
  }

  /** The protocol itself: [status, body]. */
  private handle(path: string, body: unknown): [number, unknown] {
    const now = new Date(this.clock.nowMs()).toISOString();
    const refuse = (status: number, code: string, message: string): [number, unknown] => [status, { code, message }];
    switch (path) {
      case channelProtocolPaths.createOrder: {
        const input = wireCreateOrderSchema.safeParse(body);
        if (!input.success) return refuse(400, 'PARAM_ERROR', input.error.message);
        const key = orderKey(input.data.merchant_id, input.data.out_trade_no);
        const existing = this.orders.get(key);
        if (existing) {
          const same =
            existing.prepay_id === input.data.prepay_id &&
            existing.amount.total === input.data.amount.total &&
            existing.amount.currency === input.data.amount.currency;
          return same ? [200, publicOrder(existing)] : refuse(409, 'OUT_TRADE_NO_USED', 'other parameters');
        }
        const id = (this.sequence += 1);
        const order: StoredOrder = {
          channel_order_id: `FCO${id}`,
          merchant_id: input.data.merchant_id,
          appid: input.data.appid,
          out_trade_no: input.data.out_trade_no,
          prepay_id: input.data.prepay_id,
          state: 'WAIT_PAY',
          amount: input.data.amount,
          description: input.data.description,
          expire_time: input.data.expire_time,
          channel_transaction_id: null,
          payer_openid: null,
          paid_time: null,
          closed_time: null,
          failure_reason: null,
          cashier_token: `cashier${id}`,
          cashier_url: null,
          payments: [],
        };
        this.orders.set(key, order);
        return [200, publicOrder(order)];
      }
      case channelProtocolPaths.queryOrder:
      case channelProtocolPaths.closeOrder: {
        const input = wireOrderKeySchema.safeParse(body);
        if (!input.success) return refuse(400, 'PARAM_ERROR', input.error.message);
        const order = this.orders.get(orderKey(input.data.merchant_id, input.data.out_trade_no));
        if (!order) return refuse(404, 'ORDER_NOT_EXIST', 'no such order');
        if (path === channelProtocolPaths.closeOrder) {
          if (order.state === 'SUCCESS') return refuse(409, 'ORDER_PAID', 'paid');
          if (order.state === 'WAIT_PAY') Object.assign(order, { state: 'CLOSED', closed_time: now });
        }
        return [200, publicOrder(order)];
      }
      case channelProtocolPaths.createRefund: {
        const input = wireCreateRefundSchema.safeParse(body);
        if (!input.success) return refuse(400, 'PARAM_ERROR', input.error.message);
        const key = orderKey(input.data.merchant_id, input.data.out_refund_no);
        const existing = this.refunds.get(key);
        if (existing) {
          return existing.out_trade_no === input.data.out_trade_no && existing.amount.refund === input.data.amount.refund
            ? [200, existing]
            : refuse(409, 'OUT_REFUND_NO_USED', 'used');
        }
        const order = this.orders.get(orderKey(input.data.merchant_id, input.data.out_trade_no));
        if (!order) return refuse(404, 'ORDER_NOT_EXIST', 'no such order');
        if (order.state !== 'SUCCESS') return refuse(409, 'ORDER_NOT_PAID', 'not paid');
        if (input.data.amount.total !== order.amount.total || input.data.amount.currency !== order.amount.currency)
          return refuse(409, 'INVALID_REQUEST', 'amount');
        const payment = input.data.channel_transaction_id ?? order.payments[0];
        if (!payment || !order.payments.includes(payment)) return refuse(409, 'INVALID_REQUEST', 'no such payment');
        const takenFromPayment = [...this.refunds.values()]
          .filter(
            (refund) =>
              refund.out_trade_no === order.out_trade_no &&
              refund.merchant_id === order.merchant_id &&
              refund.state !== 'CLOSED' &&
              refundPayment.get(refund) === payment,
          )
          .reduce((sum, refund) => sum + refund.amount.refund, 0);
        if (takenFromPayment + input.data.amount.refund > order.amount.total) return refuse(409, 'NOT_ENOUGH', 'not enough left');
        const refund: WireRefund = {
          channel_refund_id: `FCR${(this.sequence += 1)}`,
          merchant_id: input.data.merchant_id,
          out_refund_no: input.data.out_refund_no,
          out_trade_no: input.data.out_trade_no,
          state: 'PROCESSING',
          amount: input.data.amount,
          reason: input.data.reason,
          create_time: now,
          settle_time: null,
        };
        refundPayment.set(refund, payment);
        this.refunds.set(key, refund);
        return [200, { ...refund }];
      }
      case channelProtocolPaths.queryRefund: {
        const input = wireRefundKeySchema.safeParse(body);
        if (!input.success) return refuse(400, 'PARAM_ERROR', input.error.message);
        const refund = this.refunds.get(orderKey(input.data.merchant_id, input.data.out_refund_no));
        return refund ? [200, { ...refund }] : refuse(404, 'REFUND_NOT_EXIST', 'no such refund');
      }
      case this.statementPath: {
        const input = wireStatementQuerySchema.safeParse(body);
        if (!input.success) return refuse(400, 'PARAM_ERROR', input.error.message);
        if (this.statementFault === 'notReady') return refuse(409, 'STATEMENT_NOT_READY', 'the day is not closed yet');
        if (this.statementFault === 'notSupported') return refuse(404, 'NOT_SUPPORTED', 'no statements here');
        const query = statementQueryFromWire(input.data);
        const day = this.statementLines.filter((line) => line.time >= query.fromTime && line.time < query.toTime);
        const offset = query.cursor === null ? 0 : Number(query.cursor);
        const size = Math.min(query.limit, this.statementPageSize ?? query.limit);
        const lines = day.slice(offset, offset + size);
        if (this.statementFault === 'extraLine' && day[0]) lines.push(...day.slice(0, query.limit + 1 - lines.length));
        const next = offset + size < day.length ? String(offset + size) : null;
        const summary = [...summarizeStatementLines(day).values()];
        if (this.statementFault === 'badSummary' && summary[0])
          summary[0] = { ...summary[0], paymentAmount: summary[0].paymentAmount + 1n };
        const page = statementPageToWire({
          applicationId: this.statementFault === 'otherApplication' ? `${query.applicationId}_other` : query.applicationId,
          billDate: this.statementFault === 'otherBillDate' ? '2001-01-01' : query.billDate,
          statementId: this.statementId,
          lines,
          nextCursor: next,
          summary,
        });
        if (this.statementFault === 'oversized') return [200, { ...page, padding: 'x'.repeat(this.oversizedBytes) }];
        return [200, page];
      }
      default:
        return refuse(404, 'PARAM_ERROR', `no such path ${path}`);
    }
  }
}

/** Which channel payment each refund takes from (duplicate payments are refunded from their own). */
const refundPayment = new WeakMap<WireRefund, string>();

function publicOrder(order: StoredOrder): WireOrder {
  const { payments: _payments, ...wire } = order;
  return { ...wire };
}
