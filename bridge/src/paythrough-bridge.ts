/**
 * The Paythrough host bridge (SPEC §4.4): what a superapp's mini program container calls when a mini
 * program calls `wx.requestPayment`. It asks Paythrough to verify the paySign against the mini program's
 * merchant key, opens the channel's cashier, and settles the way `wx.requestPayment` does:
 * `{errMsg: 'requestPayment:ok'}`, `requestPayment:fail <reason>` or `requestPayment:fail cancel`.
 *
 * ```ts
 * const bridge = createPaymentBridge({ baseUrl: 'https://paythrough.example', appId: 'mnp_...' });
 * await bridge.requestPayment({ timeStamp, nonceStr, package: 'prepay_id=...', signType: 'RSA', paySign });
 * ```
 *
 * Virtual items (SPEC §8.2) go through `requestMidasPaymentGameItem` / `requestVirtualPayment` and settle as
 * `{errMsg: '<method>:ok'}` or `{errMsg: '<method>:fail <reason>', errCode}` (WeChat's errCodes).
 */
import {
  checkVirtualPaymentParams,
  directVirtualPaymentVerifier,
  verifiedVirtualPayment,
  virtualFailure,
  virtualPaymentErrCodes,
  type VirtualPaymentMethod,
  type VirtualPaymentOptions,
  type VirtualPaymentResult,
  type VirtualPaymentUser,
  type VirtualPaymentVerifier,
} from './virtual-payment.ts';

export * from './virtual-payment.ts';

export interface RequestPaymentResult {
  errMsg: string;
}

/** The parameters of `wx.requestPayment`; the appId comes from the container, not the mini program. */
export interface RequestPaymentOptions {
  timeStamp: string;
  nonceStr: string;
  /** `prepay_id=...` */
  package: string;
  signType: string;
  paySign: string;
  success?: (result: RequestPaymentResult) => void;
  fail?: (result: RequestPaymentResult) => void;
  complete?: (result: RequestPaymentResult) => void;
}

/** What Paythrough answered for a verified payment: the cashier to open and the order summary. */
export interface VerifiedPayment {
  prepayId: string;
  cashierUrl: string | null;
  cashierToken: string | null;
  channel: string;
  sandbox: boolean;
  order: { outTradeNo: string; description: string; amount: { total: number; currency: string }; timeExpire: string };
}

export type CashierResult = 'ok' | 'fail' | 'cancel';

/** Shows the cashier for a verified payment and settles with what the user did there. */
export type CashierPresenter = (payment: VerifiedPayment) => Promise<{ result: CashierResult; reason?: string }>;

export interface PaymentBridgeOptions {
  /** The mini program this container runs (its appId goes into the paySign). */
  appId: string;
  /** Paythrough's base URL; the page's own origin by default. */
  baseUrl?: string;
  /** How to show the cashier; an overlay iframe by default (see `overlayCashier`, `popupCashier`). */
  cashier?: CashierPresenter;
  fetch?: typeof fetch;
  /**
   * The signed-in user (openid and session key) for virtual payments verified from the page, as a sandbox host does;
   * a production host passes `verifyVirtualPayment` instead (SPEC §8.2: its backend signs the call).
   */
  user?: () => VirtualPaymentUser | Promise<VirtualPaymentUser>;
  /** How a virtual payment is verified: the host's own backend in production; from the page (sandbox) by default. */
  verifyVirtualPayment?: VirtualPaymentVerifier;
}

export interface PaymentBridge {
  requestPayment(options: RequestPaymentOptions): Promise<RequestPaymentResult>;
  /** `wx.requestMidasPaymentGameItem`: a mini game buys an item (signData `mode` "goods"). */
  requestMidasPaymentGameItem(options: VirtualPaymentOptions): Promise<VirtualPaymentResult>;
  /** `wx.requestVirtualPayment`: a mini program buys an item (`mode` "short_series_goods"). */
  requestVirtualPayment(options: VirtualPaymentOptions): Promise<VirtualPaymentResult>;
}

/** The message the cashier page posts to the window that opened it (docs/channel-protocol.md, "The cashier"). */
export const cashierMessageSource = 'paythrough-sandbox-cashier';

export class RequestPaymentError extends Error implements RequestPaymentResult {
  override name = 'RequestPaymentError';
  constructor(
    readonly errMsg: string,
    /** Set for the virtual payment methods (SPEC §8.8). */
    readonly errCode?: number,
  ) {
    super(errMsg);
  }
}

interface VerifyAnswer {
  result: 'ok' | 'fail';
  code?: string;
  reason?: string;
  prepay_id?: string;
  cashier_url?: string | null;
  cashier_token?: string | null;
  channel?: string;
  sandbox?: boolean;
  order?: { out_trade_no: string; description: string; amount: { total: number; currency: string }; time_expire: string };
}

const ok: RequestPaymentResult = { errMsg: 'requestPayment:ok' };
const failure = (reason: string): RequestPaymentResult => ({ errMsg: `requestPayment:fail ${reason}` });

