/**
 * Purchase order creates whose outcome is unknown, for an ERP that cannot be asked for a purchase order by
 * external reference (Business Central without the custom reference API page, see README). There, the
 * ledger's lookup after an attempt that got no answer (a timeout, a reset, a gateway's 502 or 504) cannot
 * find what that attempt may have created, and the upsert cannot either: writing again could make a second
 * purchase order. So such a create is never repeated automatically, for the same version nor a later one:
 *
 * - Before each write, the attempt leaves a note under the document (kv namespace UNSETTLED_CREATES_NAMESPACE,
 *   keyed by the external reference, so every version of the document sees it): "an attempt is writing".
 *   It is removed once the outcome is known: the version is recorded (synced), or the ERP's answer proved
 *   nothing was written (a refusal, a 401...). A timeout, a 5xx or a crash leaves it.
 * - An attempt that finds a note of an attempt that has ended (or whose process is gone) does not write: it
 *   fails with ERP_OUTCOME_UNKNOWN, not retryable, so the message goes to the dead letters; the message says
 *   what to look for in the ERP. A note of an attempt still running (another host) is a retryable
 *   ERP_CONFLICT; a note whose write the ledger records as done points at that purchase order.
 * - A person checks the ERP and says what they found (recordPurchaseOrderCheck: the PO's number, or none),
 *   then replays the dead letter: the next attempt changes the PO found to its version, or creates it.
 * - A note that names a purchase order (a person linked it) is safe to act on again: writing changes that PO.
 */
import type { ErpDialect } from '../erp/dialect';
import { FinanceError } from '../errors';
import type { Money } from '../model/types';
import { isOver } from '../posting/attempt-liveness';
import { UNSETTLED_NAMESPACE } from '../posting/idempotent-write';
import type { FinanceStore } from '../reliability/store';

export const UNSETTLED_CREATES_NAMESPACE = 'po-create-unsettled';

/** The msg.topic of a person's answer to ERP_OUTCOME_UNKNOWN, sent to the finance-purchase-order node. */
export const PURCHASE_ORDER_CHECKED_TOPIC = 'purchase-order-checked';

export function findsPurchaseOrdersByReference(dialect: ErpDialect): boolean {
  return dialect.findsPurchaseOrdersByReference !== false;
}

export interface UnsettledCreate {
  /** The ledger key of the attempt that wrote the note. */
  ledgerKey: string;
  version?: number;
  /** When that attempt began writing (ISO). */
  since: string;
  /** The PO the attempt writes to when a person linked one; absent for a create. */
  documentId?: string;
  /** What the attempt sent, for a person to look for it in the ERP. */
  sent: SentPurchaseOrder;
  /** What a person found in the ERP after the attempt: the PO's number, or null for none. */
  checked?: { number: string | null; at: string };
}

export type UnsettledStore = Pick<FinanceStore, 'kvGet' | 'kvPut' | 'kvDelete' | 'kvList' | 'ledgerGet'>;

export class UnsettledCreates {
  readonly #store: UnsettledStore;

  constructor(store: UnsettledStore) {
    this.#store = store;
  }

