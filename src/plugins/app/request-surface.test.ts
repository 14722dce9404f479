import { describe, expect, it } from 'vitest';
import { methodLabel, requestSurfaces, statusClassOf, surfaceOfRoute } from './request-surface.ts';

describe('request surfaces for /metrics labels', () => {
  it('names the surface from the route pattern', () => {
    expect(surfaceOfRoute('POST', '/v3/pay/transactions/jsapi')).toBe('gateway');
    expect(surfaceOfRoute('GET', '/v3/pay/transactions/id/:transaction_id')).toBe('gateway');
    expect(surfaceOfRoute('POST', '/')).toBe('management');
    expect(surfaceOfRoute('GET', '/')).toBe('static');
    expect(surfaceOfRoute('GET', '/api/v1/orders/:orderId')).toBe('console');
    expect(surfaceOfRoute('POST', '/superapp/pay/payOrder')).toBe('host');
    expect(surfaceOfRoute('POST', '/xpay/query_order')).toBe('xpay');
    expect(surfaceOfRoute('POST', '/channel/v1/superapps/:applicationId/events')).toBe('channel-callback');
    expect(surfaceOfRoute('POST', '/sandbox/v1/payments/:prepay_id/succeed')).toBe('sandbox');
    expect(surfaceOfRoute('GET', '/sandbox/cashier/:token')).toBe('sandbox');
    expect(surfaceOfRoute('POST', '/bridge/v1/verify-payment')).toBe('bridge');
    expect(surfaceOfRoute('GET', '/bridge/*')).toBe('static');
    expect(surfaceOfRoute('GET', '/demo')).toBe('demo');
    expect(surfaceOfRoute('POST', '/demo/merchant/notify')).toBe('demo');
    expect(surfaceOfRoute('GET', '/demonstration')).toBe('static');
    expect(surfaceOfRoute('GET', '/healthz')).toBe('health');
    expect(surfaceOfRoute('GET', '/metrics')).toBe('metrics');
    expect(surfaceOfRoute('GET', '/openapi.json')).toBe('static');
    expect(surfaceOfRoute('GET', '/console/*')).toBe('static');
    expect(surfaceOfRoute('GET', undefined)).toBe('unmatched');
    for (const url of ['/v3/x', '/api/v1/y', '/z', undefined]) expect(requestSurfaces).toContain(surfaceOfRoute('GET', url));
  });

  it('bounds the method and status labels', () => {
    expect(['GET', 'POST', 'DELETE', 'OPTIONS'].map(methodLabel)).toEqual(['GET', 'POST', 'DELETE', 'OPTIONS']);
    expect(['PROPFIND', 'PURGE', 'M-SEARCH'].map(methodLabel)).toEqual(['OTHER', 'OTHER', 'OTHER']);
    expect([200, 204, 302, 404, 429, 500, 503, 99, 600].map(statusClassOf)).toEqual([
      '2xx',
      '2xx',
      '3xx',
      '4xx',
      '4xx',
      '5xx',
      '5xx',
      '1xx',
      '5xx',
    ]);
  });
});
