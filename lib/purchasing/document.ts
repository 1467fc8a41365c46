/**
 * What a purchase-order message asks for, read from its canonical document: a Requisition (from the
 * procurement platform) or a PurchaseOrder, the version it carries, whether it cancels, and the purchase
 * order it stands for in the ERP.
 */
import { FinanceError } from '../errors';
import { isRecord } from '../erp/records';
import { localDate } from '../model/calendar';
import type { PurchaseOrder, Requisition } from '../model/types';
import { externalReferenceFor } from '../posting/external-reference';

export type PurchaseDocument = Requisition | PurchaseOrder;

/** The part of a purchase order that a version of the source document decides, and the ERP stores. */
export type PurchaseOrderContent = Pick<PurchaseOrder, 'supplierId' | 'orderDate' | 'currency' | 'lines'>;

const DOC_TYPES: readonly string[] = ['Requisition', 'PurchaseOrder'];

/**
 * msg.payload as a purchase document to validate. Anything that is not even trying to be one (not an object,
 * another docType) is a wiring mistake, not a document to refuse: SCHEMA_INVALID is thrown.
 */
export function purchaseDocumentOf(payload: unknown): { docType: PurchaseDocument['docType'] } {
  const docType = isRecord(payload) ? payload.docType : undefined;
  if (typeof docType === 'string' && DOC_TYPES.includes(docType)) {
    return payload as { docType: PurchaseDocument['docType'] };
  }
  const got = !isRecord(payload)
    ? `a ${payload === null ? 'null' : Array.isArray(payload) ? 'list' : typeof payload}`
    : docType === undefined
      ? 'a document without docType'
      : `docType "${String(docType)}"`;
  throw new FinanceError(
    'SCHEMA_INVALID',
    `msg.payload must be a canonical Requisition or PurchaseOrder (docType "Requisition" or "PurchaseOrder"), not ${got}; map the source document with finance-map first.`,
  );
}

/** A cancelled requisition (flag or state) or a PurchaseOrder with status "cancelled" asks for a cancel. */
export function isCancel(document: PurchaseDocument): boolean {
  if (document.docType === 'Requisition') return document.cancelled === true || document.state === 'cancelled';
  return document.status === 'cancelled';
}

/** The key the ERP finds the purchase order by: a PurchaseOrder's own, derived from the source for a requisition. */
export function externalReferenceOf(document: PurchaseDocument): string {
  return document.docType === 'PurchaseOrder' ? document.externalReference : externalReferenceFor(document.sourceRef);
}

/**
 * The document's version: sourceRef.version, else msg.finance.version; undefined when neither has one. Two
 * different numbers mean the envelope was built for another revision, which must not be guessed at.
 */
export function versionOf(document: PurchaseDocument, envelope: unknown): number | undefined {
  const own = document.sourceRef.version;
  const raw = isRecord(envelope) ? envelope.version : undefined;
  const carried = raw === null ? undefined : raw;
  if (carried !== undefined && !(typeof carried === 'number' && Number.isInteger(carried) && carried >= 0)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `msg.finance.version must be a whole number of 0 or more, not ${JSON.stringify(carried)}; fix the envelope where it is built.`,
    );
  }
  if (own !== undefined && carried !== undefined && own !== carried) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `msg.finance.version is ${carried} but payload.sourceRef.version is ${own}; they must name the same revision of the document.`,
    );
  }
  return own ?? carried;
}

/**
 * The purchase order a document asks for. A requisition has no order date of its own: the caller passes
 * the date its purchase order got when it was first created, so later versions never move it.
 */
export function toPurchaseOrder(document: PurchaseDocument, orderDate: string): PurchaseOrder {
  if (document.docType === 'PurchaseOrder') return document;
  return {
    docType: 'PurchaseOrder',
    sourceRef: document.sourceRef,
    externalReference: externalReferenceFor(document.sourceRef),
    supplierId: document.supplierId,
    ...(document.company === undefined ? {} : { company: document.company }),
    orderDate,
    currency: document.currency,
    total: document.total,
    lines: document.lines,
    status: 'open',
  };
}

export function contentOf(po: PurchaseOrderContent): PurchaseOrderContent {
  return { supplierId: po.supplierId, orderDate: po.orderDate, currency: po.currency, lines: po.lines };
}

/**
 * The day an event happened (its envelope's time), else today, on this host's calendar (lib/model/calendar.ts),
 * where the budget check dated it too: the order date of a new PO.
 */
export function eventDate(envelope: unknown, now: Date, zone?: string): string {
  const time = isRecord(envelope) ? envelope.time : undefined;
  const parsed = typeof time === 'string' ? new Date(time) : undefined;
  const date = parsed !== undefined && !Number.isNaN(parsed.getTime()) ? parsed : now;
  return localDate(date, zone);
}
