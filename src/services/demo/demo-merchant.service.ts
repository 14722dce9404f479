import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  buildRequestPaymentParams,
  decryptV3Resource,
  isWellFormedApiV3Key,
  signV3Request,
  verifyV3Response,
  type RequestPaymentParams,
} from '../../crypto/wechatpay-v3.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { randomString } from '../../domain/ids.ts';
import { settingRepository } from '../../repositories/setting.repository.ts';
import type { DemoWorldService } from './demo-world.service.ts';

/**
 * The demo mini program's merchant server (SPEC §4.4): an ordinary v3 merchant that happens to run in
 * the same process. It talks to the gateway only over HTTP with signed requests, checks the platform's
 * signature on every answer, and verifies and decrypts the notifications its notify_url receives.
 * Its state (credentials, orders, notifications) lives in the settings table: it is a demo.
 */

export interface MerchantCredentials {
  mnpId: string;
  mchid: string;
  serialNo: string;
  privateKeyPem: string;
  apiV3Key: string;
  /** The platform key's id or certificate serial; empty trusts the key under whatever serial it signs with. */
  platformSerial: string;
  platformPublicKeyPem: string;
}

export interface ShopOrder {
  outTradeNo: string;
  mnpId: string;
  goodsId: string;
  description: string;
  quantity: number;
  total: number;
  currency: string;
  createdAt: number;
  refunds: { outRefundNo: string; amount: number; createdAt: number }[];
}

export interface ReceivedNotification {
  receivedAt: number;
  verified: boolean;
  /** Why it was refused, when it was. */
  problem?: string;
  id?: string;
  eventType?: string;
  summary?: string;
  /** The decrypted resource. */
  resource?: Record<string, unknown>;
}

export const demoGoods = [
  { id: 'beans', name: 'Coffee beans, 250 g', price: 6800 },
  { id: 'dripper', name: 'Pour-over dripper', price: 12900 },
  { id: 'mug', name: 'Enamel mug', price: 3500 },
] as const;

export class DemoMerchantError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

const credentialsKey = 'demo.merchant.credentials';
const ordersKey = 'demo.merchant.orders';
const notificationsKey = 'demo.merchant.notifications';
const keep = 50;

