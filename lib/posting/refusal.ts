/**
 * What a refused output carries in msg.error: the code, the sentence, the HTTP status, the ERP's own error
 * body, and the node that refused, as a Catch node names it (`source`), so a dead letter made from the refused
 * message says where it was refused. The body is already redacted by the client that received it
 * (lib/erp/redact.ts); nothing else from the error (stack, cause, request details) goes on the message.
 */
import type { ErrorCode, FinanceError } from '../errors';

/** The node that refused: its id, type and (when it has one) name. */
export interface RefusingNode {
  id: string;
  type: string;
  name?: string;
}

export interface RefusalReport {
  code: ErrorCode;
  message: string;
  httpStatus?: number;
  erpBody?: unknown;
  source: RefusingNode;
}

export function refusalReport(error: FinanceError, node: RefusingNode): RefusalReport {
  const erpBody = error.details?.erpBody;
  return {
    code: error.code,
    message: error.message,
    source: { id: node.id, type: node.type, ...(node.name ? { name: node.name } : {}) },
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(erpBody === undefined ? {} : { erpBody }),
  };
}
