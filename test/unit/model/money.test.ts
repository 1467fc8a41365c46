import { FinanceError } from '../../../lib/errors';
import {
  add,
  allocate,
  compare,
  exponentOf,
  formatMinorUnits,
  fromMinorUnits,
  isNegative,
  isZero,
  minorOf,
  money,
  multiply,
  percentWeights,
  sameAmount,
  splitByPercent,
  subtract,
  sum,
  toMinorUnits,
} from '../../../lib/model/money';

const eur = (amount: string) => money(amount, 'EUR');

/** Runs fn and returns the FinanceError it throws; fails the test when it does not throw one. */
function thrown(fn: () => unknown): FinanceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FinanceError);
    return error as FinanceError;
  }
  throw new Error('expected a FinanceError');
}

describe('parsing and formatting', () => {
  test('normalises to the currency exponent', () => {
    expect(money('12.5', 'EUR')).toEqual({ amount: '12.50', currency: 'EUR' });
    expect(money('7', 'EUR')).toEqual({ amount: '7.00', currency: 'EUR' });
    expect(money('100', 'JPY')).toEqual({ amount: '100', currency: 'JPY' });
    expect(money('1.5', 'KWD')).toEqual({ amount: '1.500', currency: 'KWD' });
    expect(money('0.0001', 'CLF')).toEqual({ amount: '0.0001', currency: 'CLF' });
  });

  test('JPY has no decimals: "100.5" JPY is rejected', () => {
    const error = thrown(() => money('100.5', 'JPY'));
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('has 1 decimals but JPY has 0');
  });

  test('KWD has three decimals', () => {
    expect(toMinorUnits('1.234', 'KWD')).toBe(1234n);
    expect(thrown(() => toMinorUnits('1.2345', 'KWD')).code).toBe('INVALID_AMOUNT');
  });

  test('over-precise EUR amounts are rejected, not rounded', () => {
    const error = thrown(() => money('10.005', 'EUR', { path: '/lines/0/amount' }));
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toMatch(/^\/lines\/0\/amount: "10\.005" has 3 decimals but EUR has 2/);
    expect(error.details).toEqual({ path: '/lines/0/amount' });
  });

  test('negative amounts are rejected unless allowed', () => {
    const error = thrown(() => money('-5.00', 'EUR'));
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('is negative');
    expect(money('-5', 'EUR', { allowNegative: true })).toEqual({ amount: '-5.00', currency: 'EUR' });
    expect(money('-0.00', 'EUR')).toEqual({ amount: '0.00', currency: 'EUR' });
  });

  test('numbers are rejected with a hint to quote them', () => {
    const error = thrown(() => money(12.5, 'EUR'));
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('not a number');
    expect(error.message).toContain('quote the amount');
    expect(thrown(() => money(null, 'EUR')).message).toContain('not a null');
  });

  test('text that is not a plain decimal is rejected', () => {
    for (const bad of ['1,00', '1.', '.5', '1e3', ' 1.00', '+1.00', '', '0x10', '1234567890123456789']) {
      expect(thrown(() => toMinorUnits(bad, 'EUR')).code).toBe('INVALID_AMOUNT');
    }
  });

  test('unknown and lower-case currencies are UNKNOWN_CURRENCY', () => {
    for (const currency of ['XYZ', 'eur', 'XAU', '', 42, undefined]) {
      const error = thrown(() => money('1.00', currency));
      expect(error.code).toBe('UNKNOWN_CURRENCY');
      expect(error.message).toContain('is not an ISO 4217 currency code');
    }
    expect(exponentOf('JPY')).toBe(0);
  });

  test('18 integer digits stay exact (no float anywhere)', () => {
    expect(toMinorUnits('999999999999999999.99', 'EUR')).toBe(99999999999999999999n);
    expect(formatMinorUnits(99999999999999999999n, 'EUR')).toBe('999999999999999999.99');
    expect(money('9007199254740993.00', 'EUR').amount).toBe('9007199254740993.00');
  });

  test('formats minor units for every exponent and sign', () => {
    expect(formatMinorUnits(5n, 'EUR')).toBe('0.05');
    expect(formatMinorUnits(-5n, 'EUR')).toBe('-0.05');
    expect(formatMinorUnits(0n, 'EUR')).toBe('0.00');
    expect(formatMinorUnits(0n, 'JPY')).toBe('0');
    expect(formatMinorUnits(-1500n, 'JPY')).toBe('-1500');
    expect(formatMinorUnits(12345n, 'KWD')).toBe('12.345');
    expect(formatMinorUnits(7n, 'CLF')).toBe('0.0007');
    expect(fromMinorUnits(1234n, 'USD')).toEqual({ amount: '12.34', currency: 'USD' });
  });
});

