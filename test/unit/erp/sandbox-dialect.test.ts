import { ErpClient } from '../../../lib/erp/client';
import {
  createDialect,
  DIALECT_NAMES,
  type CallContext,
  type ErpDialect,
  type PostingRequest,
} from '../../../lib/erp/dialect';
import type { PurchaseOrder } from '../../../lib/model/types';
import { startFakeSandbox, type FakeSandbox } from './fake-sandbox';
import { failure } from './helpers';

let fake: FakeSandbox;
let client: ErpClient;
let dialect: ErpDialect;
const ctx: CallContext = { correlationId: 'corr-42', idempotencyKey: 'coupa:PurchaseOrder:REQ-1:1:upsert' };

beforeEach(async () => {
  fake = await startFakeSandbox();
  client = new ErpClient({ name: 'sandbox-erp', dialect: 'sandbox', baseUrl: fake.url, auth: { type: 'none' } });
  dialect = createDialect('sandbox', client, { name: 'sandbox-erp' });
});
afterEach(async () => {
  client.close();
  await fake.close();
});

function purchaseOrder(overrides: Partial<PurchaseOrder> = {}): PurchaseOrder {
  return {
    docType: 'PurchaseOrder',
    sourceRef: { system: 'coupa', id: 'REQ-1', version: 1 },
    externalReference: 'coupa:REQ-1',
    supplierId: 'SUP-1',
    orderDate: '2026-11-27',
    currency: 'EUR',
    total: { amount: '300.00', currency: 'EUR' },
    lines: [
      {
        lineId: '1',
        description: 'Laptop stand',
        itemCode: 'LS-1',
        quantity: '2',
        unitPrice: { amount: '150.00', currency: 'EUR' },
        amount: { amount: '300.00', currency: 'EUR' },
        accountAssignments: [
          { dimensions: { costCenter: 'CC-100', glAccount: '6100' }, percent: '60' },
          { dimensions: { costCenter: 'CC-200', glAccount: '6100' }, percent: '40' },
        ],
      },
    ],
    ...overrides,
  };
}

function writes() {
  return fake.requests.filter((request) => request.method !== 'GET');
}

