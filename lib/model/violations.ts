/**
 * Turns Ajv's errors into violations an integration analyst can act on: a JSON pointer to the field, the
 * rule that failed and a sentence in plain words ("/lines/0/amount/currency must be a 3-letter ISO 4217 code
 * such as EUR"). Ajv's own messages ("must match pattern "^[A-Z]{3}$"") name regular expressions, which is
 * not something the person fixing the source system can use.
 */
import type { ErrorObject } from 'ajv';
import { AMOUNT_PATTERN, CURRENCY_PATTERN } from './schemas/money';
import { COUNTRY_PATTERN, PERCENT_PATTERN, PERIOD_PATTERN, QUANTITY_PATTERN, RATE_PATTERN } from './schemas/common';

export interface Violation {
  /** JSON pointer to the field, e.g. "/lines/0/amount/amount"; "" is the whole document. */
  path: string;
  /** The rule that failed: an Ajv keyword ("required", "pattern"...) or a money rule ("precision", "split"...). */
  rule: string;
  /** What is wrong and what to do, in plain words. */
  message: string;
}

/** What each pattern means, worded for the message "<path> must be <phrase>". */
const PATTERN_PHRASES: Readonly<Record<string, string>> = {
  [AMOUNT_PATTERN]: 'a decimal string such as "12.50"',
  [CURRENCY_PATTERN]: 'a 3-letter ISO 4217 code such as EUR',
  [PERIOD_PATTERN]: 'a fiscal period in the form YYYY-MM such as 2026-11',
  [PERCENT_PATTERN]: 'a percentage such as "25" or "33.33" (at most 2 decimals)',
  [QUANTITY_PATTERN]: 'a quantity such as "2" or "1.5" (a string, not negative, at most 6 decimals)',
  [COUNTRY_PATTERN]: 'a 2-letter ISO 3166 country code such as DE',
  [RATE_PATTERN]: 'a percentage rate such as "19.00" (at most 4 decimals)',
};

const FORMAT_PHRASES: Readonly<Record<string, string>> = {
  date: 'a date in the form YYYY-MM-DD such as 2026-11-27',
  'date-time': 'a date and time with a time zone such as 2026-11-27T09:14:03Z',
  email: 'an e-mail address such as jana.novak@example.com',
};

/**
 * Escapes one key for a JSON pointer (RFC 6901: "~" -> "~0", "/" -> "~1"). The money checks build a pointer
 * for every field of every valid document, and nearly no key needs escaping, so that case skips the replaces.
 */
export function pointerSegment(key: string | number): string {
  const text = String(key);
  if (!text.includes('~') && !text.includes('/')) return text;
  return text.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function joinPointer(base: string, ...keys: Array<string | number>): string {
  let pointer = base;
  for (const key of keys) pointer += '/' + pointerSegment(key);
  return pointer;
}

/** How a path is named at the start of a sentence; the root has no pointer worth showing. */
function subject(path: string): string {
  return path === '' ? 'The document' : path;
}

/**
 * At most this many characters of a value, key or identifier from the document are quoted in a message. A
 * refusal repeats its messages (errors[] and detail), so an uncut 800 KB lineId or field name would come back
 * larger than it was sent. Paths stay whole: they are the pointers a sender needs to find the field.
 */
const MAX_QUOTED_CHARACTERS = 40;

/** Text from the document, quoted for a message and cut to MAX_QUOTED_CHARACTERS ("..." marks the cut). */
export function quoteCut(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED_CHARACTERS ? text.slice(0, MAX_QUOTED_CHARACTERS) + '...' : text);
}

/** A JSON pointer for a message, each key in it cut like quoteCut cuts (the whole pointer stays in `path`). */
export function pointerCut(pointer: string): string {
  if (pointer.length <= MAX_QUOTED_CHARACTERS) return pointer;
  return pointer
    .split('/')
    .map((key) => (key.length > MAX_QUOTED_CHARACTERS ? key.slice(0, MAX_QUOTED_CHARACTERS) + '...' : key))
    .join('/');
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return quoteCut(value);
  if (typeof value === 'object') return 'an object';
  return `the ${typeof value} ${String(value)}`;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function expectedType(type: unknown): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    integer: 'a whole number',
    boolean: 'true or false',
    object: 'an object',
    array: 'a list',
    null: 'null',
  };
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => names[String(t)] ?? String(t)).join(' or ');
}

function quoteList(values: readonly unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join(', ');
}

/** A oneOf/anyOf whose branches each only require one field ("percent" or "amount"). */
function branchFields(branches: unknown): string[] | undefined {
  if (!Array.isArray(branches)) return undefined;
  const fields: string[] = [];
  for (const branch of branches) {
    const required = (branch as { required?: unknown }).required;
    if (Object.keys(branch as object).length !== 1 || !Array.isArray(required) || required.length !== 1)
      return undefined;
    fields.push(String(required[0]));
  }
  return fields;
}

