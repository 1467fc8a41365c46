/**
 * The Coupa simulator's documents: requisitions and purchase orders kept as Coupa's JSON (hyphenated keys),
 * with the behaviour an integration depends on [D compass.coupa.com, Special Actions and API Notes]:
 * - `exported` is false until a PUT with `?exported=true` marks the document, and that request changes
 *   nothing else;
 * - a revision (a new PO version) sets `exported` back to false, so the document is polled again. [U] The
 *   simulator does the same for requisitions;
 * - `updated-at` moves forward with every change, in whole seconds like Coupa's timestamps. [U] Marking a
 *   document exported leaves `updated-at` alone (only `last-exported-at` changes).
 *
 * The store belongs to one SandboxState (kept beside it, so the sandbox's own state needs no Coupa field)
 * and is reset with it.
 */
import type { SandboxState } from '../state';
import { SandboxProblem } from '../problem';
import { coupaSeed } from './seed';

export const COUPA_COLLECTIONS = ['requisitions', 'purchase_orders'] as const;
export type CoupaCollection = (typeof COUPA_COLLECTIONS)[number];

/** The key holding a document's lines, per collection. */
export const LINES_KEY: Readonly<Record<CoupaCollection, string>> = {
  requisitions: 'requisition-lines',
  purchase_orders: 'order-lines',
};

/**
 * The custom fields this simulated instance has configured (Coupa Setup > Custom Fields); the ERP's
 * commitment id is written back into `erp-po-number` [D: custom fields are set with PUT and a
 * `custom-fields` element, by their field name].
 */
export const CUSTOM_FIELDS: readonly string[] = ['erp-po-number', 'erp-po-status'];

/** One write-back as the simulator received it, kept so tests can count them per record. */
export interface CoupaWriteback {
  collection: CoupaCollection;
  id: number;
  values: Record<string, string | null>;
  at: string;
}

export type CoupaRecord = Record<string, unknown> & { id: number };

/** The next `count` Coupa API requests answer `status` (429 or 5xx), with Retry-After when given. */
export interface CoupaFault {
  status: number;
  remaining: number;
  retryAfterSeconds?: number;
}

export interface CoupaCounters {
  requests: number;
  faultsInjected: number;
  exportMarks: number;
  writebacks: number;
}

/** Fields the simulator keeps itself; an injected document cannot set them. */
const MANAGED_FIELDS = ['id', 'created-at', 'updated-at', 'exported', 'last-exported-at', 'version'];

export class CoupaStore {
  readonly collections: Record<CoupaCollection, Map<number, CoupaRecord>> = {
    requisitions: new Map(),
    purchase_orders: new Map(),
  };
  fault: CoupaFault | undefined;
  counters: CoupaCounters = zeroCounters();
  writebacks: CoupaWriteback[] = [];

  constructor(private readonly now: () => Date) {
    this.reset();
  }

  reset(): void {
    for (const collection of COUPA_COLLECTIONS) this.collections[collection].clear();
    for (const [collection, documents] of Object.entries(coupaSeed()) as [CoupaCollection, CoupaRecord[]][]) {
      for (const document of documents) this.collections[collection].set(document.id, document);
    }
    this.fault = undefined;
    this.counters = zeroCounters();
    this.writebacks = [];
  }

  /** Adds a document, or revises the one with the same id (test and demo injection). */
  upsert(collection: CoupaCollection, body: unknown): { record: CoupaRecord; created: boolean } {
    const fields = checkedInjection(collection, body);
    const documents = this.collections[collection];
    const id = fields.id === undefined ? nextId(documents) : (fields.id as number);
    const changes = Object.fromEntries(Object.entries(fields).filter(([key]) => !MANAGED_FIELDS.includes(key)));
    const existing = documents.get(id);
    if (existing) {
      const revised: CoupaRecord = {
        ...existing,
        ...changes,
        id,
        'updated-at': this.#nextStamp(existing['updated-at']),
        exported: false,
      };
      if (collection === 'purchase_orders') revised.version = (existing.version as number) + 1;
      documents.set(id, revised);
      return { record: revised, created: false };
    }
    const stamp = coupaTimestamp(this.now().getTime());
    const record: CoupaRecord = {
      id,
      'created-at': stamp,
      'updated-at': stamp,
      status: collection === 'requisitions' ? 'approved' : 'issued',
      ...(collection === 'purchase_orders' ? { 'po-number': String(id), version: 1 } : {}),
      'custom-fields': {},
      ...changes,
      exported: false,
      'last-exported-at': null,
    };
    documents.set(id, record);
    return { record, created: true };
  }

