import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { Config } from '../../config/config.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { orderRepository } from '../../repositories/order.repository.ts';
import { refundRepository } from '../../repositories/refund.repository.ts';
import { buildTradeBill, type BillType } from './bill-file.ts';
import { businessDateOf, businessDayRange } from '../../domain/business-time.ts';
import type { GatewayCaller } from '../auth/index.ts';
import type { PaymentAccounts } from '../payment-setup/index.ts';

export interface TradeBillRequest {
  billDate: string;
  billType: BillType;
  tarType?: 'GZIP' | undefined;
}

export interface TradeBillAnswer {
  hash_type: 'SHA1';
  hash_value: string;
  download_url: string;
}

/**
 * What a download token names. The download is itself a signed request checked against the caller, so
 * the token needs no secret: it only fixes which bill, and the instant it was cut (`asOf`), so that the
 * file downloaded later is byte for byte the one whose hash was announced, even for today-so-far.
 */
const tokenSchema = z.object({
  v: z.literal(1),
  m: z.string(),
  c: z.string(),
  d: z.string(),
  t: z.enum(['ALL', 'SUCCESS', 'REFUND']),
  z: z.boolean(),
  a: z.number().int(),
  /** The currency an empty bill's summary is in. */
  k: z.string(),
});
type BillToken = z.infer<typeof tokenSchema>;

export const billDownloadPath = '/v3/billdownload/file';
/** Today's bill holds what settled up to this long before it was asked for. */
export const billSettleMarginMs = 2000;

/** Trade bills (SPEC §4.1, §7 "Trade bill file") by business day in PAYTHROUGH_TIMEZONE, per mini program. */
export class BillService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone' | 'publicUrl'>,
    private readonly accounts: PaymentAccounts,
  ) {}

  /** `GET /v3/bill/tradebill`: past days and today so far, at once. */
  async tradeBill(caller: GatewayCaller, request: TradeBillRequest): Promise<TradeBillAnswer> {
    const now = this.clock.nowMs();
    if (!businessDayRange(request.billDate, this.config.timezone)) {
      throw new AppError('InvalidParameterValue', 'bill_date: must be a date YYYY-MM-DD', {
        field: 'bill_date',
        location: 'query',
        value: request.billDate,
      });
    }
    if (request.billDate > businessDateOf(now, this.config.timezone))
      throw new AppError('FailedOperation', 'There is no bill for a future day yet');
    const account = await this.accounts.findPaymentAccount(this.db, caller.mnpId);
    const token: BillToken = {
      v: 1,
      m: caller.mnpId,
      c: caller.mchid,
      d: request.billDate,
      t: request.billType,
      z: request.tarType === 'GZIP',
      a: now,
      k: account?.currencies[0] ?? 'CNY',
    };
    const content = await this.render(token);
    const encoded = Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
    return {
      hash_type: 'SHA1',
      hash_value: createHash('sha1').update(content).digest('hex'),
      download_url: `${this.config.publicUrl}${billDownloadPath}?token=${encoded}`,
    };
  }

  /** `GET /v3/billdownload/file?token=`: the file (gzipped when asked); the hash is over the plain file. */
  async download(caller: GatewayCaller, tokenText: string): Promise<{ body: Buffer; gzip: boolean }> {
    let token: BillToken;
    try {
      token = tokenSchema.parse(JSON.parse(Buffer.from(tokenText, 'base64url').toString('utf8')));
    } catch {
      throw new AppError('InvalidParameterValue', 'token: not a bill download token', { field: 'token', location: 'query' });
    }
    if (token.m !== caller.mnpId || token.c !== caller.mchid) throw new AppError('ResourceNotFound', 'The bill does not exist');
    const content = await this.render(token);
    return { body: token.z ? gzipSync(content) : content, gzip: token.z };
  }

  private async render(token: BillToken): Promise<Buffer> {
    const range = businessDayRange(token.d, this.config.timezone);
    if (!range) throw new AppError('InvalidParameterValue', 'token: not a bill download token', { field: 'token', location: 'query' });
    // Records settle in short transactions that read the clock before they commit: leaving out the last
    // seconds before the cut keeps a record committing now from slipping into the file after its hash was announced.
    const upTo = Math.min(range.endMs, token.a - billSettleMarginMs);
    const payments = token.t === 'REFUND' ? [] : await orderRepository.listPaidBetween(this.db, token.m, token.c, range.startMs, upTo);
    const refunds =
      token.t === 'SUCCESS' ? [] : await refundRepository.listSucceededBetween(this.db, token.m, token.c, range.startMs, upTo);
    const text = buildTradeBill({
      billType: token.t,
      timeZone: this.config.timezone,
      defaultCurrency: token.k,
      payments: payments.map((order) => ({
        successTime: order.success_time!,
        appid: order.mnp_id,
        mchid: order.mchid,
        transactionId: order.transaction_id ?? '',
        outTradeNo: order.out_trade_no,
        payerOpenid: order.payer_openid,
        currency: order.currency,
        amountTotal: order.amount_total,
        description: order.description,
        attach: order.attach,
      })),
      refunds: refunds.map((refund) => ({
        successTime: refund.success_time!,
        appid: refund.mnp_id,
        mchid: refund.mchid,
        transactionId: refund.transaction_id,
        outTradeNo: refund.out_trade_no,
        payerOpenid: refund.payer_openid,
        currency: refund.currency,
        orderAmount: refund.amount_total,
        refundId: refund.refund_id,
        outRefundNo: refund.out_refund_no,
        refundAmount: refund.amount_refund,
        description: refund.description,
        attach: refund.attach,
      })),
    });
    return Buffer.from(text, 'utf8');
  }
}
