/**
 * The commitment a revised document already holds in the ERP. A revision of a requisition (or of a source
 * purchase order) whose purchase order exists is checked against availability that already counts the earlier
 * version's purchase order (the ERP subtracts open commitments), so checking the revision's whole amount would
 * count the same money twice and refuse a revision that lowers the amount. With this, only the change is
 * checked: the open purchase order's charges per budget key and period are taken off the revision's before
 * the ERP is asked (check.ts).
 *
 * Never net what the ERP does not count: only an open purchase order the ERP holds now (read from it, not
 * from memory: a PO cancelled, closed or deleted there counts for nothing), only in the period the ERP counts
 * it in (its order date's month: the sandbox ERP and Business Central count an open order there, ERPNext from
 * there on), and only in its own currency. The purchase order keeps its order date through every revision, so
 * a requisition's revision is charged in that period too (charges.ts, option orderDate) or, after a month end,
 * nothing is netted and the change is checked against the wrong month.
 *
 * The purchase order is found by its external reference (as finance-purchase-order creates it). An ERP that
 * cannot look a purchase order up by reference (Business Central without its reference API page) is asked by
 * the id in the pack's own record of the applied version (finance-purchase-order's store, kv namespace
 * po-versions); without that record the revision is checked in full and msg.budget says netting was not
 * possible, rather than silently counting twice.
 */
import type { CallContext, ErpDialect } from '../erp/dialect';
import { isFinanceError } from '../errors';
import type { ErpMessage } from '../model/types';
import type { MappedDocument } from '../mapping/documents';
import { externalReferenceFor } from '../posting/external-reference';
import { chargesOf } from './charges';
import { documentCurrency } from './document';
import type { Charge } from './types';

/** The open purchase order of a revised document as the budget check nets it: its charges and its order date. */
export interface OpenCommitment {
  charges: Charge[];
  /** The PO's order date, which updates never move: a requisition's revision is charged in its period (charges.ts). */
  orderDate: string;
}

/** What the lookup found: the commitment to net, if any, and what msg.budget.erpMessages should say about it. */
export interface CommitmentLookup {
  commitment?: OpenCommitment;
  erpMessages: ErpMessage[];
}

/**
 * The pack's own record of the purchase order applied for an external reference: lib/purchasing/versions.ts
 * VersionBook over the store that finance-purchase-order uses (read only here).
 */
export interface AppliedPurchaseOrders {
  get(
    externalReference: string,
  ): Promise<{ erpRef?: { documentId: string }; status: 'open' | 'cancelled' } | undefined>;
  /** A create whose outcome is unknown (lib/purchasing/unsettled-create.ts): the PO may exist unrecorded. */
  unsettled?: { get(externalReference: string): Promise<unknown> };
}

/** msg.budget.erpMessages code: the revision was checked in full because its own PO could not be netted. */
export const COMMITMENT_NOT_NETTED = 'COMMITMENT_NOT_NETTED';
/** msg.budget.erpMessages code: the document's own open PO was taken off, only the change was checked. */
export const COMMITMENT_NETTED = 'COMMITMENT_NETTED';

type Dialect = Pick<ErpDialect, 'findByReference' | 'getPurchaseOrder'> &
  Partial<Pick<ErpDialect, 'findsPurchaseOrdersByReference' | 'name'>>;

/** The external reference finance-purchase-order gives the document's purchase order (purchasing/document.ts). */
function referenceOf(document: MappedDocument): string | undefined {
  if (document.docType === 'PurchaseOrder') return document.externalReference;
  if (document.docType === 'Requisition') return externalReferenceFor(document.sourceRef);
  return undefined;
}

function notNetted(reference: string, why: string): CommitmentLookup {
  return {
    erpMessages: [
      {
        code: COMMITMENT_NOT_NETTED,
        severity: 'warning',
        text:
          `The whole amount was checked: ${why} If this document revises one whose purchase order "${reference}" ` +
          'is open, the ERP counts that order already and the check counts it twice.',
      },
    ],
  };
}

/** The ERP id of the document's purchase order, null when there is none, or a CommitmentLookup saying why not known. */
async function purchaseOrderId(
  dialect: Dialect,
  reference: string,
  records: AppliedPurchaseOrders | undefined,
  ctx: CallContext,
): Promise<string | null | CommitmentLookup> {
  if (dialect.findsPurchaseOrdersByReference !== false) {
    return (await dialect.findByReference('purchaseOrder', reference, ctx))?.documentId ?? null;
  }
  const erp = `the ERP (${dialect.name ?? 'erp'}) cannot find a purchase order by its reference`;
  if (records === undefined) {
    return notNetted(
      reference,
      `${erp}, and this node has no store to read finance-purchase-order's record of it from (select the same store as finance-purchase-order).`,
    );
  }
  const record = await records.get(reference);
  if (record === undefined) {
    if ((await records.unsettled?.get(reference)) === undefined) return null;
    return notNetted(reference, `${erp}, and the create of its purchase order has an unknown outcome.`);
  }
  return record.status === 'open' && record.erpRef !== undefined ? record.erpRef.documentId : null;
}

/**
 * The open purchase order the ERP holds for this requisition or purchase order, as charges; none for an
 * expense report, a document without a purchase order yet, or one whose purchase order is not open. A
 * passing failure (retryable) is thrown, for the retry policy; any other failure of the lookup leaves the
 * check in full with a message, as it was before netting: a check that worked never fails for it.
 */
export async function openCommitmentOf(
  dialect: Dialect,
  document: MappedDocument,
  ctx: CallContext,
  records?: AppliedPurchaseOrders,
): Promise<CommitmentLookup> {
  const reference = referenceOf(document);
  if (reference === undefined) return { erpMessages: [] };
  try {
    const id = await purchaseOrderId(dialect, reference, records, ctx);
    if (id === null) return { erpMessages: [] };
    if (typeof id !== 'string') return id;
    const po = await dialect.getPurchaseOrder(id, ctx).catch((error: unknown) => {
      // Recorded here, deleted in the ERP: it counts for nothing there.
      if (isFinanceError(error) && error.code === 'ERP_NOT_FOUND') return undefined;
      throw error;
    });
    if (po === undefined || po.status !== 'open') return { erpMessages: [] };
    const currency = documentCurrency(document);
    if (po.currency !== currency) {
      return notNetted(
        reference,
        `its purchase order ${po.erpRef.number ?? id} is in ${po.currency}, the document in ${currency}.`,
      );
    }
    // In the order date's period, where the ERP counts an open order, whatever the node's period setting.
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
      { periodFrom: 'document', today: po.orderDate },
    );
    return {
      commitment: { charges, orderDate: po.orderDate },
      erpMessages: [
        {
          code: COMMITMENT_NETTED,
          severity: 'info',
          text:
            `The ERP counts open purchase order ${po.erpRef.number ?? id} of this document (${po.total.amount} ` +
            `${po.total.currency}, ordered ${po.orderDate}) already: what it holds on a budget in that month was ` +
            'taken off, so only the change was checked there.',
        },
      ],
    };
  } catch (error) {
    if (!isFinanceError(error) || error.retryable) throw error;
    return notNetted(reference, `looking up its purchase order failed (${error.code}: ${error.message}).`);
  }
}
