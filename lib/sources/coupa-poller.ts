/**
 * Coupa as a polled source. Coupa has no general webhooks; its documented integration pattern is [D]:
 * query the documents not exported yet (`GET /api/requisitions?exported=false`), process them, then mark each
 * exported with its own request (`PUT /api/requisitions/{id}?exported=true`, "Marking an object as exported
 * requires its own request. Any other changes included may be ignored"). A new PO version resets the flag,
 * so a revised document is polled again. [D] compass.coupa.com: Special Actions and API Notes, Arguments
 * ("the maximum number of results returned are 50 at a time", limit/offset, dashes become underscores),
 * Querying Options (operators such as `[gt]`), Requisitions Export (the standard export takes approved
 * requisitions that were not exported).
 *
 * One call of poll() is one round. Each document goes to `commit` (which resolves once the event is durable
 * in the inbox) and only then is marked exported, so a crash between the two re-delivers the document next
 * round, where the inbox recognises the duplicate. What is not committed is never marked: it comes back.
 *
 * Paging: the `exported=false` set shrinks while a round marks documents, so the offset of the next page is
 * the number of documents this round left unexported, not the number read. A round always starts at offset
 * 0; the only state kept between rounds is the optional `updated_at[gt]` cursor, and dropping it is always
 * safe (the exported flag alone decides what is fetched; the cursor only narrows the query).
 */
import { isDeepStrictEqual } from 'node:util';
import { FinanceError } from '../errors';
import type { ErpHttp } from '../erp/client';

export const COUPA_RESOURCES = ['requisitions', 'purchase_orders'] as const;
export type CoupaResource = (typeof COUPA_RESOURCES)[number];

/** Coupa answers at most 50 documents per request [D Arguments]. */
export const COUPA_MAX_PAGE_SIZE = 50;

/** How far the cursor stays behind the newest `updated-at` seen, for writes committed after their timestamp. */
export const DEFAULT_CURSOR_OVERLAP_MS = 10 * 60 * 1000;

/**
 * Requisitions are taken once approved, as Coupa's own requisition export does [D Requisitions Export]. Coupa
 * moves an approved requisition on to ordered and received as it issues and receives the PO, so those count
 * as approved too, and a cancelled one is taken so the cancellation reaches the ERP. Drafts and requisitions
 * still in approval are left alone: marking them exported could hide their approval from later rounds.
 * [D Querying Options: the `in` operator takes a comma-separated list.]
 */
const DEFAULT_FILTERS: Readonly<Record<CoupaResource, Readonly<Record<string, string>>>> = {
  requisitions: { 'status[in]': 'approved,ordered,partially_received,received,cancelled' },
  purchase_orders: {},
};

/** What is kept between rounds (the caller backs it with the store's kv). */
export interface CoupaPollState {
  /** Only documents updated after this instant are asked for (Coupa `updated_at[gt]`). */
  updatedAfter?: string;
}

export interface CoupaPollStateStore {
  /** The saved state; undefined when there is none yet. */
  load(): Promise<unknown>;
  save(state: CoupaPollState): Promise<void>;
}

/** A Coupa document as the API returned it (hyphenated keys). */
export type CoupaDocument = Record<string, unknown>;

export interface CoupaPollerOptions {
  /** The Coupa connection (base URL = the instance, e.g. https://acme.coupahost.com); it brings the OAuth2 token. */
  http: ErpHttp;
  resource: CoupaResource;
  state: CoupaPollStateStore;
  /**
   * Resolves once the document is committed to the inbox (a duplicate counts as committed). A rejection
   * with a FinanceError that is not retryable means the document is malformed: it is reported and left
   * unexported. Any other rejection ends the round; the document comes again next round.
   */
  commit(document: CoupaDocument): Promise<void>;
  /** Documents per request, 1 to 50 (default 50). */
  pageSize?: number;
  /** Query filters in Coupa's syntax, e.g. `{ "status": "issued" }`; the default is DEFAULT_FILTERS. */
  filters?: Record<string, string>;
  /** The first cursor, before any round saved one (RFC 3339), e.g. the go-live date. */
  updatedAfter?: string;
  cursorOverlapMs?: number;
  /** Sent as X-Correlation-Id on every request of a round. */
  correlationId?: string;
}

