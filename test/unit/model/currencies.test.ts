import { KNOWN_CURRENCIES, currencyExponent, isKnownCurrency } from '../../../lib/model/currencies';

describe('ISO 4217 exponents', () => {
  test.each([
    ['EUR', 2],
    ['USD', 2],
    ['GBP', 2],
    ['CHF', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['ISK', 0],
    ['CLP', 0],
    ['VND', 0],
    ['KWD', 3],
    ['BHD', 3],
    ['OMR', 3],
    ['JOD', 3],
    ['TND', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['HUF', 2],
    ['IDR', 2],
  ])('%s has %i decimals', (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
    expect(isKnownCurrency(code)).toBe(true);
  });

  test('retired, precious-metal, fund-less and malformed codes are unknown', () => {
    for (const code of ['HRK', 'XAU', 'XDR', 'eur', 'EURO', '', 'constructor', '__proto__']) {
      expect(currencyExponent(code)).toBeUndefined();
      expect(isKnownCurrency(code)).toBe(false);
    }
    expect(isKnownCurrency(978)).toBe(false);
    expect(isKnownCurrency(null)).toBe(false);
  });

  test('the list is sorted, unique, upper-case three-letter codes', () => {
    expect(KNOWN_CURRENCIES.length).toBeGreaterThan(150);
    expect([...KNOWN_CURRENCIES].sort()).toEqual(KNOWN_CURRENCIES);
    expect(new Set(KNOWN_CURRENCIES).size).toBe(KNOWN_CURRENCIES.length);
    for (const code of KNOWN_CURRENCIES) expect(code).toMatch(/^[A-Z]{3}$/);
  });
});
