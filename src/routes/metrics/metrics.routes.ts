import type { FastifyInstance, FastifyReply } from 'fastify';
import { constantTimeEqual, sha256Hex } from '../../crypto/tokens.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';

/** True when the header is `Bearer <token>`; compared as SHA-256 digests, so neither the token nor its length leaks through timing. */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1] ?? '';
  const matches = constantTimeEqual(sha256Hex(presented), sha256Hex(token));
  return matches && presented !== '';
}

const refuse = (reply: FastifyReply, status: 401 | 404 | 429, code: string, message: string) =>
  reply.status(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').send({ error: { code, message } });

/**
 * `GET /metrics` in Prometheus's text format (SPEC §7) for a scraper holding PAYTHROUGH_METRICS_TOKEN
 * (docs/OPERATIONS.md#monitoring); 404 while no token is configured, 401 without the right one, and 429 for an
 * address past PAYTHROUGH_SIGNATURE_FAILURE_LIMIT wrong tokens in the window (counted like failed signatures).
 */
export async function metricsRoutes(app: FastifyInstance) {
  guardRoutesWith(app, 'metrics-token');
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    const token = app.config.metricsToken;
    const registry = app.metricsRegistry;
    if (!token || !registry) return refuse(reply, 404, 'ResourceNotFound', 'Metrics are off: set PAYTHROUGH_METRICS_TOKEN to turn them on');
    const { signatureFailures } = app.services;
    // The counters live in the database: while it does not answer, scrapes (which report that) still go through.
    const blocked = await signatureFailures.isBlocked('metrics', request.ip).catch(() => false);
    if (blocked) return refuse(reply, 429, 'RequestLimitExceeded', 'Too many wrong tokens from this address; try again in a few minutes');
    if (!bearerTokenMatches(request.headers.authorization, token)) {
      await signatureFailures.recordFailure('metrics', request.ip).catch((error: unknown) => {
        request.log.warn({ err: error }, 'could not count a wrong /metrics token');
      });
      reply.header('www-authenticate', 'Bearer realm="paythrough-metrics"');
      return refuse(reply, 401, 'AuthFailure', 'Send Authorization: Bearer <PAYTHROUGH_METRICS_TOKEN>');
    }
    const text = await registry.metrics();
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
