/**
 * The sandbox ERP dialect: canonical documents over the sandbox's HTTP API (lib/sandbox/API.md). It is the
 * reference for how a dialect keeps writes single:
 * - create, and on 409 DUPLICATE_REFERENCE fetch the document that won by its external reference and bring
 *   it up to date, so two hosts (or a replay after a crash) racing on one PO still end with one PO;
 * - update through GET (ETag) then PATCH with If-Match; on 412 read again and retry once;
 * - skip the PATCH when the ERP already holds the desired content, so a replay writes nothing.
 */
import { FinanceError, isFinanceError } from '../../errors';
import { canonicalJson } from '../../model/canonical-json';
import { fromMinorUnits, minorOf, money, sameAmount, sum } from '../../model/money';
import type {
  BudgetCheckRequest,
  ErpRef,
  MasterDataKind,
  Money,
  PurchaseOrder,
  PurchaseOrderLine,
} from '../../model/types';
import type { ErpHttp, ErpRequest, ErpResponse } from '../client';
import type {
  BudgetAvailability,
  CallContext,
  CostCenterSpend,
  DialectConfig,
  ErpDialect,
  ErpDocumentType,
  ErpPurchaseOrder,
  FoundDocument,
  MasterDataPage,
  MasterDataQuery,
  MasterRecord,
  PostingRef,
  PostingRequest,
  PurchaseOrderKey,
  PurchaseOrderPatch,
  PurchaseOrderRef,
} from '../dialect';
import { isRecord } from '../records';
import {
  addToTally,
  differenceDetails,
  tallyDifferences,
  type AmountTally,
  type TallyDifference,
} from '../amount-tally';

export const SANDBOX_DEFAULT_COMPANY = 'FS-DEMO';

const MASTER_DATA_KINDS: readonly MasterDataKind[] = [
  'employees',
  'suppliers',
  'costCenters',
  'projects',
  'glAccounts',
  'taxCodes',
];

const PURCHASE_ORDER_STATUSES: readonly PurchaseOrderDoc['status'][] = ['open', 'cancelled', 'closed'];

/** A purchase order as the sandbox answers it: the create body plus what the ERP adds. */
interface PurchaseOrderDoc {
  id: string;
  number?: string;
  status: 'open' | 'cancelled' | 'closed';
  etag?: string;
  externalReference: string;
  supplierId: string;
  orderDate: string;
  currency: string;
  total: Money;
  lines: PurchaseOrderLine[];
}

interface PostingDoc {
  id: string;
  number?: string;
  status?: string;
  total?: Money;
  postedAt?: string;
  /** The lines as posted (API.md), compared with a posting's lines by #samePosting. */
  lines?: unknown;
}

interface VersionedDoc {
  doc: PurchaseOrderDoc;
  etag: string;
}

/** The ERP's answer a document is read from, so that an error about its body can say what the ERP did. */
interface Answer {
  status: number;
  /** True for the answer to a write: a 2xx then means the ERP most likely applied it, whatever the body. */
  write: boolean;
}

interface Found {
  raw: Record<string, unknown>;
  answer: Answer;
}

export function createSandboxDialect(http: ErpHttp, config: DialectConfig): ErpDialect {
  return new SandboxDialect(http, config);
}

class SandboxDialect implements ErpDialect {
  readonly name = 'sandbox';
  readonly #http: ErpHttp;
  readonly #system: string;
  readonly #company: string;
  /** One connection works in one company, like the finance-erp node; a document's company is not routing. */
  readonly #base: string;

  constructor(http: ErpHttp, config: DialectConfig) {
    this.#http = http;
    this.#system = config.name ?? 'sandbox';
    this.#company = config.company ?? SANDBOX_DEFAULT_COMPANY;
    this.#base = `/api/v1/companies/${encodeURIComponent(this.#company)}`;
  }

  async checkBudget(request: BudgetCheckRequest, ctx: CallContext): Promise<BudgetAvailability> {
    const body = {
      costCenter: request.costCenter,
      project: request.project,
      glAccount: request.glAccount,
      period: request.period,
      amount: request.amount,
    };
    // A funds check is a read sent as POST: no Idempotency-Key, or it would be replayed as a stale answer.
    const response = await this.#call({ method: 'POST', path: `${this.#base}/budget-availability`, body }, ctx);
    return this.#budgetAvailability(response.data, readAnswer(response));
  }

