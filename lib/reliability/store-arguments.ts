/**
 * Argument checks shared by the store backends (LMDB and PostgreSQL), so a call that one backend refuses is
 * refused by the other with the same words.
 */
import { FinanceError } from '../errors';
import { LONE_SURROGATE } from '../model/safe-json';
import { nodeIdOfOwner } from './store-keys';

/** LMDB keys are limited to 1,978 bytes and index keys add a few bytes; PostgreSQL keeps the same limit. */
export const MAX_KEY_BYTES = 1000;

export { LONE_SURROGATE };

export function requireKey(key: unknown, what: string): string {
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw invalid(`The ${what} must be a non-empty string of at most ${MAX_KEY_BYTES} bytes.`);
  }
  // Keys are stored as UTF-8, which writes every lone surrogate as U+FFFD: two different keys would become
  // one, and the second event would be answered "duplicate" or given the first one's ERP reference.
  requireWellFormed(key, what);
  return key;
}

/**
 * The prefix of a kv listing (kvList): a string, possibly empty, that fits in a key with its namespace, and
 * well-formed like a key. PostgreSQL compares it as UTF-8, which writes a lone surrogate as U+FFFD, so it
 * would list keys that hold U+FFFD there, while LMDB lists none: both refuse it instead.
 */
export function requireKvPrefix(namespace: string, prefix: unknown): string {
  if (typeof prefix !== 'string' || Buffer.byteLength(namespace) + Buffer.byteLength(prefix) > MAX_KEY_BYTES) {
    throw invalid(`The prefix must be a string; with the namespace at most ${MAX_KEY_BYTES} bytes.`);
  }
  requireWellFormed(prefix, 'key prefix');
  return prefix;
}

function requireWellFormed(text: string, what: string): void {
  const lone = LONE_SURROGATE.exec(text);
  if (lone) {
    throw invalid(
      `The ${what} holds a lone UTF-16 surrogate (U+${lone[0].charCodeAt(0).toString(16).toUpperCase()}) at ` +
        `position ${lone.index}; keys must be well-formed Unicode text.`,
    );
  }
}

export function requireKvKey(namespace: string, key: string): [string, string] {
  requireKey(namespace, 'namespace');
  requireKey(key, 'key');
  if (Buffer.byteLength(namespace) + Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw invalid(`A namespace and key together must be at most ${MAX_KEY_BYTES} bytes.`);
  }
  return [namespace, key];
}

export function requireOwner(owner: unknown): void {
  if (typeof owner !== 'string' || owner === '') {
    throw invalid('The owner must be a non-empty string that names the worker (e.g. host and node id).');
  }
}

type CheckCode = 'SCHEMA_INVALID' | 'CONFIG_INVALID';

/**
 * A count or a duration in ms. Whole numbers only, in both backends: PostgreSQL keeps them (and the times made
 * from them) as bigint, which refuses fractions and numbers beyond its range, and would report that as a
 * retryable store failure.
 */
export function requirePositive(value: unknown, name: string, code: CheckCode = 'SCHEMA_INVALID'): void {
  if (!(isWholeNumber(value) && value > 0)) {
    throw new FinanceError(code, `${name} must be a positive whole number (got ${String(value)}).`);
  }
}

export function invalid(message: string, cause?: unknown): FinanceError {
  return new FinanceError('SCHEMA_INVALID', message, cause === undefined ? {} : { cause });
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A duration in ms that may be 0; whole, as requirePositive explains. */
export function requireZeroOrPositive(value: unknown, name: string): void {
  if (!(isWholeNumber(value) && value >= 0)) {
    throw invalid(`${name} must be zero or a positive whole number (got ${String(value)}).`);
  }
}

/** A time in ms since the epoch: a whole number, as requirePositive explains. */
export function requireTime(value: unknown, name: string): void {
  if (!isWholeNumber(value)) {
    throw invalid(`${name} must be a time in whole milliseconds since the epoch (got ${String(value)}).`);
  }
}

/** A safe integer: exact as a double and well inside PostgreSQL's bigint, also after adding a clock time. */
function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Whether the inbox lease owner `leaseOwner` is the node `nodeId` (any process of it; see nodeIdOfOwner). */
export function ownedByNode(leaseOwner: string | undefined, nodeId: string): boolean {
  return leaseOwner !== undefined && nodeIdOfOwner(leaseOwner) === nodeId;
}
