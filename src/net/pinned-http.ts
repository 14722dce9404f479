import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import {
  classifyAddress,
  resolveTarget,
  TargetRefusedError,
  type HostLookup,
  type ResolvedTarget,
  type TargetPolicy,
} from './address-policy.ts';

/**
 * One outbound HTTP call under the SSRF policy: the host is resolved and checked once, the socket
 * connects to that checked address (pinned through a custom `lookup`, TLS still verifying the name),
 * redirects are not followed, and the whole call has a deadline.
 */
export const outboundTimeoutMs = 5000;

export interface OutboundRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Deadline for the whole call, connect to last byte (default 5 s). */
  timeoutMs?: number;
  /** At most this much of the answer is read (default 1 MiB). */
  maxResponseBytes?: number;
  /** `truncate` keeps the first maxResponseBytes and stops reading; `error` fails the call (default). */
  onOversizedResponse?: 'truncate' | 'error';
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
  /** The address actually connected to (one of the checked ones). */
  address: string;
}

export type OutboundFailure = 'refused' | 'connect' | 'timeout' | 'network' | 'oversized';

/**
 * What a delivery log may keep of an answer: the start of its body from a public address; nothing from a
 * loopback, private or other internal one, which a sandbox or allow-listed target could otherwise read out.
 */
export function responseExcerptOf(response: Pick<OutboundResponse, 'address' | 'body'>, limit = 1024): string | null {
  return classifyAddress(response.address) === 'public' ? response.body.subarray(0, limit).toString('utf8') : null;
}

export class OutboundError extends Error {
  override name = 'OutboundError';
  constructor(
    message: string,
    readonly failure: OutboundFailure,
    /** False when the request certainly did not reach the target (refused by policy, or no connection). */
    readonly mayHaveArrived: boolean,
  ) {
    super(message);
  }
}

export interface OutboundOptions {
  policy: TargetPolicy;
  /** Keep-alive connections to reuse (default: a fresh connection per call, closed after it). */
  agents?: PinnedAgentPool;
  /** Name resolution (tests inject one; default the system resolver). */
  lookup?: HostLookup;
  /** Extra trust for TLS (tests only: a private CA). */
  tls?: Pick<SecureContextOptions, 'ca'>;
}

/** Answers every lookup with the checked addresses only (all of them when asked, so Node can fall back between families). */
function pinnedLookup(addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all)
      callback(
        null,
        addresses.map(({ address, family }) => ({ address, family })),
      );
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  }) as unknown as LookupFunction;
}

/** Resolves and checks the target; a refusal by the policy becomes an OutboundError that never reached it. */
async function resolveOrRefuse(url: string, options: OutboundOptions): Promise<ResolvedTarget> {
  try {
    return await resolveTarget(url, options.policy, options.lookup);
  } catch (error) {
    if (error instanceof TargetRefusedError) throw new OutboundError(error.message, 'refused', false);
    throw error;
  }
}

/**
 * Keep-alive agents for repeated calls to the same targets (merchant notifications). An agent serves one
 * origin *and one set of checked addresses*, so a pooled connection always goes to an address the current
 * call's own check allowed; at most `maxSocketsPerAgent` connections each, and idle ones close.
 */
export class PinnedAgentPool {
  private readonly agents = new Map<string, http.Agent>();

  constructor(private readonly options: { maxSocketsPerAgent: number; maxAgents?: number }) {}

  agentFor(target: ResolvedTarget, tls: OutboundOptions['tls']): http.Agent {
    const addresses = target.addresses.map(({ address }) => address).sort();
    const key = `${target.url.protocol}//${target.url.host}|${addresses.join(',')}`;
    let agent = this.agents.get(key);
    if (!agent) {
      // Targets come and go with merchants: past the limit, the oldest agent's idle connections close.
      if (this.agents.size >= (this.options.maxAgents ?? 1000)) {
        const [oldestKey, oldest] = this.agents.entries().next().value!;
        this.agents.delete(oldestKey);
        oldest.destroy();
      }
      const options = { keepAlive: true, maxSockets: this.options.maxSocketsPerAgent, maxFreeSockets: this.options.maxSocketsPerAgent };
      agent = target.url.protocol === 'https:' ? new https.Agent({ ...options, ...tls }) : new http.Agent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** A request that can connect to the checked addresses only, with the body's length declared. */
function pinnedRequestOptions(
  target: ResolvedTarget,
  request: OutboundRequest,
  body: Buffer | undefined,
  options: OutboundOptions,
): https.RequestOptions {
  const { url, hostname, addresses } = target;
  const isHttps = url.protocol === 'https:';
  const { tls, agents } = options;
  const headers: Record<string, string> = { ...request.headers, host: url.host, ...(agents ? {} : { connection: 'close' }) };
  if (body) headers['content-length'] = String(body.length);
  return {
    protocol: url.protocol,
    // The name stays (Host header, TLS name check); the lookup answers with the checked addresses only.
    hostname,
    port: url.port || (isHttps ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    method: request.method,
    headers,
    lookup: pinnedLookup(addresses),
    // A fresh socket per call unless pooled by origin and checked addresses (a socket of another check could go elsewhere).
    agent: agents ? agents.agentFor(target, tls) : false,
    ...(isHttps ? { ...tls } : {}),
  };
}

export async function sendOutbound(request: OutboundRequest, options: OutboundOptions): Promise<OutboundResponse> {
  const target = await resolveOrRefuse(request.url, options);
  const { url, addresses } = target;
  const timeoutMs = request.timeoutMs ?? outboundTimeoutMs;
  const maxBytes = request.maxResponseBytes ?? 1024 * 1024;
  const body = request.body === undefined ? undefined : typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
  const isHttps = url.protocol === 'https:';
  const requestOptions = pinnedRequestOptions(target, request, body, options);

  return new Promise<OutboundResponse>((resolve, reject) => {
    let connected = false;
    let settled = false;
    let address = addresses[0]!.address;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome();
    };
    const outgoing = (isHttps ? https : http).request(requestOptions, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      response.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (size + chunk.length > maxBytes) {
          if (request.onOversizedResponse === 'truncate') {
            chunks.push(chunk.subarray(0, maxBytes - size));
            size = maxBytes;
            truncated = true;
            finish(() =>
              resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), truncated, address }),
            );
          } else {
            finish(() => reject(new OutboundError(`The answer exceeds ${maxBytes} bytes`, 'oversized', true)));
          }
          outgoing.destroy();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () =>
        finish(() =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), truncated, address }),
        ),
      );
      response.on('error', (error) => finish(() => reject(new OutboundError(error.message, 'network', true))));
    });
    outgoing.on('socket', (socket) => {
      // A kept-alive socket is connected already.
      if (!socket.connecting && socket.remoteAddress) {
        connected = true;
        address = socket.remoteAddress;
        return;
      }
      socket.once(isHttps ? 'secureConnect' : 'connect', () => {
        connected = true;
        address = socket.remoteAddress ?? address;
      });
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      finish(() =>
        reject(
          connected
            ? new OutboundError(`${error.code ?? 'Error'}: ${error.message}`, 'network', true)
            : new OutboundError(
                `Could not connect to ${url.host} (${addresses.map((a) => a.address).join(', ')}): ${error.code ?? error.message}`,
                'connect',
                false,
              ),
        ),
      );
    });
    const deadline = setTimeout(() => {
      finish(() => reject(new OutboundError(`No complete answer within ${timeoutMs} ms`, 'timeout', connected)));
      outgoing.destroy();
    }, timeoutMs);
    outgoing.end(body);
  });
}
