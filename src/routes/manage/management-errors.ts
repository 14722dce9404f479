import type { z } from 'zod';
import { AppError, type ErrorCode } from '../../domain/errors.ts';
import { toAppError } from '../../domain/error-mapping.ts';

export interface Tc3Envelope {
  Response: { Data?: unknown; Error?: { Code: string; Message: string }; RequestId: string };
}

export const successEnvelope = (data: unknown, requestId: string): Tc3Envelope => ({ Response: { Data: data, RequestId: requestId } });

/** The one mapping from any failure to the TC3 error envelope; internals never leak. */
export function errorEnvelope(error: unknown, requestId: string): Tc3Envelope {
  const appError = toAppError(error);
  return { Response: { Error: { Code: appError.code, Message: appError.message }, RequestId: requestId } };
}

/** Zod issues as TC3 codes: a missing or mistyped field is InvalidParameter, a bad value InvalidParameterValue. */
export function validationError(issues: z.core.$ZodIssue[]): AppError {
  const issue = issues[0]!;
  const field = issue.path.map(String).join('.') || 'request';
  const specificCode = issue.code === 'custom' ? (issue.params?.tc3Code as ErrorCode | undefined) : undefined;
  if (specificCode) return new AppError(specificCode, issue.message, { field });
  const code = issue.code === 'invalid_type' || issue.code === 'unrecognized_keys' ? 'InvalidParameter' : 'InvalidParameterValue';
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  return new AppError(code, missing ? `${field} is required` : `${field}: ${issue.message}`, { field });
}