describe('arithmetic', () => {
  test('the same amount whatever its decimals, never across currencies', () => {
    expect(sameAmount(eur('119.00'), eur('119'))).toBe(true);
    expect(sameAmount(eur('119.00'), eur('119.01'))).toBe(false);
    expect(sameAmount(eur('119.00'), { amount: '119.00', currency: 'USD' })).toBe(false);
  });

  test('0.10 + 0.20 is exactly 0.30', () => {
    expect(add(eur('0.10'), eur('0.20'))).toEqual({ amount: '0.30', currency: 'EUR' });
    expect(sum(Array.from({ length: 10 }, () => eur('0.10')))).toEqual({ amount: '1.00', currency: 'EUR' });
    expect(sum([eur('0.1'), eur('0.2'), eur('0.3')]).amount).toBe('0.60');
  });

  test('subtract can go negative; compare, isZero and isNegative agree', () => {
    const difference = subtract(eur('0.30'), eur('0.31'));
    expect(difference).toEqual({ amount: '-0.01', currency: 'EUR' });
    expect(isNegative(difference)).toBe(true);
    expect(isZero(subtract(eur('0.30'), add(eur('0.10'), eur('0.20'))))).toBe(true);
    expect(compare(eur('1.00'), eur('0.99'))).toBe(1);
    expect(compare(eur('0.99'), eur('1.00'))).toBe(-1);
    expect(compare(eur('1.0'), eur('1.00'))).toBe(0);
    expect(minorOf(difference)).toBe(-1n);
  });

  test('sum of an empty list needs a currency', () => {
    expect(sum([], 'JPY')).toEqual({ amount: '0', currency: 'JPY' });
    expect(thrown(() => sum([])).code).toBe('CURRENCY_MISMATCH');
  });

  test('mixing currencies is CURRENCY_MISMATCH', () => {
    const usd = money('1.00', 'USD');
    for (const operation of [
      () => add(eur('1.00'), usd),
      () => subtract(eur('1.00'), usd),
      () => compare(eur('1.00'), usd),
    ]) {
      const error = thrown(operation);
      expect(error.code).toBe('CURRENCY_MISMATCH');
      expect(error.details).toEqual({ expected: 'EUR', actual: 'USD' });
    }
    expect(thrown(() => sum([eur('1.00'), usd])).code).toBe('CURRENCY_MISMATCH');
    expect(thrown(() => sum([eur('1.00')], 'USD')).code).toBe('CURRENCY_MISMATCH');
  });
});

