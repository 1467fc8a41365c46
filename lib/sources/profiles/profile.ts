/**
 * What a source profile is: everything the pack knows about one kind of sender, so the intake and map
 * nodes never name a vendor's fields. A profile reads the envelope of an incoming event (who sent what,
 * under which id) and maps the vendor's document into the canonical model.
 */
import type { ExpenseReport, Requisition } from '../../model/types';
import type { HeaderMap } from '../headers';
import type { SignatureScheme } from '../signatures';

export type SourceDocType = 'ExpenseReport' | 'Requisition';
export type CanonicalDocument = ExpenseReport | Requisition;

/** The facts of one event that intake needs before the document itself is mapped. */
export interface EventFacts {
  /** The sender's event id; unique together with `source`, which makes `source` + `id` the de-duplication key. */
  id: string;
  /** Who sent it, e.g. "concur:<companyId>", "ramp:<business_id>" or a CloudEvents source. */
  source: string;
  /** What happened, e.g. "concur.expense.report.statusChanged". */
  type: string;
  subject?: string;
  /** When the sender says it happened (RFC 3339). */
  time: string;
  docType: SourceDocType;
  /** The document's id in the source system. */
  docId: string;
  /** The document's revision, when the event carries one. */
  version?: number;
  /** The sender's own correlation id, when it has one (Concur's `correlationId`), to trace the event back there. */
  correlationId?: string;
  /** Where the full document can be read when the event only announces it (Concur's `href`). */
  documentUrl?: string;
}

/** Data that belongs to the document but that the source serves separately. */
export interface MappingContext {
  /** Line items fetched on their own (Concur: the report's expenses). */
  lines?: unknown;
  /** Concur: the Items of every page of the v3.0 Itemizations API for the report (GET /api/v3.0/expense/itemizations). */
  itemizations?: unknown;
  /** Concur: the Items of every page of the v3.0 Allocations API for the report (GET /api/v3.0/expense/allocations). */
  allocations?: unknown;
  /**
   * Where the caller read `itemizations` and `allocations` from (e.g. "msg.payload.itemizations"), so that a
   * refusal can say which setting to fill; undefined when the caller has no such setting or it is empty.
   */
  sources?: { itemizations?: string; allocations?: string };
}

export interface SourceProfile {
  readonly name: string;
  /** The document type this profile produces (CloudEvents: the default; the event's data says which). */
  readonly docType: SourceDocType;
  /** The signature scheme the source uses unless the source configuration says otherwise. */
  readonly signatureScheme: SignatureScheme;
  /**
   * True when the event body embeds the canonical document (CloudEvents): intake can map and validate it at
   * once. False when the event only announces a change and the vendor's document must be fetched (Concur,
   * Ramp) and passed to `toCanonical`.
   */
  readonly embedsCanonical: boolean;
  /**
   * Where the embedded canonical document sits in the event body, as a JSON pointer ("/data" for CloudEvents);
   * intake puts it before the paths of the document's violations, so they point into the body the sender sent.
   */
  readonly canonicalPointer?: string;
  /**
   * True when the event id is not the sender's but made here from the document and its version (Coupa polling:
   * `purchase-order-<id>-<version>-<content digest>`). The same id then means the same revision by construction, so a second
   * event under it is a duplicate, not a sender reusing an id (intake's EVENT_ID_REUSED check is skipped).
   */
  readonly derivesEventIds?: boolean;
  /** Reads and checks the envelope; throws FinanceError('SCHEMA_INVALID') naming the field. */
  envelopeOf(body: unknown, headers?: HeaderMap): EventFacts;
  /** Maps the source's document; throws FinanceError('SCHEMA_INVALID' | 'INVALID_AMOUNT' | ...) naming the field. */
  toCanonical(body: unknown, context?: MappingContext): CanonicalDocument;
}
