import { redactText } from '../../../lib/erp/redact';
import { mayHoldCredentials, toRedactedJson } from '../../../lib/reliability/redact';

describe('toRedactedJson', () => {
  it('replaces the values of secret-looking keys at any depth, whatever the spelling', () => {
    const value = {
      a: { b: { c: { d: { password: 'p1', Authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'k1' } } } },
      list: [{ client_secret: 's1' }, { accessToken: 't1' }, { Cookie: 'c1' }, { passwd: 'p2' }],
      apiKey: { nested: 'k2' },
      token: null,
    };
    expect(toRedactedJson(value)).toEqual({
      a: { b: { c: { d: { password: '[REDACTED]', Authorization: '[REDACTED]', 'x-api-key': '[REDACTED]' } } } },
      list: [
        { client_secret: '[REDACTED]' },
        { accessToken: '[REDACTED]' },
        { Cookie: '[REDACTED]' },
        { passwd: '[REDACTED]' },
      ],
      apiKey: '[REDACTED]',
      token: null,
    });
  });

  it('scrubs bearer and basic credentials out of free text', () => {
    expect(toRedactedJson({ note: 'header was Bearer abc.def-ghi and Basic Zm9vOmJhcg==' })).toEqual({
      note: 'header was Bearer [REDACTED] and Basic [REDACTED]',
    });
  });

  it('leaves alone only the texts that redactText would leave alone', () => {
    // toRedactedJson skips redactText for texts without "Bearer" or "Basic"; that shortcut must agree with it.
    const texts = [
      'ER-1001',
      '2026-11-27T09:14:03Z',
      'Bearer abc',
      'Basic Zm9v',
      'bearer abc',
      'x Bearer\tabc.def',
      'BasicZm9v',
      'Authorization: Bearer eyJhbGciOi.x.y',
      'token=abc Bearer  z',
      '',
    ];
    for (const text of texts) {
      const changed = redactText(text, []) !== text;
      if (changed) expect(mayHoldCredentials(text)).toBe(true);
      expect(toRedactedJson(text)).toBe(redactText(text, []));
    }
  });

  it('keeps long texts whole, because the message is replayed later', () => {
    const long = 'x'.repeat(50_000);
    expect(toRedactedJson({ receipt: long })).toEqual({ receipt: long });
  });

  it('turns what JSON cannot hold into plain JSON', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const shared = { n: 1 };
    const result = toRedactedJson({
      when: new Date('2025-03-01T00:00:00Z'),
      big: 12345678901234567890n,
      buffer: Buffer.from('hi'),
      skip: undefined,
      fn: () => 1,
      list: [undefined, NaN, 1],
      circular,
      twice: [shared, shared],
    });
    expect(result).toEqual({
      when: '2025-03-01T00:00:00.000Z',
      big: '12345678901234567890',
      buffer: { type: 'Buffer', data: [104, 105] },
      list: [null, null, 1],
      circular: { name: 'loop', self: '[Circular]' },
      twice: [{ n: 1 }, { n: 1 }],
    });
  });

  it('keeps an own __proto__ member as a member, never as the prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const result = toRedactedJson(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
