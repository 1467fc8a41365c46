/** The document a budget check accepts: a valid canonical expense report, requisition or purchase order. */
import { FinanceError } from '../errors';
import { assertValid } from '../model/validate';
import { isMappedDocType, MAPPED_DOC_TYPES, type MappedDocument } from '../mapping/documents';

/** Throws SCHEMA_INVALID, with every violation in details.violations, for anything else. */
export function budgetDocumentOf(payload: unknown): MappedDocument {
  const docType =
    typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>).docType
      : undefined;
  if (!isMappedDocType(docType)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `msg.payload is not a canonical ${MAPPED_DOC_TYPES.join(', ')} (its docType is ` +
        `${JSON.stringify(docType) ?? 'missing'}). Put a finance-map node before the budget check.`,
      { details: { docType } },
    );
  }
  assertValid(docType, payload);
  return payload as MappedDocument;
}

export function documentCurrency(document: MappedDocument): string {
  return document.docType === 'ExpenseReport' ? document.total.currency : document.currency;
}
