import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The merchant server's side of virtual payment, written with plain node:crypto only (never Paythrough's own
 * signing code), so a test proves the wire format rather than the code against itself.
 */
export const hmacHex = (key: string, message: string) => createHmac('sha256', key).update(message).digest('hex');

export function signVirtualPayment(appKey: string, sessionKey: string, method: string, signData: string) {
  return { signData, paySig: hmacHex(appKey, `${method}&${signData}`), signature: hmacHex(sessionKey, signData) };
}

export const randomAppKey = () =>
  randomBytes(24)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 32);

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** PayEventSig and the Paythrough-Signature header both verified under the key the receiver held. */
  verified: boolean;
  parsed: { EventType: string; Event: string; PayModel: string; Payload: string; PayEventSig: string };
}

/** The merchant's delivery receiver (SPEC §8.4): checks both signatures, refuses replays, answers as told. */
export class DeliveryReceiver {
  readonly received: ReceivedDelivery[] = [];
  /** What the next requests get: acknowledge (SAS shape or WeChat's), a non-acknowledging 200, or a 500. */
  answer: 'ack' | 'ack-wechat' | 'no-ack' | 'error' = 'ack';
  private readonly nonces = new Set<string>();
  private server: Server | undefined;
  url = '';

  constructor(public appKey: string) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const timestamp = String(request.headers['paythrough-timestamp'] ?? '');
        const nonce = String(request.headers['paythrough-nonce'] ?? '');
        const parsed = JSON.parse(body) as ReceivedDelivery['parsed'];
        const headerOk = hmacHex(this.appKey, `${timestamp}\n${nonce}\n${body}\n`) === request.headers['paythrough-signature'];
        const eventOk = hmacHex(this.appKey, `${parsed.Event}&${parsed.Payload}`) === parsed.PayEventSig;
        const fresh = !this.nonces.has(nonce);
        this.nonces.add(nonce);
        this.received.push({ headers: request.headers, body, verified: headerOk && eventOk && fresh, parsed });
        if (this.answer === 'error') return response.writeHead(500).end('busy');
        const answer =
          this.answer === 'ack'
            ? { returnCode: '0', data: 'OK' }
            : this.answer === 'ack-wechat'
              ? { ErrCode: 0 }
              : { returnCode: '1', data: 'retry' };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/deliver`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
