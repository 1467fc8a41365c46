/**
 * One purchase-order event applied to the ERP, without Node-RED: what the finance-purchase-order node does
 * per message.
 *
 * 1. Read the document (a Requisition or a PurchaseOrder) and check its own rules.
 * 2. In turn with every other event of the same purchase order (KeyedQueue), compare its version with the
 *    last one applied (VersionBook): older -> refused STALE_VERSION; the same -> the recorded outcome again,
 *    unless it cancels a PO still open (a status change within the version, eventVerdict): then step 3.
 * 3. Cancel: refused when there is no such PO (ERP_NOT_FOUND) or it is cancelled already (ERP_CONFLICT);
 *    otherwise cancelled in the ERP.
 * 4. Create or update: only an approved requisition; every validation failure at once (the document's
 *    rules and the ERP's master data) -> refused with the list. A PO not yet applied here is created through
 *    the ledger (LedgerWriter, operation `create-po`, once per version) with the dialect's upsert, which
 *    looks the PO up by external reference itself: when an earlier attempt or version created it, it is
 *    brought to this version instead of created again. Where the ERP cannot look a PO up by reference (Business
 *    Central without its reference API page), a create whose outcome is unknown is never sent again, for this
 *    version or a later one: ERP_OUTCOME_UNKNOWN for a person (unsettled-create.ts). A PO that exists gets
 *    what changed since the last applied version, with If-Match (update.ts): the changed header fields and
 *    the version's lines; nothing changed -> nothing is written.
 * 5. Record the applied version, so later versions are diffed against it and older ones are stale.
 *
 * A write the ERP refuses for budget (its availability control at creation, see budget-refusal.ts) is the
 * outcome `budget_exceeded` with msg.budget, like an over-budget funds check; nothing is recorded, so a later
 * version of the requisition is tried again.
 *
 * Refusals are business outcomes, returned; technical failures (the ERP unreachable, 5xx, a store error)
 * are thrown as FinanceError for the retry policy.
 */
import type { CallContext, ErpDialect, ErpPurchaseOrder, PurchaseOrderRef } from '../erp/dialect';
import { FinanceError, isFinanceError } from '../errors';
import type { BudgetCheckResult, ErpRef, PurchaseOrder } from '../model/types';
import { minorOf } from '../model/money';
import {
  idempotencyKeyFor,
  isRefusal,
  provesNothingWritten,
  type IdempotentWriteResult,
  type LedgerWriter,
} from '../posting/idempotent-write';
import { ledgerKey, type LedgerKeyParts } from '../reliability/store';
import { budgetRefusalResult, budgetWarningResult, isBudgetRefusal } from './budget-refusal';
import { diffPurchaseOrder, summarise, type ChangeSummary } from './diff';
import {
  contentOf,
  eventDate,
  externalReferenceOf,
  isCancel,
  purchaseDocumentOf,
  toPurchaseOrder,
  versionOf,
  type PurchaseDocument,
} from './document';
import type { KeyedQueue } from './keyed-queue';
import type { MasterDataSource } from './master-data';
import {
  createRunning,
  findsPurchaseOrdersByReference,
  outcomeUnknown,
  PURCHASE_ORDER_CHECKED_TOPIC,
  type SentPurchaseOrder,
  type UnsettledCreate,
} from './unsettled-create';
import { updatePurchaseOrder, type UpdateOutcome } from './update';
import { documentCheck, masterDataFailures, type ValidationFailure } from './validate';
import { eventVerdict, type AppliedVersion, type PurchaseOrderAction, type VersionBook } from './versions';

export const CREATE_OPERATION = 'create-po';
export const UPDATE_OPERATION = 'update-po';
export const CANCEL_OPERATION = 'cancel-po';

/** msg.erp of a purchase order (DESIGN section 5). */
export interface PurchaseOrderErp {
  system: string;
  dialect: string;
  documentType: 'purchaseOrder';
  documentId: string;
  number?: string;
  status?: string;
  etag?: string;
  /** 201 when this message created the PO, 200 when it changed, cancelled or found it; absent when nothing was sent. */
  httpStatus?: number;
}

