import { moneyFromJsonNumber, moneyFromMinorUnits } from '../../../lib/sources/amounts';
import { money } from '../../../lib/model/money';
import { headerValues } from '../../../lib/sources/headers';
import { shapeReader } from '../../../lib/sources/shape';
import { financeErrorOf } from './helpers';

const at = { document: 'Test report', path: '/amount/value', currencyPath: '/amount/currencyCode' };
const fromNumber = (value: unknown, currency: unknown = 'EUR') => moneyFromJsonNumber(value, currency, at);
const fromMinor = (value: unknown, currency: unknown) =>
  moneyFromMinorUnits(value, currency, { document: 'Test', path: '/line_items/0/amount/amount', currencyPath: '/c' });

describe('moneyFromJsonNumber', () => {
  it('keeps exactly the digits that were sent and pads to the currency exponent', () => {
    expect(fromNumber(12.3)).toEqual({ amount: '12.30', currency: 'EUR' });
    expect(fromNumber(0.1)).toEqual({ amount: '0.10', currency: 'EUR' });
    expect(fromNumber(1234567.89)).toEqual({ amount: '1234567.89', currency: 'EUR' });
    expect(fromNumber(5000, 'JPY')).toEqual({ amount: '5000', currency: 'JPY' });
    expect(fromNumber(1.234, 'KWD')).toEqual({ amount: '1.234', currency: 'KWD' });
    expect(fromNumber(0)).toEqual({ amount: '0.00', currency: 'EUR' });
  });

  it('pads exactly as parsing the decimal text through minor units does, for every exponent', () => {
    // The padding shortcut must agree with money(): the same canonical string for each amount it accepts.
    const values = [0, 0.5, 1, 9.9, 10, 12.34, 100.1, 999999999.99, 123456789012345, 0.001, 0.0001, 7.5];
    for (const currency of ['JPY', 'EUR', 'KWD', 'CLF']) {
      for (const value of values) {
        let expected: string | undefined;
        try {
          expected = money(String(value), currency).amount;
        } catch {
          expected = undefined; // more decimals than the currency has: the shortcut must refuse it too
        }
        if (expected === undefined) expect(() => fromNumber(value, currency)).toThrow();
        else expect(fromNumber(value, currency)).toEqual({ amount: expected, currency });
      }
    }
  });

  it('still refuses a negative amount', () => {
    expect(financeErrorOf(() => fromNumber(-12.3)).message).toMatch(/negative/);
  });

  it('gives the JSON pointer alone as the path of a negative amount or an unknown currency, the document in the message', () => {
    const negative = financeErrorOf(() => fromNumber(-12.3));
    expect(negative.details).toEqual({ document: 'Test report', path: '/amount/value' });
    expect(negative.message).toContain('Test report /amount/value: "-12.3" is negative');
    for (const unknown of [() => fromNumber(12.3, 'usd'), () => moneyFromMinorUnits(1230, 'XYZ', at)]) {
      const error = financeErrorOf(unknown);
      expect(error.code).toBe('UNKNOWN_CURRENCY');
      expect(error.details).toMatchObject({ document: 'Test report', path: '/amount/currencyCode' });
      expect(error.message).toMatch(
        /^Test report \/amount\/currencyCode: "(usd|XYZ)" is not an ISO 4217 currency code/,
      );
    }
  });

  it('reads what JSON.parse makes of Concur-style numbers such as 525.00000000 and 0E-8', () => {
    const parsed = JSON.parse('{"a": 525.00000000, "b": 0E-8, "c": 19.990}') as Record<string, number>;
    expect(fromNumber(parsed.a, 'USD').amount).toBe('525.00');
    expect(fromNumber(parsed.b, 'USD').amount).toBe('0.00');
    expect(fromNumber(parsed.c, 'USD').amount).toBe('19.99');
  });

  it('rejects a floating-point result such as 0.1 + 0.2 instead of rounding it', () => {
    const error = financeErrorOf(() => fromNumber(0.1 + 0.2));
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('Test report /amount/value: 0.30000000000000004 has 17 decimals but EUR has 2');
    expect(error.details).toEqual({ document: 'Test report', path: '/amount/value' });
    expect(error.message).toMatch(/not rounded/);
  });

  it('rejects more decimals than the currency has', () => {
    expect(financeErrorOf(() => fromNumber(12.345)).message).toContain('12.345 has 3 decimals but EUR has 2');
    expect(financeErrorOf(() => fromNumber(100.5, 'JPY')).message).toContain('JPY has 0');
  });

  it('rejects numbers that only have an exponent form', () => {
    for (const value of [1e21, 1e-7, 2.5e-9]) {
      const error = financeErrorOf(() => fromNumber(value));
      expect(error.code).toBe('INVALID_AMOUNT');
      expect(error.message).toMatch(/exponent-notation/);
    }
  });

  it('rejects integers beyond the digits a JSON number carries exactly', () => {
    const error = financeErrorOf(() => fromNumber(1234567890123456));
    expect(error.message).toMatch(/more than 15 significant digits/);
  });

  it('rejects what is not a finite number', () => {
    expect(financeErrorOf(() => fromNumber(NaN)).message).toContain('NaN is not a finite number');
    expect(financeErrorOf(() => fromNumber(Infinity)).message).toContain('Infinity is not a finite number');
    const text = financeErrorOf(() => fromNumber('12.30'));
    expect(text.code).toBe('INVALID_AMOUNT');
    expect(text.message).toContain('must be a JSON number, got "12.30"');
    expect(financeErrorOf(() => fromNumber(null)).message).toContain('got null');
  });

  it('rejects negative amounts and unknown currencies', () => {
    expect(financeErrorOf(() => fromNumber(-5)).message).toMatch(/negative/);
    const unknown = financeErrorOf(() => fromNumber(5, 'XYZ'));
    expect(unknown.code).toBe('UNKNOWN_CURRENCY');
    expect(unknown.message).toContain('Test report /amount/currencyCode');
  });
});

