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
import { createCoupaProfile } from '../../../lib/sources/profiles/coupa';

const CLIENT_ID = 'coupa-poller-test';
const CLIENT_SECRET = 'poller-secret-never-logged';
const START = new Date('2025-03-15T10:00:00.000Z');
const profile = createCoupaProfile({ costCenterSegment: 'segment-2', glAccountSegment: 'segment-3' });

function requisition(id: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    status: 'approved',
    'requested-by': { login: 'ytanaka', 'employee-number': 'E1017' },
    currency: { code: 'EUR' },
    total: '10.00',
    'requisition-lines': [
      {
        'line-num': 1,
        description: `Pens for requisition ${id}`,
        quantity: '1',
        'unit-price': '10.00',
        total: '10.00',
        supplier: { id: 7001, number: 'SUP-1001' },
        account: { 'segment-2': 'CC-100', 'segment-3': '6000' },
      },
    ],
    ...overrides,
  };
}

/** The inbox the poller commits into: keyed like intake (source + event id), so a re-delivery is a duplicate. */
class FakeInbox {
  readonly events = new Map<string, CoupaDocument>();
  readonly commits: number[] = [];
  /** Called before each commit; throw to make the commit fail. */
  before: (document: CoupaDocument) => void | Promise<void> = () => undefined;

  readonly commit = async (document: CoupaDocument): Promise<void> => {
    await this.before(document);
    const facts = profile.envelopeOf(document);
    profile.toCanonical(document); // a malformed document is refused here, as the map step would
    this.commits.push(document.id as number);
    this.events.set(`${facts.source}|${facts.id}`, document);
  };
}