/** msg.purchaseOrder: what the message did. */
export interface PurchaseOrderResult {
  action: PurchaseOrderAction;
  /** The version applied (for a replay: the one applied before); absent for a document without versions. */
  versionApplied?: number;
  /** True when the message repeated what was applied already: answered from the record, nothing sent. */
  replay: boolean;
  externalReference: string;
  /** For an update: what changed since the last applied version. */
  changes?: ChangeSummary[];
}

export type SyncResult =
  | {
      outcome: 'synced';
      erp: PurchaseOrderErp;
      erpRef: ErpRef;
      purchaseOrder: PurchaseOrderResult;
      /** The ERP saved the PO with budget warnings (SAP availability control within tolerance): msg.budget. */
      budget?: BudgetCheckResult;
    }
  | { outcome: 'refused'; error: FinanceError; errors?: ValidationFailure[] }
  /** The ERP's budget control refused the write: msg.budget (status exceeded), written back as budget_exceeded. */
  | { outcome: 'budget_exceeded'; error: FinanceError; budget: BudgetCheckResult };

export interface SyncDependencies {
  dialect: ErpDialect;
  writer: LedgerWriter;
  versions: VersionBook;
  /** Serialises the events of one purchase order; one queue per node, shared by all its messages. */
  queue: KeyedQueue;
  /** Master data to validate against; absent when that check is off. */
  masterData?: MasterDataSource;
}

/**
 * How old a copy of the master data may be for a replayed document's refusal to stand. Replays leave the dead
 * letters at a set rate, so a burst of them reloads the copy about once per this interval.
 */
const REPLAY_RECHECK_MS = 1000;

export interface SyncInput {
  /** msg.payload. */
  document: unknown;
  /** msg.finance: its version and time are used. */
  envelope?: unknown;
  correlationId: string;
  now: Date;
  /** msg.replay is set: someone sent the document again from the dead letters, likely after fixing its cause. */
  replayed?: boolean;
}

interface PurchaseEvent {
  document: PurchaseDocument;
  version?: number;
  externalReference: string;
  /** Failures of the document's own rules (the document is well-formed, so its fields can be read). */
  documentFailures: ValidationFailure[];
  envelope: unknown;
  correlationId: string;
  now: Date;
  replayed: boolean;
}

/** An applied version that holds an ERP purchase order and the content it was written with. */
type OpenRecord = AppliedVersion & { erpRef: ErpRef; content: NonNullable<AppliedVersion['content']> };

export async function syncPurchaseOrder(deps: SyncDependencies, input: SyncInput): Promise<SyncResult> {
  const { docType } = purchaseDocumentOf(input.document);
  const check = documentCheck(docType, input.document);
  if (!check.wellFormed) return validationRefusal(check.failures, true);
  const document = input.document as PurchaseDocument;
  const event: PurchaseEvent = {
    document,
    version: versionOf(document, input.envelope),
    externalReference: externalReferenceOf(document),
    documentFailures: check.failures,
    envelope: input.envelope,
    correlationId: input.correlationId,
    now: input.now,
    replayed: input.replayed === true,
  };
  return deps.queue.run(event.externalReference, () => applyInOrder(deps, event));
}

async function applyInOrder(deps: SyncDependencies, event: PurchaseEvent): Promise<SyncResult> {
  const record = await deps.versions.get(event.externalReference);
  const verdict = eventVerdict(record, event.version, isCancel(event.document));
  if (verdict === 'stale') return staleRefusal(event, record?.version as number);
  if (verdict === 'replay') return replay(event, record as AppliedVersion);
  if (isCancel(event.document)) return cancel(deps, event, record);
  if (record?.status === 'cancelled') return changeOfCancelled(event, record);
  if (record?.erpRef === undefined && isClosedOrder(event.document)) return closedNeverCreated(event);

  const unapproved = notApproved(event.document);
  if (unapproved) return { outcome: 'refused', error: unapproved };
  const po = toPurchaseOrder(event.document, record?.content?.orderDate ?? eventDate(event.envelope, event.now));
  const failures = [...event.documentFailures, ...(await masterDataCheck(deps.masterData, po, event.replayed))];
  if (failures.length > 0) return validationRefusal(failures, event.documentFailures.length > 0);
  if (record?.erpRef !== undefined && record.content !== undefined) {
    return update(deps, event, po, record as OpenRecord);
  }
  return create(deps, event, po);
}

