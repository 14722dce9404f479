import { createHash, randomInt } from 'node:crypto';
import { hexSignatureMatches, virtualPaySig, type VirtualPaymentMethod } from '../../crypto/virtual-payment-signatures.ts';
import type { Config } from '../../config/config.ts';
import { PaymentTypes } from '../../db/order-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { JsonLimitError, parseBoundedJson } from '../../domain/bounded-json.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { paidTradeStates } from '../../domain/order-state.ts';
import { orderRepository, type OrderRow } from '../../repositories/order.repository.ts';
import { virtualOrderRepository } from '../../repositories/virtual-order.repository.ts';
import { virtualOrderStatus, type VirtualOrderStatus } from '../../domain/virtual-order-status.ts';
import type { HostPaymentService, OrderService } from '../payments/index.ts';
import type { SellableItem, VirtualPaymentAccountLookup, VirtualPaymentDirectory } from './virtual-payment-directory.ts';

/** A virtual order may be paid for 2 hours (SPEC §8.3 [design choice]). */
export const virtualOrderLifetimeMs = 2 * 60 * 60 * 1000;
/** A signData `timeStamp` older than this is refused (SPEC §8.2). */
export const signDataMaxAgeMs = 2 * 60 * 60 * 1000;

/** The bridge's errCodes (SPEC §8.8). */
export const VirtualErrCode = {
  System: -1,
  Missing: -15001,
  Invalid: -15002,
  DuplicateOutTradeNo: -15003,
  Backend: -15004,
  NotEnabled: -15005,
  Currency: -15006,
  AlreadyPaid: -15007,
} as const;
export type VirtualErrCode = (typeof VirtualErrCode)[keyof typeof VirtualErrCode];

export const virtualPaymentMethods: readonly VirtualPaymentMethod[] = ['requestMidasPaymentGameItem', 'requestVirtualPayment'];

/** The body of `POST /bridge/v1/verify-virtual-payment` (SPEC §8.2), fields as sent. */
export interface VirtualPaymentToVerify {
  appId?: string | undefined;
  method?: string | undefined;
  signData?: string | undefined;
  paySig?: string | undefined;
  signature?: string | undefined;
  openid?: string | undefined;
  sessionVerified?: unknown;
}

/** How the call arrived: the superapp backend's host-key signature covers these bytes (SPEC §8.2, §4.5). */
export interface VerifyTransport {
  headers: Record<string, unknown>;
  rawBody: Buffer;
}

export type VirtualVerification =
  | {
      ok: true;
      wxOrderId: string;
      orderId: string;
      cashierUrl: string | null;
      cashierToken: string | null;
      channel: string;
      sandbox: boolean;
      order: { productId: string; quantity: number; orderFee: number; paidFee: number; currency: string; timeExpire: number };
    }
  | { ok: false; errCode: VirtualErrCode; code: string; reason: string };

const fail = (errCode: VirtualErrCode, code: string, reason: string): VirtualVerification => ({ ok: false, errCode, code, reason });
const missing = (field: string) => fail(VirtualErrCode.Missing, 'MISSING_PARAMS', `${field} is required`);
const invalid = (reason: string) => fail(VirtualErrCode.Invalid, 'INVALID_PARAMS', reason);
const notEnabled = (reason: string) => fail(VirtualErrCode.NotEnabled, 'NOT_ENABLED', reason);

const outTradeNoPattern = /^(?!_)[0-9A-Za-z_\-|*@]{8,32}$/;
const modeOfMethod: Record<VirtualPaymentMethod, string> = {
  requestMidasPaymentGameItem: 'goods',
  requestVirtualPayment: 'short_series_goods',
};

/** paid_fee − Σ(PROCESSING, SUCCESS, ABNORMAL refunds), duplicate-payment refunds excluded: the order's refund reservation. */
export function leftFeeOf(order: Pick<OrderRow, 'amount_total' | 'refund_reserved'>): number {
  return order.amount_total - order.refund_reserved;
}

/** `wx` + 30 digits (SPEC §8.3). */
export function mintWxOrderId(): string {
  let digits = '';
  while (digits.length < 30) digits += randomInt(0, 1_000_000_000).toString().padStart(9, '0');
  return `wx${digits.slice(0, 30)}`;
}

