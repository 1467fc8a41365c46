import { DEMO, PERIOD, eur, postingBody, purchaseOrderBody, startTestSandbox, type TestSandbox } from './helpers';

describe('sandbox budgets', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  function availability(request: Record<string, unknown>) {
    return sandbox.call('POST', `${DEMO}/budget-availability`, { body: { period: PERIOD, ...request } });
  }

  it('lists monthly budget lines of the current year', async () => {
    const reply = await sandbox.call('GET', `${DEMO}/budgets`);
    expect(reply.status).toBe(200);
    const periods = new Set(reply.body.items.map((line: { period: string }) => line.period));
    expect([...periods].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `2025-${String(i + 1).padStart(2, '0')}`));
    expect(reply.body.items).toContainEqual({
      id: 'BUD-CC-300-6010-2025-03',
      costCenter: 'CC-300',
      glAccount: '6010',
      period: '2025-03',
      amount: eur('300.00'),
    });
  });

  it('lowers availability by an open purchase order, then by a posting, and frees it on cancel', async () => {
    const check = { costCenter: 'CC-300', glAccount: '6010', amount: eur('80.00') };
    const before = await availability(check);
    expect(before.body).toEqual({
      budget: eur('300.00'),
      actuals: eur('0.00'),
      commitments: eur('0.00'),
      available: eur('300.00'),
      requested: eur('80.00'),
      period: PERIOD,
      status: 'within',
    });

    const po = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody({ amount: '200.00' }) });
    const afterPo = await availability(check);
    expect(afterPo.body).toMatchObject({ commitments: eur('200.00'), available: eur('100.00'), status: 'within' });

    await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody({ amount: '50.00' }) });
    const afterPosting = await availability(check);
    expect(afterPosting.body).toMatchObject({
      actuals: eur('50.00'),
      commitments: eur('200.00'),
      available: eur('50.00'),
      status: 'exceeded',
    });

    await sandbox.call('POST', `${DEMO}/purchaseOrders/${po.body.id}/cancel`, {
      headers: { 'If-Match': po.body.etag },
    });
    const afterCancel = await availability(check);
    expect(afterCancel.body).toMatchObject({ commitments: eur('0.00'), available: eur('250.00'), status: 'within' });
  });

  it('moves the commitment when a purchase order line set changes', async () => {
    const po = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody({ amount: '200.00' }) });
    await sandbox.call('PATCH', `${DEMO}/purchaseOrders/${po.body.id}`, {
      body: { lines: purchaseOrderBody({ amount: '30.00', costCenter: 'CC-200' }).lines },
      headers: { 'If-Match': po.body.etag },
    });
    const marketing = await availability({ costCenter: 'CC-300', glAccount: '6010', amount: eur('1.00') });
    expect(marketing.body.commitments).toEqual(eur('0.00'));
    const sales = await availability({ costCenter: 'CC-200', glAccount: '6010', amount: eur('1.00') });
    expect(sales.body.commitments).toEqual(eur('30.00'));
  });

  it('charges percent splits to each budget, the remainder cent to the largest remainder', async () => {
    const body = purchaseOrderBody({ amount: '10.00' });
    body.lines[0].accountAssignments = [
      { dimensions: { costCenter: 'CC-300' }, percent: '33.33' },
      { dimensions: { costCenter: 'CC-200' }, percent: '33.33' },
      { dimensions: { costCenter: 'CC-500' }, percent: '33.34' },
    ] as never;
    expect((await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body })).status).toBe(201);
    const committed = async (costCenter: string) =>
      (await availability({ costCenter, amount: eur('1.00') })).body.commitments;
    expect(await committed('CC-300')).toEqual(eur('3.33'));
    expect(await committed('CC-200')).toEqual(eur('3.33'));
    expect(await committed('CC-500')).toEqual(eur('3.34'));
  });

  it('sums every budget line that matches the named dimensions', async () => {
    const costCenter = await availability({ costCenter: 'CC-300', amount: eur('0.00') });
    // CC-300 has 6400 (12,000), 6010 (300) and 6000 (800) per month.
    expect(costCenter.body.budget).toEqual(eur('13100.00'));
    const project = await availability({ project: 'PRJ-2001', amount: eur('25000.00') });
    expect(project.body).toMatchObject({ budget: eur('20000.00'), status: 'exceeded' });
  });

  it('counts only documents of the requested period', async () => {
    const body = purchaseOrderBody({ amount: '200.00' });
    body.orderDate = '2025-04-01';
    await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body });
    const march = await availability({ costCenter: 'CC-300', glAccount: '6010', amount: eur('1.00') });
    const april = await availability({
      costCenter: 'CC-300',
      glAccount: '6010',
      amount: eur('1.00'),
      period: '2025-04',
    });
    expect(march.body.commitments).toEqual(eur('0.00'));
    expect(april.body.commitments).toEqual(eur('200.00'));
  });

  it('answers 404 NO_BUDGET when no budget line matches', async () => {
    const reply = await availability({ costCenter: 'CC-100', project: 'PRJ-2001', amount: eur('1.00') });
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('NO_BUDGET');
    const lastYear = await availability({ costCenter: 'CC-300', amount: eur('1.00'), period: '2024-03' });
    expect(lastYear.body.code).toBe('NO_BUDGET');
  });

  it('refuses checks without dimensions, with a bad period, unknown dimensions or another currency', async () => {
    expect((await availability({ amount: eur('1.00') })).status).toBe(400);
    expect((await availability({ costCenter: 'CC-300', amount: eur('1.00'), period: '2025-13' })).status).toBe(400);
    const unknown = await availability({ costCenter: 'CC-999', amount: eur('1.00') });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('DIMENSION_UNKNOWN');
    const usd = await availability({ costCenter: 'CC-300', amount: { amount: '1.00', currency: 'USD' } });
    expect(usd.status).toBe(422);
    expect(usd.body.code).toBe('CURRENCY_MISMATCH');
  });

  it('checks budgets of the JPY company in whole yen', async () => {
    const reply = await sandbox.call('POST', '/api/v1/companies/FS-JP/budget-availability', {
      body: { costCenter: 'JP-10', glAccount: '6000', period: PERIOD, amount: { amount: '350000', currency: 'JPY' } },
    });
    expect(reply.body).toMatchObject({
      budget: { amount: '300000', currency: 'JPY' },
      available: { amount: '300000', currency: 'JPY' },
      status: 'exceeded',
    });
  });

  it('shows each budget line with its consumption in /_sandbox/state', async () => {
    await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody({ amount: '350.00' }) });
    const state = await sandbox.call('GET', '/_sandbox/state');
    const line = state.body.budgets.find((budget: { id: string }) => budget.id === 'BUD-CC-300-6010-2025-03');
    expect(line).toMatchObject({
      company: 'FS-DEMO',
      budget: eur('300.00'),
      commitments: eur('350.00'),
      available: eur('-50.00'),
    });
  });
});