describe('sandbox dialect: purchase orders', () => {
  it('creates a PO in the documented shape, with correlation id and idempotency key', async () => {
    const ref = await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    expect(ref).toMatchObject({
      system: 'sandbox-erp',
      dialect: 'sandbox',
      documentType: 'purchaseOrder',
      documentId: 'po-1',
      number: 'PO-000001',
      status: 'open',
      etag: '"1"',
      action: 'created',
    });
    const [create] = fake.requests;
    expect(create).toMatchObject({ method: 'POST', path: '/api/v1/companies/FS-DEMO/purchaseOrders' });
    expect(create.headers['x-correlation-id']).toBe('corr-42');
    expect(create.headers['idempotency-key']).toBe(ctx.idempotencyKey);
    const body = create.body as { lines: Record<string, unknown>[] };
    expect(body).toMatchObject({
      externalReference: 'coupa:REQ-1',
      supplierId: 'SUP-1',
      orderDate: '2026-11-27',
      currency: 'EUR',
    });
    expect(body.lines[0]).toEqual({
      lineId: '1',
      description: 'Laptop stand',
      quantity: '2',
      unitPrice: { amount: '150.00', currency: 'EUR' },
      amount: { amount: '300.00', currency: 'EUR' },
      accountAssignments: [
        { dimensions: { costCenter: 'CC-100', glAccount: '6100' }, percent: '60' },
        { dimensions: { costCenter: 'CC-200', glAccount: '6100' }, percent: '40' },
      ],
    });
  });

  it('resolves 409 DUPLICATE_REFERENCE by returning the existing PO when it already holds the content', async () => {
    await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    fake.requests.length = 0;
    const ref = await dialect.upsertPurchaseOrder(purchaseOrder(), { correlationId: 'corr-43' });
    expect(ref).toMatchObject({ documentId: 'po-1', action: 'unchanged' });
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /api/v1/companies/FS-DEMO/purchaseOrders',
      'GET /api/v1/companies/FS-DEMO/purchaseOrders',
    ]);
    expect(fake.requests[1].query.get('externalReference')).toBe('coupa:REQ-1');
    expect(fake.purchaseOrders.size).toBe(1);
  });

  it('resolves 409 DUPLICATE_REFERENCE by updating the existing PO when the content differs', async () => {
    await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    const changed = purchaseOrder({ orderDate: '2026-11-28' });
    const ref = await dialect.upsertPurchaseOrder(changed, ctx);
    expect(ref).toMatchObject({ documentId: 'po-1', action: 'updated', etag: '"2"', version: '"2"' });
    const patch = writes()[2];
    expect(patch.method).toBe('PATCH');
    expect(patch.headers['if-match']).toBe('"1"');
    expect(patch.headers['idempotency-key']).toBe(`${ctx.idempotencyKey}:update`);
    expect(fake.purchaseOrders.get('po-1')?.orderDate).toBe('2026-11-28');
    expect(fake.purchaseOrders.size).toBe(1);
  });

  it('updates a known PO with GET for the ETag, then PATCH with If-Match', async () => {
    const created = await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    fake.requests.length = 0;
    const lines = purchaseOrder().lines.map((line) => ({
      ...line,
      quantity: '3',
      amount: { amount: '450.00', currency: 'EUR' },
    }));
    const ref = await dialect.upsertPurchaseOrder(purchaseOrder({ erpRef: created, lines }), ctx);
    expect(ref.action).toBe('updated');
    expect(fake.requests.map((request) => request.method)).toEqual(['GET', 'PATCH']);
    expect(fake.requests[1].headers['if-match']).toBe('"1"');
    expect((fake.requests[1].body as { lines: { quantity: string }[] }).lines[0].quantity).toBe('3');
  });

  it('writes nothing when a replayed update finds the ERP already up to date', async () => {
    const created = await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    fake.requests.length = 0;
    const ref = await dialect.upsertPurchaseOrder(purchaseOrder({ erpRef: created }), ctx);
    expect(ref).toMatchObject({ action: 'unchanged', etag: '"1"' });
    expect(writes()).toHaveLength(0);
  });

  it('on 412 reads the PO again and retries the PATCH once with the new ETag', async () => {
    const created = await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    fake.requests.length = 0;
    fake.concurrentChanges = 1;
    const ref = await dialect.upsertPurchaseOrder(purchaseOrder({ erpRef: created, orderDate: '2026-12-01' }), ctx);
    expect(ref.action).toBe('updated');
    expect(fake.requests.map((request) => request.method)).toEqual(['GET', 'PATCH', 'GET', 'PATCH']);
    expect(fake.requests[1].headers['if-match']).toBe('"1"');
    expect(fake.requests[3].headers['if-match']).toBe('"2"');
    expect(fake.requests[3].headers['idempotency-key']).toBe(`${ctx.idempotencyKey}:update-retry`);
  });

  it('gives up with ERP_CONFLICT after the second 412', async () => {
    const created = await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    fake.requests.length = 0;
    fake.concurrentChanges = 2;
    await expect(
      dialect.upsertPurchaseOrder(purchaseOrder({ erpRef: created, orderDate: '2026-12-01' }), ctx),
    ).rejects.toMatchObject({ code: 'ERP_CONFLICT', httpStatus: 412 });
    expect(writes()).toHaveLength(2);
  });

  it('passes on a refusal as ERP_REJECTED with the vendor code', async () => {
    fake.nextAnswer = {
      status: 422,
      body: { title: 'Supplier blocked', status: 422, code: 'SUPPLIER_BLOCKED', detail: 'SUP-1 is blocked' },
    };
    await expect(dialect.upsertPurchaseOrder(purchaseOrder(), ctx)).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      details: { vendorCode: 'SUPPLIER_BLOCKED' },
    });
  });

  it('turns IDEMPOTENCY_IN_PROGRESS into a retryable ERP_UNAVAILABLE', async () => {
    fake.nextAnswer = { status: 409, body: { title: 'In progress', status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' } };
    await expect(dialect.upsertPurchaseOrder(purchaseOrder(), ctx)).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
      retryable: true,
    });
  });

  it('cancels by external reference with If-Match, and a second cancel writes nothing', async () => {
    await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    fake.requests.length = 0;
    const ref = await dialect.cancelPurchaseOrder({ externalReference: 'coupa:REQ-1' }, ctx);
    expect(ref).toMatchObject({ documentId: 'po-1', status: 'cancelled' });
    const cancel = writes()[0];
    expect(cancel.path).toBe('/api/v1/companies/FS-DEMO/purchaseOrders/po-1/cancel');
    expect(cancel.headers['if-match']).toBe('"1"');
    fake.requests.length = 0;
    await expect(
      dialect.cancelPurchaseOrder({ externalReference: 'coupa:REQ-1', documentId: 'po-1' }, ctx),
    ).resolves.toMatchObject({
      status: 'cancelled',
    });
    expect(writes()).toHaveLength(0);
  });

  it('treats ALREADY_CANCELLED (cancelled by someone else in between) as done', async () => {
    await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    const doc = fake.purchaseOrders.get('po-1');
    fake.nextAnswer = {
      method: 'POST',
      status: 409,
      body: { title: 'Already cancelled', status: 409, code: 'ALREADY_CANCELLED' },
      sideEffect: () => {
        if (doc) doc.status = 'cancelled';
      },
    };
    await expect(dialect.cancelPurchaseOrder({ externalReference: 'coupa:REQ-1' }, ctx)).resolves.toMatchObject({
      documentId: 'po-1',
      status: 'cancelled',
    });
  });

  it('on 412 during a cancel reads the PO again and retries once', async () => {
    await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    fake.requests.length = 0;
    fake.concurrentChanges = 1;
    await expect(
      dialect.cancelPurchaseOrder({ externalReference: 'coupa:REQ-1', documentId: 'po-1' }, ctx),
    ).resolves.toMatchObject({
      status: 'cancelled',
    });
    expect(fake.requests.map((request) => request.method)).toEqual(['GET', 'POST', 'GET', 'POST']);
    expect(fake.requests[3].headers['if-match']).toBe('"2"');
    expect(fake.requests[3].headers['idempotency-key']).toBe(`${ctx.idempotencyKey}:cancel-retry`);
  });

  it('reports a cancel of an unknown PO as ERP_NOT_FOUND', async () => {
    await expect(dialect.cancelPurchaseOrder({ externalReference: 'nope' }, ctx)).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
    });
  });

  it('reads a PO back in canonical terms', async () => {
    await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    const po = await dialect.getPurchaseOrder('po-1', ctx);
    expect(po).toMatchObject({
      erpRef: { documentId: 'po-1', etag: '"1"' },
      externalReference: 'coupa:REQ-1',
      total: { amount: '300.00', currency: 'EUR' },
      status: 'open',
    });
    expect(po.lines).toHaveLength(1);
  });

  it('uses the company of the connection in every path', async () => {
    const acme = createDialect('sandbox', client, { company: 'ACME GmbH' });
    await acme.findByReference('purchaseOrder', 'x', ctx);
    expect(fake.requests[0].path).toBe('/api/v1/companies/ACME%20GmbH/purchaseOrders');
  });
});

