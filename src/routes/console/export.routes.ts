import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from './console-auth.ts';
import { exportSchema } from './record-schemas.ts';
import { consoleErrors } from './schemas.ts';

/** The caller's own exports: progress while they run, the file once done (PAYTHROUGH_EXPORT_RETENTION_HOURS, its owner only). */
export async function exportRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { exports } = app.services;
  const tags = ['console: exports'];
  const exportIdParams = z.object({ exportId: z.string().min(1).max(64) });

  routes.get(
    '/exports',
    {
      config: { capability: 'self' },
      schema: {
        summary: "The caller's exports, newest first",
        tags,
        response: { 200: z.object({ items: z.array(exportSchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await exports.list(actorOf(request)) }),
  );

  routes.get(
    '/exports/:exportId',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'One of the caller’s exports (status and progress)',
        tags,
        params: exportIdParams,
        response: { 200: exportSchema, ...consoleErrors },
      },
    },
    async (request) => exports.get(actorOf(request), request.params.exportId),
  );

  routes.get(
    '/exports/:exportId/file',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'The finished export file (CSV or XLSX), for the user who asked for it',
        tags,
        params: exportIdParams,
        response: { 200: z.any().describe('The file: text/csv (UTF-8 with BOM, CRLF) or an XLSX workbook'), ...consoleErrors },
      },
    },
    async (request, reply) => {
      const file = await exports.openFile(actorOf(request), request.params.exportId, request.id);
      return reply
        .header('content-type', file.contentType)
        .header('content-length', String(file.size))
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        .header('cache-control', 'private, no-store')
        .send(file.stream);
    },
  );
}
