import { DEMO, eur, purchaseOrderBody, startTestSandbox, type TestSandbox } from './helpers';

describe('sandbox bad inputs', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    const writes = sandbox.handle.state.counters.writes;
    await sandbox.handle.close();
    // Whatever was refused, nothing was stored.
    expect(writes).toBe(0);
  });

  function createRaw(raw: string, headers?: Record<string, string>) {
    return sandbox.call('POST', `${DEMO}/purchaseOrders`, { raw, headers });
  }

  function create(body: unknown) {
    return sandbox.call('POST', `${DEMO}/purchaseOrders`, { body });
  }

  function withLine(change: (line: Record<string, unknown>) => void) {
    const body = purchaseOrderBody();
    change(body.lines[0] as unknown as Record<string, unknown>);
    return body;
  }

  it('answers malformed JSON with 400 INVALID_JSON as problem+json', async () => {
    const reply = await createRaw('{"externalReference": "REQ-1",');
    expect(reply.status).toBe(400);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
    expect(reply.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'INVALID_JSON' });
  });

  it('answers a body over 1 MiB with 413', async () => {
    const reply = await createRaw(JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }));
    expect(reply.status).toBe(413);
    expect(reply.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses __proto__ and constructor keys anywhere in the body', async () => {
    const proto = await createRaw('{"externalReference":"REQ-1","__proto__":{"admin":true}}');
    expect(proto.status).toBe(400);
    expect(proto.body).toMatchObject({ code: 'FORBIDDEN_KEY', errors: [{ path: '/__proto__' }] });
    const nested = await createRaw('{"lines":[{"dimensions":{"constructor":{"prototype":{}}}}]}');
    expect(nested.body).toMatchObject({ code: 'FORBIDDEN_KEY', errors: [{ path: '/lines/0/dimensions/constructor' }] });
    const escaped = await createRaw('{"\\u005f_proto__":{}}');
    expect(escaped.body.code).toBe('FORBIDDEN_KEY');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('refuses amounts sent as numbers, and names the field', async () => {
    const reply = await create(withLine((line) => (line.amount = { amount: 100.0, currency: 'EUR' })));
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('INVALID_AMOUNT');
    expect(reply.body.errors).toEqual([
      {
        path: '/lines/0/amount/amount',
        message: expect.stringMatching(/decimal string.*not a number/),
        code: 'INVALID_AMOUNT',
      },
    ]);
    expect(reply.body.detail).toMatch(/^\/lines\/0\/amount\/amount: /);
  });

  it('refuses over-precise and negative amounts', async () => {
    const precise = await create(withLine((line) => (line.unitPrice = eur('10.001'))));
    expect(precise.status).toBe(400);
    expect(precise.body.errors[0]).toMatchObject({ path: '/lines/0/unitPrice/amount', code: 'INVALID_AMOUNT' });
    expect(precise.body.errors[0].message).toMatch(/3 decimals but EUR has 2/);
    const negative = await create(withLine((line) => (line.amount = eur('-5.00'))));
    expect(negative.status).toBe(400);
    expect(negative.body.errors[0].message).toMatch(/negative/);
  });

  it('refuses unknown currencies with UNKNOWN_CURRENCY', async () => {
    const reply = await create({ ...purchaseOrderBody(), currency: 'EURO' });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'UNKNOWN_CURRENCY', errors: [{ path: '/currency' }] });
    const lineCurrency = await create(withLine((line) => (line.amount = { amount: '100.00', currency: 'eur' })));
    expect(lineCurrency.body.errors[0].path).toBe('/lines/0/amount/currency');
  });

  it('refuses documents in a currency the company does not book in', async () => {
    const body = purchaseOrderBody();
    const usd = JSON.parse(JSON.stringify(body).replace(/"EUR"/g, '"USD"'));
    const reply = await create(usd);
    expect(reply.status).toBe(422);
    expect(reply.body.code).toBe('CURRENCY_MISMATCH');
  });

  it('refuses blocked and unknown suppliers with 422', async () => {
    const blocked = await create(purchaseOrderBody({ supplierId: 'SUP-1009' }));
    expect(blocked.status).toBe(422);
    expect(blocked.body).toMatchObject({ code: 'SUPPLIER_BLOCKED', errors: [{ path: '/supplierId' }] });
    const unknown = await create(purchaseOrderBody({ supplierId: 'SUP-0000' }));
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('SUPPLIER_UNKNOWN');
  });

  it('refuses splits that do not add up with 422 SPLIT_MISMATCH', async () => {
    const byPercent = withLine(
      (line) =>
        (line.accountAssignments = [
          { dimensions: { costCenter: 'CC-300' }, percent: '60' },
          { dimensions: { costCenter: 'CC-200' }, percent: '30' },
        ]),
    );
    const percentReply = await create(byPercent);
    expect(percentReply.status).toBe(422);
    expect(percentReply.body).toMatchObject({
      code: 'SPLIT_MISMATCH',
      errors: [{ path: '/lines/0/accountAssignments' }],
    });
    expect(percentReply.body.errors[0].message).toMatch(/add up to 90, not 100/);

    const byAmount = withLine(
      (line) =>
        (line.accountAssignments = [
          { dimensions: { costCenter: 'CC-300' }, amount: eur('60.00') },
          { dimensions: { costCenter: 'CC-200' }, amount: eur('40.01') },
        ]),
    );
    const amountReply = await create(byAmount);
    expect(amountReply.status).toBe(422);
    expect(amountReply.body.code).toBe('SPLIT_MISMATCH');
  });

  it('refuses mixed or unspecified splits with 400', async () => {
    const mixed = withLine(
      (line) =>
        (line.accountAssignments = [
          { dimensions: { costCenter: 'CC-300' }, percent: '50' },
          { dimensions: { costCenter: 'CC-200' }, amount: eur('50.00') },
        ]),
    );
    expect((await create(mixed)).status).toBe(400);
    const unspecified = withLine(
      (line) => (line.accountAssignments = [{ dimensions: { costCenter: 'CC-300' } }, { dimensions: {} }]),
    );
    expect((await create(unspecified)).status).toBe(400);
  });

  it('refuses a line amount that is not quantity x unit price', async () => {
    const reply = await create(withLine((line) => (line.quantity = '3')));
    expect(reply.status).toBe(422);
    expect(reply.body.errors[0]).toMatchObject({ path: '/lines/0/amount', code: 'LINE_AMOUNT_MISMATCH' });
  });

  it('refuses closed projects, blocked accounts, unknown dimensions and misspelt dimension keys', async () => {
    const closed = await create(
      withLine((line) => (line.accountAssignments = [{ dimensions: { costCenter: 'CC-300', project: 'PRJ-1907' } }])),
    );
    expect(closed.status).toBe(422);
    expect(closed.body.code).toBe('PROJECT_CLOSED');
    const blockedAccount = await create(purchaseOrderBody({ glAccount: '6999' }));
    expect(blockedAccount.body.code).toBe('DIMENSION_CLOSED');
    const unknown = await create(purchaseOrderBody({ costCenter: 'CC-999' }));
    expect(unknown.body.code).toBe('DIMENSION_UNKNOWN');
    const misspelt = await create(
      withLine((line) => (line.accountAssignments = [{ dimensions: { costcenter: 'CC-300' } }])),
    );
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.errors[0].path).toBe('/lines/0/accountAssignments/0/dimensions/costcenter');
  });

  it('reports every wrong field at once', async () => {
    const reply = await create({ supplierId: 42, orderDate: '2025-02-30', currency: 'EUR', lines: [] });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('VALIDATION_FAILED');
    expect(reply.body.errors.map((error: { path: string }) => error.path)).toEqual([
      '/externalReference',
      '/supplierId',
      '/orderDate',
      '/lines',
    ]);
  });

  it('refuses bodies that are not JSON objects or not sent as JSON', async () => {
    expect((await createRaw('[1, 2]')).body.code).toBe('INVALID_BODY');
    const form = await createRaw('a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
  });

  it('answers unknown paths with 404 and wrong methods with 405 and Allow', async () => {
    expect((await sandbox.call('GET', '/api/v2/companies')).status).toBe(404);
    expect((await sandbox.call('GET', '/nothing-here')).status).toBe(404);
    const wrongMethod = await sandbox.call('DELETE', `${DEMO}/purchaseOrders/abc`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, PATCH');
    expect((await sandbox.call('GET', `${DEMO}/purchaseOrders`)).body.code).toBe('QUERY_REQUIRED');
  });
});
