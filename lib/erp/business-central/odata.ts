/**
 * The OData v4 values Business Central's API v2.0 speaks, as the dialect's parts share them: string literals,
 * decimals, collections and dimension set lines, ETags, and the marking of errors raised before anything
 * was written.
 */
import { FinanceError, isFinanceError } from '../../errors';
import { fromMinorUnits, minorOf } from '../../model/money';
import type { Money } from '../../model/types';
import { isRecord } from '../records';

export type Entity = Record<string, unknown>;

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An OData string literal: single quotes, a quote inside doubled. */
export function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A JSON number as plain decimal text (no exponent), the way BC wrote it. */
export function decimalText(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(6).replace(/\.?0+$/, '') : text;
}

export function asEntities(value: unknown): Entity[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

export function dimensionsOf(lines: unknown): Record<string, string> {
  return Object.fromEntries(asEntities(lines).map((line) => [String(line.code), String(line.valueCode)]));
}

export function matches(set: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([code, value]) => set[code] === value);
}

export function sameDimensions(a: Record<string, string>, b: Record<string, string>): boolean {
  return Object.keys(a).length === Object.keys(b).length && matches(a, b);
}

export function describeDimensions(dimensions: Record<string, string>): string {
  const entries = Object.entries(dimensions);
  return entries.length === 0 ? 'no dimensions' : entries.map(([code, value]) => `${code} ${value}`).join(', ');
}

export function etagOf(entity: Entity): string {
  const etag = entity['@odata.etag'];
  if (typeof etag !== 'string') {
    throw new FinanceError('ERP_UNAVAILABLE', 'Business Central answered an entity without @odata.etag.', {
      retryable: false,
    });
  }
  return etag;
}

export function changedFields(current: Entity, desired: Entity): Entity {
  return Object.fromEntries(Object.entries(desired).filter(([name, value]) => current[name] !== value));
}

export function isStale(error: unknown): boolean {
  return isFinanceError(error) && error.httpStatus === 412;
}

export const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

export function sumMinor(amounts: readonly Money[]): bigint {
  return amounts.reduce((sum, amount) => sum + minorOf(amount), 0n);
}

export function decimalOf(minor: bigint, currency: string): string {
  const amount = fromMinorUnits(minor, currency);
  return `${amount.amount} ${amount.currency}`;
}

/**
 * Runs the checks and reads before a write's first writing request; an error from them is marked
 * details.written false (lib/posting/idempotent-write.ts: the ledger then knows no write of this attempt can
 * be in flight). Errors of other kinds than FinanceError (a defect) are left as they are.
 */
export async function beforeWriting<T>(checks: () => Promise<T>): Promise<T> {
  try {
    return await checks();
  } catch (error) {
    if (!isFinanceError(error)) throw error;
    throw new FinanceError(error.code, error.message, {
      httpStatus: error.httpStatus,
      retryable: error.retryable,
      retryAfterMs: error.retryAfterMs,
      details: { ...error.details, written: false },
      cause: error,
    });
  }
}
