/**
 * What every part of the ERPNext dialect shares: the document and filter shapes of Frappe's REST API, the
 * doctype names and field lengths, and small helpers for its errors, dates and names.
 */
import { FinanceError, isFinanceError } from '../../errors';
import { isFinalRefusal } from '../http-errors';

/** A Frappe document (or list row) as the REST API answers it. */
export type Doc = Record<string, unknown>;
/** A Frappe filter: [field, operator, value], or [child doctype, field, operator, value]. */
export type Filter = [string, string, unknown] | [string, string, string, unknown];

/** Frappe's Data fields hold 140 characters [S frappe data field default length]. */
export const FRAPPE_DATA_LENGTH = 140;
export const PO = 'Purchase Order';
export const PI = 'Purchase Invoice';

/** "6000 - Travel - FSD" -> "6000"; "CC-100 - FSD" -> "CC-100". */
export function numberOfName(name: string): string {
  return name.split(' - ')[0];
}

export function invalid(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Document for ERPNext: ${problem}.`);
}

export function isStale(error: unknown): boolean {
  return isFinanceError(error) && error.httpStatus === 412;
}

/**
 * ERPNext's final no to a write, which it did not apply: a 4xx that is not retryable. Not a stale version
 * (412, someone saved in between) nor a duplicate name (409, another document is in the way): those ask for a
 * fresh read, not for a write of the previous content.
 */
export function isRefused(error: unknown): error is FinanceError {
  return isFinalRefusal(error) && error.httpStatus !== 409 && error.httpStatus !== 412;
}

export function decimalText(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(6).replace(/\.?0+$/, '') : text;
}

export function lastDay(period: string): string {
  const [year, month] = period.split('-').map(Number);
  return `${period}-${String(new Date(Date.UTC(year, month, 0)).getUTCDate()).padStart(2, '0')}`;
}

export function isDate(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
}