export function createPaymentBridge(options: PaymentBridgeOptions): PaymentBridge {
  const baseUrl = (options.baseUrl ?? globalThis.location?.origin ?? '').replace(/\/+$/, '');
  const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  let busy = false;

  async function verify(params: RequestPaymentOptions): Promise<VerifiedPayment | RequestPaymentResult> {
    let answer: VerifyAnswer;
    try {
      const response = await fetcher(`${baseUrl}/bridge/v1/verify-payment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        credentials: 'omit',
        body: JSON.stringify({
          appId: options.appId,
          timeStamp: String(params.timeStamp ?? ''),
          nonceStr: String(params.nonceStr ?? ''),
          package: String(params.package ?? ''),
          signType: String(params.signType ?? ''),
          paySign: String(params.paySign ?? ''),
        }),
      });
      answer = (await response.json()) as VerifyAnswer;
    } catch {
      return failure('network error');
    }
    if (answer.result !== 'ok' || !answer.prepay_id || !answer.order) return failure(answer.reason ?? 'the payment could not be verified');
    return {
      prepayId: answer.prepay_id,
      cashierUrl: answer.cashier_url ?? null,
      cashierToken: answer.cashier_token ?? null,
      channel: answer.channel ?? '',
      sandbox: answer.sandbox ?? false,
      order: {
        outTradeNo: answer.order.out_trade_no,
        description: answer.order.description,
        amount: answer.order.amount,
        timeExpire: answer.order.time_expire,
      },
    };
  }

  /** Shows the cashier for a verified payment; one payment at a time per bridge. */
  async function present(verified: VerifiedPayment): Promise<{ result: CashierResult; reason?: string } | { error: string }> {
    try {
      return await (options.cashier ?? overlayCashier())(verified);
    } catch (error) {
      return { error: error instanceof Error ? error.message : 'the cashier could not be opened' };
    }
  }

  async function oneAtATime<T>(busyAnswer: T, run: () => Promise<T>): Promise<T> {
    if (busy) return busyAnswer;
    busy = true;
    try {
      return await run();
    } finally {
      busy = false;
    }
  }

  const settle = (params: RequestPaymentOptions): Promise<RequestPaymentResult> =>
    oneAtATime(failure('another payment is in progress'), async () => {
      const verified = await verify(params);
      if ('errMsg' in verified) return verified;
      const outcome = await present(verified);
      if ('error' in outcome) return failure(outcome.error);
      if (outcome.result === 'ok') return ok;
      if (outcome.result === 'cancel') return failure('cancel');
      return failure(outcome.reason ?? 'payment failed');
    });

  const verifyVirtual = options.verifyVirtualPayment ?? directVirtualPaymentVerifier({ baseUrl, fetch: fetcher, user: options.user });

  const settleVirtual = (method: VirtualPaymentMethod, params: VirtualPaymentOptions): Promise<VirtualPaymentResult> =>
    oneAtATime(virtualFailure(method, 'another payment is in progress', virtualPaymentErrCodes.system), async () => {
      const refused = checkVirtualPaymentParams(method, params);
      if (refused) return refused;
      let answer;
      try {
        answer = await verifyVirtual({
          appId: options.appId,
          method,
          signData: params.signData,
          paySig: params.paySig,
          signature: params.signature,
        });
      } catch (error) {
        return virtualFailure(method, error instanceof Error ? error.message : 'network error', virtualPaymentErrCodes.backend);
      }
      const verified = verifiedVirtualPayment(method, answer);
      if ('errMsg' in verified) return verified;
      const outcome = await present(verified);
      if ('error' in outcome) return virtualFailure(method, outcome.error, virtualPaymentErrCodes.system);
      if (outcome.result === 'ok') return { errMsg: `${method}:ok` };
      if (outcome.result === 'cancel') return virtualFailure(method, 'cancel', virtualPaymentErrCodes.cancel);
      return virtualFailure(method, outcome.reason ?? 'payment failed', virtualPaymentErrCodes.system);
    });

  /** Callbacks first, then the promise, as wx's payment APIs do; a throwing callback is the caller's bug. */
  function answer<R extends RequestPaymentResult & { errCode?: number }>(
    result: R,
    succeeded: boolean,
    callbacks: { success?: (r: R) => void; fail?: (r: R) => void; complete?: (r: R) => void },
  ): R {
    (succeeded ? callbacks.success : callbacks.fail)?.(result);
    callbacks.complete?.(result);
    if (!succeeded) throw new RequestPaymentError(result.errMsg, result.errCode);
    return result;
  }

  return {
    async requestPayment(params) {
      const result = await settle(params);
      return answer(result, result.errMsg === ok.errMsg, params);
    },
    async requestMidasPaymentGameItem(params) {
      const result = await settleVirtual('requestMidasPaymentGameItem', params);
      return answer(result, result.errCode === undefined, params);
    },
    async requestVirtualPayment(params) {
      const result = await settleVirtual('requestVirtualPayment', params);
      return answer(result, result.errCode === undefined, params);
    },
  };
}

/** The fields of a MessageEvent the bridge looks at (so it can be checked without a browser). */
export interface CashierMessageEvent {
  origin: string;
  source: unknown;
  data: unknown;
}

/**
 * What a cashier message means for this payment, or null when it is not ours: it must come from the
 * cashier's origin, from the window the bridge opened, about this prepay_id, with a known result.
 */
export function readCashierMessage(
  event: CashierMessageEvent,
  expected: { origin: string; source: unknown; prepayId: string },
): CashierResult | null {
  if (event.origin !== expected.origin || event.source !== expected.source || expected.source === null) return null;
  const data = event.data as { source?: unknown; result?: unknown; prepayId?: unknown } | null;
  if (!data || typeof data !== 'object' || data.source !== cashierMessageSource || data.prepayId !== expected.prepayId) return null;
  return data.result === 'ok' || data.result === 'fail' || data.result === 'cancel' ? data.result : null;
}

const overlayStyle = [
  'position:fixed',
  'inset:0',
  'z-index:2147483000',
  'background:rgba(0,0,0,.45)',
  'display:flex',
  'align-items:flex-end',
  'justify-content:center',
].join(';');
const sheetStyle =
  'position:relative;width:100%;max-width:420px;height:min(560px,90%);background:#fff;border-radius:12px 12px 0 0;overflow:hidden';
const frameStyle = 'border:0;width:100%;height:100%;display:block';
const closeStyle =
  'position:absolute;top:6px;right:8px;border:0;background:transparent;font-size:22px;line-height:1;cursor:pointer;color:#555';

/**
 * The cashier in an overlay iframe over the host page (a bottom sheet). The close button cancels;
 * the cashier's own Pay / Fail / Cancel buttons settle through its postMessage.
 */
export function overlayCashier(
  options: { document?: Document; window?: Window; settleDelayMs?: number; container?: HTMLElement } = {},
): CashierPresenter {
  return (payment) => {
    const doc = options.document ?? document;
    const win = options.window ?? window;
    if (!payment.cashierUrl) return Promise.reject(new Error('this channel has no cashier page'));
    const cashierUrl = new URL(payment.cashierUrl, win.location.href);
    return new Promise((resolve) => {
      const overlay = doc.createElement('div');
      // Inside a container (the host's own screen area) the sheet covers that area only.
      overlay.setAttribute('style', options.container ? overlayStyle.replace('position:fixed', 'position:absolute') : overlayStyle);
      overlay.setAttribute('data-paythrough', 'cashier-overlay');
      const sheet = doc.createElement('div');
      sheet.setAttribute('style', sheetStyle);
      sheet.setAttribute('role', 'dialog');
      sheet.setAttribute('aria-label', 'Cashier');
      const frame = doc.createElement('iframe');
      frame.setAttribute('style', frameStyle);
      frame.setAttribute('title', 'Cashier');
      frame.src = cashierUrl.toString();
      const close = doc.createElement('button');
      close.type = 'button';
      close.textContent = '×';
      close.setAttribute('aria-label', 'Close the cashier');
      close.setAttribute('style', closeStyle);
      sheet.append(frame, close);
      overlay.append(sheet);

      let settled = false;
      const finish = (result: CashierResult) => {
        if (settled) return;
        settled = true;
        win.removeEventListener('message', onMessage);
        // Leave the cashier's own confirmation on screen for a moment.
        const delay = result === 'cancel' ? 0 : (options.settleDelayMs ?? 600);
        win.setTimeout(() => {
          overlay.remove();
          resolve({ result });
        }, delay);
      };
      const onMessage = (event: MessageEvent) => {
        const result = readCashierMessage(event, { origin: cashierUrl.origin, source: frame.contentWindow, prepayId: payment.prepayId });
        if (result) finish(result);
      };
      win.addEventListener('message', onMessage);
      close.addEventListener('click', () => finish('cancel'));
      (options.container ?? doc.body).append(overlay);
    });
  };
}

/** The cashier in a popup window (for hosts that cannot frame it); closing the popup cancels. */
export function popupCashier(options: { window?: Window; features?: string } = {}): CashierPresenter {
  return (payment) => {
    const win = options.window ?? window;
    if (!payment.cashierUrl) return Promise.reject(new Error('this channel has no cashier page'));
    const cashierUrl = new URL(payment.cashierUrl, win.location.href);
    const popup = win.open(cashierUrl.toString(), 'paythrough-cashier', options.features ?? 'popup,width=420,height=640');
    if (!popup) return Promise.reject(new Error('the cashier popup was blocked'));
    return new Promise((resolve) => {
      const finish = (result: CashierResult) => {
        win.removeEventListener('message', onMessage);
        win.clearInterval(watch);
        if (!popup.closed) popup.close();
        resolve({ result });
      };
      const onMessage = (event: MessageEvent) => {
        const result = readCashierMessage(event, { origin: cashierUrl.origin, source: popup, prepayId: payment.prepayId });
        if (result) finish(result);
      };
      win.addEventListener('message', onMessage);
      const watch = win.setInterval(() => {
        if (popup.closed) finish('cancel');
      }, 300);
    });
  };
}
