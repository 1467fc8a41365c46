/**
 * Strict JSON parsing for bodies from outside (webhooks, MQTT, polled APIs): a size limit, a nesting limit,
 * no keys that can reach an object's prototype and no member named twice in one object. JSON.parse itself
 * never pollutes (a "__proto__" key becomes an ordinary own property), but code that later merges or copies
 * the object can, so such keys are refused at the door (DESIGN section 8). Whether the values make sense is the
 * schema's job, not this one's.
 *
 * A member named twice (`{"amount":"10.00","amount":"9999.00"}`) is refused because parsers disagree on it:
 * JSON.parse keeps the last value, others keep the first or fail, so a signed body could mean one thing to the
 * sender and another here (a parser differential). I-JSON (RFC 7493) says member names MUST be unique.
 */
import { FinanceError } from '../errors';
import { joinPointer, pointerCut, quoteCut } from './violations';

export interface ParseJsonOptions {
  /** Largest body accepted, in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
  /** Deepest nesting of objects and arrays accepted; the top-level object is depth 1. Default 64. */
  maxDepth?: number;
}

export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;
export const DEFAULT_MAX_JSON_DEPTH = 64;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A UTF-16 surrogate without its partner (JSON "\ud800"): the string has no UTF-8 form. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/**
 * The bytes are decoded strictly (no UTF-8 form of a surrogate gets through), so only a JSON escape can make one:
 * a text without this needs no look for lone surrogates.
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** fatal: bytes that are not UTF-8 are an error, not silently replaced with U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function parseJsonSafely(raw: Buffer | string, options: ParseJsonOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  for (const [name, limit] of [
    ['maxBytes', maxBytes],
    ['maxDepth', maxDepth],
  ] as const) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new FinanceError('CONFIG_INVALID', `${name} must be a whole number of at least 1, not ${String(limit)}.`);
    }
  }
  const text = decode(raw, maxBytes);
  if (text.trim() === '') {
    throw new FinanceError('SCHEMA_INVALID', 'The body is empty; send a JSON document.');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw syntaxError(text, error);
  }
  const members = checkStructure(value, maxDepth);
  // JSON.parse keeps one key per name, so fewer keys than names written means a name was written twice.
  if (members !== countMemberNames(text)) describeDuplicate(text);
  if (SURROGATE_ESCAPE.test(text)) refuseLoneSurrogates(value);
  return value;
}

function decode(raw: Buffer | string, maxBytes: number): string {
  const isText = typeof raw === 'string';
  if (!isText && !Buffer.isBuffer(raw)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `The body must be JSON text or bytes, not ${raw === null ? 'null' : typeof raw}; pass the raw request body.`,
    );
  }
  const size = isText ? Buffer.byteLength(raw, 'utf8') : raw.length;
  if (size > maxBytes) {
    throw new FinanceError(
      'PAYLOAD_TOO_LARGE',
      `The body is ${size} bytes, more than the limit of ${maxBytes} bytes; send smaller documents or raise the limit.`,
      { details: { size, maxBytes } },
    );
  }
  if (isText) return raw;
  try {
    return UTF8.decode(raw);
  } catch {
    throw new FinanceError('SCHEMA_INVALID', 'The body is not valid UTF-8 text; send JSON encoded as UTF-8.');
  }
}

/**
 * The parser's reason and position in plain words. V8 words it as "... in JSON at position 12" (sometimes
 * followed by "(line 1 column 13)"), or as `Unexpected token 'x', "<the input>" is not valid JSON` without a
 * position; the input is never echoed back, since a body can hold personal data.
 */
