import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { aeadAes256GcmDecrypt, verifyV3Response, type V3EncryptedResource } from '../src/crypto/wechatpay-v3.ts';

/**
 * The merchant's notify_url for the load benches: checks the platform's signature, decrypts the resource
 * with the APIv3 key as a merchant does, answers at once (204, or 200 `{"code":"SUCCESS"}` as v3 merchants
 * do), and counts what arrived (each event once, and every delivery including repeats). `onPaid` lets the
 * load refund only orders the merchant knows are paid.
 */
export class LoadNotifyReceiver {
  /** Distinct (event type, order or refund number) pairs. */
  readonly events = new Set<string>();
  deliveries = 0;
  /** Deliveries that failed the signature check or did not decrypt. */
  rejected = 0;
  /** Milliseconds from the payment's confirmation to its TRANSACTION.SUCCESS, for orders paid by the load. */
  readonly paymentNotifyLagMs: number[] = [];
  private readonly paidAt = new Map<string, number>();
  /** performance.now() of the latest first arrival of an event. */
  lastEventAtMs = 0;
  private server: Server | undefined;
  url = '';

  /** Told of each order's first TRANSACTION.SUCCESS. */
  onPaid: (outTradeNo: string) => void = () => undefined;

  constructor(
    private readonly merchant: { apiV3Key: string; platformSerial: string; platformPublicKeyPem: string },
    private readonly answer: 'no-content' | 'success-json' = 'no-content',
  ) {}

  /** The load saw the sandbox confirm this payment at `atMs` (performance.now()). */
  notePaid(outTradeNo: string, atMs: number): void {
    this.paidAt.set(outTradeNo, atMs);
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.deliveries += 1;
        const body = Buffer.concat(chunks).toString('utf8');
        const accepted = this.accept(request.headers as Record<string, unknown>, body);
        if (!accepted) this.rejected += 1;
        if (!accepted) response.writeHead(400).end();
        else if (this.answer === 'no-content') response.writeHead(204).end();
        else response.writeHead(200, { 'content-type': 'application/json' }).end('{"code":"SUCCESS"}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/notify`;
    return this;
  }

  private accept(headers: Record<string, unknown>, body: string): boolean {
    const verified = verifyV3Response({
      headers,
      body,
      publicKeys: { [this.merchant.platformSerial]: this.merchant.platformPublicKeyPem },
      nowMs: Date.now(),
    });
    if (!verified.ok) return false;
    try {
      const notification = JSON.parse(body) as { event_type: string; resource: V3EncryptedResource };
      const { resource } = notification;
      const plain = JSON.parse(
        aeadAes256GcmDecrypt(resource.ciphertext, this.merchant.apiV3Key, resource.nonce, resource.associated_data),
      ) as {
        out_trade_no?: string;
        out_refund_no?: string;
      };
      const key = `${notification.event_type}:${plain.out_refund_no ?? plain.out_trade_no}`;
      if (!this.events.has(key)) {
        this.events.add(key);
        this.lastEventAtMs = performance.now();
        if (notification.event_type === 'TRANSACTION.SUCCESS' && plain.out_trade_no) {
          const paidAt = this.paidAt.get(plain.out_trade_no);
          if (paidAt !== undefined) this.paymentNotifyLagMs.push(performance.now() - paidAt);
          this.onPaid(plain.out_trade_no);
        }
      }
      return true;
    } catch {
      return false;
    }
  }

  count(eventType: string): number {
    let count = 0;
    for (const key of this.events) if (key.startsWith(`${eventType}:`)) count += 1;
    return count;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