  async upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    const knownId = po.erpRef?.documentId;
    if (knownId) return this.#updatePurchaseOrder(knownId, po, await this.#fetchPurchaseOrder(knownId, ctx), ctx);
    try {
      const response = await this.#call(
        {
          method: 'POST',
          path: `${this.#base}/purchaseOrders`,
          body: { externalReference: po.externalReference, ...purchaseOrderContent(po) },
          idempotencyKey: ctx.idempotencyKey,
        },
        ctx,
      );
      const doc = this.#purchaseOrderDoc(response.data, writeAnswer(response));
      return { ...this.#purchaseOrderRef(doc, response.etag), action: 'created', version: response.etag ?? doc.etag };
    } catch (error) {
      if (!hasVendorCode(error, 'DUPLICATE_REFERENCE')) throw error;
      // Someone created it first (another host, an earlier attempt, a replay): update that one instead.
      const existing = await this.#findPurchaseOrder(po.externalReference, ctx);
      if (!existing) throw error;
      const current = existing.etag
        ? { doc: existing, etag: existing.etag }
        : await this.#fetchPurchaseOrder(existing.id, ctx);
      return this.#updatePurchaseOrder(existing.id, po, current, ctx);
    }
  }

  async cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
    const id = key.documentId ?? (await this.#findPurchaseOrder(key.externalReference, ctx))?.id;
    if (id === undefined) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" has no purchase order with external reference "${key.externalReference}" in company ${this.#company}, so there is nothing to cancel. Check the reference, or create the purchase order first.`,
        { details: { externalReference: key.externalReference, company: this.#company } },
      );
    }
    try {
      return await this.#cancel(id, await this.#fetchPurchaseOrder(id, ctx), 'cancel', ctx);
    } catch (error) {
      if (!isStaleEtag(error)) throw error;
    }
    return this.#cancel(id, await this.#fetchPurchaseOrder(id, ctx), 'cancel-retry', ctx);
  }

  async post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    try {
      const response = await this.#call(
        {
          method: 'POST',
          path: `${this.#base}/postings`,
          body: postingBody(posting),
          idempotencyKey: ctx.idempotencyKey,
        },
        ctx,
      );
      return this.#postingRef(this.#postingDoc(response.data, writeAnswer(response)));
    } catch (error) {
      if (!hasVendorCode(error, 'DUPLICATE_REFERENCE')) throw error;
      const existing = await this.#findOne('postings', posting.externalReference, ctx);
      if (!existing) throw error;
      return this.#samePosting(this.#postingDoc(existing.raw, existing.answer), posting);
    }
  }

  /**
   * The ledger's lookup of a posting: one found under the reference is this posting only when it holds the
   * posting's total and currency (#samePosting), as in the other dialects.
   */
  async findPosting(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null> {
    const found = await this.#findOne('postings', posting.externalReference, ctx);
    if (found === null) return null;
    return { ...this.#samePosting(this.#postingDoc(found.raw, found.answer), posting), raw: found.raw };
  }

  /**
   * A posting found under the reference, when it holds what `posting` would post: the same total and currency,
   * and the same amounts charged to the same dimensions (and tax codes). Else ERP_CONFLICT for a person, naming
   * what differs: the reference holds an earlier version of the report (other amounts, or the same total
   * re-coded to other accounts or cost centers) or another document, and a posted document is not changed.
   * Never "posted" with the old figures.
   */
  #samePosting(doc: PostingDoc, posting: PostingRequest): PostingRef {
    const found = this.#postingRef(doc);
    const expected = sum(
      posting.lines.map((line) => line.amount),
      posting.currency,
    );
    const booked = found.total;
    const differences = lineDifferences(doc.lines, posting);
    if (booked !== undefined && holds(booked, expected) && differences?.length === 0) return found;
    const held = booked ? `${booked.amount} ${booked.currency}` : 'an amount the dialect cannot read';
    const lines =
      differences === undefined
        ? ', and its lines are not in a shape the dialect can read, so it cannot tell whether it is this posting'
        : differences.length > 0
          ? ` with other lines (${differences.map((d) => describeDifference(d, posting.currency)).join('; ')})`
          : '';
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (sandbox) has posting ${found.number ?? found.documentId} under external reference "${posting.externalReference}" for ${held}, but this posting is ${expected.amount} ${expected.currency}${lines}: it is an earlier version of this document or another document, and a posted document is not changed. Nothing was posted. Do not retry: compare that posting with the document, reverse it or post the difference by hand, then mark the posting as done.`,
      {
        retryable: false,
        details: {
          posting: found.documentId,
          number: found.number,
          booked,
          expected,
          ...(differences && differences.length > 0
            ? {
                differences: differenceDetails(differences, posting.currency),
              }
            : {}),
        },
      },
    );
  }

  async findByReference(
    documentType: ErpDocumentType,
    externalReference: string,
    ctx: CallContext,
  ): Promise<FoundDocument | null> {
    if (documentType === 'purchaseOrder') {
      const found = await this.#findOne('purchaseOrders', externalReference, ctx);
      if (found === null) return null;
      return { ...this.#purchaseOrderRef(this.#purchaseOrderDoc(found.raw, found.answer)), raw: found.raw };
    }
    const found = await this.#findOne('postings', externalReference, ctx);
    return found === null ? null : { ...this.#postingRef(this.#postingDoc(found.raw, found.answer)), raw: found.raw };
  }

  async spendByCostCenter(query: { period?: string }, ctx: CallContext): Promise<CostCenterSpend[]> {
    const response = await this.#call(
      { method: 'GET', path: `${this.#base}/spend`, query: { period: query.period } },
      ctx,
    );
    const answer = readAnswer(response);
    const data = this.#record(response.data, 'the spend report', answer);
    if (!Array.isArray(data.items) || !data.items.every(isRecord)) {
      throw this.#unexpected('the spend report', 'no items list', answer);
    }
    return data.items.map((item) => {
      if (typeof item.costCenter !== 'string') {
        throw this.#unexpected('the spend report', 'an item without costCenter', answer);
      }
      return {
        costCenter: item.costCenter,
        committed: this.#money(item.committed, `spend of ${item.costCenter} committed`, answer),
        actual: this.#money(item.actual, `spend of ${item.costCenter} actual`, answer),
      };
    });
  }

  async listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
    if (!MASTER_DATA_KINDS.includes(kind)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `Master data kind "${String(kind)}" is not known; use one of: ${MASTER_DATA_KINDS.join(', ')}.`,
      );
    }
    const response = await this.#call(
      {
        method: 'GET',
        path: `${this.#base}/${kind}`,
        query: { limit: query.limit, cursor: query.cursor ?? undefined, modifiedSince: query.modifiedSince },
      },
      ctx,
    );
    const answer = readAnswer(response);
    const data = this.#record(response.data, `the ${kind} page`, answer);
    if (!Array.isArray(data.items) || !data.items.every(isRecord)) {
      throw this.#unexpected(`the ${kind} page`, 'no items list', answer);
    }
    const nextCursor = data.nextCursor ?? null;
    if (nextCursor !== null && typeof nextCursor !== 'string')
      throw this.#unexpected(`the ${kind} page`, 'nextCursor is not a string', answer);
    return { items: data.items as unknown as MasterRecord[], nextCursor };
  }

  async getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    const { doc, etag } = await this.#fetchPurchaseOrder(documentId, ctx);
    return this.#erpPurchaseOrder(doc, etag);
  }

  async patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder> {
    const response = await this.#call(
      {
        method: 'PATCH',
        path: `${this.#base}/purchaseOrders/${encodeURIComponent(documentId)}`,
        body: purchaseOrderPatchBody(patch),
        ifMatch,
        idempotencyKey: ctx.idempotencyKey,
      },
      ctx,
    );
    const doc = this.#purchaseOrderDoc(response.data, writeAnswer(response));
    return this.#erpPurchaseOrder(doc, response.etag ?? doc.etag);
  }

  #erpPurchaseOrder(doc: PurchaseOrderDoc, etag?: string): ErpPurchaseOrder {
    return {
      erpRef: this.#purchaseOrderRef(doc, etag),
      externalReference: doc.externalReference,
      supplierId: doc.supplierId,
      orderDate: doc.orderDate,
      currency: doc.currency,
      total: doc.total,
      status: doc.status,
      lines: doc.lines,
    };
  }

  /** PATCHes `current` to the PO's content unless it holds it already; on 412 reads again and retries once. */
  async #updatePurchaseOrder(
    id: string,
    po: PurchaseOrder,
    current: VersionedDoc,
    ctx: CallContext,
  ): Promise<PurchaseOrderRef> {
    try {
      return await this.#patchPurchaseOrder(id, po, current, 'update', ctx);
    } catch (error) {
      if (!isStaleEtag(error)) throw error;
    }
    return this.#patchPurchaseOrder(id, po, await this.#fetchPurchaseOrder(id, ctx), 'update-retry', ctx);
  }

  async #patchPurchaseOrder(
    id: string,
    po: PurchaseOrder,
    current: VersionedDoc,
    step: string,
    ctx: CallContext,
  ): Promise<PurchaseOrderRef> {
    const desired = purchaseOrderContent(po);
    if (sameContent(purchaseOrderContent(current.doc), desired)) {
      return { ...this.#purchaseOrderRef(current.doc, current.etag), action: 'unchanged', version: current.etag };
    }
    const response = await this.#call(
      {
        method: 'PATCH',
        path: `${this.#base}/purchaseOrders/${encodeURIComponent(id)}`,
        body: desired,
        ifMatch: current.etag,
        idempotencyKey: derivedKey(ctx, step),
      },
      ctx,
    );
    const doc = this.#purchaseOrderDoc(response.data, writeAnswer(response));
    const etag = response.etag ?? doc.etag;
    return { ...this.#purchaseOrderRef(doc, etag), action: 'updated', version: etag };
  }

  async #cancel(id: string, current: VersionedDoc, step: string, ctx: CallContext): Promise<ErpRef> {
    if (current.doc.status === 'cancelled') return this.#purchaseOrderRef(current.doc, current.etag);
    try {
      const response = await this.#call(
        {
          method: 'POST',
          path: `${this.#base}/purchaseOrders/${encodeURIComponent(id)}/cancel`,
          body: {},
          ifMatch: current.etag,
          idempotencyKey: derivedKey(ctx, step),
        },
        ctx,
      );
      return this.#purchaseOrderRef(this.#purchaseOrderDoc(response.data, writeAnswer(response)), response.etag);
    } catch (error) {
      // Cancelled by someone else in between: the outcome asked for holds.
      if (!hasVendorCode(error, 'ALREADY_CANCELLED')) throw error;
      const { doc, etag } = await this.#fetchPurchaseOrder(id, ctx);
      return this.#purchaseOrderRef(doc, etag);
    }
  }

  async #fetchPurchaseOrder(id: string, ctx: CallContext): Promise<VersionedDoc> {
    const response = await this.#call(
      { method: 'GET', path: `${this.#base}/purchaseOrders/${encodeURIComponent(id)}` },
      ctx,
    );
    const answer = readAnswer(response);
    const doc = this.#purchaseOrderDoc(response.data, answer);
    const etag = response.etag ?? doc.etag;
    if (etag === undefined) throw this.#unexpected(`purchase order ${id}`, 'no ETag', answer);
    return { doc, etag };
  }

  async #findPurchaseOrder(externalReference: string, ctx: CallContext): Promise<PurchaseOrderDoc | null> {
    const found = await this.#findOne('purchaseOrders', externalReference, ctx);
    return found === null ? null : this.#purchaseOrderDoc(found.raw, found.answer);
  }

  async #findOne(
    collection: 'purchaseOrders' | 'postings',
    externalReference: string,
    ctx: CallContext,
  ): Promise<Found | null> {
    const response = await this.#call(
      { method: 'GET', path: `${this.#base}/${collection}`, query: { externalReference } },
      ctx,
    );
    const answer = readAnswer(response);
    const data = this.#record(response.data, `the ${collection} lookup`, answer);
    if (!Array.isArray(data.items)) throw this.#unexpected(`the ${collection} lookup`, 'no items list', answer);
    const first: unknown = data.items[0];
    if (first === undefined) return null;
    if (!isRecord(first)) throw this.#unexpected(`the ${collection} lookup`, 'an item is not an object', answer);
    return { raw: first, answer };
  }

  /** Sends one request with the call's correlation id and puts sandbox-only error codes into the pack's terms. */
  async #call(request: ErpRequest, ctx: CallContext): Promise<ErpResponse<unknown>> {
    try {
      return await this.#http.request<unknown>({ ...request, correlationId: ctx.correlationId });
    } catch (error) {
      if (isFinanceError(error) && error.details?.vendorCode === 'IDEMPOTENCY_IN_PROGRESS') {
        // The first attempt with this key is still running in the ERP: transient, unlike other conflicts.
        throw new FinanceError(
          'ERP_UNAVAILABLE',
          `ERP "${this.#system}" is still processing an earlier attempt of ${request.method} ${request.path}; the call is retryable.`,
          { httpStatus: error.httpStatus, retryable: true, details: error.details },
        );
      }
      throw error;
    }
  }

  #budgetAvailability(body: unknown, answer: Answer): BudgetAvailability {
    const what = 'the budget availability';
    const data = this.#record(body, what, answer);
    const { status, period } = data;
    if (status !== 'within' && status !== 'exceeded') {
      throw this.#unexpected(what, 'status is not within or exceeded', answer);
    }
    if (typeof period !== 'string') throw this.#unexpected(what, 'no period', answer);
    return {
      budget: this.#money(data.budget, `${what} budget`, answer),
      actuals: this.#money(data.actuals, `${what} actuals`, answer),
      commitments: this.#money(data.commitments, `${what} commitments`, answer),
      available: this.#money(data.available, `${what} available`, answer),
      requested: this.#money(data.requested, `${what} requested`, answer),
      period,
      status,
      erpMessages: [],
    };
  }

  #purchaseOrderDoc(body: unknown, answer: Answer): PurchaseOrderDoc {
    const what = 'a purchase order';
    const data = this.#record(body, what, answer);
    for (const field of ['id', 'externalReference', 'supplierId', 'orderDate', 'currency'] as const) {
      if (typeof data[field] !== 'string') throw this.#unexpected(what, `no ${field}`, answer);
    }
    if (!PURCHASE_ORDER_STATUSES.includes(data.status as PurchaseOrderDoc['status'])) {
      throw this.#unexpected(what, 'status is not open, cancelled or closed', answer);
    }
    const linesValid =
      Array.isArray(data.lines) && data.lines.every((line) => isRecord(line) && Array.isArray(line.accountAssignments));
    if (!linesValid) throw this.#unexpected(what, 'lines without account assignments', answer);
    const doc = data as unknown as PurchaseOrderDoc;
    return { ...doc, total: this.#money(data.total, `${what} total`, answer) };
  }

  #postingDoc(body: unknown, answer: Answer): PostingDoc {
    const data = this.#record(body, 'a posting', answer);
    if (typeof data.id !== 'string') throw this.#unexpected('a posting', 'no id', answer);
    return data as unknown as PostingDoc;
  }

  #purchaseOrderRef(doc: PurchaseOrderDoc, etag?: string): ErpRef {
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'purchaseOrder',
      documentId: doc.id,
      number: doc.number,
      status: doc.status,
      etag: etag ?? doc.etag,
    };
  }

  #postingRef(doc: PostingDoc): PostingRef {
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'posting',
      documentId: doc.id,
      number: doc.number,
      status: doc.status,
      total: doc.total,
      postedAt: doc.postedAt,
    };
  }

  #money(value: unknown, what: string, answer: Answer): Money {
    if (isRecord(value)) {
      try {
        return money(value.amount, value.currency, { allowNegative: true, path: what });
      } catch {
        // Reported below with the dialect's words: an ERP sending bad money is a protocol problem here.
      }
    }
    throw this.#unexpected(what, 'not a money object with a decimal string amount', answer);
  }

  /** The body as a JSON object, or the error saying what came instead. */
  #record(body: unknown, what: string, answer: Answer): Record<string, unknown> {
    if (isRecord(body)) return body;
    // The client hands over a body that is not JSON as text: an HTML page or a JSON body cut off short.
    if (typeof body === 'string') throw this.#notJson(what, body, answer);
    throw this.#unexpected(what, 'not an object', answer);
  }

  /**
   * JSON, but not what the sandbox API documents: a base URL pointing elsewhere or a sandbox of another
   * version, which retrying does not change.
   */
  #unexpected(what: string, problem: string, answer: Answer): FinanceError {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${this.#system}" answered ${answer.status} with ${what} in a shape the sandbox dialect does not know (${problem}).${appliedNote(answer)} Check that the connection's base URL points at the sandbox ERP and that its version matches this pack; retrying will not help.`,
      { httpStatus: answer.status, retryable: false },
    );
  }

  /**
   * Text where JSON belongs: mostly a proxy's or gateway's page, or an answer cut off on the way. Both tend to
   * go away, so it is retryable, also after a write: the retry reads the document before writing again.
   */
  #notJson(what: string, body: string, answer: Answer): FinanceError {
    const came =
      body.trim() === '' ? 'an empty body' : /^\s*</.test(body) ? 'an HTML page' : 'text that is not JSON (cut off?)';
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${this.#system}" answered ${answer.status} with ${came} instead of ${what}.${appliedNote(answer)} The call is retryable; if this keeps happening, check that the connection's base URL points at the sandbox ERP and that no proxy in between answers in its place.`,
      { httpStatus: answer.status, retryable: true },
    );
  }
}

