import { AppError } from './errors.ts';

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** A field path like `body.account` from a Fastify validation error. */
function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  const fromPath = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const missing = typeof issue.params?.missingProperty === 'string' ? issue.params.missingProperty : '';
  return [fromPath, missing].filter(Boolean).join('.') || context || 'request';
}

/** A body too large (413) or of an unsupported type (415) keeps its status; any other client error is a 400. */
export const clientErrorStatus = (statusCode: number | undefined): 400 | 413 | 415 =>
  statusCode === 413 || statusCode === 415 ? statusCode : 400;

/** Any thrown value as an AppError; unknown failures become InternalError without their internals. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const candidate = error as {
    validation?: ValidationIssue[];
    validationContext?: string;
    statusCode?: number;
    code?: string;
    message?: string;
  };
  if (Array.isArray(candidate.validation) && candidate.validation.length > 0) {
    const fields = candidate.validation.map((issue) => ({
      field: fieldOf(issue, candidate.validationContext),
      message: issue.message ?? 'is invalid',
    }));
    const first = fields[0]!;
    return new AppError('InvalidParameterValue', `${first.field}: ${first.message}`, { field: first.field, fields });
  }
  if (candidate.statusCode === 413) return new AppError('RequestSizeLimitExceeded', 'The request body is too large');
  if (candidate.statusCode === 415) return new AppError('InvalidParameter', 'Unsupported content type');
  if (candidate.statusCode === 429) return new AppError('RequestLimitExceeded', 'Too many requests');
  if (candidate.statusCode && candidate.statusCode >= 400 && candidate.statusCode < 500) {
    return new AppError('InvalidParameter', candidate.message ?? 'The request is malformed');
  }
  return new AppError('InternalError', 'Internal error; the request id identifies it in the server log');
}
