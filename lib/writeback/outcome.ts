/**
 * What is told back to the source system about a document: its status (posted, or the approval state when
 * it was not posted) and, once posted, the ERP's references. Read from the message the pipeline built:
 * msg.payload (the canonical document), msg.erp (finance-post, finance-purchase-order), msg.approval
 * (finance-approval), msg.purchaseOrder (finance-purchase-order), msg.budget (finance-budget-check).
 *
 * Statuses: `posted` (finance-post), `ordered` / `cancelled` (finance-purchase-order: the ERP holds the
 * purchase order, or cancelled it), the approval state, or `budget_exceeded` (the budget check refused the
 * money and nothing was written to the ERP).
 */
import { FinanceError } from '../errors';
import { isRecord } from '../erp/records';
import type { ErpRef } from '../model/types';

export interface WritebackOutcome {
  /** The source system, e.g. "concur" (the document's sourceRef.system). */
  system: string;
  /** The document's id in the source system. */
  documentId: string;
  status: string;
  erpRef?: ErpRef;
  correlationId?: string;
}

/** The parts of a message the outcome is read from. */
export interface WritebackMessage {
  payload?: unknown;
  erp?: unknown;
  approval?: unknown;
  finance?: unknown;
  purchaseOrder?: unknown;
  budget?: unknown;
}

/** The canonical document's identity, which keys the write-back in the ledger. */
export interface WritebackDocument {
  docType: string;
  sourceRef: { system: string; id: string; version?: number };
}

export function writebackDocument(payload: unknown): WritebackDocument {
  const sourceRef = isRecord(payload) ? payload.sourceRef : undefined;
  if (
    !isRecord(payload) ||
    typeof payload.docType !== 'string' ||
    !isRecord(sourceRef) ||
    typeof sourceRef.system !== 'string' ||
    typeof sourceRef.id !== 'string' ||
    (sourceRef.version !== undefined && typeof sourceRef.version !== 'number')
  ) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'msg.payload must be the canonical document with docType and sourceRef { system, id } (as finance-map produces it), so the write-back knows which document it is about.',
    );
  }
  return {
    docType: payload.docType,
    sourceRef: {
      system: sourceRef.system,
      id: sourceRef.id,
      ...(sourceRef.version === undefined ? {} : { version: sourceRef.version as number }),
    },
  };
}

/**
 * Statuses after which nothing more happens to the document in this pipeline, so the write-back ends the
 * event's journey. An intermediate status (approved, escalated, pending_approval) is written back too, but
 * the event stays open: an approved report still has to be posted.
 */
export const FINAL_WRITEBACK_STATUSES: readonly string[] = [
  'posted',
  'paid',
  'rejected',
  'returned',
  'cancelled',
  'ordered',
  'budget_exceeded',
];

export function endsJourney(status: string): boolean {
  return FINAL_WRITEBACK_STATUSES.includes(status);
}

/**
 * Where each status the pack writes back stands in a document's lifecycle, for the order of the write-backs
 * of one version (latest-version.ts): once a status was written back, a write-back of the same version with a
 * lower rank is a retry that was parked meanwhile (an `approved` that failed while the report was posted) and
 * is not sent, so the source keeps the later status. Equal ranks are not ordered.
 *
 * 1. `pending_approval`, `escalated` (still waiting for a decision; they alternate);
 * 2. the decisions that write nothing to the ERP: `approved`, `returned`, `rejected`, `budget_exceeded`. They
 *    share a rank because a document may start over under the same version (finance-approval starts a new
 *    approval for a new event of a decided version, e.g. a returned report submitted again): `approved` after
 *    `returned` and `rejected` after `approved` are then news, not stale;
 * 3. `posted`, `ordered`: the ERP holds the document, which no decision of the same version follows (the
 *    lifecycle goes from posted only to paid), so a `rejected` or `approved` that comes after it is stale, and
 *    a `posted` after a `rejected` (the document started over) is still sent;
 * 4. `paid`, `cancelled`: nothing follows them.
 *
 * A status not listed (a custom approval state) has no rank: its write-backs are kept in version order only.
 */
export const WRITEBACK_STATUS_RANKS: Readonly<Record<string, number>> = Object.freeze({
  pending_approval: 1,
  escalated: 1,
  approved: 2,
  returned: 2,
  rejected: 2,
  budget_exceeded: 2,
  posted: 3,
  ordered: 3,
  paid: 4,
  cancelled: 4,
});

/** The status's rank in the lifecycle (WRITEBACK_STATUS_RANKS), or undefined for a status not listed there. */
export function writebackRank(status: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(WRITEBACK_STATUS_RANKS, status)
    ? WRITEBACK_STATUS_RANKS[status]
    : undefined;
}

export function writebackOutcome(msg: WritebackMessage): WritebackOutcome {
  const document = writebackDocument(msg.payload);
  const erpRef = erpRefOf(msg.erp) ?? erpRefOf((msg.payload as { erpRef?: unknown }).erpRef);
  const approvalState = isRecord(msg.approval) ? msg.approval.state : undefined;
  const status = erpRef !== undefined ? erpStatus(msg.purchaseOrder) : (approvalState ?? budgetStatus(msg.budget));
  if (typeof status !== 'string' || status === '') {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `Nothing to write back for ${document.sourceRef.system}:${document.sourceRef.id}: the message has neither msg.erp (from finance-post or finance-purchase-order), msg.approval.state (from finance-approval) nor an exceeded msg.budget (from finance-budget-check).`,
    );
  }
  const correlationId = isRecord(msg.finance) ? msg.finance.correlationId : undefined;
  return {
    system: document.sourceRef.system,
    documentId: document.sourceRef.id,
    status,
    ...(erpRef === undefined ? {} : { erpRef }),
    ...(typeof correlationId === 'string' ? { correlationId } : {}),
  };
}

/** A purchase order the ERP holds is `ordered` (or `cancelled`); any other ERP document was `posted`. */
function erpStatus(purchaseOrder: unknown): string {
  if (!isRecord(purchaseOrder) || typeof purchaseOrder.action !== 'string') return 'posted';
  return purchaseOrder.action === 'cancelled' ? 'cancelled' : 'ordered';
}

function budgetStatus(budget: unknown): string | undefined {
  return isRecord(budget) && budget.status === 'exceeded' ? 'budget_exceeded' : undefined;
}

/** The ERP reference without delivery facts such as httpStatus; undefined when there is none. */
function erpRefOf(value: unknown): ErpRef | undefined {
  if (!isRecord(value) || typeof value.documentId !== 'string') return undefined;
  const text = (key: string) => (typeof value[key] === 'string' ? { [key]: value[key] as string } : {});
  return {
    system: String(value.system ?? ''),
    dialect: String(value.dialect ?? ''),
    documentType: String(value.documentType ?? ''),
    documentId: value.documentId,
    ...text('number'),
    ...text('status'),
  };
}
