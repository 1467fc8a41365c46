/**
 * Why a source document could not be mapped, as violations in the same shape as schema violations
 * ({ path, rule, message }), so the invalid output carries one list whatever went wrong. A mapping failure is
 * a problem with the data (or with how the mapping reads it), never a technical failure: retrying the same
 * document gives the same answer, so it goes to the invalid output and not to done(err).
 */
import { isFinanceError, type ErrorCode } from '../errors';
import type { Violation } from '../model/violations';

/** The rule a profile's error breaks, by its code; errors with other codes are not data problems. */
const RULE_BY_CODE: Partial<Record<ErrorCode, string>> = {
  SCHEMA_INVALID: 'sourceShape',
  INVALID_AMOUNT: 'amount',
  UNKNOWN_CURRENCY: 'currency',
  CURRENCY_MISMATCH: 'currencyMismatch',
};

/**
 * The violation for an error a source profile threw while reading the vendor's document, or undefined when
 * the error is not about the document (e.g. CONFIG_INVALID), which the caller must rethrow. The path points
 * into the vendor's document (the message names which one).
 */
export function sourceViolation(error: unknown): Violation | undefined {
  if (!isFinanceError(error)) return undefined;
  const rule = RULE_BY_CODE[error.code];
  if (rule === undefined) return undefined;
  const path = error.details?.path;
  return { path: typeof path === 'string' && path !== '/' ? path : '', rule, message: error.message };
}

/** What a JSONata engine error carries (JSONata errors are plain objects, not Error instances). */
interface JsonataFailure {
  code?: unknown;
  position?: unknown;
  token?: unknown;
  message?: unknown;
}

function jsonataFacts(error: unknown): { text: string; where: string } {
  const failure: JsonataFailure = typeof error === 'object' && error !== null ? (error as JsonataFailure) : {};
  const text = typeof failure.message === 'string' && failure.message !== '' ? failure.message : String(error);
  const code = typeof failure.code === 'string' ? failure.code : undefined;
  const position = typeof failure.position === 'number' ? failure.position : undefined;
  const token = typeof failure.token === 'string' ? failure.token : undefined;
  const facts = [
    code && `error ${code}`,
    position !== undefined && `at character ${position}`,
    token !== undefined && `near "${token}"`,
  ].filter(Boolean);
  return { text: text.replace(/\.$/, ''), where: facts.length > 0 ? ` (${facts.join(', ')})` : '' };
}

/**
 * The violation for a JSONata expression that failed while evaluating one message: the expression compiled,
 * so it is this document that does not fit it (a missing field, a string where a number was expected).
 * The value JSONata attaches to its error is left out: it is the source data, which may be large or personal.
 */
export function jsonataViolation(error: unknown): Violation {
  const { text, where } = jsonataFacts(error);
  return {
    path: '',
    rule: 'jsonata',
    message:
      `The JSONata mapping failed on this document${where}: ${text}. Check that the expression handles this ` +
      'source document (missing or differently typed fields); the document was not mapped.',
  };
}

/** A sentence for an expression that does not compile, for the CONFIG_INVALID error at deploy. */
export function jsonataCompileProblem(error: unknown): string {
  const { text, where } = jsonataFacts(error);
  return `The JSONata mapping does not compile${where}: ${text}. Fix the expression in the node's dialog.`;
}