export class DemoMerchant {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secrets: { seal(text: string): string; open(sealed: string): string },
    private readonly demoWorld: DemoWorldService,
    /** Where the gateway answers (this server's own address). */
    private readonly gatewayBase: () => string,
    /** This merchant's notify_url. */
    readonly notifyUrl: string,
  ) {}

  /** Pasted credentials win; otherwise the demo world's ready mini program, when this database has one. */
  async credentials(): Promise<{ credentials: MerchantCredentials; source: 'settings' | 'demo world' } | undefined> {
    const stored = await settingRepository.get(this.db, credentialsKey);
    if (stored) return { credentials: JSON.parse(this.secrets.open(stored)) as MerchantCredentials, source: 'settings' };
    const manifest = await this.demoWorld.existing();
    if (!manifest) return undefined;
    const ready = manifest.miniPrograms.ready;
    return {
      source: 'demo world',
      credentials: {
        mnpId: ready.mnpId,
        mchid: ready.mchid,
        serialNo: ready.serialNo,
        privateKeyPem: ready.privateKeyPem,
        apiV3Key: ready.apiV3Key,
        platformSerial: ready.platformSerial,
        platformPublicKeyPem: ready.platformPublicKeyPem,
      },
    };
  }

  async requireCredentials(): Promise<MerchantCredentials> {
    const found = await this.credentials();
    if (!found) throw new DemoMerchantError(409, 'The demo shop has no merchant credentials yet: paste them at /demo/merchant/settings');
    return found.credentials;
  }

  async saveCredentials(input: MerchantCredentials): Promise<void> {
    const credentials = Object.fromEntries(
      Object.entries(input).map(([key, value]) => [key, String(value ?? '').trim()]),
    ) as unknown as MerchantCredentials;
    for (const field of ['mnpId', 'mchid', 'serialNo', 'privateKeyPem', 'apiV3Key', 'platformPublicKeyPem'] as const) {
      if (!credentials[field]) throw new DemoMerchantError(400, `${field} is required`);
    }
    try {
      createPrivateKey(credentials.privateKeyPem);
    } catch {
      throw new DemoMerchantError(400, 'privateKeyPem is not a PEM private key');
    }
    try {
      createPublicKey(credentials.platformPublicKeyPem);
    } catch {
      throw new DemoMerchantError(400, 'platformPublicKeyPem is not a PEM public key or certificate');
    }
    if (!isWellFormedApiV3Key(credentials.apiV3Key))
      throw new DemoMerchantError(400, 'apiV3Key must be 32 letters and digits, mixing upper case, lower case and digits');
    await settingRepository.put(this.db, credentialsKey, this.secrets.seal(JSON.stringify(credentials)));
  }

  /** A signed v3 request to the gateway whose answer must carry a valid platform signature. */
  async gateway<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; body: T }> {
    const merchant = await this.requireCredentials();
    const raw = body === undefined ? '' : JSON.stringify(body);
    const authorization = signV3Request(
      { mchid: merchant.mchid, serialNo: merchant.serialNo, privateKey: merchant.privateKeyPem },
      { method, url, body: raw },
      { nowMs: this.clock.nowMs() },
    );
    let response: Response;
    try {
      response = await fetch(`${this.gatewayBase()}${url}`, {
        method,
        headers: {
          authorization,
          accept: 'application/json',
          ...(raw ? { 'content-type': 'application/json' } : {}),
          'user-agent': 'paythrough-demo-merchant',
        },
        ...(raw ? { body: raw } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new DemoMerchantError(502, `The gateway did not answer: ${(error as Error).message}`);
    }
    const text = await response.text();
    const headers = Object.fromEntries(response.headers.entries());
    const verified = verifyV3Response({
      headers,
      body: text,
      publicKeys: this.platformKeys(merchant, headers['wechatpay-serial']),
      nowMs: this.clock.nowMs(),
    });
    if (!verified.ok) throw new DemoMerchantError(502, `The gateway's answer is not signed by the platform: ${verified.message}`);
    const parsed = text ? (JSON.parse(text) as T) : (undefined as T);
    if (response.status >= 400) {
      const error = parsed as { code?: string; message?: string };
      throw new DemoMerchantError(response.status, `${error?.code ?? 'ERROR'}: ${error?.message ?? 'the gateway refused'}`, parsed);
    }
    return { status: response.status, body: parsed };
  }

  private platformKeys(merchant: MerchantCredentials, sentSerial: string | undefined): Record<string, string> {
    // Without a configured serial the key is trusted under whichever serial the answer names.
    const serial = merchant.platformSerial || sentSerial || '';
    return { [serial]: merchant.platformPublicKeyPem };
  }

  async placeOrder(
    goodsId: string,
    quantity: number,
  ): Promise<{ order: ShopOrder; payment: Omit<RequestPaymentParams, 'appId'> & { appId: string } }> {
    const goods = demoGoods.find((item) => item.id === goodsId);
    if (!goods) throw new DemoMerchantError(400, 'No such goods');
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 9) throw new DemoMerchantError(400, 'quantity must be 1 to 9');
    const merchant = await this.requireCredentials();
    const outTradeNo = `DEMO${this.clock.nowMs()}${randomString(6).toUpperCase()}`;
    const order: ShopOrder = {
      outTradeNo,
      mnpId: merchant.mnpId,
      goodsId,
      description: quantity > 1 ? `${goods.name} × ${quantity}` : goods.name,
      quantity,
      total: goods.price * quantity,
      currency: 'CNY',
      createdAt: this.clock.nowMs(),
      refunds: [],
    };
    const prepay = await this.gateway<{ prepay_id: string }>('POST', '/v3/pay/transactions/jsapi', {
      appid: merchant.mnpId,
      mchid: merchant.mchid,
      description: order.description,
      out_trade_no: outTradeNo,
      notify_url: this.notifyUrl,
      amount: { total: order.total, currency: order.currency },
      payer: { openid: 'demo-shopper' },
      attach: `goods=${goodsId}`,
    });
    await this.remember<ShopOrder>(ordersKey, order);
    // What the merchant server hands its mini program for wx.requestPayment, signed with the merchant key.
    const payment = buildRequestPaymentParams({
      appId: merchant.mnpId,
      prepayId: prepay.body.prepay_id,
      merchantPrivateKey: merchant.privateKeyPem,
      nowMs: this.clock.nowMs(),
    });
    return { order, payment };
  }

  async orders(): Promise<ShopOrder[]> {
    const merchant = await this.credentials();
    const all = await this.recall<ShopOrder>(ordersKey);
    return merchant ? all.filter((order) => order.mnpId === merchant.credentials.mnpId) : [];
  }

  /** An order this shop placed under its current mini program; the demo answers nobody about any other. */
  private async shopOrder(outTradeNo: string): Promise<ShopOrder> {
    const order = (await this.orders()).find((item) => item.outTradeNo === outTradeNo);
    if (!order) throw new DemoMerchantError(404, 'No such order in this shop');
    return order;
  }

  /** The order as the gateway sees it now (the only source of truth about payment). */
  async queryOrder(outTradeNo: string): Promise<Record<string, unknown>> {
    const merchant = await this.requireCredentials();
    await this.shopOrder(outTradeNo);
    const answer = await this.gateway<Record<string, unknown>>(
      'GET',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${encodeURIComponent(merchant.mchid)}`,
    );
    return answer.body;
  }

  async refund(outTradeNo: string): Promise<Record<string, unknown>> {
    await this.shopOrder(outTradeNo);
    const orders = await this.recall<ShopOrder>(ordersKey);
    const order = orders.find((item) => item.outTradeNo === outTradeNo)!;
    const outRefundNo = `R${outTradeNo}`.slice(0, 64);
    const answer = await this.gateway<Record<string, unknown>>('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: outTradeNo,
      out_refund_no: outRefundNo,
      reason: 'The shopper asked for a refund in the demo shop',
      notify_url: this.notifyUrl,
      amount: { refund: order.total, total: order.total, currency: order.currency },
    });
    if (!order.refunds.some((refund) => refund.outRefundNo === outRefundNo)) {
      order.refunds.push({ outRefundNo, amount: order.total, createdAt: this.clock.nowMs() });
      await settingRepository.put(this.db, ordersKey, JSON.stringify(orders));
    }
    return answer.body;
  }

  /** The notify_url: verify the platform's signature, decrypt the resource with the APIv3 key, keep it. */
  async receiveNotification(headers: Record<string, unknown>, body: string): Promise<{ ok: boolean; message: string }> {
    const receivedAt = this.clock.nowMs();
    const refuse = async (problem: string) => {
      await this.remember<ReceivedNotification>(notificationsKey, { receivedAt, verified: false, problem });
      return { ok: false, message: problem };
    };
    const found = await this.credentials();
    if (!found) return refuse('The demo shop has no credentials to verify notifications with');
    const merchant = found.credentials;
    const sent = typeof headers['wechatpay-serial'] === 'string' ? (headers['wechatpay-serial'] as string) : undefined;
    const verified = verifyV3Response({ headers, body, publicKeys: this.platformKeys(merchant, sent), nowMs: this.clock.nowMs() });
    if (!verified.ok) return refuse(`Signature: ${verified.message}`);
    let event: {
      id?: string;
      event_type?: string;
      summary?: string;
      resource?: { algorithm?: string; ciphertext: string; associated_data?: string; nonce: string };
    };
    try {
      event = JSON.parse(body);
    } catch {
      return refuse('The body is not JSON');
    }
    if (!event.resource) return refuse('The notification has no resource');
    let resource: Record<string, unknown>;
    try {
      resource = JSON.parse(decryptV3Resource(event.resource, merchant.apiV3Key)) as Record<string, unknown>;
    } catch (error) {
      return refuse(`Decryption: ${(error as Error).message}`);
    }
    await this.remember<ReceivedNotification>(notificationsKey, {
      receivedAt,
      verified: true,
      ...(event.id ? { id: event.id } : {}),
      ...(event.event_type ? { eventType: event.event_type } : {}),
      ...(event.summary ? { summary: event.summary } : {}),
      resource,
    });
    return { ok: true, message: 'received' };
  }

  notifications(): Promise<ReceivedNotification[]> {
    return this.recall<ReceivedNotification>(notificationsKey);
  }

  private async recall<T>(key: string): Promise<T[]> {
    const stored = await settingRepository.get(this.db, key);
    return stored ? (JSON.parse(stored) as T[]) : [];
  }

  /** Newest first, the last `keep` only. */
  private async remember<T>(key: string, entry: T): Promise<void> {
    const entries = [entry, ...(await this.recall<T>(key))].slice(0, keep);
    await settingRepository.put(this.db, key, JSON.stringify(entries));
  }
}
