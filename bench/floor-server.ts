import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import SQLite from 'better-sqlite3';
import { isV3TimestampFresh, parseV3Authorization, signV3Response, verifyV3RequestSignature } from '../src/crypto/wechatpay-v3.ts';

/**
 * The money path's floor (bench/money-path.bench.ts): a minimal correct server doing only what every correct
 * prepay, order query, refund create and refund query must do, so the product's CPU per request can be read
 * as a multiple of it. Per request: node:http with keep-alive; the merchant's WECHATPAY2-SHA256-RSA2048
 * signature and timestamp checked; the nonce inserted under a unique key (a replay is refused); the one
 * statement or one transaction the operation needs (better-sqlite3, WAL, synchronous=NORMAL, statements
 * prepared once); the answer signed with an RSA-2048 platform key. Nothing else: no gate, no channel, no
 * outbox, no rate limit, no logging. `POST /floor/v1/payments/{prepay_id}/succeed` marks an order paid (the
 * sandbox control API's counterpart, unsigned, not measured).
 *
 * Run as a child process (`fork` with `--import tsx`); environment: FLOOR_DATABASE (a SQLite file path),
 * FLOOR_MERCHANT (JSON: mchid, appid, serialNo, publicKeyPem). Sends `{ kind: 'ready', port, platformSerial,
 * platformPublicKeyPem }` over IPC once listening; exits on SIGTERM or when the parent goes.
 */

interface FloorMerchant {
  mchid: string;
  appid: string;
  serialNo: string;
  publicKeyPem: string;
}

export interface FloorReady {
  kind: 'ready';
  port: number;
  platformSerial: string;
  platformPublicKeyPem: string;
}

interface OrderRow {
  id: number;
  appid: string;
  mchid: string;
  out_trade_no: string;
  prepay_id: string;
  amount_total: number;
  currency: string;
  payer_openid: string;
  trade_state: string;
  transaction_id: string | null;
  success_time: number | null;
  refunded_total: number;
}

interface RefundRow {
  refund_id: string;
  out_refund_no: string;
  out_trade_no: string;
  transaction_id: string;
  amount_refund: number;
  amount_total: number;
  currency: string;
  status: string;
  created_at: number;
}

class FloorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const maxBodyBytes = 64 * 1024;
const nonceRetentionMs = 5 * 60 * 1000;