describe('sandbox dialect: postings and lookups', () => {
  const posting: PostingRequest = {
    kind: 'journal',
    externalReference: 'concur:RPT-9:1',
    employeeId: 'EMP-7',
    postingDate: '2026-11-27',
    currency: 'EUR',
    lines: [
      {
        lineId: '1',
        amount: { amount: '12.50', currency: 'EUR' },
        dimensions: { costCenter: 'CC-100', glAccount: '6400' },
        description: 'Taxi',
      },
      {
        lineId: '2',
        amount: { amount: '7.50', currency: 'EUR' },
        dimensions: { costCenter: 'CC-100', glAccount: '6410' },
      },
    ],
  };

  it('posts and returns the document references', async () => {
    const ref = await dialect.post(posting, ctx);
    expect(ref).toMatchObject({
      documentType: 'posting',
      documentId: 'pst-1',
      number: 'JNL-000001',
      status: 'posted',
      total: { amount: '20.00', currency: 'EUR' },
      postedAt: '2026-11-27T12:00:00Z',
    });
    expect(fake.requests[0].headers['idempotency-key']).toBe(ctx.idempotencyKey);
  });

  it('returns the existing posting on 409 DUPLICATE_REFERENCE and posts nothing twice', async () => {
    await dialect.post(posting, ctx);
    const again = await dialect.post(posting, { correlationId: 'corr-2' });
    expect(again.documentId).toBe('pst-1');
    expect(fake.postings.size).toBe(1);
  });

  it('finds documents by external reference, or null', async () => {
    await dialect.post(posting, ctx);
    await dialect.upsertPurchaseOrder(purchaseOrder(), ctx);
    await expect(dialect.findByReference('posting', 'concur:RPT-9:1', ctx)).resolves.toMatchObject({
      documentType: 'posting',
      documentId: 'pst-1',
      raw: { externalReference: 'concur:RPT-9:1' },
    });
    await expect(dialect.findByReference('purchaseOrder', 'coupa:REQ-1', ctx)).resolves.toMatchObject({
      documentType: 'purchaseOrder',
      documentId: 'po-2',
    });
    await expect(dialect.findByReference('purchaseOrder', 'unknown', ctx)).resolves.toBeNull();
  });
});