async function create(deps: SyncDependencies, event: PurchaseEvent, po: PurchaseOrder): Promise<SyncResult> {
  let budgetWarnings: PurchaseOrderRef['budgetWarnings'];
  const parts = ledgerParts(event, CREATE_OPERATION);
  const key = ledgerKey(parts);
  // An ERP that cannot find a PO by reference: a create whose outcome is unknown is never repeated (see
  // unsettled-create.ts). `noted` holds the note this attempt left: what it writes to (undefined: a create).
  const guarded = !findsPurchaseOrdersByReference(deps.dialect);
  let noted: { documentId?: string } | undefined;
  let result: IdempotentWriteResult<StoredCreate>;
  try {
    result = await deps.writer.write<StoredCreate>({
      key: parts,
      correlationId: event.correlationId,
      // No ledger lookup: a PO found by reference may hold an earlier version (the create of version 1 went
      // through unanswered, then version 2 came), so finding it does not mean this version is applied. The
      // upsert finds it all the same and changes it to this version, or leaves it if it holds it already.
      write: async (ctx) => {
        let target = po;
        if (guarded) {
          const documentId = await earlierCreate(deps, event, po, key, ctx);
          if (documentId !== undefined) target = { ...po, erpRef: poRef(deps.dialect, documentId) };
          await deps.versions.unsettled.put(event.externalReference, {
            ledgerKey: key,
            ...versionOfEvent(event),
            since: new Date().toISOString(),
            ...(documentId === undefined ? {} : { documentId }),
            sent: sentOf(event, po),
          });
          noted = documentId === undefined ? {} : { documentId };
        }
        const written = await deps.dialect.upsertPurchaseOrder(target, ctx);
        budgetWarnings = written.budgetWarnings;
        return storedCreate(written);
      },
    });
  } catch (error) {
    // The ERP's answer proves the create wrote nothing: no PO to look for.
    if (noted !== undefined && noted.documentId === undefined && provesNothingWritten(error)) {
      await deps.versions.unsettled.clear(event.externalReference, key);
    }
    throw error;
  }
  if (result.outcome === 'refused') {
    if (noted !== undefined && noted.documentId === undefined) {
      await deps.versions.unsettled.clear(event.externalReference, key);
    }
    return refusal(result.error, po, event);
  }
  const { action, ...erpRef } = result.ref;
  const content = contentOf(po);
  await deps.versions.record(event.externalReference, {
    ...versionOfEvent(event),
    erpRef,
    content,
    // Right after the create the ERP holds what was sent; a change made there since shows up as a 412.
    ...(erpRef.etag === undefined ? {} : { erpCopy: { content, etag: erpRef.etag } }),
    status: 'open',
    action,
    appliedAt: event.now.toISOString(),
  });
  // Only now that the version record holds the PO: before, a crash would leave a later version to create again.
  if (guarded) await deps.versions.unsettled.clear(event.externalReference, key);
  const httpStatus =
    result.outcome === 'duplicate' ? undefined : result.outcome === 'written' && action === 'created' ? 201 : 200;
  const done = synced(erpRef, httpStatus, event, { action, replay: result.outcome === 'duplicate' });
  if (done.outcome !== 'synced' || !budgetWarnings?.length) return done;
  return { ...done, budget: budgetWarningResult(budgetWarnings, po, event.now) };
}

/**
 * For an ERP that cannot find a PO by reference, before a create writes: what an earlier attempt of this
 * document left (unsettled-create.ts). Undefined: create. A document id: change that PO (a person linked it,
 * or the ledger knows the earlier create). Throws ERP_OUTCOME_UNKNOWN when an earlier create may have written
 * and nobody checked the ERP since, and a retryable ERP_CONFLICT while that attempt is still running.
 */
async function earlierCreate(
  deps: SyncDependencies,
  event: PurchaseEvent,
  po: PurchaseOrder,
  key: string,
  ctx: CallContext,
): Promise<string | undefined> {
  const note = await deps.versions.unsettled.get(event.externalReference);
  if (note === undefined) return undefined;
  if (note.documentId !== undefined) return note.documentId;
  if (note.checked !== undefined) {
    return note.checked.number === null ? undefined : linkedPurchaseOrder(deps, note.checked.number, note, ctx);
  }
  // The attempt of the same key is over: the ledger took its marker over before calling this write.
  if (note.ledgerKey !== key) {
    const attempt = await deps.versions.unsettled.attemptOf(note);
    if (attempt.state === 'done' && typeof attempt.ref.documentId === 'string') return attempt.ref.documentId;
    if (attempt.state === 'running') throw createRunning(event.externalReference, note);
  }
  throw outcomeUnknown(erpLabel(deps.dialect), note);
}

