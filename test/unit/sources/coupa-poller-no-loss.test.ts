/**
 * CoupaPoller never loses an approved document: a page that starts too far because a document left behind
 * dropped out of the `exported=false` set does not let the cursor pass the document it skipped, and an export
 * mark that hides a revision not committed is taken back, also when the take-back itself fails or the process
 * ends before the revision is committed (the note is in the poll state before the mark is sent).
 */
import { ErpClient, type ErpHttp, type ErpRequest } from '../../../lib/erp/client';
import { FinanceError } from '../../../lib/errors';
import { coupaStoreOf, type CoupaStore } from '../../../lib/sandbox/coupa';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import {
  CoupaPoller,
  type CoupaDocument,
  type CoupaPollerOptions,
  type CoupaPollState,
} from '../../../lib/sources/coupa-poller';

const START = new Date('2025-03-15T10:00:00.000Z');
const HOUR = 60 * 60 * 1000;

function requisition(id: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    status: 'approved',
    'requested-by': { 'employee-number': 'E1017' },
    currency: { code: 'EUR' },
    'requisition-lines': [{ 'line-num': 1, quantity: '1', 'unit-price': '10.00', total: '10.00' }],
    ...overrides,
  };
}

describe('CoupaPoller loses no document', () => {
  let sandbox: SandboxHandle;
  let clock: { now: Date };
  let coupa: CoupaStore;
  let client: ErpClient;
  let requests: ErpRequest[];
  let http: ErpHttp;
  let saved: CoupaPollState | undefined;
  /** Each document committed, as `id` or `id:justification` for a revision that carries one. */
  let commits: string[];
  /** Called before each commit; throw to make the commit fail. */
  let beforeCommit: (document: CoupaDocument) => void | Promise<void>;

  const state = {
    load: async (): Promise<unknown> => saved,
    save: async (next: CoupaPollState) => {
      saved = next;
    },
  };

  function poller(options: Partial<CoupaPollerOptions> = {}): CoupaPoller {
    return new CoupaPoller({
      http,
      resource: 'requisitions',
      state,
      commit: async (document) => {
        await beforeCommit(document);
        const note = document.justification;
        commits.push(note === undefined ? String(document.id) : `${String(document.id)}:${String(note)}`);
      },
      ...options,
    });
  }

  async function inject(document: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${sandbox.url}/_sandbox/coupa/requisitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document),
    });
    expect(response.status).toBeLessThan(300);
  }

  async function fault(body: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${sandbox.url}/_sandbox/coupa/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
  }

  beforeEach(async () => {
    clock = { now: new Date(START) };
    sandbox = await startSandbox({ now: () => clock.now });
    coupa = coupaStoreOf(sandbox.state);
    coupa.collections.requisitions.clear();
    client = new ErpClient({
      name: 'coupa',
      dialect: 'coupa',
      baseUrl: `${sandbox.url}/coupa`,
      auth: { type: 'none' },
      circuitBreaker: null,
    });
    requests = [];
    http = {
      request: <T>(request: ErpRequest) => {
        requests.push(request);
        return client.request<T>(request);
      },
    };
    saved = undefined;
    commits = [];
    beforeCommit = () => undefined;
  });

  afterEach(async () => {
    client.close();
    await sandbox.close();
  });

  describe('paging', () => {
    it('keeps the cursor behind a document that a page skipped, so the next round takes it', async () => {
      // Requisition 3 was approved an hour before the others: the cursor would pass it.
      await inject(requisition(3));
      clock.now = new Date(START.getTime() + HOUR);
      for (const id of [1, 2, 4]) await inject(requisition(id));
      // Coupa refuses to mark requisition 1 exported (it validates the record on PUT): it is left behind.
      const refusingOne: ErpHttp = {
        request: <T>(request: ErpRequest) => {
          if (
            request.method === 'PUT' &&
            request.path === '/api/requisitions/1' &&
            request.query?.exported === 'true'
          ) {
            return Promise.reject(
              new FinanceError('ERP_REJECTED', 'Coupa answered 422: account inactive', { httpStatus: 422 }),
            );
          }
          return http.request<T>(request);
        },
      };
      // While requisition 2 is committed, a buyer edits requisition 1 and it goes back to approval: it leaves the
      // exported=false set, so the second page (offset 1) starts one too far and requisition 3 is not read.
      beforeCommit = async (document) => {
        if (document.id === 2 && !commits.includes('2')) await inject({ id: 1, status: 'pending_approval' });
      };

      const first = await poller({ http: refusingOne, pageSize: 2 }).poll();

      expect(commits).toEqual(['1', '2', '4']);
      expect(first.leftBehind.map((left) => left.id)).toEqual([1]);
      expect(saved?.updatedAfter).toBeUndefined();

      const second = await poller({ http: refusingOne, pageSize: 2 }).poll();

      expect(second).toMatchObject({ fetched: 1, exported: 1 });
      expect(commits).toEqual(['1', '2', '4', '3']);
      expect(coupa.get('requisitions', 3)?.exported).toBe(true);
    });

    it('still moves the cursor after a round that read every page at offset 0', async () => {
      for (let id = 1; id <= 5; id += 1) await inject(requisition(id));

      const report = await poller({ pageSize: 2, cursorOverlapMs: 0 }).poll();

      expect(report).toMatchObject({ pages: 3, exported: 5 });
      expect(requests.filter((request) => request.method === 'GET').map((request) => request.query?.offset)).toEqual([
        0, 0, 0,
      ]);
      expect(saved).toEqual({ updatedAfter: '2025-03-15T10:00:00+00:00' });
    });
  });

  describe('a mark that hides a revision', () => {
    /** The first commit of requisition `id` meets a revision saved in Coupa before the mark that follows. */
    function reviseDuringFirstCommit(id: number): (document: CoupaDocument) => Promise<boolean> {
      let revised = false;
      return async (document) => {
        if (document.id !== id || revised) return false;
        revised = true;
        clock.now = new Date(START.getTime() + 60_000);
        await inject(requisition(id, { justification: 'quantity doubled' }));
        return true;
      };
    }

    it('is taken back first thing next round when taking it back failed, and the commit error ends the round', async () => {
      await inject(requisition(8));
      const revise = reviseDuringFirstCommit(8);
      beforeCommit = async (document) => {
        if (await revise(document)) return;
        // The revision meets a full inbox, and Coupa throttles the next request: the take-back.
        await fault({ status: 429, retryAfterSeconds: 1 });
        throw new FinanceError('STORE_FULL', 'The inbox is at its high-water mark.', { retryable: true });
      };

      const first = await poller().poll();

      expect(first.interrupted?.code).toBe('STORE_FULL');
      expect(first.leftBehind).toEqual([
        expect.objectContaining({ id: 8, stage: 'unmark-exported', error: expect.any(FinanceError) }),
      ]);
      expect(first.leftBehind[0].error.code).toBe('ERP_RATE_LIMITED');
      expect(coupa.get('requisitions', 8)?.exported).toBe(true);
      expect(saved?.unmark).toEqual([8]);

      beforeCommit = () => undefined;
      requests = [];
      const second = await poller().poll();

      expect(requests[0]).toMatchObject({ method: 'PUT', path: '/api/requisitions/8', query: { exported: 'false' } });
      expect(second).toMatchObject({ fetched: 1, exported: 1, leftBehind: [] });
      expect(commits).toEqual(['8', '8:quantity doubled']);
      expect(coupa.get('requisitions', 8)?.exported).toBe(true);
      expect(saved?.unmark).toBeUndefined();
    });

    it('is taken back after the process ended between the mark and the commit of the revision it showed', async () => {
      await inject(requisition(5));
      const revise = reviseDuringFirstCommit(5);
      let killedAtRevision!: () => void;
      const atRevision = new Promise<void>((resolve) => (killedAtRevision = resolve));
      beforeCommit = async (document) => {
        if (await revise(document)) return;
        // The process is killed here: this commit never ends and nothing after it runs.
        killedAtRevision();
        await new Promise<never>(() => undefined);
      };

      void poller().poll();
      await atRevision;
      expect(coupa.get('requisitions', 5)?.exported).toBe(true);

      // The next process polls from the same state.
      beforeCommit = () => undefined;
      requests = [];
      const report = await poller().poll();

      expect(requests[0]).toMatchObject({ method: 'PUT', path: '/api/requisitions/5', query: { exported: 'false' } });
      expect(report).toMatchObject({ fetched: 1, exported: 1 });
      expect(commits).toEqual(['5', '5:quantity doubled']);
      expect(coupa.get('requisitions', 5)).toMatchObject({ exported: true, justification: 'quantity doubled' });
      expect(saved?.unmark).toBeUndefined();
    });

    it('needs no take-back when the mark showed nothing new', async () => {
      for (const id of [1, 2]) await inject(requisition(id));

      await poller().poll();
      requests = [];
      await poller().poll();

      expect(requests.map((request) => request.method)).toEqual(['GET']);
      expect(saved?.unmark).toBeUndefined();
    });
  });
});
