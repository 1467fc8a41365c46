/**
 * The commitment a requisition already holds in the ERP. A revision of a requisition whose purchase order
 * exists is checked against availability that already counts the earlier version's purchase order (the ERP
 * subtracts open commitments), so checking the revision's whole amount would count the same money twice and
 * refuse a revision that lowers the amount. With this, only the change is checked: the open purchase
 * order's charges per budget key and period are taken off the revision's before the ERP is asked.
 *
 * The purchase order keeps its order date through every revision, so the ERP keeps the commitment in that
 * period; the revision's charges must fall in the same period (charges.ts, option orderDate)
 * or, after a month end, nothing is netted and the change is checked against the wrong month.
 */
import type { CallContext, ErpDialect } from '../erp/dialect';
import type { MappedDocument } from '../mapping/documents';
import { externalReferenceFor } from '../posting/external-reference';
import { chargesOf } from './charges';
import type { Charge, PeriodSource } from './types';

/** The open purchase order of a requisition as the budget check nets it: its charges and its order date. */
export interface OpenCommitment {
  charges: Charge[];
  /** The PO's order date, which updates never move: a revision is charged in its period (charges.ts). */
  orderDate: string;
}

/**
 * The charges of the open purchase order the ERP holds for this requisition (found by its external
 * reference, as finance-purchase-order creates it); none for another document, a requisition without a
 * purchase order yet, or one whose purchase order is cancelled.
 */
export async function openCommitmentOf(
  dialect: Pick<ErpDialect, 'findByReference' | 'getPurchaseOrder'>,
  document: MappedDocument,
  options: { periodFrom: PeriodSource; today: string },
  ctx: CallContext,
): Promise<OpenCommitment | undefined> {
  if (document.docType !== 'Requisition') return undefined;
  const found = await dialect.findByReference('purchaseOrder', externalReferenceFor(document.sourceRef), ctx);
  if (found === null) return undefined;
  const po = await dialect.getPurchaseOrder(found.documentId, ctx);
  if (po.status !== 'open') return undefined;
  const charges = chargesOf(
    {
      docType: 'PurchaseOrder',
      sourceRef: document.sourceRef,
      externalReference: po.externalReference,
      supplierId: po.supplierId,
      orderDate: po.orderDate,
      currency: po.currency,
      total: po.total,
      lines: po.lines,
    },
    options,
  );
  return { charges, orderDate: po.orderDate };
}
