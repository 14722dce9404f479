/** A console API failure: the server's `{error: {code, message, details}}` with the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const consoleApiBase = '/api/v1';
const csrfHeaderName = 'x-csrf-token';

// Held outside React so every request, from any component, sends the current session's token.
let csrfToken: string | null = null;

export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type QueryValue = string | number | undefined;

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, QueryValue>;
}

function urlOf(path: string, query: Record<string, QueryValue> | undefined): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return `${consoleApiBase}${path}${search ? `?${search}` : ''}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** One console API call: same-origin cookies, JSON both ways, the CSRF header on every change. */
export async function apiRequest<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers[csrfHeaderName] = csrfToken;
  const response = await fetch(urlOf(path, options.query), {
    method,
    headers,
    credentials: 'same-origin',
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = response.status === 204 ? '' : await response.text();
  const parsed = text ? parseJson(text) : null;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'HttpError',
      error?.message ?? `${response.status} ${response.statusText}`,
      error?.details,
    );
  }
  return parsed as T;
}