describe('moneyFromMinorUnits', () => {
  it('turns an integer count of minor units into a decimal string', () => {
    expect(fromMinor(4000, 'USD')).toEqual({ amount: '40.00', currency: 'USD' });
    expect(fromMinor(5, 'USD')).toEqual({ amount: '0.05', currency: 'USD' });
    expect(fromMinor(5000, 'JPY')).toEqual({ amount: '5000', currency: 'JPY' });
  });

  it('rejects fractions, negatives, unsafe integers and strings', () => {
    for (const value of [40.5, -100, 2 ** 60, '4000']) {
      const error = financeErrorOf(() => fromMinor(value, 'USD'));
      expect(error.code).toBe('INVALID_AMOUNT');
      expect(error.message).toContain('/line_items/0/amount/amount');
    }
  });
});

describe('headerValues', () => {
  it('collects every value of a header regardless of case, whitespace and arrays', () => {
    const headers = { 'X-Sig': 'a', ' x-sig ': ['b', ' c '], 'x-other': 'd', 'X-SIG': undefined, 'x-sig\t': '' };
    expect(headerValues(headers, 'x-sig')).toEqual(['a', 'b', 'c']);
    expect(headerValues(headers, 'missing')).toEqual([]);
    expect(headerValues(undefined, 'x-sig')).toEqual([]);
  });
});

describe('shapeReader', () => {
  const read = shapeReader('Test document', 'Send the right thing.');

  it('names the document, the path, what was found and what to do', () => {
    const error = financeErrorOf(() => read.string(42, '/facts/reportId'));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toBe(
      'Test document /facts/reportId: must be a non-empty string, got the number 42. Send the right thing.',
    );
    expect(error.details).toEqual({ path: '/facts/reportId', document: 'Test document' });
  });

  it('accepts real calendar dates only', () => {
    expect(read.date('2026-02-28', '/d')).toBe('2026-02-28');
    expect(read.date('2016-03-24T00:00:00', '/d')).toBe('2016-03-24');
    for (const bad of ['2026-02-30', '2026-13-01', '28.02.2026', 20260228]) {
      expect(financeErrorOf(() => read.date(bad, '/d')).code).toBe('SCHEMA_INVALID');
    }
  });

  it('accepts RFC 3339 date-times, and ones without offset only when UTC is documented', () => {
    expect(read.dateTime('2021-03-18T23:11:51.034Z', '/t')).toBe('2021-03-18T23:11:51.034Z');
    expect(read.dateTime('2026-11-27T12:00:00+01:00', '/t')).toBe('2026-11-27T12:00:00+01:00');
    expect(financeErrorOf(() => read.dateTime('2022-04-28T21:36:29.604020', '/t')).code).toBe('SCHEMA_INVALID');
    expect(read.dateTime('2022-04-28T21:36:29.604020', '/t', { assumeUtc: true })).toBe('2022-04-28T21:36:29.604020Z');
    expect(financeErrorOf(() => read.dateTime('2026-02-30T00:00:00Z', '/t')).code).toBe('SCHEMA_INVALID');
  });
});
