/** The parts of Paythrough a request can reach, as `/metrics` labels them. A closed set: label values stay bounded. */
export const requestSurfaces = [
  'gateway',
  'management',
  'console',
  'host',
  'xpay',
  'channel-callback',
  'sandbox',
  'bridge',
  'demo',
  'health',
  'metrics',
  'static',
  'unmatched',
] as const;

export type RequestSurface = (typeof requestSurfaces)[number];

/**
 * The surface of a matched route, from its URL pattern (`/v3/pay/transactions/id/:transaction_id`),
 * never from the URL a client sent; `undefined` (no route matched, a 404) is `unmatched`.
 */
export function surfaceOfRoute(method: string, routeUrl: string | undefined): RequestSurface {
  if (routeUrl === undefined) return 'unmatched';
  if (routeUrl === '/v3' || routeUrl.startsWith('/v3/')) return 'gateway';
  if (routeUrl === '/' && method === 'POST') return 'management';
  if (routeUrl.startsWith('/api/v1/')) return 'console';
  if (routeUrl.startsWith('/superapp/pay/')) return 'host';
  if (routeUrl.startsWith('/xpay/')) return 'xpay';
  if (routeUrl.startsWith('/channel/v1/')) return 'channel-callback';
  if (routeUrl.startsWith('/sandbox/')) return 'sandbox';
  if (routeUrl.startsWith('/bridge/v1/')) return 'bridge';
  if (routeUrl === '/demo' || routeUrl.startsWith('/demo/')) return 'demo';
  if (routeUrl === '/healthz') return 'health';
  if (routeUrl === '/metrics') return 'metrics';
  // The console's pages and assets, the bridge script, /openapi.json and /docs.
  return 'static';
}

const labelledMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method as a label: the usual seven, anything else (PROPFIND, PURGE, ...) as OTHER. */
export const methodLabel = (method: string) => (labelledMethods.has(method) ? method : 'OTHER');

/** `2xx`, `4xx`, ...: the status class keeps the label set small. */
export const statusClassOf = (statusCode: number) => `${Math.min(Math.max(Math.floor(statusCode / 100), 1), 5)}xx`;
