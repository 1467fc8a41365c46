import * as fs from 'node:fs';
import * as path from 'node:path';
import { FinanceError } from '../../../lib/errors';
import { DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_JSON_DEPTH, parseJsonSafely } from '../../../lib/model/safe-json';
import { joinPointer } from '../../../lib/model/violations';
import { PROFILE_NAMES } from '../../../lib/sources/profiles';
import { sampleEvent } from '../../../lib/sources/sampleEvents';
import { SPECS_DIR } from '../../support/shared';

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

  test('an unpaired surrogate in a value or a member name is refused with its pointer; pairs and escaped text pass', () => {
    const inValue = thrown(() => parseJsonSafely('{"lines":[{"merchant":"Caf\\u00e9 \\ud83d"}]}'));
    expect(inValue).toMatchObject({
      code: 'SCHEMA_INVALID',
      details: { field: '/lines/0/merchant', codePoint: 'U+D83D', position: 5 },
    });
    expect(inValue.message).toBe(
      'The body has the unpaired surrogate U+D83D in the text at /lines/0/merchant (position 5): it is half of a ' +
        'character (an emoji cut in two, for example) and has no UTF-8 form, so it cannot be stored as sent. Send ' +
        'well-formed text.',
    );
    const inName = thrown(() => parseJsonSafely('{"a":{"\\udc00x":1}}'));
    expect(inName.message).toContain('U+DC00 in the member name at /a/\udc00x (position 0)');
    expect(thrown(() => parseJsonSafely('["\\ud800\\ud800\\udc00"]')).details).toMatchObject({ field: '/0' });
    // A whole pair, the same character written as UTF-8, and an escaped backslash before "ud800" are fine.
    expect(parseJsonSafely('{"m":"\\ud83d\\ude00"}')).toEqual({ m: '\u{1f600}' });
    expect(parseJsonSafely(Buffer.from('{"m":"\u{1f600}"}'))).toEqual({ m: '\u{1f600}' });
    expect(parseJsonSafely('{"m":"\\\\ud800"}')).toEqual({ m: '\\ud800' });
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

  describe('a member named twice in one object', () => {
    test('is refused at the top level, naming the member and the object', () => {
      const error = thrown(() => parseJsonSafely('{"amount":"10.00","amount":"9999.00"}'));
      expect(error.code).toBe('SCHEMA_INVALID');
      expect(error.message).toBe(
        'The body has the member "amount" more than once in the top-level object; JSON parsers disagree on which ' +
          'value counts, so such a body is refused. Send each member once.',
      );
      expect(error.details).toEqual({ field: '/amount', path: '/amount', pointer: '', member: 'amount' });
    });

    test('is refused inside arrays and nested objects, with the pointer of the object that holds it', () => {
      const body = '{"data":{"lines":[{"amount":"1.00","currency":"EUR","currency":"USD"},{"amount":"2.00"}]}}';
      const error = thrown(() => parseJsonSafely(body));
      expect(error.message).toContain('the member "currency" more than once in the object at /data/lines/0;');
      expect(error.details).toEqual({
        field: '/data/lines/0/currency',
        path: '/data/lines/0/currency',
        pointer: '/data/lines/0',
        member: 'currency',
      });
      expect(thrown(() => parseJsonSafely('[1,[{"a":1}],{"b":{"c":[{}, {"d":1,"d":1}]}}]')).details).toMatchObject({
        pointer: '/2/b/c/1',
        member: 'd',
      });
    });

    test('compares names as decoded text: "a" and "\\u0061" are the same member', () => {
      expect(thrown(() => parseJsonSafely('{"a":1,"\\u0061":2}')).details).toMatchObject({ pointer: '', member: 'a' });
      expect(thrown(() => parseJsonSafely('{"x":{"\\"q":1,"\\u0022q":2}}')).details).toMatchObject({
        pointer: '/x',
        member: '"q',
      });
      expect(parseJsonSafely('{"a":1,"A":2,"\\u0041\\u0061":3}')).toEqual({ a: 1, A: 2, Aa: 3 });
    });

    test('is found whatever the names and values hold: escaped quotes, colons, text that looks like a member', () => {
      const legit = '{"a\\":b":1, "v" : "\\"a\\":\\":", "w":"\\\\", "x":"\\\\\\"y\\":", "a:":[":", "\\"a\\":"]}';
      expect(parseJsonSafely(legit)).toEqual({ 'a":b': 1, v: '"a":":', w: '\\', x: '\\"y":', 'a:': [':', '"a":'] });
      expect(
        thrown(() => parseJsonSafely('{"v":"\\"k\\":1,\\"k\\":2", "a\\":b":1 ,\n "a\\":b"\t:\r2}')).details,
      ).toEqual({ field: '/a":b', path: '/a":b', pointer: '', member: 'a":b' });
      expect(thrown(() => parseJsonSafely('{"k":"\\\\","k":"\\\\"}')).details).toMatchObject({ member: 'k' });
    });

    test('the same name in different objects is fine, and the first duplicate in reading order is named', () => {
      expect(parseJsonSafely('{"a":{"a":1},"b":[{"a":1},{"a":2}]}')).toEqual({ a: { a: 1 }, b: [{ a: 1 }, { a: 2 }] });
      const error = thrown(() => parseJsonSafely('{"a":{"b":1,"b":2},"a":3}'));
      expect(error.details).toMatchObject({ pointer: '/a', member: 'b' });
    });

    test('pointers escape "/" and "~", and long names are cut in the message but whole in details', () => {
      expect(thrown(() => parseJsonSafely('{"a/b":{"c~d":1,"c~d":2}}')).details).toMatchObject({
        field: '/a~1b/c~0d',
        pointer: '/a~1b',
      });
      const long = 'n'.repeat(100);
      const error = thrown(() => parseJsonSafely(`{"${long}":1,"${long}":2}`));
      expect(error.message).toContain(`"${'n'.repeat(40)}..."`);
      expect(error.details).toMatchObject({ member: long });
    });

    test('sample events of every profile and the vendor specs still parse', () => {
      for (const profile of PROFILE_NAMES) {
        for (let seed = 1; seed <= 20; seed += 1) {
          const event = sampleEvent({ profile, seed, secret: 'c2VjcmV0LXNlY3JldA==', now: () => 1_795_000_000_000 });
          expect(parseJsonSafely(event.rawBody)).toEqual(JSON.parse(event.rawBody.toString('utf8')));
          if (event.fetched) expect(parseJsonSafely(JSON.stringify(event.fetched))).toEqual(event.fetched);
        }
      }
      const specs = fs.readdirSync(path.join(SPECS_DIR, 'concur')).filter((name) => name.endsWith('.json'));
      expect(specs.length).toBeGreaterThan(0);
      for (const name of specs) {
        const text = fs.readFileSync(path.join(SPECS_DIR, 'concur', name), 'utf8');
        expect(parseJsonSafely(text)).toEqual(JSON.parse(text));
      }
    });

    test('the fast check agrees with a slow reference on thousands of generated bodies', () => {
      const random = seededRandom(20261127);
      let duplicates = 0;
      for (let round = 0; round < 4000; round += 1) {
        const text = generatedBody(random);
        const expected = firstDuplicate(text);
        let found: { pointer: string; member: string } | undefined;
        try {
          parseJsonSafely(text);
        } catch (error) {
          const details = (error as FinanceError).details as { pointer: string; member: string };
          found = { pointer: details.pointer, member: details.member };
        }
        if (expected) duplicates += 1;
        // On a mismatch, the body is in the failure message.
        expect({ text, found }).toEqual({ text, found: expected });
      }
      // Both verdicts are common, so each side of the check is exercised.
      expect(duplicates).toBeGreaterThan(500);
      expect(duplicates).toBeLessThan(3500);
    });
  });
});