describe('allocation and splits', () => {
  test('100.00 in three equal parts is 33.34 / 33.33 / 33.33 and adds up exactly', () => {
    const parts = allocate(eur('100.00'), [1n, 1n, 1n]);
    expect(parts.map((part) => part.amount)).toEqual(['33.34', '33.33', '33.33']);
    expect(sum(parts)).toEqual(eur('100.00'));
  });

  test('remainders go to the largest remainders first, ties to the earlier part', () => {
    expect(allocate(eur('0.05'), [1n, 1n, 1n, 1n, 1n, 1n]).map((p) => p.amount)).toEqual([
      '0.01',
      '0.01',
      '0.01',
      '0.01',
      '0.01',
      '0.00',
    ]);
    // 10.00 by 1:2 -> 3.333.. and 6.666..: the second part has the larger remainder.
    expect(allocate(eur('10.00'), [1n, 2n]).map((p) => p.amount)).toEqual(['3.33', '6.67']);
    expect(allocate(money('100', 'JPY'), [1n, 1n, 1n]).map((p) => p.amount)).toEqual(['34', '33', '33']);
  });

  test('negative totals split symmetrically and zero weights get nothing', () => {
    const parts = allocate(money('-100.00', 'EUR', { allowNegative: true }), [1n, 1n, 1n]);
    expect(parts.map((p) => p.amount)).toEqual(['-33.34', '-33.33', '-33.33']);
    expect(allocate(eur('1.00'), [0n, 3n, 0n]).map((p) => p.amount)).toEqual(['0.00', '1.00', '0.00']);
  });

  test('many random splits always add up exactly', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let round = 0; round < 200; round += 1) {
      const total = fromMinorUnits(BigInt(next() % 1000000), 'EUR');
      const weights = Array.from({ length: 1 + (next() % 7) }, () => BigInt(1 + (next() % 1000)));
      expect(sum(allocate(total, weights))).toEqual(total);
    }
  });

  test('bad weights are INVALID_AMOUNT', () => {
    expect(thrown(() => allocate(eur('1.00'), [])).code).toBe('INVALID_AMOUNT');
    expect(thrown(() => allocate(eur('1.00'), [1n, -1n])).code).toBe('INVALID_AMOUNT');
    expect(thrown(() => allocate(eur('1.00'), [0n, 0n])).code).toBe('INVALID_AMOUNT');
  });

  test('percent splits add up exactly', () => {
    expect(splitByPercent(eur('100.00'), ['33.33', '33.33', '33.34']).map((p) => p.amount)).toEqual([
      '33.33',
      '33.33',
      '33.34',
    ]);
    const parts = splitByPercent(eur('0.10'), ['50', '25', '25']);
    expect(parts.map((p) => p.amount)).toEqual(['0.05', '0.03', '0.02']);
    expect(sum(parts)).toEqual(eur('0.10'));
    expect(percentWeights(['12.5', '87.5'])).toEqual([1250n, 8750n]);
  });

  test('percentages that do not add up to 100 are refused', () => {
    const error = thrown(() =>
      splitByPercent(eur('100.00'), ['33.33', '33.33', '33.33'], '/lines/0/accountAssignments'),
    );
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('/lines/0/accountAssignments: the percentages add up to 99.99, not 100');
    expect(thrown(() => percentWeights(['60', '50'])).message).toContain('add up to 110.00, not 100');
    expect(thrown(() => percentWeights(['50.001', '49.999'])).message).toContain('is not a percentage');
    expect(thrown(() => percentWeights(['-10', '110'])).code).toBe('INVALID_AMOUNT');
  });
});

describe('multiply', () => {
  test('quantity x unit price, rounded half away from zero', () => {
    expect(multiply(eur('10.01'), '3')).toEqual(eur('30.03'));
    expect(multiply(eur('0.05'), '0.5')).toEqual(eur('0.03')); // 0.025 -> 0.03
    expect(multiply(eur('0.05'), '0.3')).toEqual(eur('0.02')); // 0.015 -> 0.02
    expect(multiply(eur('0.05'), '0.1')).toEqual(eur('0.01')); // 0.005 -> 0.01
    expect(multiply(eur('0.05'), '0.09')).toEqual(eur('0.00')); // 0.0045 -> 0.00
    expect(multiply(eur('106.33'), '1.5')).toEqual(eur('159.50')); // 159.495 -> 159.50
    expect(multiply(eur('19.99'), '0.333333')).toEqual(eur('6.66')); // 6.66332...
    expect(multiply(money('-0.05', 'EUR', { allowNegative: true }), '0.5')).toEqual({
      amount: '-0.03',
      currency: 'EUR',
    });
    expect(multiply(money('333', 'JPY'), '0.5')).toEqual(money('167', 'JPY')); // 166.5 -> 167
    expect(multiply(money('1.005', 'KWD'), '3')).toEqual(money('3.015', 'KWD'));
    expect(multiply(eur('12.34'), '0')).toEqual(eur('0.00'));
  });

  test('a float would get these wrong; bigint does not', () => {
    // In floating point 1.15 * 100 is 114.99999999999999 and 1.005 * 3 is 3.0149999999999997.
    expect(multiply(eur('1.15'), '100')).toEqual(eur('115.00'));
    expect(multiply(money('1.005', 'KWD'), '3')).toEqual(money('3.015', 'KWD'));
  });

  test('bad quantities are INVALID_AMOUNT naming the path', () => {
    for (const quantity of ['-1', 'abc', '1.1234567', '', '1e2']) {
      const error = thrown(() => multiply(eur('1.00'), quantity, '/lines/3/quantity'));
      expect(error.code).toBe('INVALID_AMOUNT');
      expect(error.message).toContain('/lines/3/quantity');
    }
  });
});

