/**
 * Money without floats. An amount travels as a decimal string with exactly its currency's ISO 4217
 * exponent and is computed with as a bigint count of minor units (cents, fils, yen). A float never touches
 * an amount: parsing reads the digits, formatting writes them back.
 */
import { FinanceError } from '../errors';
import { currencyExponent } from './currencies';
import type { Money } from './types';

const DECIMAL = /^(-)?(\d{1,18})(?:\.(\d{1,6}))?$/;

export interface ParseOptions {
  /** Accept a leading '-' (credit notes, reversals). Off by default: an expense or PO line is never negative. */
  allowNegative?: boolean;
  /** Where the amount sits in the document, for the error message, e.g. "/lines/2/amount". */
  path?: string;
  /**
   * The document `path` points into, when it is not the canonical one ("Concur expenses"): the message names
   * it, while details.path stays a plain JSON pointer (mapping violations carry it as their path).
   */
  document?: string;
}

/** "Concur expenses /0/PostedAmount" for a message; the pointer alone without a document. */
function placeOf(path: string, document: string | undefined): string {
  return document === undefined ? path : `${document} ${path}`;
}

/** `document` names the document `path` points into, as in ParseOptions. */
export function exponentOf(currency: unknown, path = 'currency', document?: string): number {
  const exponent = typeof currency === 'string' ? currencyExponent(currency) : undefined;
  if (exponent === undefined) {
    throw new FinanceError(
      'UNKNOWN_CURRENCY',
      `${placeOf(path, document)}: "${String(currency)}" is not an ISO 4217 currency code. Use an upper-case code ` +
        'such as EUR, USD or JPY.',
      { details: { path, currency: String(currency), ...(document === undefined ? {} : { document }) } },
    );
  }
  return exponent;
}

/** Amount in minor units; throws INVALID_AMOUNT for anything that is not an exact decimal string. */
export function toMinorUnits(amount: unknown, currency: string, options: ParseOptions = {}): bigint {
  const path = options.path ?? 'amount';
  // The text naming the currency's place is built only when the currency is unknown.
  const exponent = currencyExponent(currency) ?? exponentOf(currency, `${path}.currency`, options.document);
  if (typeof amount !== 'string') {
    throw invalidAmount(
      path,
      `must be a decimal string such as "12.50", not a ${amount === null ? 'null' : typeof amount}` +
        (typeof amount === 'number' ? ' (numbers lose cents in JSON; quote the amount)' : ''),
      options.document,
    );
  }
  const plain = plainMinorUnits(amount, exponent);
  if (plain !== undefined) return BigInt(plain);
  const match = DECIMAL.exec(amount);
  if (!match) throw invalidAmount(path, `"${amount}" is not a decimal number such as "12.50"`, options.document);
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > exponent) {
    throw invalidAmount(
      path,
      `"${amount}" has ${fraction.length} decimals but ${currency} has ${exponent}; round it in the source system`,
      options.document,
    );
  }
  if (sign && !options.allowNegative && /[1-9]/.test(whole + fraction)) {
    throw invalidAmount(path, `"${amount}" is negative; only positive amounts are accepted here`, options.document);
  }
  const minor = BigInt(whole + fraction.padEnd(exponent, '0'));
  return sign ? -minor : minor;
}

/** The largest count of decimal digits a double holds exactly (2^53 is about 9.007e15). */
const EXACT_DIGITS = 15;

/**
 * The minor units of a plain amount ("1234.5" with at most the currency's decimals, no sign), counted digit by
 * digit; undefined for anything else (a sign, an error, more digits than a double counts exactly), which
 * toMinorUnits then parses in full. Every amount of every document is parsed several times per node, and the
 * regular expression with its captures and the digit string for BigInt were the mapping's costliest function.
 */
function plainMinorUnits(amount: string, exponent: number): number | undefined {
  const length = amount.length;
  let index = 0;
  let minor = 0;
  for (; index < length; index += 1) {
    const digit = amount.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) break;
    minor = minor * 10 + digit;
  }
  const wholeDigits = index;
  if (wholeDigits === 0 || wholeDigits + exponent > EXACT_DIGITS) return undefined;
  let decimals = 0;
  if (index < length) {
    if (amount.charCodeAt(index) !== 46 /* "." */) return undefined;
    for (index += 1; index < length; index += 1) {
      const digit = amount.charCodeAt(index) - 48;
      if (digit < 0 || digit > 9) return undefined;
      minor = minor * 10 + digit;
      decimals += 1;
    }
    if (decimals === 0 || decimals > exponent) return undefined;
  }
  for (; decimals < exponent; decimals += 1) minor *= 10;
  return minor;
}