/** A document this round did not mark exported, and why. */
export interface CoupaLeftBehind {
  /** Coupa's id, when the document had a usable one. */
  id?: number;
  /** Where it stopped: reading it, committing it, or marking it exported after the commit. */
  stage: 'read' | 'commit' | 'mark-exported';
  error: FinanceError;
}

export interface CoupaPollReport {
  resource: CoupaResource;
  pages: number;
  fetched: number;
  /** Committed and marked exported. */
  exported: number;
  leftBehind: CoupaLeftBehind[];
  /** A retryable failure (429, 5xx, network, store) ended the round early; poll again later. */
  interrupted?: FinanceError;
  /** The wait the failure asked for (Retry-After), when it named one. */
  retryAfterMs?: number;
  /** The cursor after the round. */
  updatedAfter?: string;
}

type Handled =
  { outcome: 'exported'; updatedAt?: number } | { outcome: 'left'; updatedAt?: number } | { outcome: 'stop' };

export class CoupaPoller {
  readonly #options: CoupaPollerOptions;
  readonly #pageSize: number;
  readonly #filters: Readonly<Record<string, string>>;
  readonly #overlapMs: number;
  readonly #initialCursor?: string;

  constructor(options: CoupaPollerOptions) {
    if (!(COUPA_RESOURCES as readonly string[]).includes(options.resource)) {
      throw configInvalid(`resource must be one of ${COUPA_RESOURCES.join(', ')}, got "${String(options.resource)}"`);
    }
    const pageSize = options.pageSize ?? COUPA_MAX_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > COUPA_MAX_PAGE_SIZE) {
      throw configInvalid(`pageSize must be a whole number from 1 to ${COUPA_MAX_PAGE_SIZE} (Coupa's maximum)`);
    }
    const overlapMs = options.cursorOverlapMs ?? DEFAULT_CURSOR_OVERLAP_MS;
    if (!Number.isInteger(overlapMs) || overlapMs < 0) {
      throw configInvalid('cursorOverlapMs must be a whole number of milliseconds, 0 or more');
    }
    if (options.updatedAfter !== undefined && instantOf(options.updatedAfter) === undefined) {
      throw configInvalid(`updatedAfter must be an RFC 3339 date-time, got "${String(options.updatedAfter)}"`);
    }
    this.#options = options;
    this.#pageSize = pageSize;
    this.#filters = options.filters ?? DEFAULT_FILTERS[options.resource];
    this.#overlapMs = overlapMs;
    this.#initialCursor = options.updatedAfter;
  }

  /** One round: every page of not-exported documents, each committed and then marked exported. */
  async poll(): Promise<CoupaPollReport> {
    const cursor = await this.#loadCursor();
    const report: CoupaPollReport = {
      resource: this.#options.resource,
      pages: 0,
      fetched: 0,
      exported: 0,
      leftBehind: [],
      ...(cursor === undefined ? {} : { updatedAfter: cursor }),
    };
    let offset = 0;
    let newest: number | undefined;
    let oldestLeft: number | undefined;
    let leftWithoutTime = false;
    for (;;) {
      const page = await this.#page(offset, cursor, report);
      if (page === undefined) return report;
      report.pages += 1;
      report.fetched += page.length;
      let leftOnPage = 0;
      for (const document of page) {
        const handled = await this.#handle(document, report);
        if (handled.outcome === 'stop') return report;
        if (handled.updatedAt !== undefined) newest = Math.max(newest ?? handled.updatedAt, handled.updatedAt);
        if (handled.outcome === 'left') {
          leftOnPage += 1;
          if (handled.updatedAt === undefined) leftWithoutTime = true;
          else oldestLeft = Math.min(oldestLeft ?? handled.updatedAt, handled.updatedAt);
        }
      }
      if (page.length < this.#pageSize) break;
      offset += leftOnPage;
    }
    const next = leftWithoutTime ? cursor : this.#advancedCursor(cursor, newest, oldestLeft);
    if (next !== cursor && next !== undefined) {
      await this.#options.state.save({ updatedAfter: next });
      report.updatedAfter = next;
    }
    return report;
  }

  /** One page, or undefined when a retryable failure ended the round (recorded in the report). */
  async #page(
    offset: number,
    cursor: string | undefined,
    report: CoupaPollReport,
  ): Promise<CoupaDocument[] | undefined> {
    try {
      const response = await this.#options.http.request<unknown>({
        method: 'GET',
        path: `/api/${this.#options.resource}`,
        query: {
          ...this.#filters,
          exported: 'false',
          ...(cursor === undefined ? {} : { 'updated_at[gt]': cursor }),
          offset,
          limit: this.#pageSize,
        },
        correlationId: this.#options.correlationId,
      });
      if (!Array.isArray(response.data)) {
        throw new FinanceError(
          'ERP_REJECTED',
          `Coupa answered GET /api/${this.#options.resource} with something that is not a JSON array; check that ` +
            'the connection sends Accept: application/json and its base URL is the Coupa instance.',
          { details: { path: `/api/${this.#options.resource}` } },
        );
      }
      return response.data as CoupaDocument[];
    } catch (error) {
      if (isNoResults(error)) return [];
      return this.#interrupt(error, report);
    }
  }

  async #handle(document: unknown, report: CoupaPollReport): Promise<Handled> {
    const id = idOf(document);
    if (id === undefined) {
      report.leftBehind.push({
        stage: 'read',
        error: new FinanceError(
          'SCHEMA_INVALID',
          `A Coupa ${this.#options.resource} item has no positive whole-number id, so it can be neither processed nor ` +
            'marked exported; check the document in Coupa.',
        ),
      });
      return { outcome: 'left' };
    }
    const updatedAt = instantOf((document as CoupaDocument)['updated-at']);
    try {
      await this.#options.commit(document as CoupaDocument);
    } catch (error) {
      if (error instanceof FinanceError && !error.retryable) {
        report.leftBehind.push({ id, stage: 'commit', error });
        return { outcome: 'left', updatedAt };
      }
      this.#interrupt(error, report);
      return { outcome: 'stop' };
    }
    try {
      const marked = await this.#options.http.request<unknown>({
        method: 'PUT',
        path: `/api/${this.#options.resource}/${id}`,
        query: { exported: 'true' },
        correlationId: this.#options.correlationId,
      });
      await this.#revisedMeanwhile(document as CoupaDocument, marked.data);
    } catch (error) {
      if (error instanceof FinanceError && !error.retryable) {
        // Committed but still marked unexported: it comes again next round and the inbox sees a duplicate.
        report.leftBehind.push({ id, stage: 'mark-exported', error });
        return { outcome: 'left', updatedAt };
      }
      this.#interrupt(error, report);
      return { outcome: 'stop' };
    }
    report.exported += 1;
    return { outcome: 'exported', updatedAt };
  }

  /**
   * A revision saved in Coupa between this round's read and its export mark would be hidden by the mark (the
   * flag is per record, not per revision). The PUT answers with the record as it is now: when its `updated-at`
   * is not the one read, that newer revision is committed too; if that fails, the mark is taken back so the
   * revision comes next round. A failure here ends the round like any other.
   */
  async #revisedMeanwhile(read: CoupaDocument, now: unknown): Promise<void> {
    if (typeof now !== 'object' || now === null || Array.isArray(now)) return;
    const current = now as CoupaDocument;
    if (idOf(current) !== idOf(read) || current['updated-at'] === read['updated-at']) return;
    // Whether the mark itself moves updated-at is not documented [U]; if it does, the answer differs from what
    // was read only in these fields, and committing it would run the same requisition through the flow twice.
    if (sameExceptExportStamps(current, read)) return;
    try {
      await this.#options.commit(current);
    } catch (error) {
      await this.#options.http.request({
        method: 'PUT',
        path: `/api/${this.#options.resource}/${String(read.id)}`,
        query: { exported: 'false' },
        correlationId: this.#options.correlationId,
      });
      if (error instanceof FinanceError && !error.retryable) return;
      throw error;
    }
  }

  /** Ends the round on a retryable failure; anything else is not a matter of waiting and is thrown. */
  #interrupt(error: unknown, report: CoupaPollReport): undefined {
    const failure =
      error instanceof FinanceError
        ? error
        : new FinanceError(
            'STORE_UNAVAILABLE',
            `Polling Coupa ${this.#options.resource} failed: ${error instanceof Error ? error.message : String(error)}. ` +
              'Nothing was marked exported; the round is tried again.',
            { retryable: true, cause: error },
          );
    if (!failure.retryable) throw failure;
    report.interrupted = failure;
    if (failure.retryAfterMs !== undefined) report.retryAfterMs = failure.retryAfterMs;
    return undefined;
  }

  async #loadCursor(): Promise<string | undefined> {
    const saved = await this.#options.state.load();
    const updatedAfter =
      typeof saved === 'object' && saved !== null ? (saved as Record<string, unknown>).updatedAfter : undefined;
    // An unreadable saved cursor is dropped rather than trusted: without it more is asked for, never less.
    return typeof updatedAfter === 'string' && instantOf(updatedAfter) !== undefined
      ? updatedAfter
      : this.#initialCursor;
  }

  /**
   * The cursor after a complete round: the newest `updated-at` seen minus the overlap, but never at or past
   * a document left unexported (it must be asked for again) and never backwards.
   */
  #advancedCursor(
    cursor: string | undefined,
    newest: number | undefined,
    oldestLeft: number | undefined,
  ): string | undefined {
    if (newest === undefined) return cursor;
    let next = newest - this.#overlapMs;
    // Coupa compares whole seconds; one second before the oldest one left keeps it inside `[gt]`.
    if (oldestLeft !== undefined) next = Math.min(next, oldestLeft - 1000);
    const current = cursor === undefined ? undefined : instantOf(cursor);
    if (current !== undefined && next <= current) return cursor;
    return coupaDateTime(next);
  }
}

