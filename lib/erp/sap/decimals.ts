/**
 * Edm.Decimal values of the SAP services, in bigint arithmetic (no float touches an amount or a quantity).
 *
 * Two things SAP does that the canonical model does not:
 * - every decimal property has a precision and a scale [S EDMX facets]; Gateway refuses or rounds a value that
 *   does not fit, so the dialect checks them before it writes (`fitDecimal`);
 * - a purchase order item's price is per price unit, NetPriceQuantity ("Price Unit"): 50.00 per 100 pieces is
 *   0.50 a piece, and the item's net value is NetPriceAmount x OrderQuantity / NetPriceQuantity [S EDMX
 *   NetPriceQuantity sap:label "Price Unit"; U SAP ME21N pricing]. The canonical line has a price per one unit.
 */
import { FinanceError } from '../../errors';

/** Precision (all digits) and scale (digits after the point) of an Edm.Decimal property. */
export interface DecimalFacets {
  precision: number;
  scale: number;
}

/** The decimal properties the purchase order dialect writes [S API_PURCHASEORDER_PROCESS_SRV.edmx]. */
export const SAP_DECIMALS = {
  OrderQuantity: { precision: 13, scale: 3 },
  NetPriceAmount: { precision: 12, scale: 3 },
  NetPriceQuantity: { precision: 5, scale: 0 },
  PurgDocNetAmount: { precision: 14, scale: 3 },
} as const satisfies Record<string, DecimalFacets>;

/** `digits` / 10^`scale`, e.g. "12.50" = { digits: 1250n, scale: 2 }. */
export interface Decimal {
  digits: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^(-)?(\d+)(?:\.(\d+))?$/;

/** The decimal a string holds, or undefined when it is not a plain decimal ("12", "-0.5", "150.000"). */
export function parseDecimal(text: string): Decimal | undefined {
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  const digits = BigInt(whole + fraction);
  return { digits: sign ? -digits : digits, scale: fraction.length };
}

/** Decimals that count: trailing zeros do not ("1.500" has 1). */
function significantDecimals(fraction: string): number {
  return fraction.replace(/0+$/, '').length;
}

/**
 * `value` as SAP can hold it in a property with these facets; refuses (SCHEMA_INVALID through `invalid`) a value
 * with more significant decimals than the scale or more integer digits than precision - scale, because Gateway
 * would refuse the write or round the value, and a rounded quantity or price is a different order. Zeros after
 * the scale are dropped ("1.0000" for a scale of 3 is sent as "1.000").
 */
export function fitDecimal(
  value: string,
  facets: DecimalFacets,
  what: { property: string; where: string; remedy: string },
  invalid: (problem: string) => FinanceError,
): string {
  const match = DECIMAL_TEXT.exec(value);
  if (!match) throw invalid(`${what.where} "${value}" is not a decimal number`);
  const [, sign = '', whole, fraction = ''] = match;
  const limit = `SAP's ${what.property} is Edm.Decimal with precision ${facets.precision} and scale ${facets.scale}`;
  const decimals = significantDecimals(fraction);
  if (decimals > facets.scale) {
    throw invalid(
      `${what.where} "${value}" has ${decimals} decimals; ${limit}, so it keeps ${facets.scale}. ${what.remedy}`,
    );
  }
  const integerDigits = whole.replace(/^0+(?=\d)/, '').length;
  if (integerDigits > facets.precision - facets.scale) {
    throw invalid(
      `${what.where} "${value}" has ${integerDigits} digits before the point; ${limit}, so it keeps ${
        facets.precision - facets.scale
      }. ${what.remedy}`,
    );
  }
  const kept = fraction.slice(0, Math.max(decimals, Math.min(fraction.length, facets.scale)));
  return `${sign}${whole}${kept === '' ? '' : `.${kept}`}`;
}

/** numerator / denominator rounded half away from zero (the commercial rounding of line amounts). */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let quotient = n / d;
  if ((n % d) * 2n >= d) quotient += 1n;
  return negative ? -quotient : quotient;
}

const ONE: Decimal = { digits: 1n, scale: 0 };

/** NetPriceQuantity as read: a missing, empty or zero price unit means 1 (SAP's default price unit). */
export function priceUnitOf(value: unknown): Decimal {
  const unit = typeof value === 'string' || typeof value === 'number' ? parseDecimal(String(value)) : undefined;
  return unit === undefined || unit.digits <= 0n ? ONE : unit;
}

/**
 * An item's net value in minor units of a currency with `exponent` decimals:
 * NetPriceAmount x OrderQuantity / NetPriceQuantity, rounded half away from zero.
 */
export function netValueMinor(price: Decimal, quantity: Decimal, priceUnit: Decimal, exponent: number): bigint {
  // price.digits/10^ps x quantity.digits/10^qs / (unit.digits/10^us) x 10^exponent
  const numerator = price.digits * quantity.digits * 10n ** BigInt(exponent + priceUnit.scale);
  const denominator = priceUnit.digits * 10n ** BigInt(price.scale + quantity.scale);
  return divideRounded(numerator, denominator);
}

/**
 * The price of one unit in minor units (NetPriceAmount / NetPriceQuantity), and whether that is exact: 1.00 per
 * 3 pieces is 0.33 rounded, not exact.
 */
export function unitPriceMinor(
  price: Decimal,
  priceUnit: Decimal,
  exponent: number,
): { minor: bigint; exact: boolean } {
  const numerator = price.digits * 10n ** BigInt(exponent + priceUnit.scale);
  const denominator = priceUnit.digits * 10n ** BigInt(price.scale);
  return { minor: divideRounded(numerator, denominator), exact: numerator % denominator === 0n };
}

/** a.numerator / a.denominator = b.numerator / b.denominator, exactly (prices per their price units). */
export function sameRatio(
  a: { numerator: Decimal; denominator: Decimal },
  b: { numerator: Decimal; denominator: Decimal },
): boolean {
  const left = a.numerator.digits * b.denominator.digits * 10n ** BigInt(b.numerator.scale + a.denominator.scale);
  const right = b.numerator.digits * a.denominator.digits * 10n ** BigInt(a.numerator.scale + b.denominator.scale);
  return left === right;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/**
 * NetPriceAmount (in minor units) and NetPriceQuantity that give exactly `amountMinor` for `quantity`: the
 * amount per the quantity, reduced (23.33 for 7 pieces stays 23.33 per 7; 10.00 for 2.5 is 4.00 per 1).
 * For a line whose amount is not unit price x quantity, which happens only to a line read back from SAP with
 * a price unit whose price per piece is not a whole cent (1.00 per 3 pieces): written back with price unit 1
 * and the rounded price, its value would change. Undefined when no price unit SAP can hold (at most
 * 99999, NetPriceQuantity precision 5) gives the amount.
 */
export function priceForAmount(
  amountMinor: bigint,
  quantity: Decimal,
): { priceMinor: bigint; priceUnit: bigint } | undefined {
  if (quantity.digits <= 0n) return undefined;
  // price per unit = amountMinor x 10^qs / quantity.digits (minor units per one unit)
  const numerator = amountMinor * 10n ** BigInt(quantity.scale);
  const divisor = gcd(numerator, quantity.digits);
  const priceUnit = quantity.digits / divisor;
  const maximum = 10n ** BigInt(SAP_DECIMALS.NetPriceQuantity.precision) - 1n;
  return priceUnit > maximum ? undefined : { priceMinor: numerator / divisor, priceUnit };
}
