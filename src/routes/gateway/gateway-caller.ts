import type { FastifyRequest } from 'fastify';
import { AppError } from '../../domain/errors.ts';
import type { GatewayCaller } from '../../services/auth/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the gateway's auth hook: the mini program whose merchant certificate signed the request. */
    gatewayCaller: GatewayCaller | null;
  }
}

/** The authenticated caller; every gateway route runs behind the auth hook, so it is there. */
export function callerOf(request: FastifyRequest): GatewayCaller {
  if (!request.gatewayCaller) throw new AppError('AuthFailure.SignatureFailure', 'The request is not signed');
  return request.gatewayCaller;
}
