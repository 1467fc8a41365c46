/** Where a write-back goes: one implementation per kind of source API (generic webhook, Concur, Coupa, MQTT). */
import type { WritebackOutcome } from './outcome';

export const WRITEBACK_TARGETS = ['webhook', 'concur', 'mqtt', 'coupa'] as const;
export type WritebackTargetName = (typeof WRITEBACK_TARGETS)[number];

export interface WritebackRequest {
  outcome: WritebackOutcome;
  /** The same for every attempt of this write-back (derived from its ledger key). */
  idempotencyKey: string;
  correlationId: string;
  /** When the write-back is made (ISO date-time). */
  at: string;
  /** The document owner's user id in the source, for APIs that address documents per user (Concur). */
  userId?: string;
  /** The canonical document type, for APIs with one resource per type (Coupa requisitions, purchase orders). */
  docType?: string;
  /**
   * The document's version in the source (sourceRef.version), when it has one. Targets that send an event
   * (webhook, MQTT) carry it, so a receiver can order them too: a late event of an older version must not
   * overwrite a newer one's status there either.
   */
  version?: number;
}

/** `skipped`: the target has no field for this outcome (e.g. Concur without a status field for a rejection). */
export type WritebackDelivery = 'sent' | 'skipped';

/**
 * Sends one write-back. Resolves when the target confirmed it; rejects with FinanceError: a refusal with a
 * final 4xx (ERP_REJECTED / ERP_CONFLICT), a technical failure with a retryable code.
 */
export interface WritebackTarget {
  readonly name: WritebackTargetName;
  send(request: WritebackRequest): Promise<WritebackDelivery>;
}
