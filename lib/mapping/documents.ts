/**
 * The canonical documents a mapping produces and the process nodes after it work on: expense reports from
 * expense platforms, requisitions and purchase orders from procurement platforms.
 */
import type { ExpenseReport, PurchaseOrder, Requisition } from '../model/types';

export const MAPPED_DOC_TYPES = ['ExpenseReport', 'Requisition', 'PurchaseOrder'] as const;
export type MappedDocType = (typeof MAPPED_DOC_TYPES)[number];
export type MappedDocument = ExpenseReport | Requisition | PurchaseOrder;

export function isMappedDocType(value: unknown): value is MappedDocType {
  return typeof value === 'string' && (MAPPED_DOC_TYPES as readonly string[]).includes(value);
}

/** The document's own id, which becomes msg.finance.docId. */
export function documentIdOf(document: MappedDocument): string {
  switch (document.docType) {
    case 'ExpenseReport':
      return document.reportId;
    case 'Requisition':
      return document.requisitionId;
    case 'PurchaseOrder':
      return document.externalReference;
  }
}
