/**
 * Strict JSON parsing for bodies from outside (webhooks, MQTT, polled APIs): a size limit, a nesting limit
 * and no keys that can reach an object's prototype. JSON.parse itself never pollutes (a "__proto__" key
 * becomes an ordinary own property), but code that later merges or copies the object can, so such keys are
 * refused at the door (DESIGN section 8). Whether the values make sense is the schema's job, not this one's.
 */
import { FinanceError } from '../errors';
import { joinPointer, pointerCut } from './violations';

export interface ParseJsonOptions {
  /** Largest body accepted, in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
  /** Deepest nesting of objects and arrays accepted; the top-level object is depth 1. Default 64. */
  maxDepth?: number;
}

export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;
export const DEFAULT_MAX_JSON_DEPTH = 64;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

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
  checkStructure(value, maxDepth);
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
 * document that breaks a rule is walked again to say where.
 */
function checkStructure(root: unknown, maxDepth: number): void {
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
    }
  }
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
