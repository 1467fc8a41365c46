/**
 * Sending one version's changes to a purchase order that exists in the ERP, with optimistic concurrency:
 * the PATCH carries only the fields that change and If-Match with the ETag of the copy the change was
 * computed on. The first try uses the copy this host wrote last (no read needed); when the ERP answers 412
 * (someone changed the PO since, or an earlier attempt of this update was partly applied), the PO is read
 * again and the PATCH is tried once more. A second 412 is a retryable ERP_CONFLICT.
 *
 * What is sent (diff.ts, reconcile): the header fields this version changed, re-applied to what the ERP holds
 * (a buyer's edit of another header field stays), and the version's lines whole whenever the ERP's lines
 * are not those: the lines are the pack's, and only the wanted content can restore a line an interrupted
 * attempt removed or a change the ERP's reading of a split line cannot carry.
 *
 * The Idempotency-Key of each PATCH is derived from the version's ledger key, the ETag and the body, so a
 * repeated request (a retry after a lost answer) is replayed by an ERP that honours the key, and two
 * different requests never share one.
 */
import type { ErpDialect, ErpPurchaseOrder, PurchaseOrderPatch } from '../erp/dialect';
import { FinanceError, isFinanceError } from '../errors';
import { idempotencyKeyFor } from '../posting/idempotent-write';
import { contentOf, type PurchaseOrderContent } from './document';
import { isEmptyPatch, patchBetween, reconcile, stableJson, type PurchaseOrderChange } from './diff';

export interface UpdateRequest {
  documentId: string;
  /** The ERP's copy as this host last wrote it, with its ETag; absent when unknown (the PO is read first). */
  cached?: { content: PurchaseOrderContent; etag: string };
  /** What changed since the last applied version: its header changes are re-applied to the ERP's copy. */
  changes: readonly PurchaseOrderChange[];
  /** What the version asks for: its lines are sent whole whenever the ERP's lines differ from them. */
  wanted: PurchaseOrderContent;
  /** The ledger key of this version's update (`source:docType:docId:version:update-po`). */
  ledgerKey: string;
  correlationId: string;
}

export type UpdateOutcome =
  /**
   * `po` is the ERP's purchase order after the PATCH; `patch` what was sent; `content` what the ERP holds
   * after it in the pack's terms (the base with the changes applied). The next change is applied to
   * `content`, not to a reading of `po`: an ERP that stores split coding as amount lines (Business Central,
   * ERPNext) or numbers its lines itself reads back a different but equivalent form, and a quantity change
   * applied to that form would change the wrong line or price.
   */
  | { action: 'updated'; po: ErpPurchaseOrder; patch: PurchaseOrderPatch; content: PurchaseOrderContent }
  /** The ERP already held the change; `po` is what it holds, when it was read. */
  | { action: 'unchanged'; po?: ErpPurchaseOrder };

interface Base {
  content: PurchaseOrderContent;
  etag: string;
  po?: ErpPurchaseOrder;
}

export async function updatePurchaseOrder(
  dialect: Pick<ErpDialect, 'getPurchaseOrder' | 'patchPurchaseOrder'>,
  request: UpdateRequest,
): Promise<UpdateOutcome> {
  const read = async (): Promise<Base> => {
    const po = await dialect.getPurchaseOrder(request.documentId, { correlationId: request.correlationId });
    if (po.erpRef.etag === undefined) {
      throw new FinanceError(
        'ERP_UNAVAILABLE',
        `The ERP answered purchase order ${request.documentId} without an ETag, so it cannot be changed safely; check the ERP connection's dialect.`,
      );
    }
    return { content: contentOf(po), etag: po.erpRef.etag, po };
  };
  const send = async (base: Base): Promise<UpdateOutcome> => {
    const content = reconcile(base.content, request.changes, request.wanted);
    const patch = patchBetween(base.content, content);
    if (isEmptyPatch(patch)) return { action: 'unchanged', ...(base.po === undefined ? {} : { po: base.po }) };
    const idempotencyKey = idempotencyKeyFor(`${request.ledgerKey}|${base.etag}|${stableJson(patch)}`);
    const po = await dialect.patchPurchaseOrder(request.documentId, patch, base.etag, {
      correlationId: request.correlationId,
      idempotencyKey,
    });
    return { action: 'updated', po, patch, content };
  };

  try {
    return await send(request.cached ?? (await read()));
  } catch (error) {
    if (!isStaleEtag(error)) throw error;
  }
  try {
    return await send(await read());
  } catch (error) {
    if (!isStaleEtag(error)) throw error;
    throw new FinanceError(
      'ERP_CONFLICT',
      `Purchase order ${request.documentId} changed in the ERP again while this update was being re-applied (412 twice); the call is retryable and will read the PO again.`,
      { retryable: true, httpStatus: 412, details: { documentId: request.documentId }, cause: error },
    );
  }
}

function isStaleEtag(error: unknown): boolean {
  return isFinanceError(error) && error.httpStatus === 412;
}