function configInvalid(problem: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `Coupa poller: ${problem}. Fix it in the node's configuration.`);
}

/** What marking a document exported may change by itself: the flag, when it was last exported, when it changed. */
const EXPORT_STAMPS = ['exported', 'last-exported-at', 'updated-at'];

function sameExceptExportStamps(a: CoupaDocument, b: CoupaDocument): boolean {
  const withoutStamps = (document: CoupaDocument) =>
    Object.fromEntries(Object.entries(document).filter(([key]) => !EXPORT_STAMPS.includes(key)));
  return isDeepStrictEqual(withoutStamps(a), withoutStamps(b));
}

function idOf(document: unknown): number | undefined {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return undefined;
  const id = (document as CoupaDocument).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** Epoch milliseconds of an RFC 3339 date-time with offset, else undefined. */
function instantOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || !RFC_3339.test(value)) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/** Whole seconds with an explicit offset, the form Coupa documents for dates in queries [D Querying Options]. */
function coupaDateTime(epochMs: number): string {
  return `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}+00:00`;
}

/**
 * Coupa answers a query that matches nothing with 404 and a "no results" message [D Coupa API example
 * calls: "Unsuccessful requests will return HTTP 404 Not Found. The error message will indicate no results
 * matching your search criteria"]. That is an empty page; any other 404 (a wrong base URL) stays an error.
 */
function isNoResults(error: unknown): boolean {
  if (!(error instanceof FinanceError) || error.httpStatus !== 404) return false;
  const body = error.details?.erpBody;
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return /no results/i.test(text);
}