function openDatabase(file: string) {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    create table if not exists nonces (mchid text not null, nonce text not null, expires_at integer not null,
      primary key (mchid, nonce)) without rowid;
    create table if not exists orders (id integer primary key, appid text not null, mchid text not null,
      out_trade_no text not null, prepay_id text not null unique, description text not null, notify_url text not null,
      amount_total integer not null, currency text not null, payer_openid text not null, trade_state text not null,
      transaction_id text, success_time integer, refunded_total integer not null default 0, created_at integer not null,
      unique (mchid, out_trade_no));
    create table if not exists order_history (id integer primary key, order_id integer not null, from_state text,
      to_state text not null, at integer not null);
    create table if not exists refunds (id integer primary key, order_id integer not null, mchid text not null,
      out_refund_no text not null, refund_id text not null unique, out_trade_no text not null, transaction_id text not null,
      amount_refund integer not null, amount_total integer not null, currency text not null, status text not null,
      reason text, created_at integer not null, unique (mchid, out_refund_no));
    create table if not exists refund_history (id integer primary key, refund_id integer not null, from_state text,
      to_state text not null, at integer not null);
  `);
  const statements = {
    insertNonce: db.prepare<[string, string, number]>(
      'insert into nonces (mchid, nonce, expires_at) values (?, ?, ?) on conflict do nothing',
    ),
    insertOrder: db.prepare<[string, string, string, string, string, string, number, string, string, number]>(
      `insert into orders (appid, mchid, out_trade_no, prepay_id, description, notify_url, amount_total, currency, payer_openid,
        trade_state, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'WAIT_PAY', ?) on conflict (mchid, out_trade_no) do nothing`,
    ),
    insertOrderHistory: db.prepare<[number | bigint, string | null, string, number]>(
      'insert into order_history (order_id, from_state, to_state, at) values (?, ?, ?, ?)',
    ),
    orderByOutTradeNo: db.prepare<[string, string], OrderRow>('select * from orders where mchid = ? and out_trade_no = ?'),
    orderByPrepayId: db.prepare<[string], OrderRow>('select * from orders where prepay_id = ?'),
    markPaid: db.prepare<[string, number, number]>(
      `update orders set trade_state = 'SUCCESS', transaction_id = ?, success_time = ? where id = ? and trade_state = 'WAIT_PAY'`,
    ),
    // Compare-and-set: the refunded total never exceeds the paid amount.
    reserveRefund: db.prepare<[number, number, number]>(
      `update orders set refunded_total = refunded_total + ?
        where id = ? and trade_state = 'SUCCESS' and refunded_total + ? <= amount_total`,
    ),
    insertRefund: db.prepare<[number, string, string, string, string, string, number, number, string, string | null, number]>(
      `insert into refunds (order_id, mchid, out_refund_no, refund_id, out_trade_no, transaction_id, amount_refund, amount_total,
        currency, status, reason, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PROCESSING', ?, ?)
        on conflict (mchid, out_refund_no) do nothing`,
    ),
    insertRefundHistory: db.prepare<[number | bigint, string | null, string, number]>(
      'insert into refund_history (refund_id, from_state, to_state, at) values (?, ?, ?, ?)',
    ),
    refundByOutRefundNo: db.prepare<[string, string], RefundRow>('select * from refunds where mchid = ? and out_refund_no = ?'),
  };
  return { db, statements };
}

function main(): void {
  const merchant = JSON.parse(process.env.FLOOR_MERCHANT ?? '') as FloorMerchant;
  const merchantKey: KeyObject = createPublicKey(merchant.publicKeyPem);
  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const platformSerial = `PUB_KEY_ID_FLOOR${randomBytes(8).toString('hex').toUpperCase()}`;
  const { db, statements } = openDatabase(process.env.FLOOR_DATABASE ?? ':memory:');

  const newId = (prefix: string) => `${prefix}${Date.now().toString(36)}${randomBytes(10).toString('hex')}`;

  const createOrder = db.transaction((request: PrepayRequest, now: number): string => {
    const prepayId = newId('wx');
    const inserted = statements.insertOrder.run(
      request.appid,
      request.mchid,
      request.out_trade_no,
      prepayId,
      request.description,
      request.notify_url,
      request.amount.total,
      request.amount.currency ?? 'CNY',
      request.payer.openid,
      now,
    );
    if (inserted.changes === 0) {
      // The same out_trade_no again: the same prepay_id for the same order, a refusal for another.
      const existing = statements.orderByOutTradeNo.get(request.mchid, request.out_trade_no)!;
      if (existing.amount_total !== request.amount.total || existing.appid !== request.appid)
        throw new FloorError(400, 'INVALID_REQUEST', 'out_trade_no was used with other parameters');
      return existing.prepay_id;
    }
    statements.insertOrderHistory.run(inserted.lastInsertRowid, null, 'WAIT_PAY', now);
    return prepayId;
  });

  const pay = db.transaction((prepayId: string, now: number): OrderRow => {
    const order = statements.orderByPrepayId.get(prepayId);
    if (!order) throw new FloorError(404, 'RESOURCE_NOT_EXISTS', 'No such order');
    if (statements.markPaid.run(newId('42'), now, order.id).changes === 1)
      statements.insertOrderHistory.run(order.id, 'WAIT_PAY', 'SUCCESS', now);
    return statements.orderByPrepayId.get(prepayId)!;
  });

  const createRefund = db.transaction((mchid: string, request: RefundRequest, now: number): RefundRow => {
    const order = statements.orderByOutTradeNo.get(mchid, request.out_trade_no);
    if (!order) throw new FloorError(404, 'RESOURCE_NOT_EXISTS', 'No such order');
    if (request.amount.total !== order.amount_total) throw new FloorError(400, 'INVALID_REQUEST', "amount.total is not the order's total");
    const inserted = statements.insertRefund.run(
      order.id,
      mchid,
      request.out_refund_no,
      newId('50'),
      order.out_trade_no,
      order.transaction_id ?? '',
      request.amount.refund,
      order.amount_total,
      order.currency,
      request.reason ?? null,
      now,
    );
    if (inserted.changes === 1) {
      if (statements.reserveRefund.run(request.amount.refund, order.id, request.amount.refund).changes === 0)
        throw new FloorError(403, 'NOT_ENOUGH', 'The order is not paid, or the refund exceeds what is left');
      statements.insertRefundHistory.run(inserted.lastInsertRowid, null, 'PROCESSING', now);
    }
    return statements.refundByOutRefundNo.get(mchid, request.out_refund_no)!;
  });

  const transactionView = (order: OrderRow) => ({
    appid: order.appid,
    mchid: order.mchid,
    out_trade_no: order.out_trade_no,
    ...(order.transaction_id ? { transaction_id: order.transaction_id, trade_type: 'JSAPI' } : {}),
    trade_state: order.trade_state,
    ...(order.success_time ? { success_time: new Date(order.success_time).toISOString() } : {}),
    payer: { openid: order.payer_openid },
    amount: { total: order.amount_total, currency: order.currency },
  });
  const refundView = (refund: RefundRow) => ({
    refund_id: refund.refund_id,
    out_refund_no: refund.out_refund_no,
    transaction_id: refund.transaction_id,
    out_trade_no: refund.out_trade_no,
    create_time: new Date(refund.created_at).toISOString(),
    status: refund.status,
    amount: { total: refund.amount_total, refund: refund.amount_refund, currency: refund.currency },
  });

  /** Checks the signature and stores the nonce; returns the caller's mchid. */
  const authenticate = (request: IncomingMessage, body: Buffer, now: number): string => {
    const parsed = parseV3Authorization(request.headers.authorization);
    if (!parsed.ok) throw new FloorError(401, 'SIGN_ERROR', parsed.message);
    const { authorization } = parsed;
    if (authorization.mchid !== merchant.mchid || authorization.serialNo !== merchant.serialNo)
      throw new FloorError(401, 'SIGN_ERROR', 'Unknown merchant or certificate serial');
    if (!isV3TimestampFresh(authorization.timestamp, now)) throw new FloorError(401, 'SIGN_ERROR', 'Stale timestamp');
    if (!verifyV3RequestSignature(authorization, { method: request.method!, url: request.url!, body }, merchantKey))
      throw new FloorError(401, 'SIGN_ERROR', 'The signature does not verify');
    if (statements.insertNonce.run(authorization.mchid, authorization.nonceStr, now + nonceRetentionMs).changes === 0)
      throw new FloorError(401, 'SIGN_ERROR', 'Replayed nonce');
    return authorization.mchid;
  };

  const handle = (request: IncomingMessage, body: Buffer, now: number): unknown => {
    const url = request.url!;
    const question = url.indexOf('?');
    const path = question < 0 ? url : url.slice(0, question);
    if (request.method === 'POST' && path.startsWith('/floor/v1/payments/') && path.endsWith('/succeed')) {
      const order = pay(decodeURIComponent(path.slice('/floor/v1/payments/'.length, -'/succeed'.length)), now);
      return { state: order.trade_state, transaction_id: order.transaction_id };
    }
    const mchid = authenticate(request, body, now);
    if (request.method === 'POST' && path === '/v3/pay/transactions/jsapi') {
      const prepay = parseBody(body, isPrepayRequest);
      if (prepay.mchid !== mchid || prepay.appid !== merchant.appid) throw new FloorError(403, 'NO_AUTH', 'appid or mchid mismatch');
      return { prepay_id: createOrder(prepay, now) };
    }
    if (request.method === 'GET' && path.startsWith('/v3/pay/transactions/out-trade-no/')) {
      if (new URLSearchParams(url.slice(question + 1)).get('mchid') !== mchid) throw new FloorError(400, 'PARAM_ERROR', 'mchid');
      const order = statements.orderByOutTradeNo.get(mchid, decodeURIComponent(path.slice('/v3/pay/transactions/out-trade-no/'.length)));
      if (!order) throw new FloorError(404, 'ORDER_NOT_EXIST', 'No such order');
      return transactionView(order);
    }
    if (request.method === 'POST' && path === '/v3/refund/domestic/refunds') {
      return refundView(createRefund(mchid, parseBody(body, isRefundRequest), now));
    }
    if (request.method === 'GET' && path.startsWith('/v3/refund/domestic/refunds/')) {
      const refund = statements.refundByOutRefundNo.get(mchid, decodeURIComponent(path.slice('/v3/refund/domestic/refunds/'.length)));
      if (!refund) throw new FloorError(404, 'RESOURCE_NOT_EXISTS', 'No such refund');
      return refundView(refund);
    }
    throw new FloorError(404, 'NOT_FOUND', 'No such route');
  };

  const answer = (response: ServerResponse, status: number, payload: unknown, now: number) => {
    const text = JSON.stringify(payload);
    const signed = signV3Response({ serial: platformSerial, privateKey: platform.privateKey }, text, {
      nowMs: now,
      requestId: randomUUID(),
    });
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...signed });
    response.end(text);
  };

  const server = createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, (request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      const now = Date.now();
      try {
        if (size > maxBodyBytes) throw new FloorError(413, 'PARAM_ERROR', 'Body too large');
        answer(response, 200, handle(request, Buffer.concat(chunks), now), now);
      } catch (error) {
        if (error instanceof FloorError) answer(response, error.status, { code: error.code, message: error.message }, now);
        else answer(response, 500, { code: 'SYSTEM_ERROR', message: 'Internal error' }, now);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const ready: FloorReady = {
      kind: 'ready',
      port: (server.address() as AddressInfo).port,
      platformSerial,
      platformPublicKeyPem: platform.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    process.send?.(ready);
  });
  const stop = () => server.close(() => (db.close(), process.exit(0)));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

interface PrepayRequest {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  notify_url: string;
  amount: { total: number; currency?: string };
  payer: { openid: string };
}

interface RefundRequest {
  out_trade_no: string;
  out_refund_no: string;
  reason?: string;
  amount: { refund: number; total: number; currency?: string };
}

const isText = (value: unknown, max = 128): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;
const isAmount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

function isPrepayRequest(body: any): body is PrepayRequest {
  return (
    isText(body?.appid, 32) &&
    isText(body.mchid, 32) &&
    isText(body.description) &&
    isText(body.out_trade_no, 32) &&
    isText(body.notify_url, 256) &&
    isAmount(body.amount?.total) &&
    (body.amount.currency === undefined || isText(body.amount.currency, 3)) &&
    isText(body.payer?.openid)
  );
}

function isRefundRequest(body: any): body is RefundRequest {
  return (
    isText(body?.out_trade_no, 32) &&
    isText(body.out_refund_no, 64) &&
    (body.reason === undefined || isText(body.reason, 80)) &&
    isAmount(body.amount?.refund) &&
    isAmount(body.amount.total) &&
    body.amount.refund <= body.amount.total
  );
}

function parseBody<T>(body: Buffer, check: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new FloorError(400, 'PARAM_ERROR', 'The body is not JSON');
  }
  if (!check(value)) throw new FloorError(400, 'PARAM_ERROR', 'The body misses a field or has a malformed one');
  return value;
}

if (process.env.FLOOR_MERCHANT) main();
