import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../../crypto/tokens.ts';
import type { Actor } from '../../domain/access.ts';
import { AppError } from '../../domain/errors.ts';
import { toAppError } from '../../domain/error-mapping.ts';

export const sessionCookieName = 'paythrough_session';
export const csrfHeaderName = 'x-csrf-token';
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The signed-in caller; routes marked `public` never call this. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError('AuthFailure', 'Sign in first');
  return request.actor;
}

/** The console's error body: `{error: {code, message, details}}` with the code's HTTP status. */
export function sendConsoleError(reply: FastifyReply, error: unknown) {
  const appError = toAppError(error);
  if (appError.code === 'InternalError') reply.log.error({ err: error }, 'console request failed');
  const retryAfterSeconds = appError.details?.retryAfterSeconds;
  if (typeof retryAfterSeconds === 'number') reply.header('retry-after', String(retryAfterSeconds));
  return reply.status(appError.httpStatus).send({
    error: { code: appError.code, message: appError.message, ...(appError.details ? { details: appError.details } : {}) },
  });
}

/** The origin a browser names in Origin or Referer (`null` when it hides it), or undefined for a value that is not a URL. */
function originOf(value: string): string | undefined {
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

/**
 * Defence in depth behind the CSRF header (and SameSite=Strict): a cookie-carrying state change, or a sign-in, whose
 * Origin (or, without one, Referer) names another site is refused. The server's own origins are
 * PUBLIC_URL's and the one the browser reached (the Host header: the default PUBLIC_URL is only a guess).
 */
export function isCrossSiteRequest(request: FastifyRequest, publicUrl: string): boolean {
  const origin = request.headers.origin;
  const referer = request.headers.referer;
  const named = typeof origin === 'string' ? origin : typeof referer === 'string' ? referer : undefined;
  if (named === undefined) return false;
  const claimed = originOf(named);
  if (claimed === undefined || claimed === 'null') return true;
  if (claimed === originOf(publicUrl)) return false;
  // The Host as the browser would write it under the claimed scheme (a default port dropped), compared with the claimed host.
  const claimedUrl = new URL(claimed);
  const reached = request.headers.host ? originOf(`${claimedUrl.protocol}//${request.headers.host}`) : undefined;
  return reached !== claimed;
}

/**
 * The console's one auth hook: session cookie → actor; on every state-changing request the CSRF header
 * and, when a cookie is sent or the route is public (sign-in), an Origin/Referer of this server's own; and every route must declare the
 * capability it needs (a route without one fails at startup).
 */
export function registerConsoleAuth(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    if (!route.config?.capability) {
      throw new Error(`Console route ${route.method} ${route.url} declares no capability`);
    }
  });
  app.addHook('onRequest', async (request) => {
    const token = request.cookies[sessionCookieName];
    const capability = request.routeOptions.config.capability;
    // A public state change (sign-in) acts without a cookie, so it is checked too: else a cross-site form signs the
    // victim's browser into the attacker's account (login CSRF).
    const actsForTheCaller = Boolean(token) || capability === 'public';
    if (actsForTheCaller && !safeMethods.has(request.method) && isCrossSiteRequest(request, app.config.publicUrl)) {
      throw new AppError('AuthFailure.CsrfTokenInvalid', 'Cross-site request refused: its Origin (or Referer) is not this server');
    }
    const session = token ? await app.services.auth.resolveSession(token) : undefined;
    request.actor = session?.actor ?? null;
    if (capability === 'public') return;
    if (!session) throw new AppError('AuthFailure', 'Sign in first');
    if (!safeMethods.has(request.method)) {
      const sent = request.headers[csrfHeaderName];
      if (typeof sent !== 'string' || !constantTimeEqual(sent, session.csrfToken)) {
        throw new AppError('AuthFailure.CsrfTokenInvalid', `Missing or wrong ${csrfHeaderName} header`);
      }
    }
  });
  app.setErrorHandler((error, _request, reply) => sendConsoleError(reply, error));
  app.setNotFoundHandler((_request, reply) => sendConsoleError(reply, new AppError('ResourceNotFound', 'No such console API route')));
}