/**
 * The cancel's counterpart of earlierCreate: the PO an earlier create wrote to or a person found, undefined when
 * a person found none; ERP_OUTCOME_UNKNOWN when nobody knows.
 */
async function earlierCreateToCancel(
  deps: SyncDependencies,
  event: PurchaseEvent,
  note: UnsettledCreate,
  ctx: CallContext,
): Promise<string | undefined> {
  if (note.documentId !== undefined) return note.documentId;
  if (note.checked !== undefined) {
    return note.checked.number === null ? undefined : linkedPurchaseOrder(deps, note.checked.number, note, ctx);
  }
  const attempt = await deps.versions.unsettled.attemptOf(note);
  if (attempt.state === 'done' && typeof attempt.ref.documentId === 'string') return attempt.ref.documentId;
  if (attempt.state === 'running') throw createRunning(event.externalReference, note);
  throw outcomeUnknown(erpLabel(deps.dialect), note, 'cancel');
}

/**
 * The PO a person found in the ERP by its number: its id, once it is certain to be the one the earlier attempt
 * sent. It must hold what that attempt sent (vendor, order date, total, line texts), and the pack must not have
 * recorded it for another document: a PO of another requisition of the same vendor would otherwise be
 * overwritten with this one's lines.
 */
async function linkedPurchaseOrder(
  deps: SyncDependencies,
  number: string,
  note: UnsettledCreate,
  ctx: CallContext,
): Promise<string> {
  const { sent } = note;
  const label = erpLabel(deps.dialect);
  const found = deps.dialect.findPurchaseOrderByNumber
    ? await deps.dialect.findPurchaseOrderByNumber(number, ctx)
    : null;
  const again = `send the "${PURCHASE_ORDER_CHECKED_TOPIC}" message again with the right number (or null when there is none) and replay the dead letter.`;
  const details = { externalReference: sent.externalReference, number, sent: false };
  if (found === null) {
    throw new FinanceError(
      'ERP_NOT_FOUND',
      `${label} has no purchase order number "${number}", which was given as the one created for "${sent.externalReference}"; nothing was written. Check the number, ${again}`,
      { details },
    );
  }
  const problems = differencesFromSent(await deps.dialect.getPurchaseOrder(found.documentId, ctx), sent);
  const owner = await deps.versions.referenceOf(found.documentId);
  if (owner !== undefined && owner !== sent.externalReference) {
    problems.push(`the pack recorded it as the purchase order of "${owner}"`);
  }
  if (problems.length > 0) {
    throw new FinanceError(
      'ERP_CONFLICT',
      `Purchase order ${number} in ${label} is not the one the earlier attempt for "${sent.externalReference}" (${sent.source}) sent: ${problems.join('; ')}. Nothing was written. If it was changed in ${label} after it was created, undo the change first; otherwise check the number, ${again}`,
      { details: { ...details, problems } },
    );
  }
  return found.documentId;
}

/** How a PO found in the ERP differs from what an attempt sent; empty when it holds just that. */
function differencesFromSent(held: ErpPurchaseOrder, sent: SentPurchaseOrder): string[] {
  const problems: string[] = [];
  if (held.supplierId !== sent.supplierId) problems.push(`its vendor is ${held.supplierId}, not ${sent.supplierId}`);
  if (held.orderDate !== sent.orderDate) problems.push(`its order date is ${held.orderDate}, not ${sent.orderDate}`);
  if (held.total.currency !== sent.total.currency || minorOf(held.total) !== minorOf(sent.total)) {
    problems.push(
      `its total is ${held.total.amount} ${held.total.currency}, not ${sent.total.amount} ${sent.total.currency}`,
    );
  }
  const texts = (descriptions: string[]) => JSON.stringify([...new Set(descriptions)].sort());
  if (texts(held.lines.map((line) => line.description)) !== texts(sent.lineDescriptions)) {
    problems.push(
      `its line texts are ${texts(held.lines.map((line) => line.description))}, not ${texts(sent.lineDescriptions)}`,
    );
  }
  return problems;
}