function toViolation(error: ErrorObject): Violation {
  const path = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const rule = error.keyword;
  switch (error.keyword) {
    case 'required': {
      const field = String(params.missingProperty);
      return {
        path: joinPointer(path, field),
        rule,
        message: `${subject(path)} is missing the required field "${field}".`,
      };
    }
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = Object.keys((parent.properties as object | undefined) ?? {});
      return {
        path: joinPointer(path, field),
        rule,
        message:
          `${subject(path)} has a field ${quoteCut(field)} that is not allowed (check the spelling` +
          (allowed.length > 0 ? `; allowed fields: ${allowed.join(', ')})` : ')') +
          '.',
      };
    }
    case 'type': {
      const amountHint =
        parent.pattern === AMOUNT_PATTERN && typeof error.data === 'number'
          ? ': write amounts as decimal strings such as "12.50", because JSON numbers are floats and lose cents'
          : '';
      return {
        path,
        rule,
        message: `${subject(path)} must be ${expectedType(params.type)}, not ${describeType(error.data)}${amountHint}.`,
      };
    }
    case 'pattern': {
      const phrase = PATTERN_PHRASES[String(params.pattern)] ?? `text matching ${String(params.pattern)}`;
      return { path, rule, message: `${subject(path)} must be ${phrase} (got ${describeValue(error.data)}).` };
    }
    case 'format': {
      const phrase = FORMAT_PHRASES[String(params.format)] ?? `in the format ${String(params.format)}`;
      return { path, rule, message: `${subject(path)} must be ${phrase} (got ${describeValue(error.data)}).` };
    }
    case 'enum':
      return {
        path,
        rule,
        message:
          `${subject(path)} must be one of ${quoteList(params.allowedValues as unknown[])} ` +
          `(got ${describeValue(error.data)}).`,
      };
    case 'const':
      return {
        path,
        rule,
        message: `${subject(path)} must be ${JSON.stringify(params.allowedValue)} (got ${describeValue(error.data)}).`,
      };
    case 'minItems':
      return { path, rule, message: `${subject(path)} must have at least ${String(params.limit)} item(s).` };
    case 'maxItems':
      return { path, rule, message: `${subject(path)} must have at most ${String(params.limit)} item(s).` };
    case 'minLength':
      return {
        path,
        rule,
        message:
          params.limit === 1
            ? `${subject(path)} must not be empty.`
            : `${subject(path)} must be at least ${String(params.limit)} characters long.`,
      };
    case 'maxLength':
      return { path, rule, message: `${subject(path)} must be at most ${String(params.limit)} characters long.` };
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const words: Record<string, string> = {
        minimum: 'at least',
        exclusiveMinimum: 'more than',
        maximum: 'at most',
        exclusiveMaximum: 'less than',
      };
      return {
        path,
        rule,
        message: `${subject(path)} must be ${words[error.keyword]} ${String(params.limit)} (got ${describeValue(error.data)}).`,
      };
    }
    case 'uniqueItems':
      return {
        path,
        rule,
        message: `${subject(path)} must not list the same value twice (items ${String(params.j)} and ${String(params.i)} are equal).`,
      };
    case 'oneOf':
    case 'anyOf': {
      const fields = branchFields(error.schema);
      const count = error.keyword === 'oneOf' ? 'exactly one' : 'at least one';
      return {
        path,
        rule,
        message: fields
          ? `${subject(path)} must have ${count} of the fields ${fields.map((f) => `"${f}"`).join(' or ')}.`
          : `${subject(path)} must match ${count} of the allowed shapes.`,
      };
    }
    default:
      return { path, rule, message: `${subject(path)} ${error.message ?? 'is not valid'}.` };
  }
}

/**
 * Violations for Ajv's errors (Ajv must run with `verbose: true` so errors carry the data and schema).
 * Errors raised inside a failed oneOf/anyOf branch are dropped: the oneOf/anyOf message already says what
 * is expected, and "must have required property percent" next to "... amount" would only confuse.
 */
export function violationsFromAjv(errors: readonly ErrorObject[]): Violation[] {
  const alternatives = errors.filter((error) => error.keyword === 'oneOf' || error.keyword === 'anyOf');
  const insideAlternative = (error: ErrorObject): boolean =>
    alternatives.some(
      (alternative) =>
        error.schemaPath.startsWith(alternative.schemaPath + '/') &&
        (error.instancePath === alternative.instancePath ||
          error.instancePath.startsWith(alternative.instancePath + '/')),
    );
  return errors.filter((error) => !insideAlternative(error)).map(toViolation);
}
