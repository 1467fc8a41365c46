/**
 * The one list of error codes the pack uses (DESIGN section 5). Technical failures leave a node through
 * `done(err)` with one of these codes so Catch, retry and dead-letter nodes can act on them; the message is
 * a sentence that says what went wrong and what to do.
 */
export const ERROR_CODES = [
  'ERP_TIMEOUT',
  'ERP_UNAVAILABLE',
  'ERP_RATE_LIMITED',
  'ERP_REJECTED',
  'ERP_CONFLICT',
  'ERP_NOT_FOUND',
  'ERP_AUTH_FAILED',
  'CIRCUIT_OPEN',
  'SCHEMA_INVALID',
  'SIGNATURE_INVALID',
  'DUPLICATE',
  'STALE_VERSION',
  'STORE_UNAVAILABLE',
  'STORE_FULL',
  'CURRENCY_MISMATCH',
  'INVALID_AMOUNT',
  'UNKNOWN_CURRENCY',
  'CONFIG_INVALID',
  'PAYLOAD_TOO_LARGE',
  /** A decision from someone who is neither the expected approver nor a valid delegate, or on a closed approval. */
  'APPROVER_NOT_ALLOWED',
  /** A decision about a document that has no approval (never started here, or finished too long ago). */
  'APPROVAL_NOT_FOUND',
  /** A document that reached the posting step without an approval that allows posting it. */
  'NOT_APPROVED',
  /** An event whose source and id were already used for a different event (the intake answers 409). */
  'EVENT_ID_REUSED',
  /**
   * An earlier attempt at an ERP write ended without an answer, and the ERP cannot be asked whether it went
   * through (a Business Central purchase order without the reference API page): a person checks the ERP.
   */
  'ERP_OUTCOME_UNKNOWN',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FinanceErrorOptions {
  /** HTTP status the remote system answered, when there was one. */
  httpStatus?: number;
  /** True when the same call may succeed later (network, timeout, 408/425/429/5xx). */
  retryable?: boolean;
  /** How long the remote system asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** Extra facts for the dead letter and the audit: never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class FinanceError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: FinanceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FinanceError';
    this.code = code;
    this.httpStatus = options.httpStatus;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  /** A plain object for messages, dead letters and audit records (no stack, no cause chain). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      httpStatus: this.httpStatus,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      details: this.details,
    };
  }
}

export function isFinanceError(value: unknown): value is FinanceError {
  return value instanceof FinanceError;
}
