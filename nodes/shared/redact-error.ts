/**
 * A config node's failure as it is logged at deploy and handed to every node that uses it. Settings checks
 * echo what was entered ("Base URL "..." is not a URL"), and a pasted URL may carry a user name and password
 * or an API key in its query. Credential values themselves are never echoed by the checks, so only what the
 * text's syntax gives away is removed (lib/erp/redact.ts).
 */
import { redactText, redactValue } from '../../lib/erp/redact';
import { FinanceError } from '../../lib/errors';

/** The same failure (code, status, details) without credentials in its text; no cause or stack of the original. */
export function withoutCredentials(err: unknown): Error {
  if (err instanceof FinanceError) {
    return new FinanceError(err.code, redactText(err.message, []), {
      httpStatus: err.httpStatus,
      retryable: err.retryable,
      retryAfterMs: err.retryAfterMs,
      details: err.details === undefined ? undefined : (redactValue(err.details, []) as Record<string, unknown>),
    });
  }
  const error = err instanceof Error ? err : new Error(String(err));
  const code = (error as { code?: unknown }).code;
  return Object.assign(new Error(redactText(error.message, [])), typeof code === 'string' ? { code } : {});
}
