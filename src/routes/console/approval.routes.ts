import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { approvalKinds } from '../../domain/approval-state.ts';
import { actorOf } from './console-auth.ts';
import { applicationIdParams, approvalItemSchema, pageQuery } from './payment-schemas.ts';
import { consoleErrors } from './schemas.ts';

/** Superapp → Approvals (SPEC §5): pending and decided merchant binding and payment requests. */
export async function approvalRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { approvals } = app.services;
  const tags = ['console: approvals'];

  routes.get(
    '/superapps/:applicationId/approvals',
    {
      config: { capability: 'superapp.view' },
      schema: {
        summary: "The superapp's approvals, newest first (pending: approvalStatus=0; decided: 10,20,30)",
        tags,
        params: applicationIdParams,
        querystring: z.object({
          kind: z.enum(approvalKinds).optional(),
          approvalStatus: z
            .string()
            .regex(/^(0|10|20|30)(,(0|10|20|30))*$/, 'comma-separated statuses: 0, 10, 20, 30')
            .optional(),
          mnpId: z.string().min(1).max(64).optional(),
          teamId: z.string().min(1).max(64).optional(),
          ...pageQuery,
        }),
        response: { 200: z.object({ total: z.number(), list: z.array(approvalItemSchema) }), ...consoleErrors },
      },
    },
    async (request) => {
      const { approvalStatus, ...query } = request.query;
      return approvals.list(actorOf(request), {
        applicationId: request.params.applicationId,
        ...query,
        approvalStatusList: approvalStatus?.split(',').map(Number),
      });
    },
  );

  routes.post(
    '/superapps/:applicationId/approvals/decide',
    {
      config: { capability: 'approval.decide' },
      schema: {
        summary: 'Approve (10) or reject (20, note required) a pending request by its ApprovalNo',
        tags,
        params: applicationIdParams,
        body: z.object({
          approvalNo: z.string().trim().min(1).max(64),
          approvalType: z.number().int(),
          approvalNote: z.string().max(500).optional(),
        }),
        response: { 200: z.object({ kind: z.enum(approvalKinds), id: z.number() }), ...consoleErrors },
      },
    },
    async (request) => approvals.decide(actorOf(request), { applicationId: request.params.applicationId, ...request.body }),
  );
}
