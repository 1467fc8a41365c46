/**
 * CoupaPoller against a Coupa stand-in in memory whose export mark a test can make misbehave: a revision in the
 * same second as the one read, a mark Coupa answers 200 but does not keep, an `exported=false` filter it ignores,
 * and a round that must stop because its lease is gone.
 */
import type { ErpHttp, ErpRequest } from '../../../lib/erp/client';
import {
  CoupaPoller,
  MAX_DOCUMENTS_PER_ROUND,
  type CoupaDocument,
  type CoupaPollerOptions,
  type CoupaPollState,
} from '../../../lib/sources/coupa-poller';

const T = '2026-03-02T10:00:00+00:00';

function requisition(id: number, overrides: Record<string, unknown> = {}): CoupaDocument {
  return { id, status: 'approved', 'updated-at': T, exported: false, total: '10.00', ...overrides };
}

/** Coupa in memory: GET lists `exported=false` documents by offset; PUT sets the flag and answers the record. */
class FakeCoupa {
  readonly documents = new Map<number, CoupaDocument>();
  readonly requests: ErpRequest[] = [];
  /** Called on every export mark before it is made; may change the record, or return false to not make it. */
  onMark: (document: CoupaDocument, exported: boolean) => boolean | void = () => undefined;
  /** True: GET ignores the exported filter (answers every document). */
  ignoreFilter = false;

  readonly http: ErpHttp = {
    request: async <T>(request: ErpRequest) => {
      this.requests.push(request);
      const query = (request.query ?? {}) as Record<string, unknown>;
      if (request.method === 'GET') {
        const all = [...this.documents.values()].filter((document) => this.ignoreFilter || !document.exported);
        const offset = Number(query.offset);
        const page = all.slice(offset, offset + Number(query.limit));
        return { status: 200, headers: {}, data: structuredClone(page) as T };
      }
      const document = this.documents.get(Number(request.path.split('/').pop()))!;
      const exported = query.exported === 'true';
      if (this.onMark(document, exported) !== false) document.exported = exported;
      return { status: 200, headers: {}, data: structuredClone(document) as T };
    },
  } as ErpHttp;

  get gets(): number {
    return this.requests.filter((request) => request.method === 'GET').length;
  }
}

describe('CoupaPoller and the export mark', () => {
  let coupa: FakeCoupa;
  let saved: CoupaPollState | undefined;
  let saves: number;
  let committed: CoupaDocument[];

  beforeEach(() => {
    coupa = new FakeCoupa();
    saved = undefined;
    saves = 0;
    committed = [];
  });

  function poller(options: Partial<CoupaPollerOptions> = {}): CoupaPoller {
    return new CoupaPoller({
      http: coupa.http,
      resource: 'requisitions',
      state: {
        load: async () => saved,
        save: async (state) => {
          saves += 1;
          saved = state;
        },
      },
      commit: async (document) => {
        committed.push(structuredClone(document));
      },
      ...options,
    });
  }

  it('commits a revision the mark answers with, even when Coupa stamped it with the second of the one read', async () => {
    coupa.documents.set(7, requisition(7));
    let cancelled = false;
    coupa.onMark = (document, exported) => {
      // The buyer cancels in the same second, just before the mark lands.
      if (exported && !cancelled) {
        cancelled = true;
        document.status = 'cancelled';
      }
    };
    const report = await poller().poll();
    expect(committed.map((document) => `${document.id}:${document.status}:${document['updated-at']}`)).toEqual([
      `7:approved:${T}`,
      `7:cancelled:${T}`,
    ]);
    expect(report).toMatchObject({ exported: 1, leftBehind: [] });
  });

  it('does not commit the answer again when only the export stamps moved', async () => {
    coupa.documents.set(7, requisition(7));
    coupa.onMark = (document) => {
      document['last-exported-at'] = '2026-03-02T10:00:03+00:00';
      document['updated-by'] = { id: 1, login: 'integration' };
    };
    await poller().poll();
    expect(committed).toHaveLength(1);
  });

  it('ends the round when Coupa answers the mark 200 but keeps exported: false, and says what to check', async () => {
    for (const id of [1, 2, 3]) coupa.documents.set(id, requisition(id));
    coupa.onMark = () => false;
    const report = await poller({ pageSize: 3 }).poll();
    // One full page, then the next offset past the three left behind: two GETs, not a loop at offset 0.
    expect(coupa.gets).toBe(2);
    expect(report.exported).toBe(0);
    expect(report.leftBehind.map((left) => `${left.id}:${left.stage}`)).toEqual([
      '1:mark-exported',
      '2:mark-exported',
      '3:mark-exported',
    ]);
    const error = report.leftBehind[0].error;
    expect(error.details).toMatchObject({ reason: 'export_mark_not_kept' });
    expect(error.message).toContain('Check in Coupa');
    // The same words for every document and round, so the node warns once.
    expect(new Set(report.leftBehind.map((left) => left.error.message)).size).toBe(1);
    // Nothing is hidden by a mark that was not made: no take-back is noted.
    expect(saved?.unmark).toBeUndefined();
  });

  it('ends the round when Coupa keeps answering documents already marked (the exported filter ignored)', async () => {
    for (const id of [1, 2, 3]) coupa.documents.set(id, requisition(id));
    coupa.ignoreFilter = true;
    const report = await poller({ pageSize: 3 }).poll();
    expect(coupa.gets).toBeLessThanOrEqual(3);
    expect(committed.map((document) => document.id)).toEqual([1, 2, 3]);
    expect(report.exported).toBe(3);
    expect(report.leftBehind.map((left) => `${left.id}:${left.stage}`)).toEqual([
      '1:mark-exported',
      '2:mark-exported',
      '3:mark-exported',
    ]);
  });

  it('reads at most MAX_DOCUMENTS_PER_ROUND documents in a round and keeps its cursor', async () => {
    // A Coupa whose unexported set never runs dry: every export mark brings a new document.
    let next = 1;
    const add = () => coupa.documents.set(next, requisition(next++));
    for (let index = 0; index < 50; index += 1) add();
    coupa.onMark = (_document, exported) => {
      if (exported) add();
    };
    const report = await poller({ updatedAfter: '2026-01-01T00:00:00+00:00' }).poll();
    expect(report.cutShort).toBe('page-limit');
    expect(report.pages).toBe(MAX_DOCUMENTS_PER_ROUND / 50);
    expect(report.fetched).toBe(MAX_DOCUMENTS_PER_ROUND);
    expect(report.updatedAfter).toBe('2026-01-01T00:00:00+00:00');
  });

  it('stops at once, saving nothing, when it may no longer go on (the lease was lost)', async () => {
    for (const id of [1, 2, 3, 4]) coupa.documents.set(id, requisition(id));
    let allowed = 3; // the page, then two documents
    const report = await poller({ mayContinue: async () => allowed-- > 0 }).poll();
    expect(report.cutShort).toBe('lease');
    expect(committed.map((document) => document.id)).toEqual([1, 2]);
    // The notes of the two marks were saved before each mark; the cleared notes are not written afterwards.
    expect(saves).toBe(2);
    expect(coupa.requests.filter((request) => request.method === 'PUT')).toHaveLength(2);
  });
});
