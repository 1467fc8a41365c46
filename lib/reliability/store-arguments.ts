/**
 * Argument checks shared by the store backends (LMDB and PostgreSQL), so a call that one backend refuses is
 * refused by the other with the same words.
 */
import { FinanceError } from '../errors';
import { nodeIdOfOwner } from './store-keys';

/** LMDB keys are limited to 1,978 bytes and index keys add a few bytes; PostgreSQL keeps the same limit. */
export const MAX_KEY_BYTES = 1000;

export function requireKey(key: unknown, what: string): string {
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw invalid(`The ${what} must be a non-empty string of at most ${MAX_KEY_BYTES} bytes.`);
  }
  return key;
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

export function requirePositive(
  value: unknown,
  name: string,
  code: 'SCHEMA_INVALID' | 'CONFIG_INVALID' = 'SCHEMA_INVALID',
  integer = false,
): void {
  const ok = typeof value === 'number' && value > 0 && (integer ? Number.isSafeInteger(value) : Number.isFinite(value));
  if (!ok)
    throw new FinanceError(
      code,
      `${name} must be a positive ${integer ? 'whole number' : 'number'} (got ${String(value)}).`,
    );
}

export function invalid(message: string, cause?: unknown): FinanceError {
  return new FinanceError('SCHEMA_INVALID', message, cause === undefined ? {} : { cause });
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function requireZeroOrPositive(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(`${name} must be zero or a positive number (got ${String(value)}).`);
  }
}

/** Whether the inbox lease owner `leaseOwner` is the node `nodeId` (any process of it; see nodeIdOfOwner). */
export function ownedByNode(leaseOwner: string | undefined, nodeId: string): boolean {
  return leaseOwner !== undefined && nodeIdOfOwner(leaseOwner) === nodeId;
}