/** A small deterministic generator (mulberry32), so a failure can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** String tokens as written in JSON: escapes, look-alikes of one another, quotes, colons and member-like text. */
const NAME_TOKENS = ['"a"', '"\\u0061"', '"b"', '"a\\"b"', '"a\\u0022b"', '"x:"', '":"', '""', '"\\\\"', '"\\"x\\":"'];
const VALUE_TOKENS = [
  '"\\"x\\":"',
  '":"',
  '"a"',
  '"\\\\"',
  '"\\""',
  '" : "',
  '"\\"a\\" : 1"',
  '1',
  '-2.5e3',
  'true',
  'null',
];
const SPACES = ['', '', '', ' ', '\n', '\t ', '\r\n  '];

/** A random JSON text of objects and arrays up to four levels deep, often with a member named twice. */
function generatedBody(random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const space = () => pick(SPACES);
  const value = (depth: number): string => {
    const roll = random();
    if (depth >= 4 || roll < 0.35) return pick(VALUE_TOKENS);
    const count = Math.floor(random() * 4);
    const items: string[] = [];
    if (roll < 0.5) {
      for (let index = 0; index < count; index += 1) items.push(space() + value(depth + 1) + space());
      return `[${items.join(',')}]`;
    }
    for (let index = 0; index < count; index += 1) {
      items.push(space() + pick(NAME_TOKENS) + space() + ':' + space() + value(depth + 1) + space());
    }
    return `{${items.join(',')}}`;
  };
  return space() + value(0) + space();
}

/**
 * The slow reference: a recursive-descent reader of the whole text that decodes every member name and names
 * the first one, in reading order, met a second time in its object.
 */
function firstDuplicate(text: string): { pointer: string; member: string } | undefined {
  let at = 0;
  let found: { pointer: string; member: string } | undefined;
  const skipSpace = () => {
    while (/[ \t\r\n]/.test(text.charAt(at))) at += 1;
  };
  const readString = (): string => {
    const token = /"(?:[^"\\]|\\.)*"/y;
    token.lastIndex = at;
    const match = token.exec(text)!;
    at += match[0].length;
    return JSON.parse(match[0]) as string;
  };
  const readValue = (pointer: string): void => {
    skipSpace();
    const start = text.charAt(at);
    if (start === '{') {
      at += 1;
      const names = new Set<string>();
      skipSpace();
      while (text.charAt(at) !== '}') {
        skipSpace();
        const name = readString();
        if (names.has(name) && !found) found = { pointer, member: name };
        names.add(name);
        skipSpace();
        at += 1; // ':'
        readValue(joinPointer(pointer, name));
        skipSpace();
        if (text.charAt(at) === ',') at += 1;
      }
      at += 1;
    } else if (start === '[') {
      at += 1;
      let index = 0;
      skipSpace();
      while (text.charAt(at) !== ']') {
        readValue(joinPointer(pointer, index));
        index += 1;
        skipSpace();
        if (text.charAt(at) === ',') at += 1;
      }
      at += 1;
    } else if (start === '"') {
      readString();
    } else {
      at += /^[^,\]}\s]+/.exec(text.slice(at))![0].length;
    }
  };
  readValue('');
  return found;
}
