import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { signV3Request, verifyV3Response } from '../../src/crypto/wechatpay-v3.ts';
import { generateApiV3Key } from '../../src/domain/credentials.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { ApprovalType } from '../../src/domain/approval-state.ts';
import type { AppContext } from '../../src/composition.ts';
import type { Executor } from '../../src/db/schema.ts';
import { userRepository } from '../../src/repositories/user.repository.ts';
import { loadActor } from '../../src/services/auth/auth.service.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import { merchantNotificationTopic } from '../../src/services/payments/notification.service.ts';

/** A mini program's gateway credentials, as the demo manifest's `ready` entry carries them. */
export interface MerchantCredentials {
  mnpId: string;
  mchid: string;
  serialNo: string;
  privateKeyPem: string;
  apiV3Key: string;
  platformSerial: string;
  platformPublicKeyPem: string;
}

export function readyMerchant(manifest: DemoManifest): MerchantCredentials {
  const ready = manifest.miniPrograms.ready as unknown as MerchantCredentials;
  return { ...ready };
}

/** A merchant's order by its number, as the merchant's mini program sees it (merchant IDs are each superapp's own). */
export const orderOfMerchant = (db: Executor, merchant: Pick<MerchantCredentials, 'mnpId' | 'mchid'>, outTradeNo: string) =>
  db
    .selectFrom('orders')
    .selectAll()
    .where('mnp_id', '=', merchant.mnpId)
    .where('mchid', '=', merchant.mchid)
    .where('out_trade_no', '=', outTradeNo)
    .executeTakeFirst();

/** A merchant's refund by its number, as the merchant's mini program sees it. */
export const refundOfMerchant = (db: Executor, merchant: Pick<MerchantCredentials, 'mnpId' | 'mchid'>, outRefundNo: string) =>
  db
    .selectFrom('refunds')
    .selectAll()
    .where('mnp_id', '=', merchant.mnpId)
    .where('mchid', '=', merchant.mchid)
    .where('out_refund_no', '=', outRefundNo)
    .executeTakeFirst();

export interface V3Response<T = any> {
  statusCode: number;
  body: T;
  rawBody: string;
  headers: Record<string, unknown>;
}

/**
 * A v3 merchant client over `app.inject`: signs each request with WECHATPAY2-SHA256-RSA2048 at the
 * app's clock (a fresh nonce each time), and checks the platform's signature on every answer.
 */
export class V3InjectClient {
  constructor(
    private readonly app: FastifyInstance,
    readonly merchant: MerchantCredentials,
    private readonly clock: Clock,
  ) {}

  async request<T = any>(
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    options: { authorization?: string; tamper?: (raw: string) => string } = {},
  ): Promise<V3Response<T>> {
    const raw = body === undefined ? '' : JSON.stringify(body);
    const authorization =
      options.authorization ??
      signV3Request(
        { mchid: this.merchant.mchid, serialNo: this.merchant.serialNo, privateKey: this.merchant.privateKeyPem },
        { method, url, body: raw },
        { nowMs: this.clock.nowMs() },
      );
    const sent = options.tamper ? options.tamper(raw) : raw;
    const response = await this.app.inject({
      method,
      url,
      headers: { authorization, 'content-type': 'application/json; charset=utf-8', accept: 'application/json' },
      ...(method === 'POST' ? { payload: sent as InjectOptions['payload'] } : {}),
    });
    const verified = verifyV3Response({
      headers: response.headers,
      body: response.body,
      publicKeys: { [this.merchant.platformSerial]: this.merchant.platformPublicKeyPem },
      nowMs: this.clock.nowMs(),
    });
    if (!verified.ok) throw new Error(`The gateway's answer to ${method} ${url} is not signed correctly: ${verified.message}`);
    return {
      statusCode: response.statusCode,
      body: (response.body ? JSON.parse(response.body) : null) as T,
      rawBody: response.body,
      headers: response.headers,
    };
  }

  prepay(fields: {
    outTradeNo: string;
    total?: number;
    notifyUrl?: string;
    description?: string;
    attach?: string;
    timeExpire?: string;
    currency?: string;
    openid?: string;
  }) {
    return this.request('POST', '/v3/pay/transactions/jsapi', {
      appid: this.merchant.mnpId,
      mchid: this.merchant.mchid,
      description: fields.description ?? 'Demo coffee',
      out_trade_no: fields.outTradeNo,
      notify_url: fields.notifyUrl ?? 'https://merchant.example/notify',
      amount: { total: fields.total ?? 1000, currency: fields.currency ?? 'CNY' },
      payer: { openid: fields.openid ?? 'openid-demo' },
      ...(fields.attach === undefined ? {} : { attach: fields.attach }),
      ...(fields.timeExpire === undefined ? {} : { time_expire: fields.timeExpire }),
    });
  }