describe('CoupaPoller against the Coupa simulator', () => {
  let sandbox: SandboxHandle;
  let clock: { now: Date };
  let store: CoupaStore;
  let client: ErpClient;
  let requests: ErpRequest[];
  let http: ErpHttp;
  let saved: CoupaPollState | undefined;
  let inbox: FakeInbox;

  const stateStore = {
    load: async (): Promise<unknown> => saved,
    save: async (state: CoupaPollState) => {
      saved = state;
    },
  };

  function poller(options: Partial<CoupaPollerOptions> = {}): CoupaPoller {
    return new CoupaPoller({ http, resource: 'requisitions', state: stateStore, commit: inbox.commit, ...options });
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

  const exportedIds = () =>
    store
      .all('requisitions')
      .filter((document) => document.exported === true)
      .map((document) => document.id);

  beforeEach(async () => {
    clock = { now: new Date(START) };
    sandbox = await startSandbox({
      now: () => clock.now,
      auth: { type: 'oauth2', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    });
    store = coupaStoreOf(sandbox.state);
    // Start from an empty instance: the seeded demo documents would be polled too.
    store.collections.requisitions.clear();
    client = new ErpClient({
      name: 'coupa',
      dialect: 'coupa',
      baseUrl: `${sandbox.url}/coupa`,
      auth: {
        type: 'oauth2',
        tokenUrl: `${sandbox.url}/coupa/oauth2/token`,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
      },
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
    inbox = new FakeInbox();
  });

  afterEach(async () => {
    client.close();
    await sandbox.close();
  });

  it('commits a revision saved between its read and its export mark, so the mark does not hide it', async () => {
    await inject(requisition(7));
    let revised = false;
    inbox.before = async (document) => {
      if (revised) return;
      revised = true;
      // Coupa saves a revision while the first one is being committed: the mark that follows hits the new one.
      clock.now = new Date(START.getTime() + 60_000);
      await inject({
        ...requisition(7),
        total: '20.00',
        'requisition-lines': [
          { ...(requisition(7)['requisition-lines'] as Record<string, unknown>[])[0], quantity: '2', total: '20.00' },
        ],
      });
      expect(document.total).toBe('10.00');
    };

    const report = await poller().poll();

    expect(report).toMatchObject({ fetched: 1, exported: 1, leftBehind: [] });
    const committed = [...inbox.events.values()].map((document) => document.total);
    expect(committed).toEqual(['10.00', '20.00']);
    expect(store.get('requisitions', 7)).toMatchObject({ exported: true, total: '20.00' });
  });

  it('does not commit a requisition again when only the export mark moved its updated-at', async () => {
    await inject(requisition(9));
    // A Coupa whose mark moves updated-at (undocumented either way): the answer differs only in its stamps.
    const marking: ErpHttp = {
      request: async <T>(request: ErpRequest) => {
        const response = await http.request<T>(request);
        if (request.method !== 'PUT' || request.query?.exported !== 'true') return response;
        const document = response.data as Record<string, unknown>;
        return { ...response, data: { ...document, 'updated-at': '2025-03-15T10:05:00Z' } as T };
      },
    };

    const report = await poller({ http: marking }).poll();

    expect(report).toMatchObject({ fetched: 1, exported: 1, leftBehind: [] });
    expect(inbox.commits).toEqual([9]);
  });

  it('takes the export mark back when the revision saved meanwhile cannot be committed', async () => {
    await inject(requisition(8));
    let calls = 0;
    inbox.before = async () => {
      calls += 1;
      if (calls === 1) {
        clock.now = new Date(START.getTime() + 60_000);
        await inject(requisition(8, { justification: 'revised' }));
        return;
      }
      throw new FinanceError('STORE_UNAVAILABLE', 'store down', { retryable: true });
    };

    const report = await poller().poll();

    expect(report.interrupted?.code).toBe('STORE_UNAVAILABLE');
    expect(store.get('requisitions', 8)).toMatchObject({ exported: false, justification: 'revised' });
  });

  it('pages through more documents than one request returns and marks each exported', async () => {
    for (let id = 1; id <= 120; id += 1) await inject(requisition(id));
    await inject(requisition(121, { status: 'pending_approval' }));

    const report = await poller().poll();

    expect(report).toMatchObject({ resource: 'requisitions', pages: 3, fetched: 120, exported: 120, leftBehind: [] });
    expect(report.interrupted).toBeUndefined();
    expect(inbox.commits).toEqual(Array.from({ length: 120 }, (_, index) => index + 1));
    expect(exportedIds()).toHaveLength(120);
    expect(store.get('requisitions', 121)?.exported).toBe(false);
    const gets = requests.filter((request) => request.method === 'GET');
    expect(gets.map((request) => request.query)).toEqual(
      [0, 0, 0].map((offset) => ({
        'status[in]': 'approved,ordered,partially_received,received,cancelled',
        exported: 'false',
        offset,
        limit: 50,
      })),
    );
    expect(requests.filter((request) => request.method === 'PUT')).toHaveLength(120);
    expect(requests.find((request) => request.method === 'PUT')).toMatchObject({
      path: '/api/requisitions/1',
      query: { exported: 'true' },
    });

    // Nothing is left: Coupa's 404 "no results" is an empty round, not an error.
    const again = await poller().poll();
    expect(again).toMatchObject({ fetched: 0, exported: 0, leftBehind: [] });
    expect(again.interrupted).toBeUndefined();
  });

  it('takes approved, ordered and cancelled requisitions, and leaves those not yet approved alone', async () => {
    const statuses = ['cancelled', 'pending_approval', 'draft', 'ordered', 'withdrawn'];
    for (const [index, status] of statuses.entries()) await inject(requisition(index + 1, { status }));

    const report = await poller().poll();

    expect(report).toMatchObject({ fetched: 2, exported: 2 });
    expect(inbox.commits).toEqual([1, 4]);
    const cancelled = [...inbox.events.values()].find((document) => document.id === 1);
    expect(profile.toCanonical(cancelled)).toMatchObject({ state: 'cancelled', cancelled: true });
    expect(exportedIds()).toEqual([1, 4]);
  });

  it('marks a document exported only after its commit has resolved', async () => {
    await inject(requisition(1));
    let release!: () => void;
    const committing = new Promise<void>((resolve) => {
      inbox.before = () => {
        resolve();
        return new Promise<void>((done) => (release = done));
      };
    });
    const round = poller().poll();
    await committing;
    expect(store.get('requisitions', 1)?.exported).toBe(false);
    expect(requests.filter((request) => request.method === 'PUT')).toHaveLength(0);
    release();
    expect((await round).exported).toBe(1);
    expect(store.get('requisitions', 1)?.exported).toBe(true);
  });

  it('leaves a document whose commit failed unexported, ends the round, and takes it next round', async () => {
    for (const id of [1, 2, 3]) await inject(requisition(id));
    inbox.before = (document) => {
      if (document.id === 2) {
        throw new FinanceError('STORE_UNAVAILABLE', 'The store is busy.', { retryable: true });
      }
    };
    const first = await poller().poll();
    expect(first.interrupted?.code).toBe('STORE_UNAVAILABLE');
    expect(first.exported).toBe(1);
    expect(exportedIds()).toEqual([1]);

    inbox.before = () => undefined;
    const second = await poller().poll();
    expect(second).toMatchObject({ fetched: 2, exported: 2 });
    expect(second.interrupted).toBeUndefined();
    expect(exportedIds()).toEqual([1, 2, 3]);
    expect(inbox.commits).toEqual([1, 2, 3]);
  });

  it('reports a malformed document and skips it without marking it, and pages past it correctly', async () => {
    for (let id = 1; id <= 12; id += 1) await inject(requisition(id, id === 2 ? { total: 'ten euros' } : {}));

    const report = await poller({ pageSize: 5 }).poll();

    expect(report).toMatchObject({ fetched: 12, exported: 11, pages: 3 });
    expect(report.leftBehind).toHaveLength(1);
    expect(report.leftBehind[0]).toMatchObject({ id: 2, stage: 'commit' });
    expect(report.leftBehind[0].error.code).toBe('INVALID_AMOUNT');
    expect(exportedIds()).toEqual([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // The offset steps over the one left behind, not over the five read.
    expect(requests.filter((request) => request.method === 'GET').map((request) => request.query?.offset)).toEqual([
      0, 1, 1,
    ]);

    const again = await poller({ pageSize: 5 }).poll();
    expect(again).toMatchObject({ fetched: 1, exported: 0 });
    expect(again.leftBehind.map((left) => left.id)).toEqual([2]);
  });

  it('takes a revised requisition again, as a new event', async () => {
    await inject(requisition(1));
    await poller().poll();
    expect(inbox.events.size).toBe(1);

    await inject({
      id: 1,
      total: '20.00',
      'requisition-lines': [{ ...(requisition(1)['requisition-lines'] as object[])[0], quantity: '2', total: '20.00' }],
    });
    expect(store.get('requisitions', 1)?.exported).toBe(false);

    const report = await poller().poll();
    expect(report.exported).toBe(1);
    expect(inbox.events.size).toBe(2);
    const versions = [...inbox.events.values()].map((document) => profile.envelopeOf(document).version);
    expect(versions[1]).toBeGreaterThan(versions[0] as number);
    expect(store.get('requisitions', 1)?.exported).toBe(true);
  });

  it('ends the round on 429 with the wait Coupa asked for, and carries on next round', async () => {
    await inject(requisition(1));
    await fault({ status: 429, retryAfterSeconds: 2 });

    const limited = await poller().poll();
    expect(limited.interrupted?.code).toBe('ERP_RATE_LIMITED');
    expect(limited.retryAfterMs).toBe(2000);
    expect(limited.fetched).toBe(0);
    expect(inbox.commits).toEqual([]);

    const next = await poller().poll();
    expect(next).toMatchObject({ fetched: 1, exported: 1 });
  });

  it('re-delivers a committed document whose exported mark was throttled; the inbox sees a duplicate', async () => {
    await inject(requisition(1));
    // The fault hits the next request after the commit: the PUT that marks the document.
    inbox.before = () => fault({ status: 429, retryAfterSeconds: 1 });

    const first = await poller().poll();
    expect(first.interrupted?.code).toBe('ERP_RATE_LIMITED');
    expect(store.get('requisitions', 1)?.exported).toBe(false);

    inbox.before = () => undefined;
    const second = await poller().poll();
    expect(second.exported).toBe(1);
    expect(inbox.commits).toEqual([1, 1]);
    expect(inbox.events.size).toBe(1);
  });

  it('moves the updated_at cursor forward, but never past a document left behind', async () => {
    await inject(requisition(1, { total: 'bad' }));
    clock.now = new Date('2025-03-15T10:05:00.000Z');
    await inject(requisition(2));

    const first = await poller({ cursorOverlapMs: 0, updatedAfter: '2025-03-01T00:00:00Z' }).poll();
    expect(first.leftBehind.map((left) => left.id)).toEqual([1]);
    // One second before the document left behind, so `[gt]` still finds it.
    expect(saved).toEqual({ updatedAfter: '2025-03-15T09:59:59+00:00' });
    expect(requests[0].query).toMatchObject({ 'updated_at[gt]': '2025-03-01T00:00:00Z' });

    await inject({ ...requisition(1), id: 1 });
    const second = await poller({ cursorOverlapMs: 0 }).poll();
    expect(second.exported).toBe(1);
    expect(requests.at(-2)?.query).toMatchObject({ 'updated_at[gt]': '2025-03-15T09:59:59+00:00' });
    expect(saved).toEqual({ updatedAfter: '2025-03-15T10:05:00+00:00' });
  });

  it('drops an unreadable saved cursor rather than trusting it', async () => {
    saved = { updatedAfter: 'last tuesday' } as CoupaPollState;
    await inject(requisition(1));
    const report = await poller().poll();
    expect(report.exported).toBe(1);
    expect(requests[0].query).not.toHaveProperty('updated_at[gt]');
  });

  it('throws what waiting cannot fix, such as wrong credentials', async () => {
    client.close();
    client = new ErpClient({
      name: 'coupa',
      dialect: 'coupa',
      baseUrl: `${sandbox.url}/coupa`,
      auth: {
        type: 'oauth2',
        tokenUrl: `${sandbox.url}/coupa/oauth2/token`,
        clientId: CLIENT_ID,
        clientSecret: 'wrong',
      },
      circuitBreaker: null,
    });
    await inject(requisition(1));
    const error = await poller()
      .poll()
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    expect(error).toBeInstanceOf(FinanceError);
    expect((error as FinanceError).code).toBe('ERP_AUTH_FAILED');
    expect(JSON.stringify((error as FinanceError).toJSON())).not.toContain('wrong');
    expect(store.get('requisitions', 1)?.exported).toBe(false);
  });

  it('polls purchase orders without a status filter', async () => {
    const orders: string[] = [];
    const commit = async (document: CoupaDocument) => {
      orders.push(profile.toPurchaseOrder(document).externalReference);
    };
    const report = await poller({ resource: 'purchase_orders', commit }).poll();
    expect(orders).toEqual(['501']);
    expect(report).toMatchObject({ resource: 'purchase_orders', fetched: 1, exported: 1 });
    expect(requests[0]).toMatchObject({
      path: '/api/purchase_orders',
      query: { exported: 'false', offset: 0, limit: 50 },
    });
    expect(store.get('purchase_orders', 501)?.exported).toBe(true);
  });

  it.each<[string, Partial<CoupaPollerOptions>]>([
    ['a page size over 50', { pageSize: 51 }],
    ['an unknown resource', { resource: 'invoices' as never }],
    ['a negative overlap', { cursorOverlapMs: -1 }],
    ['a cursor that is no date-time', { updatedAfter: '2025-03-15' }],
  ])('refuses %s as a configuration error', (_, options) => {
    let error: unknown;
    try {
      poller(options);
    } catch (failure) {
      error = failure;
    }
    expect((error as FinanceError).code).toBe('CONFIG_INVALID');
  });
});
