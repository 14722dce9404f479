import type { IncomingMessage, ServerResponse } from 'node:http';
import cookie from '@fastify/cookie';
import fp from 'fastify-plugin';
import helmet from 'helmet';

/** Helmet's headers for every answer: the same every time, so worked out once (per request, helmet parses its options anew). */
const securityHeaders = headersSetBy(
  helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // antd injects its CSS-in-JS as style elements.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'https:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    // Plain-http local deployments (the embedded default) must not be told to upgrade.
    strictTransportSecurity: false,
  }),
);

/** The headers a helmet middleware sets on an answer. */
function headersSetBy(middleware: ReturnType<typeof helmet>): Record<string, string> {
  const headers: Record<string, string> = {};
  const answer = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    // Helmet removes X-Powered-By, which Fastify never sends.
    removeHeader: () => undefined,
  };
  middleware({} as IncomingMessage, answer as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

/** Cookies and security headers for every surface. */
export const securityPlugin = fp(
  async (app) => {
    await app.register(cookie);
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(securityHeaders);
      done();
    });
  },
  { name: 'security' },
);
