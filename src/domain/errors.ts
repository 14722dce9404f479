/**
 * The closed set of error codes. Codes are the management API's (TC3) names; each surface maps them
 * once (console: HTTP status + code, management: Response.Error, gateway: v3 code).
 */
export const errorCodes = {
  InvalidParameter: { httpStatus: 400 },
  InvalidAction: { httpStatus: 400 },
  InvalidParameterValue: { httpStatus: 400 },
  'InvalidParameterValue.InvalidMerchantId': { httpStatus: 400 },
  'InvalidParameterValue.InvalidMerchantName': { httpStatus: 400 },
  'InvalidParameterValue.InvalidApprovalType': { httpStatus: 400 },
  'InvalidParameterValue.InvalidApprovalNo': { httpStatus: 400 },
  'InvalidParameterValue.ApprovalNoteRequired': { httpStatus: 400 },
  'InvalidParameterValue.TimeRangeExceeded': { httpStatus: 400 },
  AuthFailure: { httpStatus: 401 },
  'AuthFailure.SignatureFailure': { httpStatus: 401 },
  'AuthFailure.SignatureExpire': { httpStatus: 401 },
  'AuthFailure.SecretIdNotFound': { httpStatus: 401 },
  'AuthFailure.InvalidCredentials': { httpStatus: 401 },
  'AuthFailure.CsrfTokenInvalid': { httpStatus: 403 },
  UnauthorizedOperation: { httpStatus: 403 },
  ResourceNotFound: { httpStatus: 404 },
  ResourceInUse: { httpStatus: 409 },
  'FailedOperation.ExistMerchantBindApply': { httpStatus: 409 },
  'FailedOperation.ExistMerchantBindRelation': { httpStatus: 409 },
  'FailedOperation.MerchantPaymentFunctionClosed': { httpStatus: 409 },
  'FailedOperation.ApprovalAlreadyProcessed': { httpStatus: 409 },
  'FailedOperation.ApprovalNotBelongToApplication': { httpStatus: 409 },
  'FailedOperation.ExistPaymentOpenApply': { httpStatus: 409 },
  'FailedOperation.MNPPaymentAlreadyEnabled': { httpStatus: 409 },
  'FailedOperation.PaymentRecordNotFound': { httpStatus: 409 },
  'FailedOperation.PaymentRecordNotBelongToApplication': { httpStatus: 409 },
  FailedOperation: { httpStatus: 409 },
  // Payment gateway (SPEC §4.1, §7 "Order and refund rules"); the v3 mapper names them as v3 clients expect.
  'FailedOperation.PaymentNotEnabled': { httpStatus: 403 },
  'FailedOperation.AppIdMchIdNotMatch': { httpStatus: 400 },
  'FailedOperation.OutTradeNoUsed': { httpStatus: 403 },
  'FailedOperation.OrderPaid': { httpStatus: 400 },
  'FailedOperation.OrderClosed': { httpStatus: 400 },
  'FailedOperation.RefundNotAllowed': { httpStatus: 400 },
  // Settling an ABNORMAL refund by hand (SPEC §7): only ABNORMAL ones, and CLOSED only once the channel lets go of it.
  'FailedOperation.RefundNotAbnormal': { httpStatus: 409 },
  'FailedOperation.RefundStillAtChannel': { httpStatus: 409 },
  'FailedOperation.ChannelUnavailable': { httpStatus: 503 },
  // Daily reconciliation (SPEC §9.5).
  'InvalidParameterValue.InvalidBillDate': { httpStatus: 400 },
  'InvalidParameterValue.ResolutionNoteRequired': { httpStatus: 400 },
  'FailedOperation.ExceptionAlreadyResolved': { httpStatus: 409 },
  'FailedOperation.ReconciliationRunning': { httpStatus: 409 },
  // Virtual payment setup (SPEC §8.8, console API).
  'InvalidParameterValue.InvalidProductId': { httpStatus: 400 },
  'InvalidParameterValue.InvalidItemPrice': { httpStatus: 400 },
  'FailedOperation.VirtualItemExists': { httpStatus: 409 },
  'ResourceNotFound.Order': { httpStatus: 404 },
  'ResourceNotFound.Refund': { httpStatus: 404 },
  RequestLimitExceeded: { httpStatus: 429 },
  RequestSizeLimitExceeded: { httpStatus: 413 },
  // Work the server bounds (password checks) is at capacity: retry shortly.
  ServerBusy: { httpStatus: 503 },
  InternalError: { httpStatus: 500 },
} as const satisfies Record<string, { httpStatus: number }>;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get httpStatus(): number {
    return errorCodes[this.code].httpStatus;
  }
}

export const notFound = (what: string) => new AppError('ResourceNotFound', `${what} not found`);
export const forbidden = (message = 'Your role does not allow this operation') => new AppError('UnauthorizedOperation', message);
export const invalid = (field: string, message: string) => new AppError('InvalidParameterValue', `${field}: ${message}`, { field });