describe('toMinorUnits: plain amounts counted digit by digit agree with the full parse', () => {
  // The full parse as it is written in money.ts, for comparison: a regular expression, then BigInt of the digits.
  function referenceMinorUnits(amount: string, exponent: number, allowNegative: boolean): bigint | string {
    const match = /^(-)?(\d{1,18})(?:\.(\d{1,6}))?$/.exec(amount);
    if (!match) return 'not a decimal';
    const [, sign, whole, fraction = ''] = match;
    if (fraction.length > exponent) return 'too many decimals';
    if (sign && !allowNegative && /[1-9]/.test(whole + fraction)) return 'negative';
    const minor = BigInt(whole + fraction.padEnd(exponent, '0'));
    return sign ? -minor : minor;
  }

  function parsed(amount: string, currency: string, allowNegative: boolean): bigint | string {
    try {
      return toMinorUnits(amount, currency, { allowNegative });
    } catch (err) {
      const message = (err as FinanceError).message;
      if (message.includes('decimals but')) return 'too many decimals';
      if (message.includes('is negative')) return 'negative';
      return 'not a decimal';
    }
  }

  const CURRENCIES: Array<[string, number]> = [
    ['JPY', 0],
    ['EUR', 2],
    ['KWD', 3],
    ['CLF', 4],
  ];

  it('gives the same minor units or the same refusal for every shape of amount', () => {
    const amounts = [
      '0',
      '0.00',
      '12',
      '12.3',
      '12.30',
      '12.345',
      '12.3456',
      '12.34567',
      '007.50',
      '-12.30',
      '-0.00',
      '.50',
      '12.',
      '1e3',
      '+12',
      ' 12',
      '12 ',
      '1,000.00',
      '١٢',
      '999999999999999',
      '9999999999999.99',
      '99999999999999.99',
      '999999999999999999',
      '9999999999999999999',
      '123456789012.3456',
      '',
    ];
    const differing: string[] = [];
    for (const amount of amounts)
      for (const [currency, exponent] of CURRENCIES)
        for (const allowNegative of [false, true]) {
          const expected = referenceMinorUnits(amount, exponent, allowNegative);
          const actual = parsed(amount, currency, allowNegative);
          if (actual !== expected) differing.push(`${JSON.stringify(amount)} ${currency}: ${actual} vs ${expected}`);
        }
    expect(differing).toEqual([]);
  });

  it('gives the same result for 20,000 random digit strings around the exact-count limit', () => {
    let seed = 4242;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const differing: string[] = [];
    for (let round = 0; round < 20_000; round += 1) {
      const wholeDigits = 1 + Math.floor(next() * 19);
      const decimals = Math.floor(next() * 6);
      let amount = '';
      for (let i = 0; i < wholeDigits; i += 1) amount += String(Math.floor(next() * 10));
      if (decimals > 0 || next() < 0.1) amount += '.';
      for (let i = 0; i < decimals; i += 1) amount += String(Math.floor(next() * 10));
      const [currency, exponent] = CURRENCIES[round % CURRENCIES.length]!;
      const expected = referenceMinorUnits(amount, exponent, false);
      const actual = parsed(amount, currency, false);
      if (actual !== expected) differing.push(`${amount} ${currency}: ${actual} vs ${expected}`);
    }
    expect(differing).toEqual([]);
  });
});