  queryByOutTradeNo(outTradeNo: string, mchid = this.merchant.mchid) {
    return this.request('GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${mchid}`);
  }

  queryByTransactionId(transactionId: string, mchid = this.merchant.mchid) {
    return this.request('GET', `/v3/pay/transactions/id/${transactionId}?mchid=${mchid}`);
  }

  close(outTradeNo: string) {
    return this.request('POST', `/v3/pay/transactions/out-trade-no/${outTradeNo}/close`, { mchid: this.merchant.mchid });
  }

  refund(fields: {
    outTradeNo?: string;
    transactionId?: string;
    outRefundNo: string;
    refund: number;
    total: number;
    currency?: string;
    notifyUrl?: string;
    reason?: string;
  }) {
    return this.request('POST', '/v3/refund/domestic/refunds', {
      ...(fields.transactionId ? { transaction_id: fields.transactionId } : { out_trade_no: fields.outTradeNo }),
      out_refund_no: fields.outRefundNo,
      ...(fields.reason === undefined ? {} : { reason: fields.reason }),
      ...(fields.notifyUrl === undefined ? {} : { notify_url: fields.notifyUrl }),
      amount: { refund: fields.refund, total: fields.total, currency: fields.currency ?? 'CNY' },
    });
  }

  queryRefund(outRefundNo: string) {
    return this.request('GET', `/v3/refund/domestic/refunds/${outRefundNo}`);
  }
}

/**
 * Waits until `done` holds: the sandbox delivers its events to Paythrough after answering, so a payment or refund is
 * seen a moment later. Outside a test body (where `expect.poll` is not allowed), in `beforeAll` say.
 */
export async function eventually(done: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 100; tries += 1) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the sandbox never told Paythrough');
}

/**
 * The demo world's yesterday (SPEC §9.5) leaves its notifications to the demo shop in the outbox: a running server
 * delivers them to its own /demo/merchant/notify, which a test's app does not serve. A test that counts the outbox's
 * work takes them off first, as the demo shop would (every job in the outbox just after the demo world is built).
 */
export async function deliverDemoShopNotifications(context: AppContext): Promise<number> {
  const worker = new OutboxWorker({
    db: context.database.db,
    kind: context.database.kind,
    clock: context.clock,
    handlers: { [merchantNotificationTopic]: { deliver: async () => ({ delivered: true, httpStatus: 200 }) } },
  });
  return (await worker.drain()).delivered;
}

/** Pays an order through the sandbox control API, as a test or script would. */
export async function payInSandbox(app: FastifyInstance, prepayId: string, options: { late?: boolean; fail?: boolean } = {}) {
  const response = await app.inject({
    method: 'POST',
    url: `/sandbox/v1/payments/${prepayId}/${options.fail ? 'fail' : 'succeed'}`,
    payload: { payer_openid: 'openid-demo', ...(options.late ? { late: true } : {}) },
  });
  return { statusCode: response.statusCode, body: response.json() as any };
}

/** One request a notify_url received. */
export interface ReceivedNotification {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A local merchant server standing in for a notify_url: records what arrives and answers as told. */
export class NotifyServer {
  readonly received: ReceivedNotification[] = [];
  /** HTTP status the next requests get. */
  status = 204;
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        if (this.status === 204) response.writeHead(204).end();
        else
          response.writeHead(this.status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'FAIL', message: 'failed' }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/notify`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The actor of a demo account, as a session would load it now. */
export async function demoActor(context: AppContext, account: string) {
  const user = await userRepository.findByAccount(context.database.db, account);
  if (!user) throw new Error(`no demo user ${account}`);
  return loadActor(context.database.db, user, context.clock.nowMs());
}

/**
 * Enables payment for the demo's `fresh` mini program (same team, so the same mchid) and returns its
 * credentials: a second mini program under one merchant.
 */
export async function enableFreshMiniProgram(context: AppContext, manifest: DemoManifest): Promise<MerchantCredentials> {
  const { services } = context;
  const mpAdmin = await demoActor(context, manifest.miniProgramTeam.users.admin.account);
  const reviewer = await demoActor(context, manifest.superapp.users.reviewer.account);
  const mnpId = manifest.miniPrograms.fresh.mnpId;
  const application = await services.enablements.request(mpAdmin, { mnpId, applyNote: 'second shop' });
  await services.approvals.decide(reviewer, {
    applicationId: manifest.superapp.applicationId,
    approvalNo: application.approvalNo,
    approvalType: ApprovalType.Approve,
    approvalNote: 'ok',
  });
  const key = await services.credentials.downloadPrivateKey(mpAdmin, mnpId);
  const apiV3Key = generateApiV3Key();
  await services.credentials.setApiV3Key(mpAdmin, mnpId, apiV3Key);
  const ready = readyMerchant(manifest);
  return { ...ready, mnpId, serialNo: key.serialNo, privateKeyPem: key.privateKeyPem, apiV3Key };
}
