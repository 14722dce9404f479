import fp from 'fastify-plugin';
import type { Config } from '../../config/config.ts';
import type { DatabaseHandle } from '../../db/database.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Capability } from '../../domain/permissions.ts';
import type { AppContext, Services } from '../../composition.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    database: DatabaseHandle;
    clock: Clock;
    services: Services;
  }
  interface FastifyRequest {
    /** Set by the surface's auth hook; routes that need a caller read it through `actorOf`. */
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** What the route needs (SPEC §1.1); `public` needs no caller, `self` only a signed-in one. */
    capability?: Capability | 'public' | 'self';
  }
}

/** Decorates the app with its configuration, database, clock and services. */
export const contextPlugin = fp<AppContext>(
  async (app, context) => {
    app.decorate('config', context.config);
    app.decorate('database', context.database);
    app.decorate('clock', context.clock);
    app.decorate('services', context.services);
    app.decorateRequest('actor', null);
  },
  { name: 'app-context' },
);