describe('sandbox dialect: a 2xx answer to a write whose body cannot be read', () => {
  const posting: PostingRequest = {
    kind: 'journal',
    externalReference: 'concur:RPT-9:1',
    employeeId: 'EMP-7',
    postingDate: '2026-11-27',
    currency: 'EUR',
    lines: [{ lineId: '1', amount: { amount: '12.50', currency: 'EUR' }, dimensions: { glAccount: '6400' } }],
  };

  it.each([
    ['an HTML page from a proxy', 'text/html', '<html><body>Service temporarily unavailable</body></html>'],
    ['a JSON body cut off short', 'application/json', '{"id":"pst-1","number":"JNL-0'],
  ])('is retryable for %s, keeps the status and says the write was most likely applied', async (_, type, content) => {
    fake.nextAnswer = { method: 'POST', status: 201, body: undefined, text: { contentType: type, content } };
    const error = await failure(dialect.post(posting, ctx));
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', httpStatus: 201, retryable: true });
    expect(error.message).toContain('answered 201');
    expect(error.message).toContain('most likely applied');
    expect(error.message).toContain('looks the document up');
    expect(error.message).not.toContain('retrying will not help');
  });

  it('says the same of a purchase order answered in an unknown JSON shape, which retrying does not fix', async () => {
    fake.nextAnswer = { method: 'POST', status: 201, body: { id: 'po-1' } };
    const error = await failure(dialect.upsertPurchaseOrder(purchaseOrder(), ctx));
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', httpStatus: 201, retryable: false });
    expect(error.message).toContain('most likely applied');
    expect(error.message).toContain('looks the document up');
  });

  it('does not speak of a write for a read answered with an HTML page', async () => {
    fake.nextAnswer = {
      status: 200,
      body: undefined,
      text: { contentType: 'text/html', content: '<html>login</html>' },
    };
    const error = await failure(dialect.findByReference('posting', 'concur:RPT-9:1', ctx));
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', httpStatus: 200, retryable: true });
    expect(error.message).toContain('an HTML page instead of the postings lookup');
    expect(error.message).not.toContain('applied');
  });
});