/** Formats minor units as the canonical decimal string of the currency ("1234" EUR -> "12.34"). */
export function formatMinorUnits(minor: bigint, currency: string): string {
  const exponent = exponentOf(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? '.' + digits.slice(digits.length - exponent) : '';
  return (negative ? '-' : '') + whole + fraction;
}

/** Checks and normalises a money object: "12.5" EUR becomes "12.50". */
export function money(amount: unknown, currency: unknown, options: ParseOptions = {}): Money {
  exponentOf(currency, `${options.path ?? 'amount'}.currency`, options.document);
  const code = currency as string;
  return { amount: formatMinorUnits(toMinorUnits(amount, code, options), code), currency: code };
}

export function fromMinorUnits(minor: bigint, currency: string): Money {
  return { amount: formatMinorUnits(minor, currency), currency };
}

const SIGNED: ParseOptions = { allowNegative: true };

export function minorOf(value: Money, options: ParseOptions = SIGNED): bigint {
  return toMinorUnits(value.amount, value.currency, options);
}

function sameCurrency(values: readonly Money[], currency?: string): string {
  const expected = currency ?? values[0]?.currency;
  if (expected === undefined) {
    throw new FinanceError('CURRENCY_MISMATCH', 'Cannot add an empty list of amounts without a currency.');
  }
  for (const value of values) {
    if (value.currency !== expected) {
      throw new FinanceError(
        'CURRENCY_MISMATCH',
        `Cannot combine ${value.currency} with ${expected}: convert the amounts to one currency first.`,
        { details: { expected, actual: value.currency } },
      );
    }
  }
  return expected;
}

export function add(a: Money, b: Money): Money {
  const currency = sameCurrency([a, b]);
  return fromMinorUnits(minorOf(a) + minorOf(b), currency);
}

export function subtract(a: Money, b: Money): Money {
  const currency = sameCurrency([a, b]);
  return fromMinorUnits(minorOf(a) - minorOf(b), currency);
}

/** Sum of amounts in one currency; `currency` names it for an empty list. */
export function sum(values: readonly Money[], currency?: string): Money {
  const code = sameCurrency(values, currency);
  return fromMinorUnits(
    values.reduce((total, value) => total + minorOf(value), 0n),
    code,
  );
}

export function compare(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency([a, b]);
  const difference = minorOf(a) - minorOf(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** The same amount in the same currency, however many decimals each was written with; false across currencies. */
export function sameAmount(a: Money, b: Money): boolean {
  return a.currency === b.currency && minorOf(a) === minorOf(b);
}

export function isZero(value: Money): boolean {
  return minorOf(value) === 0n;
}

export function isNegative(value: Money): boolean {
  return minorOf(value) < 0n;
}

/**
 * Splits an amount in proportion to integer weights so the parts add up exactly: each part gets its floor
 * share, then the minor units left over go one by one to the parts with the largest remainders (ties to
 * the earlier part). 100.00 in three equal weights -> 33.34, 33.33, 33.33.
 */
export function allocate(total: Money, weights: readonly bigint[]): Money[] {
  if (weights.length === 0) throw new FinanceError('INVALID_AMOUNT', 'Cannot split an amount into zero parts.');
  if (weights.some((weight) => weight < 0n)) {
    throw new FinanceError('INVALID_AMOUNT', 'Split weights must not be negative.');
  }
  const weightTotal = weights.reduce((a, b) => a + b, 0n);
  if (weightTotal === 0n) throw new FinanceError('INVALID_AMOUNT', 'Split weights must not all be zero.');

  const totalMinor = minorOf(total);
  const magnitude = totalMinor < 0n ? -totalMinor : totalMinor;
  const shares = weights.map((weight) => (magnitude * weight) / weightTotal);
  const remainders = weights.map((weight, index) => ({ index, rest: (magnitude * weight) % weightTotal }));
  let left = magnitude - shares.reduce((a, b) => a + b, 0n);
  remainders.sort((x, y) => (x.rest === y.rest ? x.index - y.index : x.rest > y.rest ? -1 : 1));
  for (const { index } of remainders) {
    if (left === 0n) break;
    shares[index] += 1n;
    left -= 1n;
  }
  return shares.map((share) => fromMinorUnits(totalMinor < 0n ? -share : share, total.currency));
}

/** Percent strings with up to two decimals ("33.33") as hundredths of a percent; they must add up to 100. */
export function percentWeights(percents: readonly string[], path = 'percent'): bigint[] {
  const weights = percents.map((percent, index) => {
    const match = typeof percent === 'string' ? /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(percent) : null;
    if (!match) {
      throw invalidAmount(`${path}[${index}]`, `"${String(percent)}" is not a percentage such as "25" or "33.33"`);
    }
    return BigInt(match[1] + (match[2] ?? '').padEnd(2, '0'));
  });
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total !== 10000n) {
    throw invalidAmount(path, `the percentages add up to ${formatMinorUnits(total, 'EUR')}, not 100`);
  }
  return weights;
}

/** Splits by percentages that add up to exactly 100 (largest-remainder rounding). */
export function splitByPercent(total: Money, percents: readonly string[], path?: string): Money[] {
  return allocate(total, percentWeights(percents, path));
}

/**
 * Quantity x unit price, rounded half away from zero to the currency's exponent (the usual commercial
 * rounding of ERPs for line amounts). Quantity is a decimal string with up to 6 decimals.
 */
export function multiply(unitPrice: Money, quantity: string, path = 'quantity'): Money {
  const match = typeof quantity === 'string' ? /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(quantity) : null;
  if (!match) throw invalidAmount(path, `"${String(quantity)}" is not a quantity such as "2" or "1.5"`);
  const scale = (match[2] ?? '').length;
  const quantityScaled = BigInt(match[1] + (match[2] ?? ''));
  const product = minorOf(unitPrice) * quantityScaled;
  const divisor = 10n ** BigInt(scale);
  const magnitude = product < 0n ? -product : product;
  let rounded = magnitude / divisor;
  if ((magnitude % divisor) * 2n >= divisor) rounded += 1n;
  const result = fromMinorUnits(product < 0n ? -rounded : rounded, unitPrice.currency);
  if (!DECIMAL.test(result.amount)) {
    throw invalidAmount(
      path,
      `${quantity} x ${unitPrice.amount} ${unitPrice.currency} is ${result.amount}, more than the 18 whole digits an amount may have`,
    );
  }
  return result;
}

function invalidAmount(path: string, problem: string, document?: string): FinanceError {
  return new FinanceError('INVALID_AMOUNT', `${placeOf(path, document)}: ${problem}.`, {
    details: { path, ...(document === undefined ? {} : { document }) },
  });
}