function readAnswer(response: ErpResponse<unknown>): Answer {
  return { status: response.status, write: false };
}

function writeAnswer(response: ErpResponse<unknown>): Answer {
  return { status: response.status, write: true };
}

/**
 * For the answer to a write: the ERP said 2xx, so the write most likely took effect, whatever body came with
 * it. Its next attempt reads the document first: the ledger keeps its in-flight marker (only a final 4xx
 * proves nothing was written) and looks a create up by external reference; an update or cancel fetches the PO.
 */
function appliedNote(answer: Answer): string {
  return answer.write
    ? ' A 2xx answer to a write means it was most likely applied: the next attempt (a retry or a replay) looks the document up in the ERP before it sends anything again.'
    : '';
}

/** The fields of a PO the sandbox stores and the dialect writes, in its documented shape (API.md). */
function purchaseOrderContent(po: Pick<PurchaseOrder, 'supplierId' | 'orderDate' | 'currency' | 'lines'>) {
  return {
    supplierId: po.supplierId,
    orderDate: po.orderDate,
    currency: po.currency,
    lines: po.lines.map(purchaseOrderLineContent),
  };
}

/**
 * Only the fields the patch names, so the ERP is told exactly what changed. Its lines also carry the optional
 * fields the sandbox keeps (itemCode, unitOfMeasure, needBy), so that a line changed here reads back as it was
 * sent and comparing it with the source's line shows no difference that is not there.
 */
