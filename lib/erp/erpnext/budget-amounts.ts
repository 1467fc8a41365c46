/**
 * Budget figures at the precision ERPNext keeps them, compared without floats.
 *
 * ERPNext stores a Currency field as decimal(21,9) and does not round it to the currency on save; a Budget's
 * distribution rows are computed with three decimals: "Distribute Equally" (and a change of budget_amount on a
 * manual distribution) sets each row's amount to flt(budget_amount x percent / 100, 3) and its percent to
 * flt(100 / periods, 3), so 1000.00 over 12 months is 83.333 a month [S erpnext budget.py
 * add_allocated_amount, _recalculate_manual_distribution; budget_distribution.json: amount Currency, percent
 * Percent]. get_accumulated_monthly_budget sums the stored amounts as they are (6 months: 499.998) and
 * compare_expense_with_budget compares the expense against that sum unrounded (`total_expense >
 * budget_amount`): 499.99 fits, 500.00 exceeds by 0.002 [S]. So limits are kept here in units of 10^-9 (the
 * stored precision) and compared exactly; a figure answered as Money is rounded down to the currency's minor
 * unit, so that a request fits the answered `available` exactly when it fits ERPNext's limit.
 */
import { exponentOf } from '../../model/money';
import { decimalText } from './shared';

/** Decimals of a Currency column in ERPNext's database (decimal(21,9)). */
export const STORED_DECIMALS = 9;
const SCALE = 10n ** BigInt(STORED_DECIMALS);

/** A JSON number of ERPNext in units of 10^-9; undefined when it is not a finite number of at most 9 decimals. */
export function storedUnits(value: unknown): bigint | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(decimalText(value));
  if (!match || (match[3] ?? '').length > STORED_DECIMALS) return undefined;
  const units = BigInt(match[2]) * SCALE + BigInt((match[3] ?? '').padEnd(STORED_DECIMALS, '0'));
  return match[1] === '-' ? -units : units;
}

/** Minor units of `currency` in units of 10^-9. */
export function unitsOfMinor(minor: bigint, currency: string): bigint {
  return minor * 10n ** BigInt(STORED_DECIMALS - exponentOf(currency));
}

/** Units of 10^-9 as minor units of `currency`, rounded down (towards minus infinity). */
export function floorToMinor(units: bigint, currency: string): bigint {
  const step = 10n ** BigInt(STORED_DECIMALS - exponentOf(currency));
  const quotient = units / step;
  return units % step !== 0n && units < 0n ? quotient - 1n : quotient;
}

/** Units of 10^-9 as decimal text with the currency's decimals, and more only where the value has them. */
export function unitsText(units: bigint, currency: string): string {
  const exponent = exponentOf(currency);
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const whole = magnitude / SCALE;
  let fraction = String(magnitude % SCALE).padStart(STORED_DECIMALS, '0');
  while (fraction.length > exponent && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