function poRef(dialect: ErpDialect, documentId: string): ErpRef {
  return { system: dialect.name, dialect: dialect.name, documentType: 'purchaseOrder', documentId };
}

function sentOf(event: PurchaseEvent, po: PurchaseOrder): SentPurchaseOrder {
  return {
    externalReference: event.externalReference,
    source: `${event.document.docType} ${event.document.sourceRef.id}`,
    supplierId: po.supplierId,
    orderDate: po.orderDate,
    total: po.total,
    lineDescriptions: po.lines.map((line) => line.description),
  };
}

const ERP_LABELS: Readonly<Record<string, string>> = { 'business-central': 'Business Central' };

function erpLabel(dialect: ErpDialect): string {
  return ERP_LABELS[dialect.name] ?? `the ERP (${dialect.name})`;
}

async function update(
  deps: SyncDependencies,
  event: PurchaseEvent,
  po: PurchaseOrder,
  record: OpenRecord,
): Promise<SyncResult> {
  const wanted = contentOf(po);
  const changes = diffPurchaseOrder(record.content, wanted);
  let outcome: UpdateOutcome = { action: 'unchanged' };
  if (changes.length > 0) {
    try {
      outcome = await updatePurchaseOrder(deps.dialect, {
        documentId: record.erpRef.documentId,
        ...(record.erpCopy === undefined ? {} : { cached: record.erpCopy }),
        changes,
        wanted,
        ledgerKey: ledgerKey(ledgerParts(event, UPDATE_OPERATION)),
        correlationId: event.correlationId,
      });
    } catch (error) {
      if (isRefusal(error)) return refusal(error, po, event);
      throw error;
    }
  }
  const erpRef = outcome.po === undefined ? record.erpRef : refOf(outcome.po.erpRef);
  const erpCopy =
    outcome.po !== undefined && outcome.po.erpRef.etag !== undefined
      ? {
          content: outcome.action === 'updated' ? outcome.content : contentOf(outcome.po),
          etag: outcome.po.erpRef.etag,
        }
      : record.erpCopy;
  await deps.versions.record(event.externalReference, {
    ...versionOfEvent(event),
    erpRef,
    content: wanted,
    ...(erpCopy === undefined ? {} : { erpCopy }),
    status: 'open',
    action: outcome.action,
    appliedAt: event.now.toISOString(),
  });
  const done = synced(erpRef, outcome.action === 'updated' ? 200 : undefined, event, {
    action: outcome.action,
    replay: false,
    changes: summarise(changes),
  });
  const budgetWarnings = outcome.action === 'updated' ? outcome.po.budgetWarnings : undefined;
  if (done.outcome !== 'synced' || !budgetWarnings?.length) return done;
  return { ...done, budget: budgetWarningResult(budgetWarnings, po, event.now) };
}

async function cancel(
  deps: SyncDependencies,
  event: PurchaseEvent,
  record: AppliedVersion | undefined,
): Promise<SyncResult> {
  if (record?.status === 'cancelled') {
    const by = record.version === undefined ? 'an earlier event' : `version ${record.version} of the document`;
    return alreadyCancelled(event, record.erpRef, `by ${by}`);
  }
  const ctx = { correlationId: event.correlationId };
  const recordCancelled = (erpRef?: ErpRef): Promise<void> =>
    deps.versions.record(event.externalReference, {
      ...versionOfEvent(event),
      ...(erpRef === undefined ? {} : { erpRef }),
      ...(record?.content === undefined ? {} : { content: record.content }),
      status: 'cancelled',
      action: 'cancelled',
      appliedAt: event.now.toISOString(),
    });
  // An ERP that cannot find a PO by reference: what an earlier create of this document left (unsettled-create.ts).
  const note =
    record?.erpRef === undefined && !findsPurchaseOrdersByReference(deps.dialect)
      ? await deps.versions.unsettled.get(event.externalReference)
      : undefined;
  const cancelled = async (erpRef?: ErpRef): Promise<void> => {
    await recordCancelled(erpRef);
    if (note !== undefined) await deps.versions.unsettled.clear(event.externalReference, note.ledgerKey);
  };
  // Outside the try: its ERP_NOT_FOUND is about the number a person gave, not about the reference.
  const earlier = note === undefined ? undefined : await earlierCreateToCancel(deps, event, note, ctx);
  try {
    const documentId =
      record?.erpRef?.documentId ??
      earlier ??
      (await deps.dialect.findByReference('purchaseOrder', event.externalReference, ctx))?.documentId;
    if (documentId === undefined) {
      // Recorded all the same: an older version that turns up later (say the create) must not bring it back.
      await cancelled();
      return notFoundRefusal(event);
    }
    const current = await deps.dialect.getPurchaseOrder(documentId, ctx);
    if (current.status === 'cancelled') {
      await cancelled(refOf(current.erpRef));
      return alreadyCancelled(event, current.erpRef, 'in the ERP');
    }
    const ref = await deps.dialect.cancelPurchaseOrder(
      { externalReference: event.externalReference, documentId },
      { ...ctx, idempotencyKey: idempotencyKeyFor(ledgerKey(ledgerParts(event, CANCEL_OPERATION))) },
    );
    await cancelled(refOf(ref));
    return synced(refOf(ref), 200, event, { action: 'cancelled', replay: false });
  } catch (error) {
    if (isFinanceError(error) && error.code === 'ERP_NOT_FOUND') return notFoundRefusal(event);
    if (isRefusal(error)) return { outcome: 'refused', error };
    throw error;
  }
}

