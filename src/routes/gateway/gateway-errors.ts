import type { ErrorCode } from '../../domain/errors.ts';
import { toAppError } from '../../domain/error-mapping.ts';

/** The v3 error body (reference §4): `detail` is present for parameter problems. */
export interface V3ErrorBody {
  code: string;
  message: string;
  detail?: { field: string; value?: unknown; issue: string; location: 'body' | 'query' | 'path' | 'header' };
}

export interface V3ErrorResponse {
  status: number;
  body: V3ErrorBody;
}

/** Our error codes as v3 clients expect them: the v3 code and its HTTP status. */
const v3Codes: Partial<Record<ErrorCode, { code: string; status: number }>> = {
  InvalidParameter: { code: 'PARAM_ERROR', status: 400 },
  InvalidParameterValue: { code: 'PARAM_ERROR', status: 400 },
  AuthFailure: { code: 'SIGN_ERROR', status: 401 },
  'AuthFailure.SignatureFailure': { code: 'SIGN_ERROR', status: 401 },
  'AuthFailure.SignatureExpire': { code: 'SIGN_ERROR', status: 401 },
  UnauthorizedOperation: { code: 'NO_AUTH', status: 403 },
  'FailedOperation.PaymentNotEnabled': { code: 'NO_AUTH', status: 403 },
  'FailedOperation.AppIdMchIdNotMatch': { code: 'APPID_MCHID_NOT_MATCH', status: 400 },
  'FailedOperation.OutTradeNoUsed': { code: 'OUT_TRADE_NO_USED', status: 403 },
  'FailedOperation.OrderPaid': { code: 'ORDERPAID', status: 400 },
  'FailedOperation.OrderClosed': { code: 'ORDER_CLOSED', status: 400 },
  'FailedOperation.RefundNotAllowed': { code: 'INVALID_REQUEST', status: 400 },
  // Console and management only (an administrator settling an ABNORMAL refund); named here should one ever reach v3.
  'FailedOperation.RefundNotAbnormal': { code: 'INVALID_REQUEST', status: 400 },
  'FailedOperation.RefundStillAtChannel': { code: 'INVALID_REQUEST', status: 400 },
  // The outcome is unknown or the channel is down: retry with the same parameters, as v3 says for SYSTEM_ERROR.
  'FailedOperation.ChannelUnavailable': { code: 'SYSTEM_ERROR', status: 500 },
  FailedOperation: { code: 'INVALID_REQUEST', status: 400 },
  ResourceNotFound: { code: 'RESOURCE_NOT_EXISTS', status: 404 },
  'ResourceNotFound.Order': { code: 'ORDER_NOT_EXIST', status: 404 },
  'ResourceNotFound.Refund': { code: 'RESOURCE_NOT_EXISTS', status: 404 },
  RequestLimitExceeded: { code: 'FREQUENCY_LIMITED', status: 429 },
  RequestSizeLimitExceeded: { code: 'PARAM_ERROR', status: 413 },
  InternalError: { code: 'SYSTEM_ERROR', status: 500 },
};

const locations = new Set(['body', 'query', 'path', 'header']);

/**
 * The one mapping from any failure to a v3 error response (pure). Unknown failures become
 * SYSTEM_ERROR without their internals; parameter problems carry `detail` with a JSON Pointer field.
 */
export function toV3Error(error: unknown): V3ErrorResponse {
  const validation = validationProblem(error);
  if (validation) return { status: 400, body: validation };
  const appError = toAppError(error);
  const mapped =
    v3Codes[appError.code] ??
    (appError.code.startsWith('FailedOperation.') ? { code: 'INVALID_REQUEST', status: 400 } : { code: 'SYSTEM_ERROR', status: 500 });
  const body: V3ErrorBody = { code: mapped.code, message: appError.message };
  const details = appError.details;
  if (mapped.code === 'PARAM_ERROR' && details && typeof details.field === 'string') {
    const location = typeof details.location === 'string' && locations.has(details.location) ? (details.location as 'body') : 'body';
    body.detail = {
      field: details.field,
      ...(details.value !== undefined ? { value: details.value } : {}),
      issue: typeof details.issue === 'string' ? details.issue : appError.message,
      location,
    };
  }
  return { status: mapped.status, body };
}

interface ValidationFailure {
  validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
  validationContext?: string;
}

const contextLocations: Record<string, 'body' | 'query' | 'path' | 'header'> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

/** A schema validation failure as PARAM_ERROR: a JSON Pointer for body fields, the name for path and query ones. */
function validationProblem(error: unknown): V3ErrorBody | undefined {
  const failure = error as ValidationFailure | null;
  const issue = Array.isArray(failure?.validation) ? failure.validation[0] : undefined;
  if (!failure || !issue) return undefined;
  const location = contextLocations[failure.validationContext ?? 'body'] ?? 'body';
  const pointer = issue.instancePath && issue.instancePath !== '/' ? issue.instancePath : '';
  const field = location === 'body' ? pointer || '/' : pointer.replace(/^\//, '').replaceAll('/', '.') || location;
  const message = issue.message ?? 'is invalid';
  return { code: 'PARAM_ERROR', message: `${field}: ${message}`, detail: { field, issue: message, location } };
}
