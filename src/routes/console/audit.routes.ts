import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from './console-auth.ts';
import { consoleErrors } from './schemas.ts';

const auditEntrySchema = z.object({
  id: z.number(),
  at: z.number(),
  actorUserId: z.string().nullable(),
  actorAccount: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  teamId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
});

/** The append-only audit log: read here, written only by services. */
export async function auditRoutes(app: FastifyInstance) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/audit-log',
    {
      config: { capability: 'audit.view' },
      schema: {
        summary: 'Audit entries, newest first (admins: all; team Administrators: their teams)',
        tags: ['console: audit'],
        querystring: z.object({
          teamId: z.string().max(64).optional(),
          beforeId: z.coerce.number().int().positive().optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ items: z.array(auditEntrySchema), nextBeforeId: z.number().nullable() }), ...consoleErrors },
      },
    },
    async (request) => {
      const items = await app.services.audit.list(actorOf(request), request.query);
      return { items, nextBeforeId: items.length === request.query.limit ? items[items.length - 1]!.id : null };
    },
  );
}
