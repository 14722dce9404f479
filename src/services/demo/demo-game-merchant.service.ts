import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { randomString } from '../../domain/ids.ts';
import { settingRepository } from '../../repositories/setting.repository.ts';
import { DemoMerchantError } from './demo-merchant.service.ts';
import type { DemoWorldService } from './demo-world.service.ts';

/**
 * The demo mini game's merchant server (SPEC §8.9): an ordinary virtual payment merchant that happens to run in
 * the same process. It signs purchases (`signData`, `paySig`, and the `signature` a container checks with the
 * player's session key) with plain HMAC-SHA256 as the public docs describe, receives delivery notifications (checks
 * the header signature, refuses replays, checks `PayEventSig`) and hands the item over once per `OutTradeNo`, and
 * refunds through `POST /xpay/refund_order`. Its state lives in the settings table: it is a demo.
 */

/** What the game's merchant server holds: the mini game's AppKey and the signed-in player's session. */
export interface GameCredentials {
  mnpId: string;
  offerId: string;
  appKey: string;
  /** The player (the demo host's one user) and their session key. */
  openid: string;
  sessionKey: string;
  /** 1 on a sandbox superapp (WeChat's `env`), 0 in production. */
  env: 0 | 1;
  items: readonly { productId: string; name: string; price: number; currency: string }[];
}

export interface GamePurchase {
  outTradeNo: string;
  productId: string;
  quantity: number;
  createdAt: number;
  refundedAt?: number;
}

export interface InventoryEntry {
  outTradeNo: string;
  productId: string;
  quantity: number;
  deliveredAt: number;
}

const method = 'requestMidasPaymentGameItem';
/** The demo host's one signed-in player. */
export const demoPlayerOpenid = 'demo-player';
const purchasesKey = 'demo.game.purchases';
const inventoryKey = 'demo.game.inventory';
const seenNoncesKey = 'demo.game.delivery-nonces';
const keep = 50;
const replayWindowMs = 300_000;

const hmacHex = (key: string, message: string) => createHmac('sha256', key).update(message, 'utf8').digest('hex');
const sameHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const header = (headers: Record<string, unknown>, name: string) => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};

/** The demo world's ready mini game as its merchant server holds it (the demo superapp pays in the sandbox: env 1). */
export async function demoGameCredentials(world: Pick<DemoWorldService, 'existing'>): Promise<GameCredentials | undefined> {
  const game = (await world.existing())?.miniGames?.ready;
  if (!game) return undefined;
  const { mnpId, offerId, appKey, sessionKey, items } = game;
  return { mnpId, offerId, appKey, sessionKey, items, openid: demoPlayerOpenid, env: 1 };
}