/** The channel's description: the item name cut to 240 characters + ` × qty` (SPEC §8.3). */
export function virtualOrderDescription(itemName: string, quantity: number): string {
  return `${Array.from(itemName).slice(0, 240).join('')} × ${quantity}`;
}

/** signData's fields once parsed and checked. */
interface SignedOrder {
  mode: string;
  buyQuantity: number;
  currencyType: string;
  productId: string;
  goodsPrice: number;
  activitySellingPrice: number | null;
  outTradeNo: string;
  attach: string;
  env: 0 | 1;
  platform: number;
  zoneId: string | null;
}

const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
/** Numbers may come as JSON numbers or digit strings (clients differ). */
function integerOf(value: unknown): number | undefined {
  if (isInteger(value)) return value;
  if (typeof value === 'string' && /^-?[0-9]{1,15}$/.test(value)) return Number(value);
  return undefined;
}

/** Checks signData's fields (SPEC §8.2); an error answer, or the order they ask for. */
function readSignData(
  method: VirtualPaymentMethod,
  data: Record<string, unknown>,
  nowMs: number,
): { ok: true; value: SignedOrder } | { ok: false; answer: VirtualVerification } {
  const refuse = (answer: VirtualVerification) => ({ ok: false as const, answer });
  const required = ['buyQuantity', 'currencyType', 'productId', 'goodsPrice', 'outTradeNo'];
  // requestVirtualPayment passes `mode` beside signData; inside it, it must be the method's mode when present.
  if (method === 'requestVirtualPayment') required.push('offerId');
  for (const field of required)
    if (data[field] === undefined || data[field] === null || data[field] === '') return refuse(missing(`signData.${field}`));
  const mode = data.mode ?? modeOfMethod[method];
  if (mode === 'short_series_coin') return refuse(invalid('mode short_series_coin (game coins) is not offered'));
  if (mode !== modeOfMethod[method]) return refuse(invalid(`mode must be ${modeOfMethod[method]} for ${method}`));
  const buyQuantity = integerOf(data.buyQuantity);
  if (buyQuantity === undefined || buyQuantity < 1 || buyQuantity > 1000)
    return refuse(invalid('buyQuantity must be an integer from 1 to 1000'));
  const goodsPrice = integerOf(data.goodsPrice);
  if (goodsPrice === undefined || goodsPrice <= 0) return refuse(invalid('goodsPrice must be a positive integer (minor units)'));
  let activitySellingPrice: number | null = null;
  if (data.activitySellingPrice !== undefined && data.activitySellingPrice !== null) {
    if (method !== 'requestVirtualPayment') return refuse(invalid('activitySellingPrice belongs to requestVirtualPayment'));
    const price = integerOf(data.activitySellingPrice);
    if (price === undefined || price <= 0 || price > goodsPrice || price * 10 < goodsPrice * 4)
      return refuse(invalid('activitySellingPrice must be from 40 % of goodsPrice up to goodsPrice'));
    activitySellingPrice = price;
  }
  if (typeof data.currencyType !== 'string' || !/^[A-Z]{3}$/.test(data.currencyType))
    return refuse(fail(VirtualErrCode.Currency, 'INVALID_CURRENCY', 'currencyType must be an ISO 4217 code'));
  if (typeof data.productId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(data.productId))
    return refuse(invalid('productId is not an item id'));
  if (typeof data.outTradeNo !== 'string' || !outTradeNoPattern.test(data.outTradeNo))
    return refuse(invalid('outTradeNo must be 8–32 of [0-9A-Za-z_-|*@], not starting with _'));
  const attach = data.attach ?? '';
  if (typeof attach !== 'string' || attach.length > 256) return refuse(invalid('attach must be a string of at most 256 characters'));
  const env = data.env === undefined || data.env === null ? 0 : integerOf(data.env);
  if (env !== 0 && env !== 1) return refuse(invalid('env must be 0 (live) or 1 (sandbox)'));
  let platform = 0;
  if (data.platform !== undefined && data.platform !== null && data.platform !== '') {
    if (data.platform === 'android') platform = 2;
    else if (data.platform === 'ios') platform = 3;
    else return refuse(invalid('platform must be android or ios'));
  }
  let zoneId: string | null = null;
  if (data.zoneId !== undefined && data.zoneId !== null) {
    if (typeof data.zoneId !== 'string' || data.zoneId.length > 64) return refuse(invalid('zoneId must be a short string'));
    zoneId = data.zoneId;
  }
  if (data.timeStamp !== undefined && data.timeStamp !== null) {
    const timeStamp = integerOf(data.timeStamp);
    if (timeStamp === undefined) return refuse(invalid('timeStamp must be Unix seconds'));
    if (timeStamp * 1000 < nowMs - signDataMaxAgeMs) return refuse(invalid('timeStamp is older than 2 hours'));
  }
  return {
    ok: true,
    value: {
      mode,
      buyQuantity,
      currencyType: data.currencyType,
      productId: data.productId,
      goodsPrice,
      activitySellingPrice,
      outTradeNo: data.outTradeNo,
      attach,
      env,
      platform,
      zoneId,
    },
  };
}