function syntaxError(text: string, error: unknown): FinanceError {
  const parserMessage = error instanceof Error ? error.message : String(error);
  const positionMatch = / in JSON at position (\d+)/.exec(parserMessage);
  const tokenMatch = /^Unexpected token '?(.+?)'?, .* is not valid JSON$/s.exec(parserMessage);
  let reason: string;
  if (/^Unexpected end of JSON input/.test(parserMessage)) {
    reason = 'the JSON ends too early (a bracket, brace or string is not closed)';
  } else if (tokenMatch) {
    reason = `it has the unexpected character ${JSON.stringify(tokenMatch[1])}`;
  } else {
    const withoutPosition = parserMessage.replace(/ in JSON at position \d+.*$/s, '');
    reason = withoutPosition.charAt(0).toLowerCase() + withoutPosition.slice(1);
  }
  const details: Record<string, unknown> = {};
  let where = '';
  if (positionMatch) {
    const position = Number(positionMatch[1]);
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    Object.assign(details, { position, line, column });
    where = ` at line ${line}, column ${column}`;
  }
  return new FinanceError(
    'SCHEMA_INVALID',
    `The body is not valid JSON: ${reason}${where}. Check quotes, commas and brackets.`,
    { details },
  );
}

/**
 * Walks the parsed value without recursion, so a deep document cannot exhaust the stack. The walk that passes
 * keeps no paths (building a JSON pointer for every value was half the cost of parsing a webhook); only a
 * document that breaks a rule is walked again to say where. Returns the number of keys of all objects, which
 * the walk visits anyway, for the duplicate check.
 */
function checkStructure(root: unknown, maxDepth: number): number {
  let members = 0;
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > maxDepth) describeProblem(root, maxDepth);
    if (Array.isArray(value)) {
      for (const child of value) {
        values.push(child);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key in value) {
      if (FORBIDDEN_KEYS.has(key)) describeProblem(root, maxDepth);
      values.push((value as Record<string, unknown>)[key]);
      depths.push(depth + 1);
      members += 1;
    }
  }
  return members;
}

/** The first problem in reading order, with its JSON pointer; only called for a document that has one. */
function describeProblem(root: unknown, maxDepth: number): never {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '', depth: 0 }];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > maxDepth) {
      throw new FinanceError(
        'SCHEMA_INVALID',
        `The body is nested more than ${maxDepth} levels deep (at ${pointerCut(path) || 'the top level'}); ` +
          'flatten the document.',
        { details: { path, maxDepth } },
      );
    }
    const keys = Array.isArray(value) ? value.map((_, index) => index) : Object.keys(value);
    const forbidden = keys.find((key) => typeof key === 'string' && FORBIDDEN_KEYS.has(key));
    if (forbidden !== undefined) {
      const keyPath = joinPointer(path, forbidden);
      throw new FinanceError(
        'SCHEMA_INVALID',
        `The body has a key "${forbidden}" at ${pointerCut(keyPath)}; keys named __proto__, constructor or ` +
          'prototype are refused because they can change how JavaScript objects behave. Rename or remove the key.',
        { details: { path: keyPath, key: forbidden } },
      );
    }
    // Pushed in reverse, so the walk meets the document in reading order and reports the first problem first.
    for (let index = keys.length - 1; index >= 0; index -= 1) {
      const key = keys[index];
      const child = (value as Record<string | number, unknown>)[key];
      pending.push({ value: child, path: joinPointer(path, key), depth: depth + 1 });
    }
  }
  throw new Error('describeProblem was called for a document without a problem');
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/**
 * How many member names `text` (valid JSON: JSON.parse took it) writes. Every string is a member name or a
 * value, and only a member name is followed (after optional whitespace) by ':'; so the scan jumps from quote to
 * quote with indexOf and never decodes a string, which keeps it a small part of the parse.
 */
function countMemberNames(text: string): number {
  let names = 0;
  let start = text.indexOf('"');
  while (start !== -1) {
    let after = stringEnd(text, start) + 1;
    let code = text.charCodeAt(after);
    while (isJsonWhitespace(code)) code = text.charCodeAt(++after);
    if (code === COLON) names += 1;
    start = text.indexOf('"', after);
  }
  return names;
}

