import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from './console-auth.ts';
import {
  applicationIdParams,
  approvalNoResponse,
  enablementDescriptionSchema,
  miniProgramPaymentSchema,
  mnpIdParams,
  recordIdBody,
  teamIdParams,
} from './payment-schemas.ts';
import { consoleErrors } from './schemas.ts';

/** Mini program team → Commercialization → Standard payment (SPEC §2.2, §5), and the superapp's disable. */
export async function enablementRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { enablements } = app.services;
  const tags = ['console: payment enablement'];

  routes.get(
    '/teams/:teamId/payment/mini-programs',
    {
      config: { capability: 'mini_program.view' },
      schema: {
        summary: "The team's mini programs with their payment status",
        tags,
        params: teamIdParams,
        response: { 200: z.object({ items: z.array(miniProgramPaymentSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await enablements.listTeamMiniPrograms(actorOf(request), request.params.teamId) }),
  );

  routes.get(
    '/mini-programs/:mnpId/payment',
    {
      config: { capability: 'mini_program.view' },
      schema: {
        summary: "A mini program's payment approval state (-1 never applied)",
        tags,
        params: mnpIdParams,
        response: { 200: enablementDescriptionSchema, ...consoleErrors },
      },
    },
    async (request) => enablements.describe(actorOf(request), request.params.mnpId),
  );

  routes.post(
    '/mini-programs/:mnpId/payment/requests',
    {
      config: { capability: 'payment_enable.request' },
      schema: {
        summary: 'Request permission to take payments (also re-applies after a rejection or disabling)',
        tags,
        params: mnpIdParams,
        body: z.object({ applyNote: z.string().trim().min(1).max(500) }),
        response: { 201: approvalNoResponse, ...consoleErrors },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await enablements.request(actorOf(request), { mnpId: request.params.mnpId, applyNote: request.body.applyNote })),
  );

  routes.post(
    '/superapps/:applicationId/payment-records/disable',
    {
      config: { capability: 'approval.decide' },
      schema: {
        summary: "Disable a mini program's approved payment (by payment record id)",
        tags,
        params: applicationIdParams,
        body: recordIdBody,
        response: { 204: z.null(), ...consoleErrors },
      },
    },
    async (request, reply) => {
      await enablements.disable(actorOf(request), { applicationId: request.params.applicationId, id: request.body.id });
      return reply.status(204).send(null);
    },
  );
}
