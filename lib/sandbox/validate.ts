/**
 * Small readers for request bodies. Each checks one field, records what is wrong under the field's JSON pointer
 * and returns the value (or undefined), so a handler reports every wrong field at once instead of the first.
 */
import { isFinanceError } from '../errors';
import { isKnownCurrency } from '../model/currencies';
import { money } from '../model/money';
import type { Dimensions, Money } from '../model/types';
import { fieldProblem, type FieldError } from './problem';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export class FieldErrors {
  readonly list: FieldError[] = [];

  add(path: string, message: string, code = 'VALIDATION_FAILED'): void {
    this.list.push({ path, message, code });
  }

  /** Throws one problem with every error collected so far. */
  throwIfAny(status: number): void {
    if (this.list.length > 0) throw fieldProblem(status, this.list);
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request body as an object, or a 400 that says a JSON object was expected. */
export function bodyObject(body: unknown): JsonObject {
  if (isObject(body)) return body;
  const errors = new FieldErrors();
  errors.add('', 'the body must be a JSON object', 'INVALID_BODY');
  errors.throwIfAny(400);
  return {};
}

export function readString(
  source: JsonObject,
  key: string,
  path: string,
  errors: FieldErrors,
  options: { required?: boolean; maxLength?: number } = {},
): string | undefined {
  const value = source[key];
  const where = `${path}/${key}`;
  if (value === undefined) {
    if (options.required) errors.add(where, 'is required');
    return undefined;
  }
  const maxLength = options.maxLength ?? 200;
  if (typeof value !== 'string' || value.trim() === '') {
    errors.add(where, 'must be a non-empty string');
    return undefined;
  }
  if (value.length > maxLength) {
    errors.add(where, `must be at most ${maxLength} characters long`);
    return undefined;
  }
  return value;
}

export function readEnum<T extends string>(
  source: JsonObject,
  key: string,
  path: string,
  errors: FieldErrors,
  allowed: readonly T[],
  options: { required?: boolean } = {},
): T | undefined {
  const value = source[key];
  if (value === undefined) {
    if (options.required) errors.add(`${path}/${key}`, `is required: one of ${allowed.join(', ')}`);
    return undefined;
  }
  if (!allowed.includes(value as T)) {
    errors.add(`${path}/${key}`, `must be one of ${allowed.join(', ')}`);
    return undefined;
  }
  return value as T;
}

export function readBoolean(source: JsonObject, key: string, path: string, errors: FieldErrors): boolean | undefined {
  const value = source[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    errors.add(`${path}/${key}`, 'must be true or false');
    return undefined;
  }
  return value;
}

/** A calendar date "YYYY-MM-DD" that exists (no 31 February). */
export function readDate(
  source: JsonObject,
  key: string,
  path: string,
  errors: FieldErrors,
  options: { required?: boolean } = {},
): string | undefined {
  const value = readString(source, key, path, errors, options);
  if (value === undefined) return undefined;
  const match = DATE.exec(value);
  const valid =
    match !== null &&
    new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))).toISOString().slice(0, 10) === value;
  if (!valid) {
    errors.add(`${path}/${key}`, `"${value}" is not a date such as "2025-03-31"`);
    return undefined;
  }
  return value;
}

export function readCurrency(
  source: JsonObject,
  key: string,
  path: string,
  errors: FieldErrors,
  options: { required?: boolean } = {},
): string | undefined {
  const value = source[key];
  if (value === undefined) {
    if (options.required) errors.add(`${path}/${key}`, 'is required: an ISO 4217 code such as EUR');
    return undefined;
  }
  if (!isKnownCurrency(value)) {
    errors.add(
      `${path}/${key}`,
      `"${String(value)}" is not an ISO 4217 currency code; use an upper-case code such as EUR, USD or JPY`,
      'UNKNOWN_CURRENCY',
    );
    return undefined;
  }
  return value;
}

/**
 * A money object `{ amount: "12.50", currency: "EUR" }`, normalised to the currency's exponent. Numbers, negative
 * and over-precise amounts are refused: a float has already lost cents by the time it reaches us.
 */
export function readMoney(
  value: unknown,
  path: string,
  errors: FieldErrors,
  options: { required?: boolean } = {},
): Money | undefined {
  if (value === undefined) {
    if (options.required)
      errors.add(path, 'is required: a money object such as { "amount": "12.50", "currency": "EUR" }');
    return undefined;
  }
  if (!isObject(value)) {
    errors.add(path, 'must be a money object such as { "amount": "12.50", "currency": "EUR" }', 'INVALID_AMOUNT');
    return undefined;
  }
  const currency = readCurrency(value, 'currency', path, errors, { required: true });
  if (currency === undefined) return undefined;
  try {
    return money(value.amount, currency, { path: `${path}/amount` });
  } catch (error) {
    if (!isFinanceError(error)) throw error;
    const prefix = `${path}/amount: `;
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    errors.add(`${path}/amount`, message.replace(/\.$/, ''), error.code);
    return undefined;
  }
}

export function readArray(
  source: JsonObject,
  key: string,
  path: string,
  errors: FieldErrors,
  options: { required?: boolean; maxItems: number },
): unknown[] | undefined {
  const value = source[key];
  const where = `${path}/${key}`;
  if (value === undefined) {
    if (options.required) errors.add(where, 'is required: a non-empty list');
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) {
    errors.add(where, 'must be a non-empty list');
    return undefined;
  }
  if (value.length > options.maxItems) {
    errors.add(where, `must have at most ${options.maxItems} entries`);
    return undefined;
  }
  return value;
}

/** Refuses every key outside `allowed`: used where a misspelt field would silently change the meaning. */
export function rejectUnknownKeys(
  source: JsonObject,
  allowed: readonly string[],
  path: string,
  errors: FieldErrors,
  hint: string,
): void {
  for (const key of Object.keys(source)) {
    if (!allowed.includes(key)) errors.add(`${path}/${key}`, `is not a known field; ${hint}`);
  }
}

const DIMENSION_KEYS = ['company', 'costCenter', 'project', 'glAccount', 'department'] as const;

/**
 * Accounting dimensions. Unknown keys are refused rather than ignored: a misspelt "costcenter" would
 * otherwise charge the line to no cost center and slip past the budget.
 */
export function readDimensions(value: unknown, path: string, errors: FieldErrors): Dimensions | undefined {
  if (!isObject(value)) {
    errors.add(path, `must be an object with some of ${DIMENSION_KEYS.join(', ')}`);
    return undefined;
  }
  rejectUnknownKeys(value, DIMENSION_KEYS, path, errors, `dimensions are ${DIMENSION_KEYS.join(', ')}`);
  const dimensions: Dimensions = {};
  for (const key of DIMENSION_KEYS) {
    const text = readString(value, key, path, errors, { maxLength: 50 });
    if (text !== undefined) dimensions[key] = text;
  }
  return dimensions;
}