  async get(externalReference: string): Promise<UnsettledCreate | undefined> {
    const value = (await this.#store.kvGet(UNSETTLED_CREATES_NAMESPACE, externalReference)) as
      UnsettledCreate | undefined;
    return typeof value?.ledgerKey === 'string' ? value : undefined;
  }

  /** Kept until the outcome is known: a note that expired could let a second purchase order be created. */
  put(externalReference: string, note: UnsettledCreate): Promise<void> {
    return this.#store.kvPut(UNSETTLED_CREATES_NAMESPACE, externalReference, note);
  }

  /** Removes the note written by the attempt of `ledgerKey` (a newer attempt's note stays). */
  async clear(externalReference: string, ledgerKey: string): Promise<void> {
    const note = await this.get(externalReference);
    if (note?.ledgerKey === ledgerKey) await this.#store.kvDelete(UNSETTLED_CREATES_NAMESPACE, externalReference);
  }

  /**
   * Where the attempt of a note stands: `done` with the ledger's reference, `running` (its marker is held by
   * an attempt that is not over), or `ended` (over, or no marker: the outcome is unknown).
   */
  async attemptOf(note: UnsettledCreate): Promise<AttemptState> {
    const record = await this.#store.ledgerGet(note.ledgerKey);
    if (record?.state === 'done') return { state: 'done', ref: record.ref as { documentId?: unknown } };
    if (record?.state !== 'in-flight') return { state: 'ended' };
    if (!(await isOver(this.#store, record.owner))) return { state: 'running', owner: record.owner };
    // Over, but the ERP may go on applying its last request until the ledger's note says it has settled.
    const unsettled = (await this.#store.kvGet(UNSETTLED_NAMESPACE, note.ledgerKey)) as
      { settlesAt?: unknown } | undefined;
    return typeof unsettled?.settlesAt === 'number'
      ? { state: 'ended', settlesAt: unsettled.settlesAt }
      : { state: 'ended' };
  }
}

export type AttemptState =
  | { state: 'done'; ref: { documentId?: unknown } }
  | { state: 'running'; owner: string }
  | { state: 'ended'; settlesAt?: number };

/** What the PO carried when it was sent, for a person to look for it in the ERP. */
export interface SentPurchaseOrder {
  externalReference: string;
  /** The source document, e.g. `Requisition REQ-1001`. */
  source: string;
  supplierId: string;
  orderDate: string;
  total: Money;
  lineDescriptions: string[];
}

/** The answer when the ERP cannot be asked whether an earlier create went through. */
export function outcomeUnknown(
  erpName: string,
  note: UnsettledCreate,
  operation: 'create' | 'cancel' = 'create',
): FinanceError {
  const { sent } = note;
  const lines = sent.lineDescriptions.slice(0, 3).map((text) => `"${text}"`);
  const more = sent.lineDescriptions.length > lines.length ? ', ...' : '';
  const version = note.version === undefined ? 'An earlier attempt' : `An earlier attempt (version ${note.version})`;
  const next =
    operation === 'create'
      ? 'the purchase order is created, or the one you found is brought to this version'
      : 'the purchase order you found is cancelled';
  return new FinanceError(
    'ERP_OUTCOME_UNKNOWN',
    `${version} to create the purchase order for "${sent.externalReference}" (${sent.source}) got no answer, and ${erpName} cannot be asked for a purchase order by that reference, so it may have created one there; nothing was sent this time, to avoid a second purchase order. ` +
      `Look in ${erpName} for a purchase order of vendor ${sent.supplierId} dated ${sent.orderDate} for ${sent.total.amount} ${sent.total.currency}` +
      `${lines.length > 0 ? ` (lines ${lines.join(', ')}${more})` : ''}, created since ${note.since}. ` +
      `Then send the finance-purchase-order node a message with msg.topic "${PURCHASE_ORDER_CHECKED_TOPIC}" and msg.payload {"externalReference": "${sent.externalReference}", "number": "<the PO number>"} (or "number": null when there is none), and replay this dead letter: ${next}.`,
    {
      details: {
        ...sent,
        since: note.since,
        version: note.version,
        ledgerKey: note.ledgerKey,
        // Nothing went to the ERP: the ledger need not wait for it to settle before the replay.
        sent: false,
      },
    },
  );
}

/** A retryable conflict: the attempt that wrote the note is running now (on another host). */
export function createRunning(externalReference: string, note: UnsettledCreate): FinanceError {
  return new FinanceError(
    'ERP_CONFLICT',
    `Another attempt (version ${note.version ?? '-'}) is creating the purchase order for "${externalReference}" right now (since ${note.since}); this one did not write. The call is retryable: retry in a moment and it will find the outcome.`,
    { retryable: true, details: { externalReference, ledgerKey: note.ledgerKey, since: note.since, sent: false } },
  );
}

/**
 * Records a person's answer to ERP_OUTCOME_UNKNOWN for `input` = {externalReference, number} (number: the PO
 * found in the ERP, or null for none). Refused (SCHEMA_INVALID) when the input is malformed, when no create of
 * that reference waits for a check, or while the attempt may still be writing.
 */
export async function recordPurchaseOrderCheck(
  creates: UnsettledCreates,
  input: unknown,
  now: Date,
): Promise<{ externalReference: string; number: string | null }> {
  const body = (typeof input === 'object' && input !== null ? input : {}) as {
    externalReference?: unknown;
    number?: unknown;
  };
  const { externalReference, number } = body;
  if (typeof externalReference !== 'string' || externalReference.trim() === '') {
    throw checkRefused(
      'msg.payload.externalReference must be the external reference the error names (details.externalReference).',
    );
  }
  if (!(number === null || (typeof number === 'string' && number.trim() !== ''))) {
    throw checkRefused(
      'msg.payload.number must be the number of the purchase order found in the ERP, or null when there is none.',
    );
  }
  const note = await creates.get(externalReference);
  if (note === undefined) {
    throw checkRefused(
      `No purchase order create for "${externalReference}" waits for a check; nothing was recorded. Check the reference (details.externalReference of the ERP_OUTCOME_UNKNOWN error).`,
    );
  }
  const attempt = await creates.attemptOf(note);
  if (attempt.state === 'running') {
    throw checkRefused(
      `An attempt is writing the purchase order for "${externalReference}" right now; nothing was recorded. Check the ERP again once it has ended.`,
    );
  }
  if (attempt.state === 'ended' && attempt.settlesAt !== undefined && attempt.settlesAt > now.getTime()) {
    throw checkRefused(
      `The ERP may still be applying the earlier attempt for "${externalReference}" until ${new Date(attempt.settlesAt).toISOString()}; nothing was recorded. Check the ERP again after that.`,
    );
  }
  const checked = { number: number === null ? null : number.trim(), at: now.toISOString() };
  // A note that still names a PO is one whose write to that PO did not end well (the PO was deleted or refused
  // the change): the new check replaces it, so a person is never stuck with a PO that cannot be written.
  const unlinked: UnsettledCreate = { ...note, checked };
  delete unlinked.documentId;
  await creates.put(externalReference, unlinked);
  return { externalReference, number: checked.number };
}

function checkRefused(message: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Purchase order check not recorded: ${message}`);
}
