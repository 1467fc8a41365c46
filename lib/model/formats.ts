/**
 * The `date` and `date-time` formats of the canonical schemas (RFC 3339 full-date and date-time with a time
 * zone), checked without regular expressions for the shapes documents nearly always have:
 * "2026-03-31", and "2026-03-31T12:00:00Z" or "...T12:00:00.123+02:00".
 *
 * Why: every document is validated by each node that reads it, and ajv-formats' checks (a split and two
 * regular expressions with captures per value) were half the schema validation of an expense report.
 *
 * These checks only ever say yes on their own: whatever is not plainly valid in the common shape is passed to
 * ajv-formats' own check, which decides. So a value is accepted exactly when ajv-formats accepts it (a test
 * compares the two on every shape of date and many random strings).
 */
import type { FormatDefinition } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';

type FormatCheck = (value: string) => boolean;

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const UPPER_T = 84;
const UPPER_Z = 90;

/** The digit at `index`, or -1 for any other character. */
function digit(text: string, index: number): number {
  const value = text.charCodeAt(index) - 48;
  return value >= 0 && value <= 9 ? value : -1;
}

/** The number of the two digits at `index`, or -1 unless both are digits. */
function twoDigits(text: string, index: number): number {
  const tens = digit(text, index);
  const ones = digit(text, index + 1);
  return tens < 0 || ones < 0 ? -1 : tens * 10 + ones;
}

/**
 * True when `text` starts with a real calendar day "YYYY-MM-DD" ("2026-02-30" is not one, though Date.parse
 * would make it March 2nd). Arithmetic rather than Date objects: this runs for every date of every document.
 */
export function startsWithCalendarDate(text: string): boolean {
  if (text.length < 10 || text.charCodeAt(4) !== MINUS || text.charCodeAt(7) !== MINUS) return false;
  const century = twoDigits(text, 0);
  const yearOfCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  if (century < 0 || yearOfCentury < 0 || month < 1 || month > 12 || day < 1) return false;
  const year = century * 100 + yearOfCentury;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]);
}

/** "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" with every field in range; false for anything else. */
function isCommonDateTime(text: string): boolean {
  const length = text.length;
  if (length < 20 || text.charCodeAt(10) !== UPPER_T || !startsWithCalendarDate(text)) return false;
  if (text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON) return false;
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  // A leap second (":60") is left to ajv-formats, which allows it only at 23:59 UTC.
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  let index = 19;
  if (text.charCodeAt(index) === DOT) {
    index += 1;
    const fractionStart = index;
    while (index < length && digit(text, index) >= 0) index += 1;
    if (index === fractionStart) return false;
  }
  if (index === length - 1) return text.charCodeAt(index) === UPPER_Z;
  if (index !== length - 6) return false;
  const sign = text.charCodeAt(index);
  if ((sign !== PLUS && sign !== MINUS) || text.charCodeAt(index + 3) !== COLON) return false;
  const offsetHours = twoDigits(text, index + 1);
  const offsetMinutes = twoDigits(text, index + 4);
  return offsetHours >= 0 && offsetHours <= 23 && offsetMinutes >= 0 && offsetMinutes <= 59;
}

/**
 * ajv-formats' definition of the format (its check, and its comparison for formatMinimum and the like) with a
 * check that says yes to the common shape on its own and asks ajv-formats' check about anything else.
 */
function withFastPath(name: 'date' | 'date-time', isCommon: FormatCheck): FormatDefinition<string> {
  const full = fullFormats[name] as FormatDefinition<string>;
  const fullCheck = full.validate as FormatCheck;
  return { ...full, validate: (value: string) => isCommon(value) || fullCheck(value) };
}

/** Register with `ajv.addFormat(name, definition)` after ajv-formats, in place of its own. */
export const FAST_FORMATS: Readonly<Record<'date' | 'date-time', FormatDefinition<string>>> = {
  date: withFastPath('date', (value) => value.length === 10 && startsWithCalendarDate(value)),
  'date-time': withFastPath('date-time', isCommonDateTime),
};