/** The same version again: what it did the first time, without asking the ERP. */
function replay(event: PurchaseEvent, record: AppliedVersion): SyncResult {
  if (record.erpRef === undefined) return notFoundRefusal(event);
  return synced(record.erpRef, undefined, event, { action: record.action, replay: true });
}

/**
 * Failures against the ERP's master data. A refusal from a copy old enough is checked again against a fresh
 * one; for a replayed document, any copy older than REPLAY_RECHECK_MS is (the fix came just before the replay).
 */
async function masterDataCheck(
  source: MasterDataSource | undefined,
  po: PurchaseOrder,
  replayed: boolean,
): Promise<ValidationFailure[]> {
  if (source === undefined) return [];
  const failures = masterDataFailures(po, await source.lookup());
  if (failures.length === 0) return failures;
  const fresh = await source.recheck(replayed ? REPLAY_RECHECK_MS : undefined);
  return fresh === undefined ? failures : masterDataFailures(po, fresh);
}

function notApproved(document: PurchaseDocument): FinanceError | undefined {
  if (document.docType !== 'Requisition' || document.state === 'approved') return undefined;
  return new FinanceError(
    'NOT_APPROVED',
    `Requisition ${document.requisitionId} is "${document.state}"; only an approved requisition becomes a purchase order. Send it again once it is approved.`,
    { details: { requisitionId: document.requisitionId, state: document.state } },
  );
}

// ---- results -----------------------------------------------------------------------------------

/** A refused write: a budget refusal of the ERP becomes its own outcome, any other stays refused. */
function refusal(error: FinanceError, po: PurchaseOrder, event: PurchaseEvent): SyncResult {
  if (isBudgetRefusal(error))
    return { outcome: 'budget_exceeded', error, budget: budgetRefusalResult(error, po, event.now) };
  return { outcome: 'refused', error };
}

type StoredCreate = ErpRef & { action: 'created' | 'updated' | 'unchanged' };

/** What the ledger keeps of a create: the PO's identity and ETag, never the ERP's whole document. */
function storedCreate(ref: ErpRef & { action: PurchaseOrderRef['action']; version?: string }): StoredCreate {
  const etag = ref.version ?? ref.etag;
  return { ...refOf({ ...ref, ...(etag === undefined ? {} : { etag }) }), action: ref.action };
}

function refOf(ref: ErpRef): ErpRef {
  return {
    system: ref.system,
    dialect: ref.dialect,
    documentType: 'purchaseOrder',
    documentId: ref.documentId,
    ...(ref.number === undefined ? {} : { number: ref.number }),
    ...(ref.status === undefined ? {} : { status: ref.status }),
    ...(ref.etag === undefined ? {} : { etag: ref.etag }),
  };
}

function synced(
  ref: ErpRef,
  httpStatus: number | undefined,
  event: PurchaseEvent,
  result: { action: PurchaseOrderAction; replay: boolean; changes?: ChangeSummary[] },
): SyncResult {
  const erpRef = refOf(ref);
  return {
    outcome: 'synced',
    erp: { ...erpRef, documentType: 'purchaseOrder', ...(httpStatus === undefined ? {} : { httpStatus }) },
    erpRef,
    purchaseOrder: {
      action: result.action,
      ...(event.version === undefined ? {} : { versionApplied: event.version }),
      replay: result.replay,
      externalReference: event.externalReference,
      ...(result.changes === undefined ? {} : { changes: result.changes }),
    },
  };
}

