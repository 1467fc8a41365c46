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
 * the number of documents this round left unexported, not the number read. That count is only a guess once a
 * document was left behind: one that leaves the set meanwhile (a buyer's edit sends it back to approval) makes
 * the next page start one too far, and a document is not read. So only a round that read every page at
 * offset 0 moves the cursor (see #nextCursor), so a document one round skipped comes in the next.
 *
 * Between rounds the poller keeps the optional `updated_at[gt]` cursor, and dropping it is always safe (the
 * exported flag alone decides what is fetched; the cursor only narrows the query), and the export marks it
 * must take back before it reads anything (CoupaPollState.unmark, see #leaveRevision).
 */
import { FinanceError } from '../errors';
import type { ErpHttp } from '../erp/client';
import { coupaContentDigest } from './profiles/coupa';

export const COUPA_RESOURCES = ['requisitions', 'purchase_orders'] as const;
export type CoupaResource = (typeof COUPA_RESOURCES)[number];

/** Coupa answers at most 50 documents per request [D Arguments]. */
export const COUPA_MAX_PAGE_SIZE = 50;

/**
 * The most documents one round reads (its pages are capped at this over the page size). A round normally ends
 * when a page comes back short; this bound ends one that would not (Coupa answering the same documents again and
 * again, e.g. when its `exported=false` filter is not applied), and the next round starts after the interval.
 * A larger backlog is read over several rounds: the documents a round exported have left the set.
 */
export const MAX_DOCUMENTS_PER_ROUND = 5_000;

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
  /**
   * Ids whose export mark must be taken back (PUT exported=false) before the next round reads anything,
   * because the mark may hide a revision that was never committed. An id is noted before its mark is sent and
   * the note is cleared once the mark's answer showed no revision or the revision is committed, so a take-back
   * that failed, or a process that ended between the mark and the revision's commit, leaves the note here.
   */
  unmark?: number[];
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
  /**
   * Asked before every page and every document: false ends the round at once, nothing more read, committed or
   * saved (the polling loop's lease on a store several hosts share was lost, see lib/intake/coupa-polling.ts).
   */
  mayContinue?: () => Promise<boolean>;
}

/** A document this round did not mark exported, and why. */
export interface CoupaLeftBehind {
  /** Coupa's id, when the document had a usable one. */
  id?: number;
  /**
   * Where it stopped: reading it, committing it, marking it exported after the commit, or taking back a mark
   * that hides an uncommitted revision (the take-back is tried again first thing next round).
   */
  stage: 'read' | 'commit' | 'mark-exported' | 'unmark-exported';
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
  /**
   * The round stopped before its last page: it read MAX_DOCUMENTS_PER_ROUND documents, or (`lease`) the poller
   * may no longer go on (mayContinue). The next round goes on from the first page.
   */
  cutShort?: 'page-limit' | 'lease';
  /** The wait the failure asked for (Retry-After), when it named one. */
  retryAfterMs?: number;
  /** The cursor after the round. */
  updatedAfter?: string;
}

type Handled =
  { outcome: 'exported'; updatedAt?: number } | { outcome: 'left'; updatedAt?: number } | { outcome: 'stop' };

/** What a round learnt while paging that decides how far its cursor may move (see #nextCursor). */
interface CursorEvidence {
  /** The newest `updated-at` handled. */
  newest?: number;
  /** The oldest `updated-at` of a document left unexported. */
  oldestLeft?: number;
  /** A document without a readable `updated-at` was left unexported. */
  leftWithoutTime: boolean;
  /** A page was asked for at an offset above 0, so a document may have been skipped (see the paging note). */
  pagedPastLeftBehind: boolean;
  /** The content digest of each document this round marked exported, by id (see #markNotKept). */
  exported: Map<number, string>;
}

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

  /**
   * One round: the export marks left to take back, then every page of not-exported documents, each committed
   * and then marked exported.
   */
  async poll(): Promise<CoupaPollReport> {
    const state = new RoundState(this.#options.state, await this.#options.state.load());
    const cursor = state.cursor ?? this.#initialCursor;
    const report: CoupaPollReport = {
      resource: this.#options.resource,
      pages: 0,
      fetched: 0,
      exported: 0,
      leftBehind: [],
      ...(cursor === undefined ? {} : { updatedAfter: cursor }),
    };
    try {
      await this.#round(state, cursor, report);
    } catch (error) {
      // What is unsaved is only notes cleared (see RoundState): worth a try, but the round's failure is reported.
      await state.flush().catch(() => undefined);
      throw error;
    }
    // Without the lease another host may be running a round on the same state: what is unsaved here (notes
    // cleared, a cursor) would overwrite its notes. A note kept too long costs a take-back, never a revision.
    if (report.cutShort !== 'lease') await state.flush();
    return report;
  }

  async #round(state: RoundState, cursor: string | undefined, report: CoupaPollReport): Promise<void> {
    if (!(await this.#takeBackMarks(state, report))) return;
    const evidence: CursorEvidence = { leftWithoutTime: false, pagedPastLeftBehind: false, exported: new Map() };
    const maxPages = Math.ceil(MAX_DOCUMENTS_PER_ROUND / this.#pageSize);
    let offset = 0;
    for (;;) {
      if (!(await this.#mayContinue(report))) return;
      const page = await this.#page(offset, cursor, report);
      if (page === undefined) return;
      report.pages += 1;
      report.fetched += page.length;
      let leftOnPage = 0;
      for (const document of page) {
        if (!(await this.#mayContinue(report))) return;
        const handled = await this.#handle(document, state, report, evidence);
        if (handled.outcome === 'stop') return;
        if (handled.outcome === 'left') leftOnPage += 1;
        addEvidence(evidence, handled);
      }
      if (page.length < this.#pageSize) break;
      // Not the last page, so the cursor stays where it is (#nextCursor): this round did not see the whole set.
      if (report.pages >= maxPages) {
        report.cutShort = 'page-limit';
        return;
      }
      offset += leftOnPage;
      if (offset > 0) evidence.pagedPastLeftBehind = true;
    }
    const next = this.#nextCursor(cursor, evidence, state);
    if (next !== cursor && next !== undefined) {
      state.advance(next);
      report.updatedAfter = next;
    }
  }

  /** False (the report says why) when the round must end now: see CoupaPollerOptions.mayContinue. */
  async #mayContinue(report: CoupaPollReport): Promise<boolean> {
    if (this.#options.mayContinue === undefined || (await this.#options.mayContinue())) return true;
    report.cutShort = 'lease';
    return false;
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

  /**
   * Takes back, before anything is read, the export marks noted as possibly hiding an uncommitted revision, so
   * those documents come in this round. False when a retryable failure ended the round; a refusal that waiting
   * cannot fix is reported, and the note stays for the next round.
   */
  async #takeBackMarks(state: RoundState, report: CoupaPollReport): Promise<boolean> {
    for (const id of [...state.unmark]) {
      try {
        await this.#markExported(id, false);
        state.clear(id);
      } catch (error) {
        if (error instanceof FinanceError && !error.retryable) {
          report.leftBehind.push({ id, stage: 'unmark-exported', error });
          continue;
        }
        this.#interrupt(error, report);
        return false;
      }
    }
    return true;
  }

  async #handle(
    document: unknown,
    state: RoundState,
    report: CoupaPollReport,
    evidence: CursorEvidence,
  ): Promise<Handled> {
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
    const digest = coupaContentDigest(document);
    if (evidence.exported.get(id) === digest) {
      // Marked exported earlier in this round, and the same content is still unexported: the mark did not last.
      // Left behind, so the round pages past it instead of reading the same page again and again.
      report.leftBehind.push({ id, stage: 'mark-exported', error: this.#markNotKept(id) });
      return { outcome: 'left', updatedAt };
    }
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
    let answer: unknown;
    try {
      // Noted before the mark is sent: a process that ends after the mark and before a revision the mark's
      // answer shows is committed leaves the note, and the next round takes the mark back.
      await state.note(id);
      answer = await this.#markExported(id, true);
    } catch (error) {
      // A mark Coupa answered with 4xx was not made, so it hides nothing; after a 5xx or a lost answer it may
      // have been, and the note stays.
      if (refusedByCoupa(error)) state.clear(id);
      if (error instanceof FinanceError && !error.retryable) {
        // Committed but still marked unexported: it comes again next round and the inbox sees a duplicate.
        report.leftBehind.push({ id, stage: 'mark-exported', error });
        return { outcome: 'left', updatedAt };
      }
      this.#interrupt(error, report);
      return { outcome: 'stop' };
    }
    if (markRefused(document as CoupaDocument, answer)) {
      // Answered 200, but the record still says exported: false. Nothing is hidden by a mark that was not made;
      // the document stays in the exported=false set and comes again (a duplicate, already committed).
      state.clear(id);
      report.leftBehind.push({ id, stage: 'mark-exported', error: this.#markNotKept(id) });
      return { outcome: 'left', updatedAt };
    }
    evidence.exported.set(id, digest);
    const revision = revisionIn(document as CoupaDocument, answer);
    if (revision !== undefined) {
      try {
        await this.#options.commit(revision);
      } catch (error) {
        return this.#leaveRevision(id, revision, error, state, report);
      }
    }
    state.clear(id);
    report.exported += 1;
    return { outcome: 'exported', updatedAt };
  }

  /**
   * A revision saved in Coupa between this round's read and its export mark is hidden by the mark (the flag is
   * per record, not per revision); #handle commits it from the mark's answer. When that commit failed, the mark
   * is taken back so the revision comes again; when the take-back fails too, its note stays in the poll state
   * and the next round takes the mark back before it reads anything. The commit's failure, not the take-back's,
   * decides how the round goes on.
   */
  async #leaveRevision(
    id: number,
    revision: CoupaDocument,
    commitError: unknown,
    state: RoundState,
    report: CoupaPollReport,
  ): Promise<Handled> {
    try {
      await this.#markExported(id, false);
      state.clear(id);
    } catch (error) {
      report.leftBehind.push({ id, stage: 'unmark-exported', error: this.#failure(error) });
    }
    if (commitError instanceof FinanceError && !commitError.retryable) {
      report.leftBehind.push({ id, stage: 'commit', error: commitError });
      // Unexported again (or about to be) with the revision's updated-at: the cursor must stay below that one.
      return { outcome: 'left', updatedAt: instantOf(revision['updated-at']) };
    }
    this.#interrupt(commitError, report);
    return { outcome: 'stop' };
  }

  /** Coupa did not keep the export mark of `id` (the same message every time, so it is reported once). */
  #markNotKept(id: number): FinanceError {
    const resource = this.#options.resource;
    return new FinanceError(
      'ERP_REJECTED',
      `Coupa accepted the export mark (PUT /api/${resource}/<id>?exported=true) but the ${resource} stay ` +
        'unexported, so they are committed (as duplicates) and marked again every round. Check in Coupa that the ' +
        "integration's API user or OAuth client may update " +
        `${resource} (write scope), that nothing between this host and Coupa drops the query string of a PUT, and ` +
        'that no Coupa integration or workflow resets "exported" right after the mark.',
      { details: { id, resource, reason: 'export_mark_not_kept' } },
    );
  }

  /** PUT ?exported=true|false, in a request of its own as Coupa asks [D]; resolves with the record as it is now. */
  async #markExported(id: number, exported: boolean): Promise<unknown> {
    const response = await this.#options.http.request<unknown>({
      method: 'PUT',
      path: `/api/${this.#options.resource}/${id}`,
      query: { exported: String(exported) },
      correlationId: this.#options.correlationId,
    });
    return response.data;
  }

  /** Ends the round on a retryable failure; anything else is not a matter of waiting and is thrown. */
  #interrupt(error: unknown, report: CoupaPollReport): undefined {
    const failure = this.#failure(error);
    if (!failure.retryable) throw failure;
    report.interrupted = failure;
    if (failure.retryAfterMs !== undefined) report.retryAfterMs = failure.retryAfterMs;
    return undefined;
  }

  /** The FinanceError behind a failure; anything else (a store that threw) is one to retry. */
  #failure(error: unknown): FinanceError {
    return error instanceof FinanceError
      ? error
      : new FinanceError(
          'STORE_UNAVAILABLE',
          `Polling Coupa ${this.#options.resource} failed: ${error instanceof Error ? error.message : String(error)}. ` +
            'Nothing was marked exported; the round is tried again.',
          { retryable: true, cause: error },
        );
  }

  /**
   * Where the cursor may go after a complete round. It must never pass a document the round did not see: no
   * later round would ask for it. A round that asked for every page at offset 0 saw them all, in whatever
   * order Coupa answers: its last page came back short, so it held the whole `exported=false` set as it was
   * then, and a document that joins the set later does so with a newer `updated-at` (a revision; the overlap
   * covers writes committed after their timestamp). A round that paged past documents it left behind may have
   * skipped one (see the paging note at the top), and a mark still to be taken back puts a document back into
   * the set with the `updated-at` it has by then; both keep the cursor where it is, which only widens the query.
   */
  #nextCursor(cursor: string | undefined, evidence: CursorEvidence, state: RoundState): string | undefined {
    if (evidence.leftWithoutTime || evidence.pagedPastLeftBehind || state.unmark.size > 0) return cursor;
    return this.#advancedCursor(cursor, evidence.newest, evidence.oldestLeft);
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

function addEvidence(evidence: CursorEvidence, handled: Exclude<Handled, { outcome: 'stop' }>): void {
  const { updatedAt } = handled;
  if (updatedAt !== undefined) evidence.newest = Math.max(evidence.newest ?? updatedAt, updatedAt);
  if (handled.outcome !== 'left') return;
  if (updatedAt === undefined) evidence.leftWithoutTime = true;
  else evidence.oldestLeft = Math.min(evidence.oldestLeft ?? updatedAt, updatedAt);
}

/**
 * The poll state during one round: loaded at its start, written before each export mark (so a note is durable
 * before the mark can hide anything) and at the end. A cleared note is written with the next note or at the
 * end: a note that outlives its reason costs one needless take-back and a duplicate, never a lost revision.
 */
class RoundState {
  readonly #store: CoupaPollStateStore;
  /** The saved cursor when it is readable: an unreadable one is dropped rather than trusted (more is asked for). */
  cursor: string | undefined;
  /** The ids whose export mark is to be taken back (CoupaPollState.unmark). */
  readonly unmark: Set<number>;
  #changed = false;

  constructor(store: CoupaPollStateStore, saved: unknown) {
    this.#store = store;
    const record = typeof saved === 'object' && saved !== null ? (saved as Record<string, unknown>) : {};
    const { updatedAfter, unmark } = record;
    this.cursor = typeof updatedAfter === 'string' && instantOf(updatedAfter) !== undefined ? updatedAfter : undefined;
    this.unmark = new Set(Array.isArray(unmark) ? unmark.filter(isCoupaId) : []);
  }

  /** Notes `id` and saves at once. */
  async note(id: number): Promise<void> {
    this.unmark.add(id);
    await this.#save();
  }

  clear(id: number): void {
    if (this.unmark.delete(id)) this.#changed = true;
  }

  advance(cursor: string): void {
    this.cursor = cursor;
    this.#changed = true;
  }

  async flush(): Promise<void> {
    if (this.#changed) await this.#save();
  }

  #save(): Promise<void> {
    this.#changed = false;
    return this.#store.save({
      ...(this.cursor === undefined ? {} : { updatedAfter: this.cursor }),
      ...(this.unmark.size === 0 ? {} : { unmark: [...this.unmark] }),
    });
  }
}

function configInvalid(problem: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `Coupa poller: ${problem}. Fix it in the node's configuration.`);
}

/**
 * The revision the export mark's answer shows, when its content is not the one read. The content is compared
 * without the export stamps (COUPA_EXPORT_STAMPS in ./profiles/coupa.ts, as the requisition's event id is): not by
 * `updated-at`, which Coupa stamps in whole seconds, so a revision saved in the second of the one read has the same
 * one. Whether the mark itself moves updated-at is not documented [U]; if it does, the answer differs from what was
 * read only in the export stamps, and committing it would run the same requisition through the flow twice.
 */
function revisionIn(read: CoupaDocument, answer: unknown): CoupaDocument | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return undefined;
  const current = answer as CoupaDocument;
  if (idOf(current) !== idOf(read)) return undefined;
  return coupaContentDigest(current) === coupaContentDigest(read) ? undefined : current;
}

/** The export mark's answer is the record, and it still says `exported: false`: Coupa did not make the mark. */
function markRefused(read: CoupaDocument, answer: unknown): boolean {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return false;
  const current = answer as CoupaDocument;
  return idOf(current) === idOf(read) && current.exported === false;
}

/** Coupa answered 4xx (429 included): it did not carry the request out. */
function refusedByCoupa(error: unknown): boolean {
  return (
    error instanceof FinanceError && error.httpStatus !== undefined && error.httpStatus >= 400 && error.httpStatus < 500
  );
}

function idOf(document: unknown): number | undefined {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return undefined;
  const id = (document as CoupaDocument).id;
  return isCoupaId(id) ? id : undefined;
}

function isCoupaId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
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
