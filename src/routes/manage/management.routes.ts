import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseTc3Authorization, signedHeadersProblem } from '../../crypto/tc3.ts';
import { JsonLimitError, parseBoundedJson } from '../../domain/bounded-json.ts';
import { AppError } from '../../domain/errors.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { managementActions } from './actions/index.ts';
import { errorEnvelope, successEnvelope, validationError } from './management-errors.ts';

export const managementApiVersion = '2025-01-06';
const actionsByName = new Map(managementActions.map((action) => [action.name, action]));

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}

const header = (request: FastifyRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * The management API (SPEC §3): `POST /` with X-TC-* headers and a TC3-HMAC-SHA256 signature.
 * Every answer to an API call is HTTP 200 with the TC3 envelope, because the SDKs read errors from it.
 */
export async function managementRoutes(app: FastifyInstance) {
  guardRoutesWith(app, 'tc3-signature');
  // The signature covers the raw body, so keep it; parse it ourselves to answer bad JSON in the envelope.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    done(null, undefined);
  });
  app.setErrorHandler((error, request, reply) => reply.status(200).send(errorEnvelope(error, request.id)));

  app.post('/', { config: { capability: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const actionName = header(request, 'x-tc-action');
    if (!actionName) {
      return reply.status(400).send({ error: { code: 'InvalidParameter', message: 'Not a management API call: X-TC-Action is missing' } });
    }
    const actor = await app.services.signatureFailures.guard('tc3', request.ip, async () => {
      const authorization = parseTc3Authorization(header(request, 'authorization'));
      if (!authorization)
        throw new AppError(
          'AuthFailure.SignatureFailure',
          'Authorization must be TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...',
        );
      const headersProblem = signedHeadersProblem(authorization.signedHeaders);
      if (headersProblem) throw new AppError('AuthFailure.SignatureFailure', headersProblem);
      const timestampText = header(request, 'x-tc-timestamp') ?? '';
      if (!/^\d{1,12}$/.test(timestampText))
        throw new AppError('AuthFailure.SignatureFailure', 'X-TC-Timestamp must be a Unix time in seconds');
      const [path = '/', query = ''] = request.url.split('?');
      return app.services.managementAuth.authenticate({
        authorization,
        timestampSeconds: Number(timestampText),
        method: request.method,
        path,
        query,
        headers: request.headers,
        rawBody: request.rawBody ?? '',
      });
    });
    const version = header(request, 'x-tc-version');
    if (version !== managementApiVersion) throw new AppError('InvalidParameter', `X-TC-Version must be ${managementApiVersion}`);
    const action = actionsByName.get(actionName);
    if (!action) throw new AppError('InvalidAction', `There is no action ${actionName}`);

    let body: unknown;
    try {
      body = request.rawBody ? parseBoundedJson(request.rawBody) : {};
    } catch (error) {
      throw new AppError('InvalidParameter', error instanceof JsonLimitError ? error.message : 'The request body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new AppError('InvalidParameter', 'The request body must be a JSON object');
    const { PlatformId: platformIdSent, ...fields } = body as Record<string, unknown>;
    if (typeof platformIdSent !== 'string' || platformIdSent.length === 0) throw new AppError('InvalidParameter', 'PlatformId is required');
    if (platformIdSent !== (await app.services.platform.id())) throw new AppError('ResourceNotFound', 'No such platform');
    const parsed = action.input.safeParse(fields);
    if (!parsed.success) throw validationError(parsed.error.issues);
    const data = await action.run({ actor, services: app.services }, parsed.data);
    return reply.status(200).send(successEnvelope(data, request.id));
  });
}