/** The gate on the mini program's side (SPEC §8.1, §8.8 −15005): enablement, delivery URL, binding, team, superapp, channel. */
function gateProblem(account: VirtualPaymentAccountLookup, sandboxEnabled: boolean, nowMs: number): string | undefined {
  if (!account.virtualPaymentEnabled) return 'Virtual payment is not enabled for this mini program (not approved, or disabled)';
  if (!account.deliveryUrl) return 'The mini program has no delivery URL configured';
  const standard = account.standard;
  if (!standard || !standard.bindingEffective || standard.mchid !== account.mchid)
    return "The virtual payment account's mchid is not the effective merchant binding of the mini program's team";
  if (!standard.paymentEnabled) return 'The superapp has payment switched off';
  const team = standard.team;
  if (!team || team.status !== 'active' || (team.expiresAt !== null && team.expiresAt <= nowMs))
    return "The mini program's team is disabled or expired";
  if (!standard.channelKind || (standard.channelKind === 'sandbox' && !sandboxEnabled) || standard.superappTeamId === undefined)
    return 'The superapp has no payment channel available';
  return undefined;
}

/**
 * Virtual orders (SPEC §8.2, §8.3): the client call's verification, which creates the order (status 1) on its
 * first success and passes it through to the superapp's channel; the same signData answers the same order.
 * Setup (accounts, AppKeys, items, delivery URLs) is read only through the VirtualPaymentDirectory.
 */
