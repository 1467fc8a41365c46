/**
 * The fields the dialect writes as Business Central keeps them: lengths, upper-cased Code fields, tax codes,
 * and the errors for a document that does not fit.
 */
import { FinanceError } from '../../errors';
import { fitReference } from '../reference';
import type { Entity } from './odata';

/** Field lengths of API v2.0 [S bc-api-v2.0-metadata.xml]; "Your Reference" of the custom page [D table 38]. */
export const BC_LENGTHS = {
  documentNumber: 20,
  externalDocumentNumber: 35,
  vendorInvoiceNumber: 35,
  yourReference: 35,
  description: 100,
  description2: 50,
  /**
   * A line's taxCode becomes the VAT Prod. Posting Group (or, without VAT, the Tax Group Code), both Code[20]:
   * the journal line page keeps it in a Code[20] and the purchase line pages cut it with CopyStr(.., 1, 20)
   * although the metadata says 50 [S ALAppExtensions APIV2JournalLines / APIV2PurchaseOrderLines /
   * APIV2PurchaseInvoiceLines pages], so a longer code is refused rather than cut to another code.
   */
  taxCode: 20,
} as const;

export function checkLength(value: string, max: number, where: string): void {
  if (value.length > max) throw invalidPo(`${where} has ${value.length} characters; Business Central keeps ${max}`);
}

export function invalidPo(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Purchase order for Business Central: ${problem}.`);
}

export function invalidPosting(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Posting for Business Central: ${problem}.`);
}

/**
 * `{ taxCode }` for a line that has one, upper-cased as BC stores a Code value (so what is read back compares
 * equal); empty without one, so BC applies the G/L account's default VAT Prod. Posting Group.
 */
export function taxCodeField(
  taxCode: string | undefined,
  where: string,
  invalid: (problem: string) => FinanceError,
): { taxCode?: string } {
  if (taxCode === undefined) return {};
  if (taxCode.length > BC_LENGTHS.taxCode) {
    throw invalid(
      `${where} "${taxCode}" has ${taxCode.length} characters; Business Central keeps ${BC_LENGTHS.taxCode} (a VAT Prod. Posting Group or Tax Group Code). Map it to the code Business Central uses`,
    );
  }
  return { taxCode: taxCode.toUpperCase() };
}

/**
 * The tax code BC holds is the one wanted. A line sent without one gets the G/L account's default, which is
 * not a change of ours, so only a wanted code is compared.
 */
export function sameTaxCode(have: unknown, wanted: string | undefined): boolean {
  return wanted === undefined || (typeof have === 'string' && have.toUpperCase() === wanted.toUpperCase());
}

/** The tax code of a BC line as the canonical line carries it; BC answers '' for none. */
export function readTaxCode(line: Entity): { taxCode?: string } {
  return typeof line.taxCode === 'string' && line.taxCode !== '' ? { taxCode: line.taxCode } : {};
}

/** Code fields of BC (Document No., External Document No., Vendor Invoice No.) hold upper case only [D]. */
export const UPPER = { upperCase: true } as const;

export function documentNumberOf(externalReference: string): string {
  return fitReference(externalReference, BC_LENGTHS.documentNumber, UPPER);
}

export function vendorInvoiceNumberOf(externalReference: string): string {
  return fitReference(externalReference, BC_LENGTHS.vendorInvoiceNumber, UPPER);
}