function purchaseOrderPatchBody(patch: PurchaseOrderPatch) {
  return {
    ...(patch.supplierId === undefined ? {} : { supplierId: patch.supplierId }),
    ...(patch.orderDate === undefined ? {} : { orderDate: patch.orderDate }),
    ...(patch.currency === undefined ? {} : { currency: patch.currency }),
    ...(patch.lines === undefined
      ? {}
      : {
          lines: patch.lines.map((line) => ({
            ...purchaseOrderLineContent(line),
            ...(line.itemCode === undefined ? {} : { itemCode: line.itemCode }),
            ...(line.unitOfMeasure === undefined ? {} : { unitOfMeasure: line.unitOfMeasure }),
            ...(line.needBy === undefined ? {} : { needBy: line.needBy }),
          })),
        }),
  };
}

function purchaseOrderLineContent(line: PurchaseOrderLine) {
  return {
    lineId: line.lineId,
    description: line.description,
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    amount: line.amount,
    ...(line.taxCode === undefined ? {} : { taxCode: line.taxCode }),
    accountAssignments: line.accountAssignments.map((assignment) => ({
      dimensions: assignment.dimensions,
      ...(assignment.percent === undefined ? {} : { percent: assignment.percent }),
      ...(assignment.amount === undefined ? {} : { amount: assignment.amount }),
    })),
  };
}

