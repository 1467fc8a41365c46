import { DEMO, eur, postingBody, startTestSandbox, type TestSandbox } from './helpers';

describe('sandbox postings and write-backs', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  it('posts journals and payables in their own number series', async () => {
    const journal = await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody() });
    expect(journal.status).toBe(201);
    expect(journal.body).toMatchObject({
      kind: 'journal',
      number: 'JNL-000001',
      status: 'posted',
      total: eur('50.00'),
      postedAt: '2025-03-15T10:00:00.000Z',
      externalReference: 'EXP-2001',
    });
    expect(journal.headers.get('location')).toBe(`${DEMO}/postings/${journal.body.id}`);

    const payable = await sandbox.call('POST', `${DEMO}/postings`, {
      body: {
        ...postingBody({ externalReference: 'INV-77', kind: 'payable' }),
        employeeId: undefined,
        supplierId: 'SUP-1002',
      },
    });
    expect(payable.status).toBe(201);
    expect(payable.body).toMatchObject({ number: 'PAY-000001', supplierId: 'SUP-1002' });
  });

  it('finds postings by id and external reference, and refuses a duplicate reference', async () => {
    const { body: posted } = await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody() });
    expect((await sandbox.call('GET', `${DEMO}/postings/${posted.id}`)).body).toEqual(posted);
    expect((await sandbox.call('GET', `${DEMO}/postings?externalReference=EXP-2001`)).body.items).toEqual([posted]);
    expect((await sandbox.call('GET', `${DEMO}/postings/unknown`)).status).toBe(404);

    const again = await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody() });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'DUPLICATE_REFERENCE', existingId: posted.id });
  });

  it('refuses payables without a payee and postings to blocked suppliers or unknown employees', async () => {
    const noPayee = await sandbox.call('POST', `${DEMO}/postings`, {
      body: { ...postingBody({ kind: 'payable' }), employeeId: undefined },
    });
    expect(noPayee.status).toBe(400);
    expect(noPayee.body.errors[0].path).toBe('/supplierId');
    const blocked = await sandbox.call('POST', `${DEMO}/postings`, {
      body: { ...postingBody({ kind: 'payable' }), supplierId: 'SUP-1009' },
    });
    expect(blocked.body.code).toBe('SUPPLIER_BLOCKED');
    const unknown = await sandbox.call('POST', `${DEMO}/postings`, { body: { ...postingBody(), employeeId: 'E0000' } });
    expect(unknown.body.code).toBe('EMPLOYEE_UNKNOWN');
    const kind = await sandbox.call('POST', `${DEMO}/postings`, { body: { ...postingBody(), kind: 'invoice' } });
    expect(kind.body.errors[0].path).toBe('/kind');
  });

  it("keeps a line's tax code and refuses one the company does not have", async () => {
    const body = postingBody();
    const taxed = { ...body, lines: [{ ...body.lines[0], taxCode: 'DE-19' }] };
    const posted = await sandbox.call('POST', `${DEMO}/postings`, { body: taxed });
    expect(posted.status).toBe(201);
    expect(posted.body.lines[0].taxCode).toBe('DE-19');

    const unknown = await sandbox.call('POST', `${DEMO}/postings`, {
      body: { ...taxed, externalReference: 'EXP-2002', lines: [{ ...body.lines[0], taxCode: 'XX-99' }] },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0]).toMatchObject({ path: '/lines/0/taxCode', code: 'TAX_CODE_UNKNOWN' });
  });

  it('makes each write provable from /_sandbox/state', async () => {
    for (const reference of ['EXP-1', 'EXP-2', 'EXP-1', 'EXP-3', 'EXP-2']) {
      await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody({ externalReference: reference }) });
    }
    const state = await sandbox.call('GET', '/_sandbox/state');
    const references = state.body.postings.map((posting: { externalReference: string }) => posting.externalReference);
    expect(references.sort()).toEqual(['EXP-1', 'EXP-2', 'EXP-3']);
    expect(state.body.counters).toMatchObject({ requests: 5, writes: 3 });
  });

  it('records status write-backs, once per Idempotency-Key', async () => {
    const writeback = {
      system: 'concur',
      documentId: 'RPT-9',
      status: 'posted',
      erpRef: { system: 'sandbox', dialect: 'sandbox', documentType: 'journal', documentId: 'x', number: 'JNL-000001' },
      correlationId: 'corr-1',
    };
    const headers = { 'Idempotency-Key': 'wb-RPT-9-posted' };
    const first = await sandbox.call('POST', '/api/v1/writebacks', { body: writeback, headers });
    const second = await sandbox.call('POST', '/api/v1/writebacks', { body: writeback, headers });
    expect(first.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(first.body).toMatchObject({ ...writeback, receivedAt: '2025-03-15T10:00:00.000Z' });

    const state = await sandbox.call('GET', '/_sandbox/state');
    expect(state.body.writebacks).toEqual([first.body]);
    expect(state.body.counters).toMatchObject({ writes: 1, duplicateWritesPrevented: 1 });

    const missing = await sandbox.call('POST', '/api/v1/writebacks', { body: { system: 'concur' } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((error: { path: string }) => error.path)).toEqual(['/documentId', '/status']);
  });
});