  get(collection: CoupaCollection, id: number): CoupaRecord | undefined {
    return this.collections[collection].get(id);
  }

  /** All documents of a collection in Coupa's default order, by id. */
  all(collection: CoupaCollection): CoupaRecord[] {
    return [...this.collections[collection].values()].sort((a, b) => a.id - b.id);
  }

  setExported(collection: CoupaCollection, id: number, exported: boolean): CoupaRecord | undefined {
    const record = this.get(collection, id);
    if (!record) return undefined;
    record.exported = exported;
    if (exported) {
      record['last-exported-at'] = coupaTimestamp(this.now().getTime());
      this.counters.exportMarks += 1;
    }
    return record;
  }

  /** Writes custom fields (the ERP write-back); a change, but not a revision, so `exported` stays. */
  writeCustomFields(
    collection: CoupaCollection,
    id: number,
    values: Record<string, string | null>,
  ): CoupaRecord | undefined {
    const record = this.get(collection, id);
    if (!record) return undefined;
    const current = record['custom-fields'];
    record['custom-fields'] = { ...(isObject(current) ? current : {}), ...values };
    record['updated-at'] = this.#nextStamp(record['updated-at']);
    this.counters.writebacks += 1;
    this.writebacks.push({ collection, id, values: { ...values }, at: coupaTimestamp(this.now().getTime()) });
    return record;
  }

  /** The fault for this request, if one is pending; counts it down. */
  takeFault(): CoupaFault | undefined {
    const fault = this.fault;
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.fault = undefined;
    this.counters.faultsInjected += 1;
    return fault;
  }

  snapshot(): Record<string, unknown> {
    return {
      requisitions: this.all('requisitions'),
      purchaseOrders: this.all('purchase_orders'),
      fault: this.fault ?? null,
      counters: this.counters,
      writebacks: this.writebacks,
    };
  }

  /** Now, but at least one second after `previous`: a change must be visible in `updated-at`. */
  #nextStamp(previous: unknown): string {
    const previousMs = typeof previous === 'string' ? Date.parse(previous) : Number.NaN;
    const nowMs = this.now().getTime();
    return coupaTimestamp(Number.isNaN(previousMs) ? nowMs : Math.max(nowMs, previousMs + 1000));
  }
}

const stores = new WeakMap<SandboxState, CoupaStore>();

/** The Coupa store of a sandbox, created with it on first use. */
export function coupaStoreOf(state: SandboxState): CoupaStore {
  let store = stores.get(state);
  if (!store) {
    store = new CoupaStore(state.now);
    stores.set(state, store);
  }
  return store;
}

/** Coupa's timestamp form, whole seconds with an offset ("2025-03-15T10:00:00+00:00"). */
export function coupaTimestamp(epochMs: number): string {
  return `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}+00:00`;
}

export function isCoupaCollection(value: string): value is CoupaCollection {
  return (COUPA_COLLECTIONS as readonly string[]).includes(value);
}

function zeroCounters(): CoupaCounters {
  return { requests: 0, faultsInjected: 0, exportMarks: 0, writebacks: 0 };
}

function nextId(documents: Map<number, CoupaRecord>): number {
  return Math.max(1000, ...documents.keys()) + 1;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An injected document is stored as sent, malformed amounts included (tests need bad documents); only what
 * the simulator itself relies on is checked: an object, a usable id, lines as an array.
 */
function checkedInjection(collection: CoupaCollection, body: unknown): Record<string, unknown> {
  if (!isObject(body)) {
    throw new SandboxProblem(400, 'INVALID_BODY', `Send one Coupa ${collection} document as a JSON object.`);
  }
  const id = body.id;
  if (id !== undefined && (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1)) {
    throw new SandboxProblem(400, 'INVALID_ID', '"id" must be a positive whole number, or absent for a new document.');
  }
  const lines = body[LINES_KEY[collection]];
  if (lines !== undefined && !Array.isArray(lines)) {
    throw new SandboxProblem(400, 'INVALID_BODY', `"${LINES_KEY[collection]}" must be an array of lines.`);
  }
  return body;
}
