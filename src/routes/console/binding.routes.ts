import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from './console-auth.ts';
import {
  applicationIdParams,
  approvalNoResponse,
  bindingOverviewSchema,
  bindingRecordSchema,
  merchantBody,
  recordIdBody,
  teamIdParams,
} from './payment-schemas.ts';
import { consoleErrors } from './schemas.ts';

/** Mini program team → Commercialization → Bind merchant (SPEC §2.1, §5), and the superapp's unbind. */
export async function bindingRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { bindings, merchants } = app.services;
  const tags = ['console: merchant binding'];

  routes.get(
    '/teams/:teamId/merchant-binding',
    {
      config: { capability: 'merchant_binding.view' },
      schema: {
        summary: "The team's effective binding, pending request and (once effective) the superapp's currencies",
        tags,
        params: teamIdParams,
        response: { 200: bindingOverviewSchema, ...consoleErrors },
      },
    },
    async (request) => bindings.overview(actorOf(request), request.params.teamId),
  );

  routes.get(
    '/teams/:teamId/merchant-binding/records',
    {
      config: { capability: 'merchant_binding.view' },
      schema: {
        summary: "The team's binding requests with their history, newest first",
        tags,
        params: teamIdParams,
        response: { 200: z.object({ items: z.array(bindingRecordSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await bindings.records(actorOf(request), request.params.teamId) }),
  );

  routes.get(
    '/teams/:teamId/merchant-binding/merchants',
    {
      config: { capability: 'merchant_binding.manage' },
      schema: {
        summary: "Merchants of the team's superapp it may pick (not bound to another team)",
        tags,
        params: teamIdParams,
        response: { 200: z.object({ items: z.array(z.object({ merchantId: z.string(), merchantName: z.string() })) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await merchants.listPickable(actorOf(request), request.params.teamId) }),
  );

  routes.post(
    '/teams/:teamId/merchant-binding/requests',
    {
      config: { capability: 'merchant_binding.manage' },
      schema: {
        summary: 'Request a merchant binding (typed or picked merchant ID and name)',
        tags,
        params: teamIdParams,
        body: merchantBody,
        response: { 201: approvalNoResponse, ...consoleErrors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await bindings.request(actorOf(request), { teamId: request.params.teamId, ...request.body })),
  );

  routes.post(
    '/teams/:teamId/merchant-binding/change-requests',
    {
      config: { capability: 'merchant_binding.manage' },
      schema: {
        summary: 'Request a change of the bound merchant (the current binding stays effective until approved)',
        tags,
        params: teamIdParams,
        body: merchantBody,
        response: { 201: approvalNoResponse, ...consoleErrors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await bindings.requestChange(actorOf(request), { teamId: request.params.teamId, ...request.body })),
  );

  routes.post(
    '/teams/:teamId/merchant-binding/unbind',
    {
      config: { capability: 'merchant_binding.manage' },
      schema: {
        summary: "Unbind the team's effective binding (its approved mini programs are disabled)",
        tags,
        params: teamIdParams,
        body: recordIdBody,
        response: { 204: z.null(), ...consoleErrors },
      },
    },
    async (request, reply) => {
      await bindings.unbindByTeam(actorOf(request), { teamId: request.params.teamId, id: request.body.id });
      return reply.status(204).send(null);
    },
  );

  routes.post(
    '/superapps/:applicationId/merchant-bindings/unbind',
    {
      config: { capability: 'approval.decide' },
      schema: {
        summary: "Unbind a team's effective binding (by binding id) as the superapp",
        tags,
        params: applicationIdParams,
        body: recordIdBody,
        response: { 204: z.null(), ...consoleErrors },
      },
    },
    async (request, reply) => {
      await bindings.unbindBySuperapp(actorOf(request), { applicationId: request.params.applicationId, id: request.body.id });
      return reply.status(204).send(null);
    },
  );
}
