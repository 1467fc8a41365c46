import { startTestSandbox, type TestSandbox } from './helpers';

const REQUISITIONS = '/coupa/api/requisitions';
const PURCHASE_ORDERS = '/coupa/api/purchase_orders';
const SEED_STAMP = '2025-03-14T09:00:00+00:00';
const START_STAMP = '2025-03-15T10:00:00+00:00';

function requisitionBody(overrides: Record<string, unknown> = {}) {
  return {
    'requested-by': { login: 'ytanaka', 'employee-number': 'E1017' },
    currency: { code: 'EUR' },
    total: '10.00',
    'requisition-lines': [
      {
        'line-num': 1,
        description: 'Pens',
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

describe('the Coupa simulator', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  it('is seeded with Coupa-shaped documents and shows them in /_sandbox/state', async () => {
    const state = (await sandbox.call('GET', '/_sandbox/state')).body;
    expect(state.companies.length).toBeGreaterThan(0);
    const [approved, pending] = state.coupa.requisitions;
    expect(approved).toMatchObject({
      id: 1001,
      status: 'approved',
      exported: false,
      'last-exported-at': null,
      'created-at': SEED_STAMP,
      'updated-at': SEED_STAMP,
      currency: { code: 'EUR' },
      total: '3218.00',
      'requested-by': { 'employee-number': 'E1017' },
    });
    expect(approved['requisition-lines'][1]['account-allocations'][0]).toMatchObject({
      pct: '50.0000000000',
      amount: '110.0000',
    });
    expect(pending.status).toBe('pending_approval');
    expect(state.coupa.purchaseOrders[0]).toMatchObject({ id: 501, 'po-number': '501', version: 1, status: 'issued' });
    expect(state.coupa.counters).toEqual({ requests: 0, faultsInjected: 0, exportMarks: 0, writebacks: 0 });
  });

  describe('GET /coupa/api/{collection}', () => {
    it('filters on exported and status, in id order, as a JSON array', async () => {
      const all = await sandbox.call('GET', `${REQUISITIONS}?exported=false`);
      expect(all.status).toBe(200);
      expect(all.body.map((doc: { id: number }) => doc.id)).toEqual([1001, 1002]);
      const approved = await sandbox.call('GET', `${REQUISITIONS}?exported=false&status=approved`);
      expect(approved.body.map((doc: { id: number }) => doc.id)).toEqual([1001]);
      const either = await sandbox.call('GET', `${REQUISITIONS}?status[in]=ordered,pending_approval`);
      expect(either.body.map((doc: { id: number }) => doc.id)).toEqual([1002]);
      const orders = await sandbox.call('GET', `${PURCHASE_ORDERS}?exported=false`);
      expect(orders.body.map((doc: { id: number }) => doc.id)).toEqual([501]);
    });

    it('pages with offset and limit, at most 50 per request', async () => {
      for (let index = 0; index < 60; index += 1) {
        await sandbox.call('POST', '/_sandbox/coupa/requisitions', { body: requisitionBody() });
      }
      const first = await sandbox.call('GET', `${REQUISITIONS}?limit=80`);
      expect(first.body).toHaveLength(50);
      expect(first.body[0].id).toBe(1001);
      const rest = await sandbox.call('GET', `${REQUISITIONS}?offset=50&limit=50`);
      expect(rest.body).toHaveLength(12);
      expect(rest.body[11].id).toBe(1062);
    });

    it('answers a search without results with 404 and Coupa’s no-results message', async () => {
      const reply = await sandbox.call('GET', `${REQUISITIONS}?exported=false&offset=10`);
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ errors: { error: ['No results match your search criteria.'] } });
    });

    it('filters on updated_at[gt] and the hyphenated spelling', async () => {
      sandbox.clock.now = new Date('2025-03-15T11:00:00Z');
      await sandbox.call('POST', '/_sandbox/coupa/requisitions', { body: requisitionBody() });
      const underscore = await sandbox.call('GET', `${REQUISITIONS}?updated_at[gt]=${encodeURIComponent(SEED_STAMP)}`);
      expect(underscore.body.map((doc: { id: number }) => doc.id)).toEqual([1003]);
      const hyphen = await sandbox.call(
        'GET',
        `${REQUISITIONS}?updated-at[gt_or_eq]=${encodeURIComponent(SEED_STAMP)}`,
      );
      expect(hyphen.body).toHaveLength(3);
    });

    it.each([
      ['exported=maybe', /exported must be true or false/],
      ['offset=-1', /offset must be a whole number/],
      ['limit=0', /limit one from 1/],
      ['updated_at[gt]=yesterday', /not a date-time/],
      ['supplier[name]=Contoso', /does not filter on "supplier\[name\]"/],
    ])('refuses ?%s with 400', async (query, message) => {
      const reply = await sandbox.call('GET', `${REQUISITIONS}?${query}`);
      expect(reply.status).toBe(400);
      expect(reply.body.errors.error[0]).toMatch(message);
    });

    it('shows one document and 404s for an unknown id or collection', async () => {
      expect((await sandbox.call('GET', `${REQUISITIONS}/1001`)).body.id).toBe(1001);
      const missing = await sandbox.call('GET', `${REQUISITIONS}/999`);
      expect(missing.status).toBe(404);
      expect(missing.body.errors.error[0]).toContain('999');
      expect((await sandbox.call('GET', '/coupa/api/invoices')).status).toBe(404);
    });
  });

  describe('PUT /coupa/api/{collection}/{id}', () => {
    it('marks a document exported in its own request and ignores anything else sent with it', async () => {
      sandbox.clock.now = new Date('2025-03-15T12:00:00Z');
      const reply = await sandbox.call('PUT', `${REQUISITIONS}/1001?exported=true`, {
        body: { 'custom-fields': { 'erp-po-number': 'PO-1' } },
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        exported: true,
        'last-exported-at': '2025-03-15T12:00:00+00:00',
        'updated-at': SEED_STAMP,
        'custom-fields': {},
      });
      const left = await sandbox.call('GET', `${REQUISITIONS}?exported=false`);
      expect(left.body.map((doc: { id: number }) => doc.id)).toEqual([1002]);
      expect((await sandbox.call('PUT', `${PURCHASE_ORDERS}/501?exported=true`)).body.exported).toBe(true);
      expect((await sandbox.call('GET', '/_sandbox/state')).body.coupa.counters.exportMarks).toBe(2);
    });

    it('takes the ERP write-back in the custom field erp-po-number without resetting exported', async () => {
      await sandbox.call('PUT', `${REQUISITIONS}/1001?exported=true`);
      const reply = await sandbox.call('PUT', `${REQUISITIONS}/1001`, {
        body: { 'custom-fields': { 'erp-po-number': 'PO-000123' } },
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        exported: true,
        'custom-fields': { 'erp-po-number': 'PO-000123' },
        'updated-at': START_STAMP,
      });
      // The clock stands still; a second change still moves updated-at forward, by a second.
      const again = await sandbox.call('PUT', `${REQUISITIONS}/1001`, {
        body: { 'custom-fields': { 'erp-po-number': null } },
      });
      expect(again.body).toMatchObject({
        'custom-fields': { 'erp-po-number': null },
        'updated-at': '2025-03-15T10:00:01+00:00',
      });
    });

    it.each([
      [{ 'custom-fields': { 'sap-po': 'X' } }, 422, /Unknown custom field "sap-po"/],
      [{ 'custom-fields': { 'erp-po-number': 42 } }, 422, /string of at most 255/],
      [{ status: 'cancelled' }, 422, /Only custom-fields can be changed/],
      [{ 'custom-fields': 'PO-1' }, 400, /must be an object/],
      [['PO-1'], 400, /Send \{"custom-fields"/],
    ])('refuses %j', async (body, status, message) => {
      const reply = await sandbox.call('PUT', `${REQUISITIONS}/1001`, { body });
      expect(reply.status).toBe(status);
      expect(reply.body.errors.error[0]).toMatch(message);
    });

    it('404s for an unknown document', async () => {
      expect((await sandbox.call('PUT', `${REQUISITIONS}/4242?exported=true`)).status).toBe(404);
    });
  });

  describe('POST /_sandbox/coupa/{collection}', () => {
    it('adds a document with Coupa’s defaults', async () => {
      const reply = await sandbox.call('POST', '/_sandbox/coupa/requisitions', { body: requisitionBody() });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({
        id: 1003,
        status: 'approved',
        exported: false,
        'last-exported-at': null,
        'created-at': START_STAMP,
        'updated-at': START_STAMP,
        'custom-fields': {},
      });
    });

    it('revises a requisition: later updated-at, exported reset, managed fields kept', async () => {
      await sandbox.call('PUT', `${REQUISITIONS}/1001?exported=true`);
      const reply = await sandbox.call('POST', '/_sandbox/coupa/requisitions', {
        body: { id: 1001, status: 'cancelled', exported: true, 'created-at': '2020-01-01T00:00:00+00:00' },
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        id: 1001,
        status: 'cancelled',
        exported: false,
        'created-at': SEED_STAMP,
        'updated-at': START_STAMP,
        total: '3218.00',
      });
      const again = await sandbox.call('POST', '/_sandbox/coupa/requisitions', {
        body: { id: 1001, status: 'approved' },
      });
      expect(again.body['updated-at']).toBe('2025-03-15T10:00:01+00:00');
    });

    it('revises a purchase order as a new version, which resets exported', async () => {
      await sandbox.call('PUT', `${PURCHASE_ORDERS}/501?exported=true`);
      const reply = await sandbox.call('POST', '/_sandbox/coupa/purchase_orders', {
        body: { id: 501, total: '45.90' },
      });
      expect(reply.body).toMatchObject({ version: 2, exported: false, total: '45.90' });
      const created = await sandbox.call('POST', '/_sandbox/coupa/purchase_orders', { body: { id: 777 } });
      expect(created.body).toMatchObject({ id: 777, 'po-number': '777', version: 1, status: 'issued' });
    });

    it.each([
      [[1, 2], /JSON object/],
      [{ id: 'abc' }, /"id" must be a positive whole number/],
      [{ 'requisition-lines': {} }, /must be an array/],
    ])('refuses %j with a problem', async (body, message) => {
      const reply = await sandbox.call('POST', '/_sandbox/coupa/requisitions', { body });
      expect(reply.status).toBe(400);
      expect(reply.body.detail).toMatch(message);
    });
  });

  it('answers injected faults with Retry-After, then recovers', async () => {
    const configured = await sandbox.call('POST', '/_sandbox/coupa/faults', {
      body: { status: 429, count: 2, retryAfterSeconds: 3 },
    });
    expect(configured.body.fault).toEqual({ status: 429, remaining: 2, retryAfterSeconds: 3 });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const limited = await sandbox.call('GET', REQUISITIONS);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('3');
    }
    expect((await sandbox.call('GET', REQUISITIONS)).status).toBe(200);
    await sandbox.call('POST', '/_sandbox/coupa/faults', { body: { status: 503 } });
    expect((await sandbox.call('PUT', `${REQUISITIONS}/1001?exported=true`)).status).toBe(503);
    expect((await sandbox.call('GET', `${REQUISITIONS}/1001`)).body.exported).toBe(false);
    const counters = (await sandbox.call('GET', '/_sandbox/state')).body.coupa.counters;
    expect(counters).toMatchObject({ requests: 5, faultsInjected: 3 });
    expect((await sandbox.call('POST', '/_sandbox/coupa/faults', { body: { status: 404 } })).status).toBe(400);
  });

  it('returns to the seed on /_sandbox/reset', async () => {
    await sandbox.call('POST', '/_sandbox/coupa/requisitions', { body: requisitionBody() });
    await sandbox.call('PUT', `${REQUISITIONS}/1001?exported=true`);
    await sandbox.call('POST', '/_sandbox/reset');
    const coupa = (await sandbox.call('GET', '/_sandbox/state')).body.coupa;
    expect(coupa.requisitions.map((doc: { id: number; exported: boolean }) => [doc.id, doc.exported])).toEqual([
      [1001, false],
      [1002, false],
    ]);
  });
});

describe('the Coupa simulator behind OAuth2', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox({
      auth: { type: 'oauth2', clientId: 'coupa-client', clientSecret: 'coupa-secret' },
    });
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  it('demands a bearer token from /coupa/oauth2/token on its API, not on its control routes', async () => {
    expect((await sandbox.call('GET', REQUISITIONS)).status).toBe(401);
    expect((await sandbox.call('POST', '/_sandbox/coupa/requisitions', { body: requisitionBody() })).status).toBe(201);
    const token = await fetch(`${sandbox.handle.url}/coupa/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'coupa-client',
        client_secret: 'coupa-secret',
        scope: 'core.requisition.read core.requisition.write',
      }).toString(),
    });
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const reply = await sandbox.call('GET', REQUISITIONS, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(reply.status).toBe(200);
    expect(reply.body).toHaveLength(3);
  });
});
