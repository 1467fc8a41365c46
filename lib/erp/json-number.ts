/**
 * Some ERP APIs (Business Central, ERPNext) take amounts and quantities as JSON numbers, i.e. doubles. A double
 * holds any decimal of up to 15 significant digits exactly (it prints back the same digits); beyond that,
 * Number() silently changes the value ("90071992547409.93" becomes 90071992547409.94). Such a value is refused
 * here, before anything is sent, instead of being booked a cent off.
 */
import { FinanceError } from '../errors';

/** Significant digits a double always keeps (DBL_DIG). */
const EXACT_DIGITS = 15;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * `decimal` (a canonical decimal string such as "12.50") as a JSON number, or INVALID_AMOUNT when the number
 * would not carry the same value. `field` names what is sent, for the error ("journal line 2 amount").
 */
export function jsonNumber(decimal: string, field: string): number {
  if (!DECIMAL.test(decimal)) {
    throw new FinanceError('INVALID_AMOUNT', `${field}: "${decimal}" is not a decimal number such as "12.50".`, {
      details: { field },
    });
  }
  const digits = decimal.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  if (digits.length > EXACT_DIGITS) {
    throw new FinanceError(
      'INVALID_AMOUNT',
      `${field}: "${decimal}" has ${digits.length} significant digits, more than the ${EXACT_DIGITS} this ERP's ` +
        'JSON numbers carry exactly; split the document or post it by hand.',
      { details: { field } },
    );
  }
  return Number(decimal);
}
