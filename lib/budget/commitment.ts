/**
 * The commitment a requisition already holds in the ERP. A revision of a requisition whose purchase order
 * exists is checked against availability that already counts the earlier version's purchase order (the ERP
 * subtracts open commitments), so checking the revision's whole amount would count the same money twice and
 * refuse a revision that lowers the amount. With this, only the change is checked: the open purchase
 * order's charges per budget key and period are taken off the revision's before the ERP is asked.
 */
import type { CallContext, ErpDialect } from '../erp/dialect';
import type { MappedDocument } from '../mapping/documents';
import { externalReferenceFor } from '../posting/external-reference';
import { chargesOf } from './charges';
import type { Charge, PeriodSource } from './types';

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
): Promise<Charge[]> {
  if (document.docType !== 'Requisition') return [];
  const found = await dialect.findByReference('purchaseOrder', externalReferenceFor(document.sourceRef), ctx);
  if (found === null) return [];
  const po = await dialect.getPurchaseOrder(found.documentId, ctx);
  if (po.status !== 'open') return [];
  return chargesOf(
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
}
