import { FinanceError } from '../../../lib/errors';
import { DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_JSON_DEPTH, parseJsonSafely } from '../../../lib/model/safe-json';

function thrown(fn: () => unknown): FinanceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FinanceError);
    return error as FinanceError;
  }
  throw new Error('expected a FinanceError');
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('parseJsonSafely', () => {
  test('parses strings and buffers', () => {
    const body = '{"amount":{"amount":"12.50","currency":"EUR"},"lines":[1,"two",null,true]}';
    const expected = { amount: { amount: '12.50', currency: 'EUR' }, lines: [1, 'two', null, true] };
    expect(parseJsonSafely(body)).toEqual(expected);
    expect(parseJsonSafely(Buffer.from(body))).toEqual(expected);
    expect(parseJsonSafely(Buffer.from('"Zürich 北京"'))).toBe('Zürich 北京');
    expect(parseJsonSafely('42')).toBe(42);
  });

  test('a UTF-8 byte order mark at the start of a buffer is tolerated', () => {
    expect(parseJsonSafely(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]))).toEqual({ a: 1 });
  });

  test('bodies over maxBytes are PAYLOAD_TOO_LARGE, counted in UTF-8 bytes', () => {
    const error = thrown(() => parseJsonSafely('{"a":"0123456789"}', { maxBytes: 10 }));
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toBe(
      'The body is 18 bytes, more than the limit of 10 bytes; send smaller documents or raise the limit.',
    );
    expect(error.details).toEqual({ size: 18, maxBytes: 10 });
    expect(parseJsonSafely('"üü"', { maxBytes: 6 })).toBe('üü');
    expect(thrown(() => parseJsonSafely('"üü"', { maxBytes: 5 })).code).toBe('PAYLOAD_TOO_LARGE');
    expect(thrown(() => parseJsonSafely(Buffer.alloc(11, 0x20), { maxBytes: 10 })).code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('the default limit is 1 MiB', () => {
    expect(DEFAULT_MAX_JSON_BYTES).toBe(1048576);
    const exactly = `"${'x'.repeat(DEFAULT_MAX_JSON_BYTES - 2)}"`;
    expect(parseJsonSafely(exactly)).toHaveLength(DEFAULT_MAX_JSON_BYTES - 2);
    expect(thrown(() => parseJsonSafely(exactly + ' ')).code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('malformed JSON is SCHEMA_INVALID with the position in plain words', () => {
    const error = thrown(() => parseJsonSafely('{"a":1'));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toMatch(
      /^The body is not valid JSON: .+ at line 1, column 7\. Check quotes, commas and brackets\.$/,
    );
    expect(error.details).toEqual({ position: 6, line: 1, column: 7 });

    const multiLine = thrown(() => parseJsonSafely('{\n  "a": 1,\n  "b": 2,\n}'));
    expect(multiLine.message).toContain('at line 4, column 1');
    expect(multiLine.details).toMatchObject({ line: 4, column: 1 });
  });

  test('the parser message never echoes the body back', () => {
    const error = thrown(() => parseJsonSafely('{"password":"hunter2", oops}'));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).not.toContain('hunter2');
    const token = thrown(() => parseJsonSafely('{"token":"s3cr3t":}'));
    expect(token.message).not.toContain('s3cr3t');
    expect(token.message).toMatch(/^The body is not valid JSON: /);
  });

  test('an unexpected character without a position is named', () => {
    expect(thrown(() => parseJsonSafely('nope')).message).toMatch(/^The body is not valid JSON: .*"o".*\./);
  });

  test('a body that ends too early', () => {
    expect(thrown(() => parseJsonSafely('{"a":"')).message).toContain('not valid JSON');
    expect(thrown(() => parseJsonSafely('[')).code).toBe('SCHEMA_INVALID');
  });

  test('empty bodies, invalid UTF-8 and non-text input are SCHEMA_INVALID', () => {
    expect(thrown(() => parseJsonSafely('')).message).toBe('The body is empty; send a JSON document.');
    expect(thrown(() => parseJsonSafely(' \n\t')).code).toBe('SCHEMA_INVALID');
    expect(thrown(() => parseJsonSafely(Buffer.from([0x22, 0xff, 0x22]))).message).toContain('not valid UTF-8');
    expect(thrown(() => parseJsonSafely({ a: 1 } as unknown as string)).message).toContain(
      'must be JSON text or bytes, not object',
    );
    expect(thrown(() => parseJsonSafely(null as unknown as string)).message).toContain('not null');
  });

  test.each(['__proto__', 'constructor', 'prototype'])('a "%s" key is refused at any depth, naming its path', (key) => {
    const top = thrown(() => parseJsonSafely(`{"${key}":{"polluted":true}}`));
    expect(top.code).toBe('SCHEMA_INVALID');
    expect(top.details).toEqual({ path: `/${key}`, key });

    const deep = thrown(() => parseJsonSafely(`{"lines":[{"ok":1},{"dimensions":{"${key}":{"polluted":true}}}]}`));
    expect(deep.code).toBe('SCHEMA_INVALID');
    expect(deep.message).toBe(
      `The body has a key "${key}" at /lines/1/dimensions/${key}; keys named __proto__, constructor or prototype ` +
        'are refused because they can change how JavaScript objects behave. Rename or remove the key.',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('the first offending key in reading order is reported', () => {
    const error = thrown(() => parseJsonSafely('{"a":{"b":{"constructor":1}},"z":{"__proto__":1}}'));
    expect(error.details).toEqual({ path: '/a/b/constructor', key: 'constructor' });
  });

  test('look-alike keys and forbidden words as values are fine', () => {
    const value = parseJsonSafely('{"proto":1,"__proto__x":2,"Constructor":3,"name":"__proto__","list":["prototype"]}');
    expect(value).toEqual({ proto: 1, __proto__x: 2, Constructor: 3, name: '__proto__', list: ['prototype'] });
  });

  test('nesting deeper than maxDepth is refused', () => {
    expect(DEFAULT_MAX_JSON_DEPTH).toBe(64);
    expect(parseJsonSafely(nested(64))).toBeDefined();
    const error = thrown(() => parseJsonSafely(nested(65)));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toMatch(
      /^The body is nested more than 64 levels deep \(at (\/0){64}\); flatten the document\.$/,
    );
    expect(parseJsonSafely('{"a":{"b":1}}', { maxDepth: 2 })).toEqual({ a: { b: 1 } });
    expect(thrown(() => parseJsonSafely('{"a":{"b":[]}}', { maxDepth: 2 })).details).toEqual({
      path: '/a/b',
      maxDepth: 2,
    });
  });

  test('a hostile depth of 100,000 levels is refused without exhausting the stack', () => {
    const error = thrown(() => parseJsonSafely(nested(100000), { maxBytes: 1_000_000 }));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain('nested more than 64 levels');
  });

  test('keys with "/" or "~" are escaped in the reported path', () => {
    const error = thrown(() => parseJsonSafely('{"a/b":{"c~d":{"__proto__":1}}}'));
    expect(error.details).toEqual({ path: '/a~1b/c~0d/__proto__', key: '__proto__' });
  });

  test('bad limits are a configuration error', () => {
    for (const options of [{ maxBytes: 0 }, { maxBytes: -1 }, { maxDepth: 1.5 }, { maxDepth: Number.NaN }]) {
      expect(thrown(() => parseJsonSafely('{}', options)).code).toBe('CONFIG_INVALID');
    }
  });
});
