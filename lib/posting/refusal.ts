/**
 * What a refused output carries in msg.error: the code, the sentence, the HTTP status and the ERP's own
 * error body. The body is already redacted by the client that received it (lib/erp/redact.ts); nothing else
 * from the error (stack, cause, request details) goes on the message.
 */
import type { ErrorCode, FinanceError } from '../errors';

export interface RefusalReport {
  code: ErrorCode;
  message: string;
  httpStatus?: number;
  erpBody?: unknown;
}

export function refusalReport(error: FinanceError): RefusalReport {
  const erpBody = error.details?.erpBody;
  return {
    code: error.code,
    message: error.message,
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(erpBody === undefined ? {} : { erpBody }),
  };
}
