import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { guardRoutesWith } from '../app/route-guards.ts';
import { repositoryRoot } from '../../config/repository-root.ts';

export const webConsoleRoot = path.join(repositoryRoot, 'web/dist');

/** Serves the built React console at `/`, with client-side routes falling back to index.html. */
export async function webConsolePlugin(app: FastifyInstance) {
  guardRoutesWith(app, 'public');
  if (!existsSync(path.join(webConsoleRoot, 'index.html'))) {
    app.log.warn(`The web console is not built (${webConsoleRoot}); run "npm run build:web"`);
    app.get('/', { config: { capability: 'public' } }, async (_request, reply) =>
      reply.type('text/plain').send('Paythrough is running, but the web console is not built: run "npm run build:web".'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: webConsoleRoot,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    setHeaders: (reply, filePath) => {
      // Vite names assets by content hash, so they never change; index.html must always be revalidated.
      if (filePath.includes(`${path.sep}assets${path.sep}`)) reply.header('cache-control', 'public, max-age=31536000, immutable');
      else reply.header('cache-control', 'no-cache');
    },
  });
  const consolePages = ['/console', '/console/*'];
  for (const url of consolePages) {
    app.get(url, { config: { capability: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.sendFile('index.html'));
  }
}
