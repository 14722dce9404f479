import { describe, expect, it } from 'vitest';
import { AppError, errorCodes, type ErrorCode } from '../../domain/errors.ts';
import { toV3Error } from './gateway-errors.ts';

describe('v3 error mapping', () => {
  it.each([
    ['FailedOperation.OrderPaid', 400, 'ORDERPAID'],
    ['FailedOperation.OrderClosed', 400, 'ORDER_CLOSED'],
    ['FailedOperation.OutTradeNoUsed', 403, 'OUT_TRADE_NO_USED'],
    ['FailedOperation.PaymentNotEnabled', 403, 'NO_AUTH'],
    ['FailedOperation.AppIdMchIdNotMatch', 400, 'APPID_MCHID_NOT_MATCH'],
    ['FailedOperation.RefundNotAllowed', 400, 'INVALID_REQUEST'],
    ['ResourceNotFound.Order', 404, 'ORDER_NOT_EXIST'],
    ['ResourceNotFound.Refund', 404, 'RESOURCE_NOT_EXISTS'],
    ['AuthFailure.SignatureFailure', 401, 'SIGN_ERROR'],
    ['AuthFailure.SignatureExpire', 401, 'SIGN_ERROR'],
    ['RequestLimitExceeded', 429, 'FREQUENCY_LIMITED'],
    ['FailedOperation.ChannelUnavailable', 500, 'SYSTEM_ERROR'],
  ] as const)('%s → %i %s', (code, status, v3Code) => {
    expect(toV3Error(new AppError(code, 'm'))).toEqual({ status, body: { code: v3Code, message: 'm' } });
  });

  it('gives parameter problems a detail with a JSON pointer', () => {
    const error = new AppError('InvalidParameterValue', '/amount/currency: not allowed', {
      field: '/amount/currency',
      value: 'XYZ',
      issue: 'not allowed',
      location: 'body',
    });
    expect(toV3Error(error)).toEqual({
      status: 400,
      body: {
        code: 'PARAM_ERROR',
        message: '/amount/currency: not allowed',
        detail: { field: '/amount/currency', value: 'XYZ', issue: 'not allowed', location: 'body' },
      },
    });
  });

  it('never echoes internals of unknown failures', () => {
    const mapped = toV3Error(new Error('password=hunter2 at db.ts:42'));
    expect(mapped.status).toBe(500);
    expect(mapped.body.code).toBe('SYSTEM_ERROR');
    expect(JSON.stringify(mapped)).not.toContain('hunter2');
  });

  it('maps every error code to a v3 status', () => {
    for (const code of Object.keys(errorCodes) as ErrorCode[]) {
      const { status, body } = toV3Error(new AppError(code, 'x'));
      expect(status).toBeGreaterThanOrEqual(400);
      expect(body.code).toMatch(/^[A-Z_]+$/);
    }
  });
});

describe('v3 validation errors', () => {
  it('names body fields by JSON pointer and query fields by name', () => {
    const body = Object.assign(new Error('x'), {
      validation: [{ instancePath: '/amount/total', message: 'Too small' }],
      validationContext: 'body',
    });
    expect(toV3Error(body)).toEqual({
      status: 400,
      body: {
        code: 'PARAM_ERROR',
        message: '/amount/total: Too small',
        detail: { field: '/amount/total', issue: 'Too small', location: 'body' },
      },
    });
    const query = Object.assign(new Error('x'), {
      validation: [{ instancePath: '/mchid', message: 'Required' }],
      validationContext: 'querystring',
    });
    expect(toV3Error(query).body.detail).toEqual({ field: 'mchid', issue: 'Required', location: 'query' });
  });
});
