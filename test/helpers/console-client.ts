import type { FastifyInstance, InjectOptions } from 'fastify';

export interface ConsoleResponse<T = unknown> {
  statusCode: number;
  body: T;
  headers: Record<string, unknown>;
}

/** A signed-in console session over `app.inject`: session cookie plus the CSRF header. */
export class ConsoleClient {
  private constructor(
    private readonly app: FastifyInstance,
    private readonly cookie: string,
    readonly csrfToken: string,
  ) {}

  static async signIn(app: FastifyInstance, account: string, password: string): Promise<ConsoleClient> {
    const response = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { account, password } });
    if (response.statusCode !== 200) throw new Error(`sign-in of ${account} failed: ${response.statusCode} ${response.body}`);
    const setCookie = response.cookies.find((c) => c.name === 'paythrough_session');
    if (!setCookie) throw new Error('no session cookie');
    return new ConsoleClient(app, `paythrough_session=${setCookie.value}`, (response.json() as { csrfToken: string }).csrfToken);
  }

  /** The `cookie` header this client sends, for raw `app.inject` calls. */
  get cookieHeader(): string {
    return this.cookie;
  }

  async request<T = any>(method: InjectOptions['method'], url: string, payload?: unknown): Promise<ConsoleResponse<T>> {
    const response = await this.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: { cookie: this.cookie, 'x-csrf-token': this.csrfToken },
      ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
    });
    const text = response.body;
    // A download (an export file) is not JSON: its body stays text.
    const json = !response.headers['content-type'] || String(response.headers['content-type']).includes('json');
    return { statusCode: response.statusCode, body: (text ? (json ? JSON.parse(text) : text) : null) as T, headers: response.headers };
  }

  get<T = any>(url: string) {
    return this.request<T>('GET', url);
  }
  post<T = any>(url: string, payload: unknown = {}) {
    return this.request<T>('POST', url, payload);
  }
  patch<T = any>(url: string, payload: unknown) {
    return this.request<T>('PATCH', url, payload);
  }
  delete<T = any>(url: string) {
    return this.request<T>('DELETE', url);
  }
}
