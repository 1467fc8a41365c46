/**
 * What the nodes report about their work, in one shape: an outcome of a node (which output a message left
 * through, or the failure it ended with), a retry being parked, an intake verdict, an ERP call, a change of a
 * circuit breaker. The audit trail (lib/audit) writes them; the metrics (lib/metrics) count them.
 *
 * An observation carries only named facts picked out of a message (never the message itself), so nothing a
 * node did not choose to report, such as headers or credentials, can reach the trail or the metrics.
 */
import { isRecord } from '../erp/records';

export type ObservationKind = 'outcome' | 'failure' | 'retry' | 'intake' | 'erp-call' | 'circuit';

export interface ObservedNode {
  type: string;
  id: string;
  name?: string;
}

export interface Observation {
  kind: ObservationKind;
  /** ISO 8601 time of the observation. */
  at: string;
  node?: ObservedNode;
  /** The output the message left through (outcome, intake), e.g. "posted", "refused", "duplicate". */
  output?: string;
  correlationId?: string;
  /** The source system (msg.finance.source) or, for ERP calls and circuits, the ERP connection's name. */
  system?: string;
  /** expense | procurement | approval | master-data | other, from the document type. */
  process?: string;
  /** Ids that name the event and document at the source. */
  sourceIds?: { eventId?: string; docType?: string; docId?: string; version?: number };
  attempt?: number;
  approval?: {
    state?: string;
    stage?: number;
    approver?: string;
    delegateOf?: string;
    decidedAt?: string;
    submittedAt?: string;
  };
  erp?: {
    system?: string;
    documentType?: string;
    documentId?: string;
    number?: string;
    status?: string;
    httpStatus?: number;
  };
  /** The mapping used (finance-map): profile name and its version. */
  mapping?: { profile: string; version: string };
  error?: { code: string; httpStatus?: number; message?: string };
  /** ERP calls: what was sent and what came back. */
  request?: { method: string; path: string; status?: number; durationMs: number };
  /** Circuit observations: closed | open | half-open. */
  circuitState?: string;
  /** A retry: when it is due. */
  retryDueAt?: string;
}

const PROCESS_OF_DOC_TYPE: Readonly<Record<string, string>> = {
  ExpenseReport: 'expense',
  'expense-report': 'expense',
  expense: 'expense',
  Requisition: 'procurement',
  requisition: 'procurement',
  PurchaseOrder: 'procurement',
  'purchase-order': 'procurement',
  ApprovalEvent: 'approval',
  'approval-event': 'approval',
};

/** The business process a document type belongs to; unknown types keep a stable "other". */
export function processOf(docType: unknown): string {
  if (typeof docType !== 'string') return 'other';
  return (
    PROCESS_OF_DOC_TYPE[docType] ??
    (/expense/i.test(docType) ? 'expense' : /purchase|requisition/i.test(docType) ? 'procurement' : 'other')
  );
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function integer(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/**
 * The object without its undefined members, or undefined when none is left. A plain loop: every message every
 * node reports goes through here several times, where entries/filter/fromEntries cost a third of a node's
 * own work (CPU profile of the mapping benchmark). The objects are made here for one observation, so one
 * without undefined members is returned as it is: copying it was most of the cost. The keys are the named
 * fields of this file, never "__proto__".
 */
function withoutUndefined<T extends object>(value: T): T | undefined {
  if (!hasUndefined(value)) return value;
  let result: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) (result ??= {})[key] = item;
  }
  return result as T | undefined;
}

function hasUndefined(value: object): boolean {
  for (const key in value) {
    if ((value as Record<string, unknown>)[key] === undefined) return true;
  }
  return false;
}

/**
 * The facts of a message that an observation keeps: the envelope (msg.finance), the approval (msg.approval)
 * and the ERP reference (msg.erp), each reduced to named scalar fields.
 */
export function factsOfMessage(msg: unknown): Partial<Observation> {
  if (!isRecord(msg)) return {};
  const envelope = isRecord(msg.finance) ? msg.finance : {};
  // A document that did not come through the intake (e.g. from an inject node) names itself in sourceRef.
  const document = isRecord(msg.payload) ? msg.payload : {};
  const sourceRef = isRecord(document.sourceRef) ? document.sourceRef : {};
  const approval = isRecord(msg.approval) ? msg.approval : undefined;
  const erp = isRecord(msg.erp) ? msg.erp : undefined;
  const facts: Partial<Observation> = {
    correlationId: text(envelope.correlationId),
    system: text(envelope.source) ?? text(sourceRef.system),
    process: processOf(envelope.docType ?? document.docType),
    sourceIds: withoutUndefined({
      eventId: text(envelope.id),
      docType: text(envelope.docType) ?? text(document.docType),
      docId: text(envelope.docId) ?? text(sourceRef.id),
      version: integer(envelope.version) ?? integer(sourceRef.version),
    }),
    attempt: integer(envelope.attempt),
    approval: approval
      ? withoutUndefined({
          state: text(approval.state),
          stage: integer(approval.stage),
          approver: text(approval.approver),
          delegateOf: text(approval.delegateOf),
          decidedAt: text(approval.decidedAt),
          submittedAt: text(approval.submittedAt),
        })
      : undefined,
    erp: erp
      ? withoutUndefined({
          system: text(erp.system),
          documentType: text(erp.documentType),
          documentId: text(erp.documentId),
          number: text(erp.number),
          status: text(erp.status),
          httpStatus: integer(erp.httpStatus),
        })
      : undefined,
  };
  // Only what is known, so that the observation made of these facts needs no compacting copy.
  return withoutUndefined(facts) ?? {};
}

/** Drops the members that are undefined, so a record written as JSON holds only what is known. */
export function compactObservation(observation: Observation): Observation {
  return withoutUndefined(observation) as Observation;
}
