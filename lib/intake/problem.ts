/**
 * RFC 9457 problem details: the body of every refusal the intake answers, so a sender's developer sees what
 * is wrong and what to do without reading our logs.
 *
 * A refusal the sender caused (4xx) says exactly what is wrong with the event. A failure on our side (5xx)
 * says only that nothing was stored and when to come back: its real reason can name directories or
 * settings of this host, so it goes to the node's log instead.
 */
import { FinanceError, type ErrorCode } from '../errors';

export interface ProblemField {
  /** JSON pointer into the event body, e.g. "/data/total/currency". */
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  /** The fields that are wrong, when the refusal is about particular fields. */
  errors?: ProblemField[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** How long a sender should wait before sending again when the store cannot take the event. */
export const RETRY_AFTER_SECONDS: Readonly<Partial<Record<ErrorCode, number>>> = {
  // A full inbox drains at the rate the ERP allows: minutes, not seconds.
  STORE_FULL: 30,
  STORE_UNAVAILABLE: 5,
};

/**
 * details.reason of a refusal because the intake is closing (a redeploy or a stop): the one 5xx whose cause
 * the sender may know, because it names no directory or setting and tells it the retry will work.
 */
export const CLOSING_REASON = 'closing';

const STATUS_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> = {
  SIGNATURE_INVALID: 401,
  EVENT_ID_REUSED: 409,
  PAYLOAD_TOO_LARGE: 413,
  CONFIG_INVALID: 500,
  STORE_FULL: 503,
  STORE_UNAVAILABLE: 503,
};

const TITLES: Readonly<Record<number, string>> = {
  400: 'The event is not valid',
  401: 'The signature does not match',
  409: 'The event id was already used for another event',
  413: 'The body is too large',
  500: 'The endpoint is not configured correctly',
  503: 'The event cannot be stored right now',
};

/** The HTTP status an intake error is answered with; anything not listed is the sender's to fix (400). */
export function httpStatusFor(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 400;
}

export function problemFrom(error: FinanceError): Problem {
  const status = httpStatusFor(error.code);
  const errors = fieldsOf(error);
  return {
    type: `https://finance-sync.dev/problems/${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status],
    status,
    detail: status >= 500 ? serverSideDetail(error) : error.message,
    code: error.code,
    ...(status < 500 && errors ? { errors } : {}),
  };
}

/** Retry-After for a 503; undefined when the sender should not simply retry. */
export function retryAfterSecondsFor(error: FinanceError): number | undefined {
  if (httpStatusFor(error.code) !== 503) return undefined;
  if (error.retryAfterMs !== undefined && error.retryAfterMs > 0) return Math.ceil(error.retryAfterMs / 1000);
  return RETRY_AFTER_SECONDS[error.code] ?? RETRY_AFTER_SECONDS.STORE_UNAVAILABLE;
}

function serverSideDetail(error: FinanceError): string {
  if (error.details?.reason === CLOSING_REASON) {
    return 'This endpoint is being redeployed or stopped, so nothing was stored. Send the event again after the Retry-After interval.';
  }
  switch (error.code) {
    case 'STORE_FULL':
      return 'Too many events are waiting to be processed; nothing was stored. Send the event again after the Retry-After interval.';
    case 'CONFIG_INVALID':
      return 'This endpoint is not configured correctly; nothing was stored. Its operator has been told; send the event again later.';
    default:
      return 'The event store is not available; nothing was stored. Send the event again after the Retry-After interval.';
  }
}

/** Schema violations name every wrong field; other refusals name the one field they are about, if any. */
function fieldsOf(error: FinanceError): ProblemField[] | undefined {
  const violations = error.details?.violations;
  if (Array.isArray(violations)) {
    return violations.map((violation: { path: string; message: string }) => ({
      path: violation.path,
      message: violation.message,
    }));
  }
  const path = error.details?.path;
  return typeof path === 'string' ? [{ path, message: error.message }] : undefined;
}