function validationRefusal(failures: ValidationFailure[], documentFailed: boolean): SyncResult {
  const shown = failures.slice(0, 3).map((failure) => failure.message.replace(/\.$/, ''));
  const more = failures.length > shown.length ? ` (and ${failures.length - shown.length} more in msg.errors)` : '';
  const why = documentFailed
    ? 'breaks the rules of a canonical purchase document'
    : "fails the ERP's master data checks";
  return {
    outcome: 'refused',
    error: new FinanceError(
      documentFailed ? 'SCHEMA_INVALID' : 'ERP_REJECTED',
      `The purchase order was not sent to the ERP: it ${why}. ${shown.join('; ')}${more}. Correct it in the source system and send it again.`,
      { details: { failures } },
    ),
    errors: failures,
  };
}

function staleRefusal(event: PurchaseEvent, lastApplied: number): SyncResult {
  return {
    outcome: 'refused',
    error: new FinanceError(
      'STALE_VERSION',
      `Version ${event.version} of purchase order "${event.externalReference}" arrived after version ${lastApplied} was applied; it is older, so it was not applied and the ERP keeps version ${lastApplied}.`,
      { details: { externalReference: event.externalReference, version: event.version, lastApplied } },
    ),
  };
}

function notFoundRefusal(event: PurchaseEvent): SyncResult {
  return {
    outcome: 'refused',
    error: new FinanceError(
      'ERP_NOT_FOUND',
      `The ERP has no purchase order with external reference "${event.externalReference}", so there is nothing to cancel. Check the reference; if the requisition never became a purchase order, nothing needs doing.`,
      { details: { externalReference: event.externalReference } },
    ),
  };
}

function isClosedOrder(document: PurchaseDocument): boolean {
  return document.docType === 'PurchaseOrder' && document.status === 'closed';
}

/**
 * A purchase order first seen closed (received and invoiced in the source, or closed there before this node ever
 * saw it): creating it now would open a commitment in the ERP that the source has ended, so nothing is written.
 */
function closedNeverCreated(event: PurchaseEvent): SyncResult {
  return {
    outcome: 'refused',
    error: new FinanceError(
      'ERP_NOT_FOUND',
      `Purchase order "${event.externalReference}" is closed in the source, and this node never created it in the ERP: a closed order takes no more receipts or invoices, so it is not created there as an open one now. Nothing was written. If the ERP must hold it, create it there by hand.`,
      { details: { externalReference: event.externalReference, status: 'closed' } },
    ),
  };
}

function alreadyCancelled(event: PurchaseEvent, erpRef: ErpRef | undefined, how: string): SyncResult {
  const name = erpRef?.number ?? event.externalReference;
  return {
    outcome: 'refused',
    error: new FinanceError(
      'ERP_CONFLICT',
      `Purchase order ${name} ("${event.externalReference}") is already cancelled ${how}; nothing was sent to the ERP.`,
      { details: { externalReference: event.externalReference, documentId: erpRef?.documentId } },
    ),
  };
}

function changeOfCancelled(event: PurchaseEvent, record: AppliedVersion): SyncResult {
  const name = record.erpRef?.number ?? event.externalReference;
  return {
    outcome: 'refused',
    error: new FinanceError(
      'ERP_CONFLICT',
      `Purchase order ${name} ("${event.externalReference}") is cancelled, so version ${event.version ?? '(none)'} cannot change it; raise a new requisition instead.`,
      { details: { externalReference: event.externalReference, documentId: record.erpRef?.documentId } },
    ),
  };
}

// ---- keys ----------------------------------------------------------------------------------------

function ledgerParts(event: PurchaseEvent, operation: string): LedgerKeyParts {
  return {
    source: event.document.sourceRef.system,
    docType: event.document.docType,
    docId: event.document.sourceRef.id,
    version: event.version ?? 0,
    operation,
  };
}

function versionOfEvent(event: PurchaseEvent): Pick<AppliedVersion, 'version'> {
  return event.version === undefined ? {} : { version: event.version };
}
