/**
 * Amounts that vendors send as JSON numbers, turned into canonical money without float arithmetic.
 *
 * A JSON number is parsed to the nearest double, and `String(n)` gives the shortest decimal that parses back
 * to that same double. For an amount a person typed ("12.30"), that is exactly the digits sent ("12.3"),
 * so no digit is invented or lost. What `String(n)` cannot do is undo arithmetic a sender did in floating
 * point: 0.1 + 0.2 arrives as 0.30000000000000004. Such a value is rejected, never rounded, because a
 * rounded amount would be money nobody approved.
 */
import { FinanceError } from '../errors';
import { currencyExponent } from '../model/currencies';
import { exponentOf, formatMinorUnits, money } from '../model/money';
import type { Money } from '../model/types';
import { describe } from './shape';

/** Where an amount sits, for error messages: the document ("Concur expenses") and JSON pointers in it. */
export interface AmountLocation {
  document: string;
  path: string;
  currencyPath: string;
}

/** A double carries 15 significant decimal digits exactly; beyond that the parser may already have rounded. */
const MAX_SIGNIFICANT_DIGITS = 15;

/** `{ value: 12.3, currencyCode: "EUR" }` style amounts (Concur, Ramp's legacy representation). */
export function moneyFromJsonNumber(value: unknown, currency: unknown, at: AmountLocation): Money {
  // The text naming the currency's place is built only when the currency is unknown (this runs per amount).
  const known = typeof currency === 'string' ? currencyExponent(currency) : undefined;
  const exponent = known ?? exponentOf(currency, at.currencyPath, at.document);
  if (typeof value !== 'number') {
    throw invalidAmount(at, `must be a JSON number, got ${describe(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw invalidAmount(at, `${String(value)} is not a finite number`);
  }
  const text = String(value);
  // String(number) writes exponent notation with a lower-case "e" only.
  if (text.includes('e')) {
    throw invalidAmount(
      at,
      `${text} only has an exponent-notation form (it is below 0.000001 or at least 1e21), which no real ` +
        'amount needs; check the value in the source system',
    );
  }
  const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  if (decimals > exponent) {
    throw invalidAmount(
      at,
      `${text} has ${decimals} decimals but ${String(currency)} has ${exponent}. It looks like the result of ` +
        'floating-point arithmetic and is not rounded here: correct the amount in the source system',
    );
  }
  // The digits are a part of the text, so a short text needs no count (nearly every amount).
  if (text.length > MAX_SIGNIFICANT_DIGITS && significantDigits(text) > MAX_SIGNIFICANT_DIGITS) {
    throw invalidAmount(
      at,
      `${text} has more than ${MAX_SIGNIFICANT_DIGITS} significant digits, more than a JSON number carries exactly`,
    );
  }
  if (value < 0) return money(text, currency, { path: at.path, document: at.document }); // money() says why not
  // A non-negative number's text is already "digits[.digits]" with at most `exponent` decimals: padding the
  // decimals is the canonical amount, the same string money() makes through minor units, at a fraction of its
  // cost (the mapping runs this for every amount of every document).
  return { amount: padDecimals(text, decimals, exponent), currency: currency as string };
}

function significantDigits(text: string): number {
  return text.replace(/^-/, '').replace('.', '').replace(/^0+/, '').length;
}

/** "12.3" with 1 decimal to 2: "12.30"; "12" to 2: "12.00"; "12" to 0: "12". */
function padDecimals(text: string, decimals: number, exponent: number): string {
  if (exponent === 0) return text;
  return (decimals === 0 ? text + '.' : text) + '0'.repeat(exponent - decimals);
}

/** `{ amount: 4000, currency_code: "USD" }` style amounts: an integer count of minor units (Ramp's canonical form). */
export function moneyFromMinorUnits(value: unknown, currency: unknown, at: AmountLocation): Money {
  exponentOf(currency, at.currencyPath, at.document);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidAmount(at, `must be a whole number of minor units (cents), got ${describe(value)}`);
  }
  if (value < 0) {
    throw invalidAmount(at, `${value} is negative; only positive amounts are accepted here`);
  }
  return { amount: formatMinorUnits(BigInt(value), currency as string), currency: currency as string };
}

function invalidAmount(at: AmountLocation, problem: string): FinanceError {
  return new FinanceError('INVALID_AMOUNT', `${at.document} ${at.path}: ${problem}.`, {
    details: { document: at.document, path: at.path },
  });
}