/** The index of the quote that closes the string opening at `start`: the first quote not escaped by a backslash. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (text.charCodeAt(end - 1) === BACKSLASH && isEscaped(text, end)) end = text.indexOf('"', end + 1);
  return end;
}

/** An odd run of backslashes before a quote escapes it (`\"`); an even one is escaped backslashes (`\\"`). */
function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
  return backslashes % 2 === 1;
}

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** An object or array the locator is inside, with its pointer and the member or index it is at. */
interface OpenContainer {
  pointer: string;
  /** The decoded member names seen so far; undefined for an array. */
  names: Set<string> | undefined;
  /** The member whose value comes next, or the index of the current element. */
  at: string | number;
}

/**
 * Names the first member written twice in one object, in reading order, with the pointer of that object; only
 * called when the counts say there is one. Reads the text token by token, decoding each member name with
 * JSON.parse, because "a" and "\u0061" are the same name.
 */
function describeDuplicate(text: string): never {
  const open: OpenContainer[] = [];
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    const current = open[open.length - 1];
    if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      const pointer = current === undefined ? '' : joinPointer(current.pointer, current.at);
      open.push({ pointer, names: code === 0x7b ? new Set() : undefined, at: 0 });
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      open.pop();
    } else if (code === 0x2c /* , */ && current.names === undefined) {
      current.at = (current.at as number) + 1;
    } else if (code === QUOTE) {
      const end = stringEnd(text, index);
      let after = end + 1;
      while (isJsonWhitespace(text.charCodeAt(after))) after += 1;
      if (text.charCodeAt(after) === COLON) {
        const member = JSON.parse(text.slice(index, end + 1)) as string;
        if (current.names!.has(member)) throw duplicateMember(current.pointer, member);
        current.names!.add(member);
        current.at = member;
      }
      index = end;
    }
  }
  throw new Error('describeDuplicate was called for a document without a duplicate member');
}

function duplicateMember(pointer: string, member: string): FinanceError {
  const where = pointer === '' ? 'the top-level object' : `the object at ${pointerCut(pointer)}`;
  const field = joinPointer(pointer, member);
  return new FinanceError(
    'SCHEMA_INVALID',
    `The body has the member ${quoteCut(member)} more than once in ${where}; JSON parsers disagree on which ` +
      'value counts, so such a body is refused. Send each member once.',
    { details: { field, path: field, pointer, member } },
  );
}

/**
 * Refuses a text with an unpaired surrogate (JSON "\ud83d", e.g. an emoji cut in half), in a value or a member
 * name. It has no UTF-8 form, so the store would keep replacement characters instead of what was sent (and a
 * redelivery of the same bytes would no longer equal its stored copy); I-JSON (RFC 7493) forbids it too.
 */
function refuseLoneSurrogates(root: unknown): void {
  const pending: Array<{ value: unknown; pointer: string }> = [{ value: root, pointer: '' }];
  while (pending.length > 0) {
    const { value, pointer } = pending.pop()!;
    if (typeof value === 'string') {
      const lone = LONE_SURROGATE.exec(value);
      if (lone) throw loneSurrogate(lone, pointer, 'text');
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, pointer: joinPointer(pointer, index) }));
    } else if (typeof value === 'object' && value !== null) {
      for (const [name, member] of Object.entries(value)) {
        const lone = LONE_SURROGATE.exec(name);
        if (lone) throw loneSurrogate(lone, joinPointer(pointer, name), 'member name');
        pending.push({ value: member, pointer: joinPointer(pointer, name) });
      }
    }
  }
}

function loneSurrogate(lone: RegExpExecArray, pointer: string, what: string): FinanceError {
  const codePoint = `U+${lone[0].charCodeAt(0).toString(16).toUpperCase()}`;
  return new FinanceError(
    'SCHEMA_INVALID',
    `The body has the unpaired surrogate ${codePoint} in the ${what} at ${pointerCut(pointer) || 'the top level'} ` +
      `(position ${lone.index}): it is half of a character (an emoji cut in two, for example) and has no UTF-8 ` +
      'form, so it cannot be stored as sent. Send well-formed text.',
    { details: { field: pointer, path: pointer, codePoint, position: lone.index } },
  );
}