describe('sandbox dialect: budget availability', () => {
  const request = {
    costCenter: 'CC-100',
    glAccount: '6100',
    period: '2026-11',
    amount: { amount: '300.00', currency: 'EUR' },
  };

  it('maps the availability answer and sends the dimensions without an idempotency key', async () => {
    fake.budgetAnswer = {
      status: 200,
      body: {
        budget: { amount: '1000.00', currency: 'EUR' },
        actuals: { amount: '400.00', currency: 'EUR' },
        commitments: { amount: '350.00', currency: 'EUR' },
        available: { amount: '250.00', currency: 'EUR' },
        requested: { amount: '300.00', currency: 'EUR' },
        period: '2026-11',
        status: 'exceeded',
      },
    };
    const availability = await dialect.checkBudget(request, ctx);
    expect(availability).toEqual({
      budget: { amount: '1000.00', currency: 'EUR' },
      actuals: { amount: '400.00', currency: 'EUR' },
      commitments: { amount: '350.00', currency: 'EUR' },
      available: { amount: '250.00', currency: 'EUR' },
      requested: { amount: '300.00', currency: 'EUR' },
      period: '2026-11',
      status: 'exceeded',
      erpMessages: [],
    });
    expect(fake.requests[0].body).toEqual(request);
    expect(fake.requests[0].headers['idempotency-key']).toBeUndefined();
    expect(fake.requests[0].headers['x-correlation-id']).toBe('corr-42');
  });

  it('accepts a negative availability (already overspent) and normalises amounts', async () => {
    const money = (amount: string) => ({ amount, currency: 'JPY' });
    fake.budgetAnswer = {
      status: 200,
      body: {
        budget: money('1000'),
        actuals: money('1200'),
        commitments: money('0'),
        available: money('-200'),
        requested: money('5'),
        period: '2026-11',
        status: 'exceeded',
      },
    };
    await expect(dialect.checkBudget({ ...request, amount: money('5') }, ctx)).resolves.toMatchObject({
      available: { amount: '-200', currency: 'JPY' },
      status: 'exceeded',
    });
  });

  it('passes on "no budget line" as ERP_NOT_FOUND with vendor code NO_BUDGET', async () => {
    fake.budgetAnswer = {
      status: 404,
      body: { title: 'No budget', status: 404, code: 'NO_BUDGET', detail: 'No budget for CC-100 2026-11' },
    };
    await expect(dialect.checkBudget(request, ctx)).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
      details: { vendorCode: 'NO_BUDGET' },
    });
  });

  it('refuses an answer with a float amount or an unknown status as a non-retryable ERP_UNAVAILABLE', async () => {
    const good = { amount: '1.00', currency: 'EUR' };
    fake.budgetAnswer = {
      status: 200,
      body: {
        budget: { amount: 1000.5, currency: 'EUR' },
        actuals: good,
        commitments: good,
        available: good,
        requested: good,
        period: '2026-11',
        status: 'within',
      },
    };
    await expect(dialect.checkBudget(request, ctx)).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
      httpStatus: 200,
      retryable: false,
    });
    fake.budgetAnswer = {
      status: 200,
      body: {
        budget: good,
        actuals: good,
        commitments: good,
        available: good,
        requested: good,
        period: '2026-11',
        status: 'maybe',
      },
    };
    await expect(dialect.checkBudget(request, ctx)).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
      httpStatus: 200,
      retryable: false,
    });
  });
});

describe('sandbox dialect: master data', () => {
  it('pages through master data with the cursor until it is null', async () => {
    fake.employees = Array.from({ length: 7 }, (_, i) => ({
      id: `EMP-${i}`,
      name: `Person ${i}`,
      modifiedAt: '2026-11-01T00:00:00Z',
      active: true,
    }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await dialect.listMasterData(
        'employees',
        { cursor, limit: 3, modifiedSince: '2026-10-01T00:00:00Z' },
        ctx,
      );
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(['EMP-0', 'EMP-1', 'EMP-2', 'EMP-3', 'EMP-4', 'EMP-5', 'EMP-6']);
    expect(fake.requests[0].query.get('cursor')).toBeNull();
    expect(fake.requests[1].query.get('cursor')).toBe('3');
    expect(fake.requests[1].query.get('limit')).toBe('3');
    expect(fake.requests[1].query.get('modifiedSince')).toBe('2026-10-01T00:00:00Z');
  });

  it('refuses an unknown master data kind before calling the ERP', async () => {
    await expect(dialect.listMasterData('vehicles' as never, {}, ctx)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('createDialect', () => {
  it('knows the sandbox dialect and refuses an unknown one with the list of known ones', () => {
    expect(DIALECT_NAMES).toContain('sandbox');
    expect(() => createDialect('oracle-ebs', client, {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => createDialect('toString', client, {})).toThrow(/sandbox/);
  });
});
