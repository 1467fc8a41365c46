/**
 * Expense report amounts are gross (what the employee paid, tax included). Some ERP APIs take an expense
 * line's amount as net and add the tax its code names on top, or need separate tax lines the canonical model
 * does not carry: SAP's supplier invoice G/L items (with the tax calculated by code) and ERPNext's Journal Entry
 * and Purchase Invoice. Posting a tax-coded line there would book the tax twice or not at all, and dropping the
 * code would book the gross amount as expense and lose the input tax; so such a posting is refused before
 * anything is written, naming the lines.
 */
import { FinanceError } from '../errors';
import type { PostingRequest } from './dialect';

/** SCHEMA_INVALID when a line of `posting` has a tax code; `where` names the ERP document, e.g. "an SAP supplier invoice". */
export function refuseTaxCodedExpenseLines(posting: PostingRequest, where: string): void {
  const taxed = posting.lines.filter((line) => line.taxCode !== undefined);
  if (taxed.length === 0) return;
  const lines = taxed.map((line) => `${line.lineId} (${String(line.taxCode)})`).join(', ');
  throw new FinanceError(
    'SCHEMA_INVALID',
    `Posting ${posting.externalReference}: line ${lines} has a tax code, but ${where} cannot take a gross amount ` +
      'with a tax code, so the input tax would be booked wrongly. Nothing was written. Remove the tax code in ' +
      'the mapping to post the gross amount to the expense account, or post the report by hand.',
    { retryable: false, details: { lines: taxed.map((line) => ({ lineId: line.lineId, taxCode: line.taxCode })) } },
  );
}