function postingBody(posting: PostingRequest) {
  return {
    kind: posting.kind,
    externalReference: posting.externalReference,
    employeeId: posting.employeeId,
    supplierId: posting.supplierId,
    postingDate: posting.postingDate,
    currency: posting.currency,
    lines: posting.lines.map((line) => ({
      lineId: line.lineId,
      amount: line.amount,
      dimensions: line.dimensions,
      description: line.description,
      taxCode: line.taxCode,
    })),
  };
}

/** Where a line's amount goes: its dimensions (without empty ones) and its tax code. */
interface Charge {
  dimensions: Record<string, string>;
  taxCode?: string;
}

/** Signed amounts in minor units per charge, keyed by its canonical JSON. */
type Charges = AmountTally<Charge>;

function addCharge(charges: Charges, dimensions: unknown, taxCode: unknown, minor: bigint): void {
  const kept = Object.entries(isRecord(dimensions) ? dimensions : {}).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '',
  );
  const charge: Charge = {
    dimensions: Object.fromEntries(kept),
    ...(typeof taxCode === 'string' && taxCode !== '' ? { taxCode } : {}),
  };
  addToTally(charges, canonicalJson(charge), charge, minor);
}

/**
 * The charges whose amounts differ between the lines the ERP holds and the posting's; undefined when the ERP's
 * lines cannot be read. Lines are summed per charge: two lines on the same dimensions post what one line of
 * their sum posts, so a revision that only splits or merges lines (or changes texts) is the same posting.
 */
