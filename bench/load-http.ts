import http from 'node:http';

/** One answer as the load generator sees it: status, headers, body text, or the reason there was none. */
export type HttpAnswer =
  { kind: 'answer'; status: number; headers: http.IncomingHttpHeaders; body: string } | { kind: 'failure'; reason: string };

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Keep-alive HTTP to one or more server instances on loopback, round robin per request (the "tiny load
 * balancer" of the multi-instance runs). A request that has no answer after `timeoutMs` is a failure.
 */
export class LoadHttpClient {
  private readonly agents: { port: number; agent: http.Agent }[];
  private turn = 0;

  constructor(
    ports: number[],
    private readonly timeoutMs = 30_000,
    // Enough sockets by default that the client never becomes the queue; a slow server shows as latency.
    maxSockets = 128,
  ) {
    this.agents = ports.map((port) => ({ port, agent: new http.Agent({ keepAlive: true, maxSockets }) }));
  }

  send(request: HttpRequest, instance?: number): Promise<HttpAnswer> {
    const target = this.agents[instance ?? this.turn++ % this.agents.length]!;
    const body = request.body ?? '';
    return new Promise((resolve) => {
      const outgoing = http.request(
        {
          host: '127.0.0.1',
          port: target.port,
          path: request.path,
          method: request.method,
          agent: target.agent,
          headers: {
            ...(request.headers ?? {}),
            ...(request.method === 'POST' ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            clearTimeout(timer);
            resolve({
              kind: 'answer',
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          response.on('error', (error: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            resolve({ kind: 'failure', reason: `network_${error.code ?? 'error'}` });
          });
        },
      );
      const timer = setTimeout(() => {
        outgoing.destroy(new Error('timeout'));
        resolve({ kind: 'failure', reason: 'timeout' });
      }, this.timeoutMs);
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ kind: 'failure', reason: error.message === 'timeout' ? 'timeout' : `network_${error.code ?? 'error'}` });
      });
      outgoing.end(request.method === 'POST' ? body : undefined);
    });
  }

  close(): void {
    for (const { agent } of this.agents) agent.destroy();
  }
}

/** The error kind of an answer that is not the expected success: `http_<status>[_<code>]`. */
export function errorKindOf(answer: HttpAnswer): string {
  if (answer.kind === 'failure') return answer.reason;
  let code = '';
  try {
    const parsed = JSON.parse(answer.body) as { code?: unknown };
    if (typeof parsed.code === 'string') code = `_${parsed.code}`;
  } catch {
    // Not JSON: the status alone.
  }
  return `http_${answer.status}${code}`;
}