export class VirtualOrderService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'sandboxEnabled'>,
    private readonly directory: VirtualPaymentDirectory,
    private readonly parts: {
      orders: Pick<OrderService, 'insertVirtualOrder' | 'openOnChannel' | 'closeIfExpired' | 'retakeRefusedVirtualOrder'>;
      hostSignatures: Pick<HostPaymentService, 'verifyHostSignature'>;
      /** The cashier URL of a channel order, by channel kind (the sandbox knows its own). */
      cashierUrlOf: (channelKind: string, cashierToken: string) => string | null;
    },
  ) {}

  /** `POST /bridge/v1/verify-virtual-payment`. Never throws for a business outcome: a fail answer changes nothing. */
  async verify(request: VirtualPaymentToVerify, transport: VerifyTransport): Promise<VirtualVerification> {
    for (const field of ['appId', 'method', 'signData', 'paySig', 'signature', 'openid'] as const)
      if (typeof request[field] !== 'string' || request[field] === '') return missing(field);
    const { appId, signData, paySig, openid } = request as Required<
      Pick<VirtualPaymentToVerify, 'appId' | 'signData' | 'paySig' | 'openid'>
    >;
    const method = request.method as VirtualPaymentMethod;
    if (!virtualPaymentMethods.includes(method)) return invalid(`method must be ${virtualPaymentMethods.join(' or ')}`);
    if (openid.length > 128) return invalid('openid is longer than 128 characters');

    const account = await this.directory.accountOf(this.db, appId);
    if (!account) return notEnabled('Virtual payment is not enabled for this mini program');
    const standard = account.standard;
    // openid and sessionVerified are the host's claims: outside the sandbox only the superapp backend (host key) may make them.
    const sandboxSuperapp = standard?.channelKind === 'sandbox' && this.config.sandboxEnabled;
    const signed = Object.keys(transport.headers).some((name) => name.toLowerCase().startsWith('paythrough-'));
    if (signed || !sandboxSuperapp) {
      if (!standard) return notEnabled('The mini program pays on no superapp');
      if (!signed)
        return fail(
          VirtualErrCode.NotEnabled,
          'SIGN_ERROR',
          'Outside the sandbox this call comes from the superapp backend, signed with its host key',
        );
      const check = await this.parts.hostSignatures.verifyHostSignature(standard.applicationId, transport.headers, transport.rawBody);
      if (!check.ok) return fail(VirtualErrCode.NotEnabled, 'SIGN_ERROR', check.message);
    }
    // The exact bytes first, then parse.
    if (!hexSignatureMatches(virtualPaySig(account.appKey, method, signData), paySig))
      return fail(VirtualErrCode.NotEnabled, 'SIGN_ERROR', 'paySig does not verify under the AppKey');
    let parsed: unknown;
    try {
      parsed = parseBoundedJson(signData);
    } catch (error) {
      return invalid(error instanceof JsonLimitError ? error.message : 'signData is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return invalid('signData must be a JSON object');
    if (request.sessionVerified !== true) return notEnabled('The host did not verify the session signature (sessionVerified must be true)');

    const nowMs = this.clock.nowMs();
    const read = readSignData(method, parsed as Record<string, unknown>, nowMs);
    if (!read.ok) return read.answer;
    const signedOrder = read.value;
    const offerId = (parsed as Record<string, unknown>).offerId;
    if (offerId !== undefined && offerId !== account.offerId) return invalid("offerId is not the mini program's");
    const problem = gateProblem(account, this.config.sandboxEnabled, nowMs);
    if (problem) return notEnabled(problem);
    if (signedOrder.env === 1 && standard!.channelKind !== 'sandbox') return invalid('env 1 (sandbox) is refused on a production superapp');

    const item = await this.directory.sellableItemOf(this.db, appId, signedOrder.productId);
    if (!item) return invalid(`productId ${signedOrder.productId} is not an approved item`);
    if (signedOrder.currencyType !== item.currency || !(standard!.currencies as string[]).includes(item.currency))
      return fail(VirtualErrCode.Currency, 'INVALID_CURRENCY', `currencyType must be the item's currency (${item.currency})`);
    if (signedOrder.goodsPrice !== item.price) return invalid("goodsPrice is not the item's price");

    const digest = createHash('sha256').update(signData, 'utf8').digest('hex');
    const fields = this.newOrder(account, item, signedOrder, { appId, openid, digest, nowMs });
    const inserted = await this.parts.orders.insertVirtualOrder(fields);
    let order =
      inserted ?? (await orderRepository.findByOutTradeNo(this.db, standard!.applicationId, account.mchid, signedOrder.outTradeNo));
    if (!order) return fail(VirtualErrCode.System, 'SYSTEM_ERROR', 'The order vanished after its insert');
    // SPEC §7: an attempt the channel refused is replaced in its row, whatever its signData (−15003 does not apply).
    const retaken =
      !inserted && order.channel_refused === 1 && order.payment_type === PaymentTypes.Virtual && order.mnp_id === appId
        ? await this.parts.orders.retakeRefusedVirtualOrder(order, fields)
        : undefined;
    if (retaken) order = retaken;
    else if (!inserted) {
      const repeat = await this.repeatProblem(order, appId, digest);
      if (repeat) return repeat;
      order = await this.parts.orders.closeIfExpired(order);
      if (order.trade_state !== 'WAIT_PAY') return fail(VirtualErrCode.DuplicateOutTradeNo, 'ORDER_CLOSED', 'The order is closed');
    }
    try {
      order = await this.parts.orders.openOnChannel(order);
    } catch (error) {
      if (error instanceof AppError) return fail(VirtualErrCode.Backend, 'CHANNEL_ERROR', error.message);
      throw error;
    }
    if (!order.cashier_token && order.channel_kind !== 'host_reported')
      return fail(VirtualErrCode.Backend, 'NO_CASHIER', 'The channel has not opened this order yet; try again');
    return {
      ok: true,
      wxOrderId: order.wx_order_id!,
      orderId: order.out_trade_no,
      cashierUrl: order.cashier_token ? this.parts.cashierUrlOf(order.channel_kind, order.cashier_token) : null,
      cashierToken: order.cashier_token,
      channel: order.channel_kind,
      sandbox: order.sandbox === 1,
      order: {
        productId: order.product_id!,
        quantity: order.quantity!,
        orderFee: order.order_fee!,
        paidFee: order.amount_total,
        currency: order.currency,
        timeExpire: order.time_expire,
      },
    };
  }

  /** The order's `query_order` status (SPEC §8.3), derived from its trade state, delivery, refunds and left_fee. */
  async statusOf(order: OrderRow): Promise<VirtualOrderStatus> {
    return virtualOrderStatus({
      tradeState: order.trade_state,
      deliveryStatus: order.delivery_status,
      leftFee: leftFeeOf(order),
      refunds: await virtualOrderRepository.refundStatusesOf(this.db, order.id),
    });
  }

  /** SPEC §8.3: other signData under the number −15003; paid −15007; closed −15003. Undefined: the same order again. */
  private async repeatProblem(order: OrderRow, appId: string, digest: string): Promise<VirtualVerification | undefined> {
    if (order.payment_type !== PaymentTypes.Virtual || order.mnp_id !== appId || order.sign_data_digest !== digest)
      return fail(VirtualErrCode.DuplicateOutTradeNo, 'OUT_TRADE_NO_USED', 'outTradeNo is already used by another order');
    if (paidTradeStates.includes(order.trade_state)) return fail(VirtualErrCode.AlreadyPaid, 'ORDER_PAID', 'The order is paid already');
    if (order.trade_state !== 'WAIT_PAY') return fail(VirtualErrCode.DuplicateOutTradeNo, 'ORDER_CLOSED', 'The order is closed');
    return undefined;
  }

  private newOrder(
    account: VirtualPaymentAccountLookup,
    item: SellableItem,
    signed: SignedOrder,
    request: { appId: string; openid: string; digest: string; nowMs: number },
  ) {
    const standard = account.standard!;
    const channelKind = standard.channelKind!;
    const unitPaid = signed.activitySellingPrice ?? signed.goodsPrice;
    const wxOrderId = mintWxOrderId();
    const now = request.nowMs;
    return {
      prepay_id: wxOrderId,
      wx_order_id: wxOrderId,
      transaction_id: null,
      mchid: account.mchid,
      out_trade_no: signed.outTradeNo,
      mnp_id: request.appId,
      application_id: standard.applicationId,
      mini_program_team_id: standard.teamId,
      superapp_team_id: standard.superappTeamId!,
      description: virtualOrderDescription(item.name, signed.buyQuantity),
      attach: signed.attach,
      // The delivery URL as it was at creation, for the record; notifications go where it is when they are queued.
      notify_url: account.deliveryUrl!,
      amount_total: unitPaid * signed.buyQuantity,
      currency: item.currency,
      payer_openid: request.openid,
      time_expire: now + virtualOrderLifetimeMs,
      client_platform: signed.platform,
      sandbox: channelKind === 'sandbox' ? 1 : 0,
      trade_state: 'WAIT_PAY' as const,
      channel_kind: channelKind,
      channel_connection_id: standard.channelConnectionId,
      channel_order_id: null,
      channel_transaction_id: null,
      cashier_token: null,
      fingerprint: request.digest,
      refund_reserved: 0,
      refund_count: 0,
      refund_succeeded: 0,
      anomaly_flags: 0,
      // Until the channel confirms the order, the reconciler owns the question "does the channel have it?".
      pending_operation: 'create' as const,
      reconcile_at: now + 60_000,
      created_at: now,
      updated_at: now,
      success_time: null,
      closed_at: null,
      product_id: item.productId,
      quantity: signed.buyQuantity,
      zone_id: signed.zoneId,
      order_fee: signed.goodsPrice * signed.buyQuantity,
      sign_data_digest: request.digest,
      session_verified: 1,
      delivery_status: null,
      delivered_at: null,
    };
  }
}
