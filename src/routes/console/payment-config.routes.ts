import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from './console-auth.ts';
import {
  applicationIdParams,
  currencySchema,
  merchantBody,
  merchantIdSchema,
  merchantNameSchema,
  merchantSchema,
  pageQuery,
  paymentConfigChangesSchema,
  paymentConfigSchema,
  recordId,
} from './payment-schemas.ts';
import { consoleErrors } from './schemas.ts';

/** Superapp → Payment management → Payment configuration (SPEC §5): enable flag, currencies, channel, merchants. */
export async function paymentConfigRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { paymentConfig, merchants } = app.services;
  const tags = ['console: payment configuration'];

  routes.get(
    '/currencies',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'ISO 4217 currencies a superapp may allow, with their minor-unit exponents',
        tags,
        response: { 200: z.object({ items: z.array(currencySchema) }), ...consoleErrors },
      },
    },
    async () => ({ items: paymentConfig.listCurrencies() }),
  );

  routes.get(
    '/superapps/:applicationId/payment-config',
    {
      config: { capability: 'payment_config.manage' },
      schema: {
        summary: "A superapp's payment configuration",
        tags,
        params: applicationIdParams,
        response: { 200: paymentConfigSchema, ...consoleErrors },
      },
    },
    async (request) => paymentConfig.get(actorOf(request), request.params.applicationId),
  );

  routes.patch(
    '/superapps/:applicationId/payment-config',
    {
      config: { capability: 'payment_config.manage' },
      schema: {
        summary: 'Enable or disable payment, set the allowed currencies (the first is the default), choose the channel connection',
        tags,
        params: applicationIdParams,
        body: paymentConfigChangesSchema,
        response: { 200: paymentConfigSchema, ...consoleErrors },
      },
    },
    async (request) => {
      const { channel, ...rest } = request.body;
      const connection = channel
        ? channel.kind === 'sandbox'
          ? { kind: 'sandbox' as const }
          : channel.kind === 'http'
            ? { kind: 'http' as const, baseUrl: channel.baseUrl ?? '', secret: channel.secret }
            : { kind: 'host_reported' as const, webhookUrl: channel.webhookUrl ?? '', secret: channel.secret }
        : undefined;
      return paymentConfig.update(actorOf(request), request.params.applicationId, { ...rest, channel: connection });
    },
  );

  routes.get(
    '/superapps/:applicationId/merchants',
    {
      config: { capability: 'merchant.view' },
      schema: {
        summary: "Search the superapp's merchant list (by merchant ID or name)",
        tags,
        params: applicationIdParams,
        querystring: z.object({ search: z.string().max(100).optional(), ...pageQuery }),
        response: { 200: z.object({ total: z.number(), items: z.array(merchantSchema) }), ...consoleErrors },
      },
    },
    async (request) => merchants.search(actorOf(request), request.params.applicationId, request.query),
  );

  routes.post(
    '/superapps/:applicationId/merchants',
    {
      config: { capability: 'merchant.manage' },
      schema: {
        summary: 'Add a merchant to the list (ID and name unique per superapp)',
        tags,
        params: applicationIdParams,
        body: merchantBody,
        response: { 201: merchantSchema, ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await merchants.create(actorOf(request), request.params.applicationId, request.body)),
  );

  routes.patch(
    '/superapps/:applicationId/merchants',
    {
      config: { capability: 'merchant.manage' },
      schema: {
        summary: 'Edit one merchant of the list, named by its list id (refused while it is bound or requested)',
        tags,
        params: applicationIdParams,
        body: z.object({ id: recordId, merchantId: merchantIdSchema.optional(), merchantName: merchantNameSchema.optional() }),
        response: { 200: merchantSchema, ...consoleErrors },
      },
    },
    async (request) => {
      const { id, ...changes } = request.body;
      return merchants.update(actorOf(request), request.params.applicationId, id, changes);
    },
  );
}
