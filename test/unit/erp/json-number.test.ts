import { jsonNumber } from '../../../lib/erp/json-number';

describe('jsonNumber', () => {
  it.each([
    ['12.50', 12.5],
    ['-0.01', -0.01],
    ['999999999999999', 999999999999999],
    ['9999999999999.99', 9999999999999.99],
    ['0.000001', 0.000001],
    ['1200000000000000000', 1.2e18],
  ])('sends %s as the number %d', (decimal, expected) => {
    expect(jsonNumber(decimal, 'amount')).toBe(expected);
  });

  it.each(['90071992547409.93', '9007199254740993', '1234567890.1234567'])(
    'refuses %s, which a double would change',
    (decimal) => {
      expect(() => jsonNumber(decimal, 'journal line 1 amount')).toThrow(
        expect.objectContaining({
          code: 'INVALID_AMOUNT',
          message: expect.stringMatching(/^journal line 1 amount: .*significant digits/),
        }),
      );
    },
  );

  it.each(['1e3', '12.', '', ' 1'])('refuses %j, which is not a decimal', (decimal) => {
    expect(() => jsonNumber(decimal, 'amount')).toThrow(expect.objectContaining({ code: 'INVALID_AMOUNT' }));
  });
});