function lineDifferences(heldLines: unknown, posting: PostingRequest): TallyDifference<Charge>[] | undefined {
  if (!Array.isArray(heldLines)) return undefined;
  const held: Charges = new Map();
  for (const line of heldLines) {
    if (!isRecord(line) || !isRecord(line.amount)) return undefined;
    let minor: bigint;
    try {
      minor = minorOf(money(line.amount.amount, line.amount.currency, { allowNegative: true }));
    } catch {
      return undefined;
    }
    addCharge(held, line.dimensions, line.taxCode, minor);
  }
  const wanted: Charges = new Map();
  for (const line of posting.lines) addCharge(wanted, line.dimensions, line.taxCode, minorOf(line.amount));
  return tallyDifferences(held, wanted);
}

function describeDifference(difference: TallyDifference<Charge>, currency: string): string {
  const { dimensions, taxCode } = difference.place;
  const where = [
    ...Object.entries(dimensions).map(([name, value]) => `${name} ${value}`),
    ...(taxCode ? [`taxCode ${taxCode}`] : []),
  ].join(', ');
  const amount = (minor: bigint | undefined) =>
    minor === undefined ? 'none' : `${fromMinorUnits(minor, currency).amount} ${currency}`;
  return `${where || 'no dimensions'}: ${amount(difference.booked)} in the ERP, ${amount(difference.expected)} in this posting`;
}

/** Whether an amount the ERP answered (not checked yet) is `expected`; false for one that is not money. */
function holds(booked: Money, expected: Money): boolean {
  try {
    return sameAmount(booked, expected);
  } catch {
    return false;
  }
}

/** Equal as JSON with keys sorted: the ERP may store object keys in another order. */
function sameContent(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * One operation can make several writes (create, then PATCH; PATCH, then the retry after 412). Each gets
 * its own key derived from the ledger key, so the ERP never sees one key with two bodies, and a replay of
 * the operation derives the same keys again.
 */
function derivedKey(ctx: CallContext, step: string): string | undefined {
  return ctx.idempotencyKey === undefined ? undefined : `${ctx.idempotencyKey}:${step}`;
}

function hasVendorCode(error: unknown, vendorCode: string): boolean {
  return isFinanceError(error) && error.details?.vendorCode === vendorCode;
}

function isStaleEtag(error: unknown): boolean {
  return isFinanceError(error) && error.httpStatus === 412;
}
