/**
 * Reading vendor JSON whose shape is not ours. Every read names the field by its JSON pointer and, when the
 * value is wrong, throws FinanceError('SCHEMA_INVALID') with the document, the path, what was found and
 * what to do, e.g. `Concur expense report /claimedAmount/value: must be a number, got a string. Send ...`.
 */
import { FinanceError } from '../errors';
import { startsWithCalendarDate } from '../model/formats';

export type JsonObject = Record<string, unknown>;

export interface ShapeReader {
  fail(path: string, problem: string): FinanceError;
  object(value: unknown, path: string): JsonObject;
  array(value: unknown, path: string): unknown[];
  /** A non-empty string. */
  string(value: unknown, path: string): string;
  /** A non-empty string, or undefined when the field is absent, null or empty. */
  optionalString(value: unknown, path: string): string | undefined;
  optionalBoolean(value: unknown, path: string): boolean | undefined;
  optionalInteger(value: unknown, path: string): number | undefined;
  /** A calendar date "YYYY-MM-DD"; a date-time is cut to its date (vendors send both for date fields). */
  date(value: unknown, path: string): string;
  /** An RFC 3339 date-time. `assumeUtc` accepts one without offset (Ramp documents that UTC is meant). */
  dateTime(value: unknown, path: string, options?: { assumeUtc?: boolean }): string;
}

const DATE = /^(\d{4}-\d{2}-\d{2})(?:T.*)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/i;

/** `document` names what is being read ("Concur expense event"); `fix` says how to send the right thing. */
export function shapeReader(document: string, fix: string): ShapeReader {
  const fail = (path: string, problem: string): FinanceError =>
    new FinanceError('SCHEMA_INVALID', `${document} ${path || '/'}: ${problem}. ${fix}`, {
      details: { path: path || '/', document },
    });

  const string = (value: unknown, path: string): string => {
    if (typeof value !== 'string' || value.trim() === '') {
      throw fail(path, `must be a non-empty string, got ${describe(value)}`);
    }
    return value;
  };

  return {
    fail,
    object(value, path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw fail(path, `must be a JSON object, got ${describe(value)}`);
      }
      return value as JsonObject;
    },
    array(value, path) {
      if (!Array.isArray(value)) throw fail(path, `must be a JSON array, got ${describe(value)}`);
      return value;
    },
    string,
    optionalString(value, path) {
      if (value === undefined || value === null || value === '') return undefined;
      return string(value, path);
    },
    optionalBoolean(value, path) {
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'boolean') throw fail(path, `must be true or false, got ${describe(value)}`);
      return value;
    },
    optionalInteger(value, path) {
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw fail(path, `must be a whole number, got ${describe(value)}`);
      }
      return value;
    },
    date(value, path) {
      const match = typeof value === 'string' ? DATE.exec(value) : null;
      if (!match || !startsWithCalendarDate(match[1])) {
        throw fail(path, `must be a date such as "2026-03-31", got ${describe(value)}`);
      }
      return match[1];
    },
    dateTime(value, path, options = {}) {
      const match = typeof value === 'string' ? DATE_TIME.exec(value) : null;
      const hasOffset = match?.[1] !== undefined;
      if (!match || (!hasOffset && !options.assumeUtc)) {
        throw fail(path, `must be an RFC 3339 date-time such as "2026-03-31T12:00:00Z", got ${describe(value)}`);
      }
      const text = hasOffset ? (value as string) : `${value as string}Z`;
      if (Number.isNaN(Date.parse(text)) || !startsWithCalendarDate(text)) {
        throw fail(path, `is not a real date-time: ${describe(value)}`);
      }
      return text;
    },
  };
}

/** A short description of a wrong value for an error message (strings are quoted and cut). */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    if (value.trim() === '') return 'an empty string';
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  }
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'number' ? 'the number' : 'the ' + typeof value} ${String(value)}`;
}

/**
 * The object without its undefined properties, so optional fields are absent rather than present-but-empty.
 * A plain for...in loop: it runs for every object of every document mapped, where Object.keys or
 * entries/filter/fromEntries cost more. The profiles pass object literals they have just built, so one with
 * nothing undefined is returned as it is instead of copied (a tenth of a Concur report's mapping).
 */
export function withoutUndefined<T extends object>(value: T): T {
  if (!hasUndefined(value)) return value;
  const result: Record<string, unknown> = {};
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (field === undefined) continue;
    if (key === '__proto__') {
      // Assigning "__proto__" would set the prototype; it must stay an ordinary (own) key.
      Object.defineProperty(result, key, { value: field, enumerable: true, writable: true, configurable: true });
    } else {
      result[key] = field;
    }
  }
  return result as T;
}

function hasUndefined(value: object): boolean {
  for (const key in value) {
    if ((value as Record<string, unknown>)[key] === undefined) return true;
  }
  return false;
}
