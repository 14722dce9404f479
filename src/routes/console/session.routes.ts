import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Actor } from '../../domain/access.ts';
import { sessionLifetimeMs } from '../../services/auth/index.ts';
import { capabilityMapOf } from '../../services/tenancy/index.ts';
import type { ZodRoutes } from '../zod-routes.ts';
import { actorOf, sessionCookieName } from './console-auth.ts';
import { capabilityMapSchema, consoleErrors, passwordChangedSchema, passwordSchema, teamSchema, userSchema } from './schemas.ts';

const sessionSchema = z.object({
  user: userSchema,
  csrfToken: z.string(),
  /** What the caller may do platform-wide (no team scope). */
  capabilities: capabilityMapSchema,
  teams: z.array(teamSchema.extend({ capabilities: capabilityMapSchema })),
});

const sessionCookieOptions = (secure: boolean) => ({
  path: '/',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure,
  maxAge: Math.floor(sessionLifetimeMs / 1000),
});

export async function sessionRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  registerSessionRoutes(routes);
  registerOwnPasswordRoutes(routes);
}

/** Sign in, the current session, sign out. */
function registerSessionRoutes(routes: ZodRoutes) {
  const secureCookie = routes.config.publicUrl.startsWith('https://');

  async function describeSession(actor: Actor, csrfToken: string) {
    const user = await routes.services.users.getSelf(actor);
    return {
      user,
      csrfToken,
      capabilities: capabilityMapOf(actor, {}),
      teams: await routes.services.teams.listWithCapabilities(actor),
    };
  }

  routes.post(
    '/session',
    {
      config: { capability: 'public' },
      schema: {
        summary: 'Sign in (sets the session cookie; a new session every time)',
        tags: ['console: session'],
        body: z.object({ account: z.string().min(1).max(64), password: z.string().min(1).max(128) }),
        response: { 200: sessionSchema, ...consoleErrors },
      },
    },
    async (request, reply) => {
      const previous = request.cookies[sessionCookieName];
      if (previous) await routes.services.auth.signOut(previous);
      const signedIn = await routes.services.auth.signIn(request.body.account, request.body.password, request.ip);
      reply.setCookie(sessionCookieName, signedIn.sessionToken, sessionCookieOptions(secureCookie));
      return describeSession(signedIn.actor, signedIn.csrfToken);
    },
  );

  routes.get(
    '/session',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'The signed-in user, CSRF token and capabilities',
        tags: ['console: session'],
        response: { 200: sessionSchema, ...consoleErrors },
      },
    },
    async (request) => {
      const token = request.cookies[sessionCookieName]!;
      const session = await routes.services.auth.resolveSession(token);
      return describeSession(actorOf(request), session!.csrfToken);
    },
  );

  routes.delete(
    '/session',
    {
      config: { capability: 'self' },
      schema: { summary: 'Sign out', tags: ['console: session'], response: { 204: z.null(), ...consoleErrors } },
    },
    async (request, reply) => {
      const token = request.cookies[sessionCookieName];
      if (token) await routes.services.auth.signOut(token);
      reply.clearCookie(sessionCookieName, { path: '/' });
      return reply.status(204).send(null);
    },
  );
}

function registerOwnPasswordRoutes(routes: ZodRoutes) {
  const secureCookie = routes.config.publicUrl.startsWith('https://');
  routes.post(
    '/me/password',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'Change your own password: every session ends, this one continues under a new token; lists your API keys still active',
        tags: ['console: session'],
        body: z.object({ currentPassword: z.string().min(1).max(128), newPassword: passwordSchema }),
        response: { 200: passwordChangedSchema, ...consoleErrors },
      },
    },
    async (request, reply) => {
      const { currentPassword, newPassword } = request.body;
      const changed = await routes.services.auth.changeOwnPassword(actorOf(request), currentPassword, newPassword, request.ip);
      reply.setCookie(sessionCookieName, changed.sessionToken, sessionCookieOptions(secureCookie));
      return { csrfToken: changed.csrfToken, activeApiKeys: changed.activeApiKeys };
    },
  );
}
