import { DEMO, eur, purchaseOrderBody, startTestSandbox, type TestSandbox } from './helpers';

describe('sandbox purchase orders', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  async function create(options = {}) {
    const reply = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody(options) });
    expect(reply.status).toBe(201);
    return reply;
  }

  it('creates a purchase order with a number, an ETag, a total and a Location', async () => {
    const reply = await create({ amount: '120.5' });
    expect(reply.body).toMatchObject({
      number: 'PO-000001',
      company: 'FS-DEMO',
      status: 'open',
      externalReference: 'REQ-1001',
      total: eur('120.50'),
      createdAt: '2025-03-15T10:00:00.000Z',
    });
    expect(reply.body.lines[0].amount).toEqual(eur('120.50'));
    expect(reply.headers.get('etag')).toBe(reply.body.etag);
    expect(reply.headers.get('location')).toBe(`${DEMO}/purchaseOrders/${reply.body.id}`);
    const second = await create({ externalReference: 'REQ-1002' });
    expect(second.body.number).toBe('PO-000002');
  });

  it('finds a purchase order by id and by external reference', async () => {
    const { body: created } = await create();
    const byId = await sandbox.call('GET', `${DEMO}/purchaseOrders/${created.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body).toEqual(created);
    expect(byId.headers.get('etag')).toBe(created.etag);

    const found = await sandbox.call('GET', `${DEMO}/purchaseOrders?externalReference=REQ-1001`);
    expect(found.body.items).toEqual([created]);
    const none = await sandbox.call('GET', `${DEMO}/purchaseOrders?externalReference=REQ-404`);
    expect(none.body.items).toEqual([]);
    const unknown = await sandbox.call('GET', `${DEMO}/purchaseOrders/no-such-id`);
    expect(unknown.status).toBe(404);
  });

  it('refuses a second create with the same external reference and names the existing document', async () => {
    const { body: created } = await create();
    const again = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody() });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toBe('application/problem+json');
    expect(again.body).toMatchObject({ code: 'DUPLICATE_REFERENCE', existingId: created.id, status: 409 });
    expect(sandbox.handle.state.counters.writes).toBe(1);
  });

  it('creates exactly one purchase order from two concurrent creates with one external reference', async () => {
    const replies = await Promise.all(
      [1, 2].map(() => sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody() })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 409]);
    const state = await sandbox.call('GET', '/_sandbox/state');
    expect(state.body.purchaseOrders).toHaveLength(1);
  });

  it('changes a purchase order only with the current ETag (412 when stale, 428 when missing)', async () => {
    const { body: created } = await create();
    const path = `${DEMO}/purchaseOrders/${created.id}`;
    const newLines = purchaseOrderBody({ amount: '80.00' }).lines;

    const missing = await sandbox.call('PATCH', path, { body: { lines: newLines } });
    expect(missing.status).toBe(428);
    expect(missing.body.code).toBe('PRECONDITION_REQUIRED');

    sandbox.clock.now = new Date('2025-03-16T08:00:00.000Z');
    const changed = await sandbox.call('PATCH', path, {
      body: { lines: newLines },
      headers: { 'If-Match': created.etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.total).toEqual(eur('80.00'));
    expect(changed.body.modifiedAt).toBe('2025-03-16T08:00:00.000Z');
    expect(changed.body.createdAt).toBe(created.createdAt);
    expect(changed.body.etag).not.toBe(created.etag);
    expect(changed.headers.get('etag')).toBe(changed.body.etag);

    const stale = await sandbox.call('PATCH', path, {
      body: { lines: newLines },
      headers: { 'If-Match': created.etag },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('ETAG_MISMATCH');
    expect(sandbox.handle.state.counters.writes).toBe(2);
  });

  it('accepts If-Match: * as "whatever the current version is"', async () => {
    const { body: created } = await create();
    const reply = await sandbox.call('PATCH', `${DEMO}/purchaseOrders/${created.id}`, {
      body: { orderDate: '2025-03-11' },
      headers: { 'If-Match': '*' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.orderDate).toBe('2025-03-11');
  });

  it('refuses to change read-only fields with a PATCH', async () => {
    const { body: created } = await create();
    const reply = await sandbox.call('PATCH', `${DEMO}/purchaseOrders/${created.id}`, {
      body: { externalReference: 'OTHER', status: 'cancelled' },
      headers: { 'If-Match': created.etag },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.errors.map((error: { path: string }) => error.path)).toEqual(['/externalReference', '/status']);
  });

  it('validates a changed line set like a new one', async () => {
    const { body: created } = await create();
    const lines = purchaseOrderBody().lines;
    lines[0].amount = eur('99.00');
    const reply = await sandbox.call('PATCH', `${DEMO}/purchaseOrders/${created.id}`, {
      body: { lines },
      headers: { 'If-Match': created.etag },
    });
    expect(reply.status).toBe(422);
    expect(reply.body.code).toBe('LINE_AMOUNT_MISMATCH');
  });

  it('cancels with If-Match, and a second cancel is 409 ALREADY_CANCELLED', async () => {
    const { body: created } = await create();
    const path = `${DEMO}/purchaseOrders/${created.id}/cancel`;
    expect((await sandbox.call('POST', path)).status).toBe(428);

    const cancelled = await sandbox.call('POST', path, { headers: { 'If-Match': created.etag } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');

    const again = await sandbox.call('POST', path, { headers: { 'If-Match': cancelled.body.etag } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'ALREADY_CANCELLED', existingId: created.id });

    const change = await sandbox.call('PATCH', `${DEMO}/purchaseOrders/${created.id}`, {
      body: { orderDate: '2025-03-20' },
      headers: { 'If-Match': cancelled.body.etag },
    });
    expect(change.status).toBe(409);
  });

  it('keeps the cancelled purchase order findable by its external reference', async () => {
    const { body: created } = await create();
    await sandbox.call('POST', `${DEMO}/purchaseOrders/${created.id}/cancel`, {
      headers: { 'If-Match': created.etag },
    });
    const found = await sandbox.call('GET', `${DEMO}/purchaseOrders?externalReference=REQ-1001`);
    expect(found.body.items.map((order: { status: string }) => order.status)).toEqual(['cancelled']);
    const again = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody() });
    expect(again.status).toBe(409);
  });

  it('accepts splits by percent and by amount that add up to the line', async () => {
    const body = purchaseOrderBody({ amount: '100.00' });
    body.lines[0].accountAssignments = [
      { dimensions: { costCenter: 'CC-300', glAccount: '6010' }, percent: '33.33' },
      { dimensions: { costCenter: 'CC-200', glAccount: '6010' }, percent: '33.33' },
      { dimensions: { costCenter: 'CC-100', project: 'PRJ-2001' }, percent: '33.34' },
    ] as never;
    expect((await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body })).status).toBe(201);

    const byAmount = purchaseOrderBody({ externalReference: 'REQ-1002', amount: '10.00' });
    byAmount.lines[0].accountAssignments = [
      { dimensions: { costCenter: 'CC-300' }, amount: eur('7.50') },
      { dimensions: { costCenter: 'CC-200' }, amount: eur('2.50') },
    ] as never;
    expect((await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: byAmount })).status).toBe(201);
  });

  it('books purchase orders of the JPY company with no decimals', async () => {
    const reply = await sandbox.call('POST', '/api/v1/companies/FS-JP/purchaseOrders', {
      body: {
        externalReference: 'JP-REQ-1',
        supplierId: 'JSUP-01',
        orderDate: '2025-03-03',
        currency: 'JPY',
        lines: [
          {
            lineId: '1',
            description: 'Desks',
            quantity: '3',
            unitPrice: { amount: '45000', currency: 'JPY' },
            amount: { amount: '135000', currency: 'JPY' },
            taxCode: 'JP-10',
            accountAssignments: [{ dimensions: { costCenter: 'JP-20', glAccount: '6200' } }],
          },
        ],
      },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ number: 'PO-000001', total: { amount: '135000', currency: 'JPY' } });
  });
});
