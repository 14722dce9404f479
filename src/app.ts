import Fastify, { type FastifyInstance } from 'fastify';
import { parse as parseQueryString } from 'node:querystring';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { databaseAnswers } from './db/database.ts';
import { jsonLimitProblem } from './domain/bounded-json.ts';
import { type AppContext, startBackgroundJobs } from './composition.ts';
import { contextPlugin } from './plugins/app/context.plugin.ts';
import { metricsPlugin } from './plugins/app/metrics.plugin.ts';
import { requireRouteGuards } from './plugins/app/route-guards.ts';
import { securityPlugin } from './plugins/external/security-headers.plugin.ts';
import { swaggerPlugin } from './plugins/external/swagger.plugin.ts';
import { webConsolePlugin } from './plugins/external/web-console.plugin.ts';
import { channelCallbackRoutes } from './routes/channel-callbacks/callback.routes.ts';
import { bridgeRoutes } from './routes/bridge/bridge.routes.ts';
import { consoleApiPrefix, consoleRoutes } from './routes/console/index.ts';
import { demoRoutes } from './routes/demo/demo.routes.ts';
import { gatewayPrefix, gatewayRoutes } from './routes/gateway/index.ts';
import { hostApiPrefix, hostRoutes } from './routes/host/index.ts';
import { managementRoutes } from './routes/manage/management.routes.ts';
import { metricsRoutes } from './routes/metrics/metrics.routes.ts';
import { sandboxRoutes } from './routes/sandbox/sandbox.routes.ts';
import { xpayPrefix, xpayRoutes } from './routes/xpay/xpay.routes.ts';

/**
 * SPEC §7: query parameters past this many are not parsed (Node's querystring stops there), so a 16 KiB
 * query of thousands of distinct names costs a fraction of a millisecond; no route reads more than 100.
 */
export const maxQueryParameters = 256;

export interface BuildAppOptions {
  logger?: boolean | { level: string };
  /** Start the outbox worker and other jobs when the server listens (default true; `inject` never listens). */
  backgroundJobs?: boolean;
}

/**
 * The whole application as one Fastify instance: external plugins, then our own decorators, then the
 * routes of each surface. Tests build exactly this and drive it with `app.inject`.
 */
export async function buildApp(context: AppContext, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    trustProxy: context.config.trustProxy,
    genReqId: () => crypto.randomUUID(),
    routerOptions: { querystringParser: (query) => parseQueryString(query, '&', '=', { maxKeys: maxQueryParameters }) },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  requireRouteGuards(app);
  // SPEC §7: a JSON body past the caps of bounded-json.ts (depth, members, tokens) is refused before it is parsed.
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const problem = jsonLimitProblem(body as string);
    if (problem === undefined) return defaultJsonParser(request, body as string, done);
    done(Object.assign(new Error(problem), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
  });

  await app.register(securityPlugin);
  await app.register(swaggerPlugin);
  await app.register(contextPlugin, context);
  // Before every route, so its request counter sees all of them (SPEC §7 /metrics).
  await app.register(metricsPlugin);

  app.get('/healthz', { config: { capability: 'public', guard: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    if (await databaseAnswers(context.database.db)) return { status: 'ok' };
    return reply.status(503).send({ status: 'unavailable' });
  });
  await app.register(metricsRoutes);
  await app.register(consoleRoutes, { prefix: consoleApiPrefix });
  await app.register(managementRoutes);
  await app.register(gatewayRoutes, { prefix: gatewayPrefix });
  await app.register(hostRoutes, { prefix: hostApiPrefix });
  // The merchant server API of virtual payment (SPEC §8.5).
  await app.register(xpayRoutes, { prefix: xpayPrefix });
  // Events from superapps whose channel is the HTTP protocol (docs/channel-protocol.md).
  await app.register(channelCallbackRoutes, {
    channelKeysFor: (applicationId) => context.services.gatewayChannels.channelKeysFor(applicationId),
    sink: context.services.channelEvents,
    nonces: context.services.nonces,
    clock: context.clock,
    signatureFailures: context.services.signatureFailures,
  });
  // The sandbox channel's control API and cashier exist only while the sandbox is on (SPEC §6.1).
  if (context.config.sandboxEnabled && context.services.sandbox) await app.register(sandboxRoutes, { sandbox: context.services.sandbox });
  // The clickable demo (a superapp host, its demo mini program shop and the shop's merchant server) likewise.
  if (context.config.sandboxEnabled && context.services.sandbox) await app.register(demoRoutes);
  await app.register(bridgeRoutes, { bridge: context.services.paymentBridge, virtualOrders: context.services.virtualOrders });
  await app.register(webConsolePlugin);
  if (options.backgroundJobs ?? true) {
    let jobs: ReturnType<typeof startBackgroundJobs> | undefined;
    app.addHook('onListen', async () => {
      jobs ??= startBackgroundJobs(context);
    });
    app.addHook('onClose', async () => {
      await jobs?.stop();
    });
  }
  return app;
}