export class DemoGameMerchant {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    /** The demo world's ready mini game, when this database has one. */
    private readonly credentials: () => Promise<GameCredentials | undefined>,
    /** Where Paythrough answers (this server's own address). */
    private readonly paythroughBase: () => string,
  ) {}

  private async requireCredentials(): Promise<GameCredentials> {
    const found = await this.credentials();
    if (!found) throw new DemoMerchantError(409, 'The demo world has no mini game with virtual payment yet');
    return found;
  }

  /** What the game's client asks its server for: one item bought, signed as the platform documents. */
  async signPurchase(productId: string, quantity: number): Promise<{ signData: string; paySig: string; signature: string }> {
    const game = await this.requireCredentials();
    const item = game.items.find((candidate) => candidate.productId === productId);
    if (!item) throw new DemoMerchantError(400, 'No such item');
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 9) throw new DemoMerchantError(400, 'quantity must be 1 to 9');
    const outTradeNo = `GAME${this.clock.nowMs()}${randomString(6).toUpperCase()}`;
    const signData = JSON.stringify({
      mode: 'goods',
      offerId: game.offerId,
      buyQuantity: quantity,
      env: game.env,
      currencyType: item.currency,
      platform: 'android',
      productId: item.productId,
      goodsPrice: item.price,
      outTradeNo,
      attach: `player=${game.openid}`,
    });
    await this.remember<GamePurchase>(purchasesKey, { outTradeNo, productId, quantity, createdAt: this.clock.nowMs() });
    return {
      signData,
      paySig: hmacHex(game.appKey, `${method}&${signData}`),
      signature: hmacHex(game.sessionKey, signData),
    };
  }

  /**
   * The delivery URL: the header signature over the exact body within five minutes and its nonce once, then
   * `PayEventSig`, then the item into the inventory once per `OutTradeNo` (a repeat is acknowledged again).
   */
  async receiveDelivery(headers: Record<string, unknown>, body: string): Promise<{ ok: true } | { ok: false; message: string }> {
    const game = await this.credentials();
    if (!game) return { ok: false, message: 'no mini game configured' };
    const timestamp = header(headers, 'paythrough-timestamp');
    const nonce = header(headers, 'paythrough-nonce');
    const signature = header(headers, 'paythrough-signature');
    if (!timestamp || !nonce || !signature)
      return { ok: false, message: 'the Paythrough-Timestamp, -Nonce and -Signature headers are required' };
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(Number(timestamp) * 1000 - this.clock.nowMs()) > replayWindowMs)
      return { ok: false, message: 'the timestamp is not within five minutes' };
    if (!sameHex(signature.toLowerCase(), hmacHex(game.appKey, `${timestamp}\n${nonce}\n${body}\n`)))
      return { ok: false, message: 'the header signature does not verify' };
    const seen = await this.recall<string>(seenNoncesKey);
    if (seen.includes(nonce)) return { ok: false, message: 'the nonce was seen before (a replay)' };
    await this.remember<string>(seenNoncesKey, nonce, 500);
    let event: { Event?: unknown; Payload?: unknown; PayEventSig?: unknown };
    try {
      event = JSON.parse(body) as typeof event;
    } catch {
      return { ok: false, message: 'the body is not JSON' };
    }
    if (typeof event.Event !== 'string' || typeof event.Payload !== 'string' || typeof event.PayEventSig !== 'string')
      return { ok: false, message: 'Event, Payload and PayEventSig are required' };
    if (!sameHex(event.PayEventSig.toLowerCase(), hmacHex(game.appKey, `${event.Event}&${event.Payload}`)))
      return { ok: false, message: 'PayEventSig does not verify' };
    if (event.Event !== 'minigame_game_pay_goods_deliver_notify') return { ok: true };
    const payload = JSON.parse(event.Payload) as { OutTradeNo?: string; GoodsInfo?: { ProductId?: string; Quantity?: number } };
    if (!payload.OutTradeNo || !payload.GoodsInfo?.ProductId) return { ok: false, message: 'the payload names no order or item' };
    const inventory = await this.recall<InventoryEntry>(inventoryKey);
    if (!inventory.some((entry) => entry.outTradeNo === payload.OutTradeNo)) {
      await this.remember<InventoryEntry>(inventoryKey, {
        outTradeNo: payload.OutTradeNo,
        productId: payload.GoodsInfo.ProductId,
        quantity: Number(payload.GoodsInfo.Quantity ?? 1),
        deliveredAt: this.clock.nowMs(),
      });
    }
    return { ok: true };
  }

  /** A signed merchant server call (`pay_sig` over the exact body); Paythrough answers HTTP 200 with `errcode`. */
  async xpay<T extends { errcode: number; errmsg?: string }>(name: string, fields: Record<string, unknown>): Promise<T> {
    const game = await this.requireCredentials();
    const body = JSON.stringify(fields);
    const paySig = hmacHex(game.appKey, `/xpay/${name}&${body}`);
    const url = `${this.paythroughBase()}/xpay/${name}?appid=${encodeURIComponent(game.mnpId)}&pay_sig=${paySig}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'paythrough-demo-game' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new DemoMerchantError(502, `Paythrough did not answer: ${(error as Error).message}`);
    }
    const answer = (await response.json().catch(() => null)) as T | null;
    if (!answer || typeof answer.errcode !== 'number') throw new DemoMerchantError(502, `Unexpected answer (HTTP ${response.status})`);
    if (answer.errcode !== 0) throw new DemoMerchantError(409, `xpay/${name}: ${answer.errcode} ${answer.errmsg ?? ''}`.trim(), answer);
    return answer;
  }

  /** The whole of what is left of the order, refunded through `refund_order` with the `left_fee` just read. */
  async refund(outTradeNo: string): Promise<Record<string, unknown>> {
    const game = await this.requireCredentials();
    const purchases = await this.recall<GamePurchase>(purchasesKey);
    const purchase = purchases.find((candidate) => candidate.outTradeNo === outTradeNo);
    if (!purchase) throw new DemoMerchantError(404, 'No such purchase in this game');
    const { order } = await this.xpay<{ errcode: number; order: { left_fee: number } }>('query_order', {
      openid: game.openid,
      env: game.env,
      order_id: outTradeNo,
    });
    const answer = await this.xpay<{ errcode: number } & Record<string, unknown>>('refund_order', {
      openid: game.openid,
      order_id: outTradeNo,
      refund_order_id: `R${outTradeNo}`.slice(0, 32),
      left_fee: order.left_fee,
      refund_fee: order.left_fee,
      biz_meta: 'demo refund',
      refund_reason: '0',
      req_from: '1',
      env: game.env,
    });
    purchase.refundedAt ??= this.clock.nowMs();
    await settingRepository.put(this.db, purchasesKey, JSON.stringify(purchases));
    return answer;
  }

  purchases(): Promise<GamePurchase[]> {
    return this.recall<GamePurchase>(purchasesKey);
  }

  inventory(): Promise<InventoryEntry[]> {
    return this.recall<InventoryEntry>(inventoryKey);
  }

  private async recall<T>(key: string): Promise<T[]> {
    const stored = await settingRepository.get(this.db, key);
    return stored ? (JSON.parse(stored) as T[]) : [];
  }

  /** Newest first, the last `limit` only. */
  private async remember<T>(key: string, entry: T, limit = keep): Promise<void> {
    const entries = [entry, ...(await this.recall<T>(key))].slice(0, limit);
    await settingRepository.put(this.db, key, JSON.stringify(entries));
  }
}
