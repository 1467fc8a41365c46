/**
 * The ERPNext dialect over real HTTP against the sandbox's Frappe simulator: `token key:secret`, Purchase Order
 * insert + submit, amendment on change, cancel through docstatus, lookup by the custom reference field,
 * Journal Entry postings found by Reference Number, payables as submitted Purchase Invoices keyed by bill_no,
 * Budget doctype with Stop / Warn, master data paging, and Frappe's exc_type / _server_messages kept.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect, type PostingRequest } from '../../../lib/erp/dialect';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, currentPeriod, startDialectRig, today, UnreadableAnswer, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const CLIENT = { clientId: 'fs-api-key', clientSecret: 'fs-api-secret' };

describe('ERPNext dialect against the Frappe simulator', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection(), { auth: { type: 'oauth2', ...CLIENT } });
  });
  afterAll(() => rig.close());

  it('inserts and submits a Purchase Order with token auth, and finds it by the custom reference field', async () => {
    const reference = 'coupa:PurchaseOrder:PO-5001:1';
    const created = await rig.dialect.upsertPurchaseOrder(erpnextPurchaseOrder(reference), ctx);
    expect(created).toMatchObject({ action: 'created', dialect: 'erpnext', status: 'open' });
    expect(created.documentId).toMatch(/^PUR-ORD-\d{4}-\d{5}$/);
    const [insert, submit] = rig.http.exchanges.filter((e) => e.request.method !== 'GET');
    expect(insert.request).toMatchObject({
      method: 'POST',
      path: '/api/resource/Purchase%20Order',
      headers: { 'X-Frappe-Site-Name': 'erp.fs-demo.example' },
    });
    expect(submit.request).toMatchObject({ method: 'PUT', body: { docstatus: 1 } });
    const items = (
      insert.request.body as { items: Array<{ expense_account: string; cost_center?: string; rate: number }> }
    ).items;
    expect(items.map((i) => [i.expense_account, i.cost_center, i.rate])).toEqual([
      ['6300 - Consulting and legal fees - FSD', 'CC-100 - FSD', 150],
      ['0650 - Office equipment - FSD', 'CC-400 - FSD', 60],
      ['0650 - Office equipment - FSD', 'CC-500 - FSD', 40],
    ]);
    expect((await rig.dialect.findByReference('purchaseOrder', reference, ctx))?.documentId).toBe(created.documentId);
    const held = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    expect(held).toMatchObject({
      supplierId: 'SUP-1001',
      total: eur('400.00'),
      status: 'open',
      externalReference: reference,
    });
  });

  it('says that an insert answered in an unknown shape most likely took effect, and the order is there', async () => {
    const reference = 'coupa:PurchaseOrder:PO-5009:1';
    const unreadable = new UnreadableAnswer(rig.http, (request) => request.method === 'POST');
    const dialect = createDialect('erpnext', unreadable, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
    const error = await dialect.upsertPurchaseOrder(erpnextPurchaseOrder(reference), ctx).catch((e: unknown) => e);
    expect(unreadable.used).toBe(true);
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: false });
    expect((error as Error).message).toMatch(/If this was the answer to a write, the write most likely took effect/);
    expect(await rig.dialect.findByReference('purchaseOrder', reference, ctx)).toBeDefined();
  });

  it('refuses a wrong key with 401 AuthenticationError', async () => {
    const wrong = await startDialectRig(erpnextConnection('fs-api-key', 'wrong'), {
      auth: { type: 'oauth2', ...CLIENT },
    });
    try {
      await expect(wrong.dialect.listMasterData('suppliers', {}, ctx)).rejects.toMatchObject({
        code: 'ERP_AUTH_FAILED',
        httpStatus: 401,
        details: { vendorCode: 'AuthenticationError' },
      });
    } finally {
      await wrong.close();
    }
  });

  it('replays without writing, amends a changed order (cancel + amended_from), and reports a stale modified as 412', async () => {
    const reference = 'coupa:PurchaseOrder:PO-5002:1';
    const created = await rig.dialect.upsertPurchaseOrder(erpnextPurchaseOrder(reference), ctx);
    const before = rig.http.exchanges.length;
    expect(await rig.dialect.upsertPurchaseOrder(erpnextPurchaseOrder(reference), ctx)).toMatchObject({
      action: 'unchanged',
      documentId: created.documentId,
    });
    expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);
    const changed = await rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder(reference, { orderDate: `${currentPeriod()}-01` }),
      ctx,
    );
    expect(changed).toMatchObject({ action: 'updated', documentId: `${created.documentId}-1` });
    const store = erpnextStoreOf(rig.sandbox.state).table('Purchase Order');
    expect(store.get(created.documentId)).toMatchObject({ docstatus: 2, status: 'Cancelled' });
    expect(store.get(changed.documentId)).toMatchObject({
      docstatus: 1,
      amended_from: created.documentId,
      custom_external_ref: reference,
    });
    await expect(
      rig.dialect.patchPurchaseOrder(changed.documentId, { orderDate: today() }, created.version!, ctx),
    ).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      httpStatus: 412,
      details: { vendorCode: 'TimestampMismatchError' },
    });
    const patched = await rig.dialect.patchPurchaseOrder(
      changed.documentId,
      {
        lines: [
          line({
            lineId: 'X',
            description: 'Chair',
            quantity: '4',
            unitPrice: eur('25.00'),
            amount: eur('100.00'),
            accountAssignments: [{ dimensions: { costCenter: 'CC-200', glAccount: '6100', project: 'PRJ-2001' } }],
          }),
        ],
      },
      changed.version!,
      ctx,
    );
    expect(patched).toMatchObject({ total: eur('100.00'), erpRef: { documentId: `${created.documentId}-2` } });
    expect(patched.lines).toEqual([
      expect.objectContaining({
        description: 'Chair',
        quantity: '4',
        accountAssignments: [{ dimensions: { glAccount: '6100', costCenter: 'CC-200', project: 'PRJ-2001' } }],
      }),
    ]);
  });

  it('cancels with docstatus 2; cancelling again succeeds without a write', async () => {
    const reference = 'coupa:PurchaseOrder:PO-5003:1';
    const created = await rig.dialect.upsertPurchaseOrder(erpnextPurchaseOrder(reference), ctx);
    expect(await rig.dialect.cancelPurchaseOrder({ externalReference: reference }, ctx)).toMatchObject({
      documentId: created.documentId,
      status: 'cancelled',
    });
    const before = rig.http.exchanges.length;
    expect(await rig.dialect.cancelPurchaseOrder({ externalReference: reference }, ctx)).toMatchObject({
      status: 'cancelled',
    });
    expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);
    await expect(rig.dialect.cancelPurchaseOrder({ externalReference: 'never' }, ctx)).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
    });
  });

  it('posts an expense as a balanced Journal Entry once, found again by its Reference Number', async () => {
    const posting = {
      kind: 'journal' as const,
      externalReference: 'cloudevents:urn:finance-sync:samples:RPT-777',
      employeeId: 'E1010',
      postingDate: today(),
      currency: 'EUR',
      lines: [
        {
          lineId: '1',
          amount: eur('12.34'),
          dimensions: { costCenter: 'CC-100', glAccount: '6000' },
          description: 'Taxi',
        },
        {
          lineId: '2',
          amount: eur('20.00'),
          dimensions: { costCenter: 'CC-100', glAccount: '6010', project: 'PRJ-2001' },
        },
      ],
    };
    const first = await rig.dialect.post(posting, ctx);
    expect(first).toMatchObject({ documentType: 'posting', status: 'posted' });
    expect(first.documentId).toMatch(/^ACC-JV-\d{4}-\d{5}$/);
    expect((await rig.dialect.post(posting, ctx)).documentId).toBe(first.documentId);
    const gl = [...erpnextStoreOf(rig.sandbox.state).table('GL Entry').values()].filter(
      (entry) => entry.voucher_no === first.documentId,
    );
    expect(gl.map((entry) => [entry.account, entry.debit, entry.credit])).toEqual([
      ['6000 - Travel - FSD', 12.34, 0],
      ['6010 - Meals and entertainment - FSD', 20, 0],
      ['2910 - Employee Expense Payable - FSD', 0, 32.34],
    ]);
    expect((await rig.dialect.findByReference('posting', posting.externalReference, ctx))?.documentId).toBe(
      first.documentId,
    );
  });

  it('checks funds against the Budget doctype: its annual (Stop) and accumulated monthly (Warn) comparisons, less GL entries and submitted orders', async () => {
    const period = currentPeriod();
    const request = { costCenter: 'CC-500', glAccount: '6100', period, amount: eur('10.00') };
    const before = await rig.dialect.checkBudget(request, ctx);
    expect(before.status).toBe('within');
    // The figures are those of the comparison ERPNext stops at (annual, on PO); the monthly one only warns.
    expect(before.erpMessages).toEqual([
      expect.objectContaining({ code: 'BUDGET_STOP', severity: 'info', text: expect.stringMatching(/Annual Budget/) }),
      expect.objectContaining({
        code: 'BUDGET_WARN',
        severity: 'info',
        text: expect.stringMatching(/Accumulated Monthly Budget/),
      }),
    ]);
    await rig.dialect.post(
      {
        kind: 'journal',
        externalReference: 'budget-erpnext-1',
        employeeId: 'E1010',
        postingDate: `${period}-02`,
        currency: 'EUR',
        lines: [{ lineId: '1', amount: eur('7.50'), dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
      },
      ctx,
    );
    await rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder('budget-erpnext-po', {
        orderDate: `${period}-03`,
        lines: [
          line({
            lineId: 'B',
            quantity: '1',
            unitPrice: eur('2.50'),
            amount: eur('2.50'),
            accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
          }),
        ],
      }),
      ctx,
    );
    const after = await rig.dialect.checkBudget(request, ctx);
    const minor = (m: { amount: string }) => BigInt(m.amount.replace('.', ''));
    expect(minor(after.actuals) - minor(before.actuals)).toBe(750n);
    expect(minor(after.commitments) - minor(before.commitments)).toBe(250n);
    expect(minor(before.available) - minor(after.available)).toBe(1000n);
    await expect(
      rig.dialect.checkBudget({ ...request, costCenter: 'CC-600', glAccount: '6100' }, ctx),
    ).rejects.toMatchObject({ code: 'ERP_NOT_FOUND', details: { vendorCode: 'NO_BUDGET' } });
  });

  it('counts an order in the budget for what is not billed yet, in the company currency, and a Closed order not at all', async () => {
    const period = currentPeriod();
    const request = { costCenter: 'CC-500', glAccount: '6100', period, amount: eur('1.00') };
    const committed = async () =>
      BigInt((await rig.dialect.checkBudget(request, ctx)).commitments.amount.replace('.', ''));
    const before = await committed();
    const created = await rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder('budget-erpnext-billed', {
        orderDate: `${period}-04`,
        lines: [
          line({
            lineId: 'A',
            quantity: '1',
            unitPrice: eur('40.00'),
            amount: eur('40.00'),
            accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
          }),
        ],
      }),
      ctx,
    );
    expect(await committed()).toBe(before + 4000n);
    const order = erpnextStoreOf(rig.sandbox.state).table('Purchase Order').get(created.documentId)!;
    const items = order.items as Array<Record<string, unknown>>;
    // A purchase invoice for 15.00 of it: ERPNext raises billed_amt, and the 15.00 is in the GL from then on.
    items[0].billed_amt = 15;
    expect(await committed()).toBe(before + 2500n);
    // An order in USD at 0.5: 40.00 USD is 20.00 EUR, of which 25/40 is not billed: 12.50 EUR.
    order.currency = 'USD';
    items[0].base_amount = 20;
    expect(await committed()).toBe(before + 1250n);
    order.status = 'Closed';
    expect(await committed()).toBe(before);
  });

  it('keeps exc_type and _server_messages: a Stop budget refuses the submit (BudgetError), an on-hold supplier the insert', async () => {
    const over = erpnextPurchaseOrder('over-budget-erpnext', {
      lines: [
        line({
          lineId: 'O',
          quantity: '1',
          unitPrice: eur('99999.00'),
          amount: eur('99999.00'),
          accountAssignments: [{ dimensions: { costCenter: 'CC-300', glAccount: '6010' } }],
        }),
      ],
    });
    const error = await rig.dialect.upsertPurchaseOrder(over, ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 417,
      details: {
        vendorCode: 'BudgetError',
        erpMessages: [expect.objectContaining({ code: 'BudgetError', severity: 'error' })],
        budget: { status: 'exceeded' },
      },
    });
    expect((error as Error).message).toMatch(
      // ERPNext compares the annual budget first (both Stop on CC-300's orders).
      /Annual Budget for Account 6010 - Meals and entertainment - FSD against Cost Center CC-300 - FSD/,
    );
    const held = await rig.dialect
      .upsertPurchaseOrder(erpnextPurchaseOrder('on-hold', { supplierId: 'SUP-1009' }), ctx)
      .catch((e: unknown) => e);
    expect(held).toMatchObject({
      code: 'ERP_REJECTED',
      details: {
        vendorCode: 'ValidationError',
        erpMessages: [expect.objectContaining({ text: expect.stringMatching(/on hold/) })],
      },
    });
  });

  it('pages master data by name (order_by name asc, name > last) and maps it to the canonical records', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await rig.dialect.listMasterData('employees', { limit: 7, cursor }, ctx);
      ids.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['E1001', 'E1024']));
    const suppliers = await rig.dialect.listMasterData('suppliers', { limit: 100 }, ctx);
    expect(suppliers.items.find((s) => s.id === 'SUP-1009')).toMatchObject({ status: 'blocked' });
    const costCenters = await rig.dialect.listMasterData('costCenters', { limit: 100 }, ctx);
    expect(costCenters.items.map((c) => c.id)).toEqual(expect.arrayContaining(['CC-100', 'CC-600']));
    const accounts = await rig.dialect.listMasterData('glAccounts', { limit: 100 }, ctx);
    expect(accounts.items.find((a) => a.id === '6999')).toMatchObject({ open: false });
    await expect(rig.dialect.listMasterData('taxCodes', {}, ctx)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('ERPNext payables: Purchase Invoice against the Frappe simulator', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());
  afterEach(() => rig.sandbox.state.faults.configure({}));

  const payable = (externalReference: string, overrides: Partial<PostingRequest> = {}): PostingRequest => ({
    kind: 'payable',
    externalReference,
    employeeId: 'E1010',
    postingDate: today(),
    currency: 'EUR',
    lines: [
      {
        lineId: '1',
        amount: eur('12.34'),
        dimensions: { costCenter: 'CC-100', glAccount: '6000' },
        description: 'Taxi',
      },
      {
        lineId: '2',
        amount: eur('20.00'),
        dimensions: { costCenter: 'CC-100', glAccount: '6010', project: 'PRJ-2001' },
      },
    ],
    ...overrides,
  });
  const invoices = () => [...erpnextStoreOf(rig.sandbox.state).table('Purchase Invoice').values()];

  it("posts a payable as a submitted Purchase Invoice to the employee's Supplier, keyed by bill_no, once", async () => {
    const posting = payable('cloudevents:urn:finance-sync:samples:RPT-PI-1');
    const first = await rig.dialect.post(posting, ctx);
    expect(first).toMatchObject({ documentType: 'posting', status: 'posted', total: eur('32.34') });
    expect(first.documentId).toMatch(/^ACC-PINV-\d{4}-\d{5}$/);
    const invoice = erpnextStoreOf(rig.sandbox.state).table('Purchase Invoice').get(first.documentId)!;
    expect(invoice).toMatchObject({
      docstatus: 1,
      status: 'Unpaid',
      supplier: expect.stringContaining('(E1010)'),
      bill_no: posting.externalReference,
      bill_date: today(),
      posting_date: today(),
      credit_to: '2110 - Creditors - FSD',
      grand_total: 32.34,
    });
    expect(
      (invoice.items as Array<Record<string, unknown>>).map((i) => [
        i.expense_account,
        i.cost_center,
        i.project,
        i.amount,
      ]),
    ).toEqual([
      ['6000 - Travel - FSD', 'CC-100 - FSD', '', 12.34],
      ['6010 - Meals and entertainment - FSD', 'CC-100 - FSD', 'PRJ-2001', 20],
    ]);
    const gl = [...erpnextStoreOf(rig.sandbox.state).table('GL Entry').values()].filter(
      (entry) => entry.voucher_no === first.documentId,
    );
    expect(gl.map((entry) => [entry.account, entry.debit, entry.credit])).toEqual([
      ['6000 - Travel - FSD', 12.34, 0],
      ['6010 - Meals and entertainment - FSD', 20, 0],
      ['2110 - Creditors - FSD', 0, 32.34],
    ]);
    const before = invoices().length;
    expect((await rig.dialect.post(posting, ctx)).documentId).toBe(first.documentId);
    expect(invoices()).toHaveLength(before);
    expect(await rig.dialect.findByReference('posting', posting.externalReference, ctx)).toMatchObject({
      documentId: first.documentId,
      status: 'posted',
    });
  });

  it('fits a reference longer than Supplier Invoice No (140) into a digest, found again by it', async () => {
    const reference = `coupa:ExpenseReport:${'Y'.repeat(150)}`;
    const first = await rig.dialect.post(payable(reference), ctx);
    const invoice = erpnextStoreOf(rig.sandbox.state).table('Purchase Invoice').get(first.documentId)!;
    expect(String(invoice.bill_no)).toMatch(/^FS[A-Z2-7]+$/);
    expect(String(invoice.bill_no).length).toBeLessThanOrEqual(140);
    expect((await rig.dialect.findByReference('posting', reference, ctx))?.documentId).toBe(first.documentId);
  });

  it("submits a draft an earlier attempt left (holding the posting's total) instead of inserting a second invoice", async () => {
    const posting = payable('draft-left-behind');
    const supplier = [...erpnextStoreOf(rig.sandbox.state).table('Supplier').values()].find(
      (s) => s.custom_employee === 'E1010',
    )!;
    // Coded as the posting's lines are: a draft of this version, as an interrupted attempt leaves it.
    const item = (rate: number, account: string, project?: string) => ({
      item_name: 'x',
      qty: 1,
      uom: 'Nos',
      rate,
      expense_account: account,
      cost_center: 'CC-100 - FSD',
      ...(project ? { project } : {}),
    });
    const { data } = await rig.http.request<{ data: { name: string } }>({
      method: 'POST',
      path: '/api/resource/Purchase%20Invoice',
      correlationId: 'test',
      body: {
        supplier: supplier.name,
        company: 'FS-DEMO',
        posting_date: today(),
        set_posting_time: 1,
        bill_no: 'draft-left-behind',
        items: [item(12.34, '6000 - Travel - FSD'), item(20, '6010 - Meals and entertainment - FSD', 'PRJ-2001')],
      },
    });
    const posted = await rig.dialect.post(posting, ctx);
    expect(posted.documentId).toBe(data.data.name);
    expect(
      invoices()
        .filter((i) => i.bill_no === 'draft-left-behind')
        .map((i) => i.docstatus),
    ).toEqual([1]);
  });

  it('submits again with the new modified after a TimestampMismatchError (someone saved the draft meanwhile)', async () => {
    // A save in the ERP between the dialect's insert and its submit: the submit carries a stale `modified`.
    const store = erpnextStoreOf(rig.sandbox.state);
    let touched = false;
    const touching: ErpHttp = {
      request: async <T>(request: ErpRequest): Promise<ErpResponse<T>> => {
        const body = request.body as { docstatus?: number } | undefined;
        if (!touched && request.method === 'PUT' && body?.docstatus === 1) {
          touched = true;
          const name = decodeURIComponent(request.path.split('/').pop()!);
          store.table('Purchase Invoice').get(name)!.modified = '2099-01-01 00:00:00.000000';
        }
        return rig.http.request<T>(request);
      },
    };
    const dialect = createDialect('erpnext', touching, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
    const posted = await dialect.post(payable('stale-submit'), ctx);
    expect(touched).toBe(true);
    expect(posted.status).toBe('posted');
    const stale = rig.http.exchanges.find(
      (e) => (e.error as { details?: { vendorCode?: string } })?.details?.vendorCode === 'TimestampMismatchError',
    );
    expect(stale?.error).toMatchObject({ httpStatus: 417 });
    expect(invoices().filter((i) => i.bill_no === 'stale-submit')).toHaveLength(1);
  });

  it('refuses clearly when no Supplier stands for the employee, and keeps exc_type / _server_messages of a 417', async () => {
    const missing = await rig.dialect
      .post(payable('no-supplier', { employeeId: 'E9999' }), ctx)
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({
      code: 'ERP_REJECTED',
      details: { vendorCode: 'NO_EMPLOYEE_SUPPLIER', employeeId: 'E9999' },
    });
    expect((missing as Error).message).toMatch(/one Supplier per reimbursed employee/);
    const held = await rig.dialect.post(payable('held', { supplierId: 'SUP-1009' }), ctx).catch((e: unknown) => e);
    expect(held).toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 417,
      retryable: false,
      details: {
        vendorCode: 'ValidationError',
        erpMessages: [expect.objectContaining({ code: 'ValidationError', text: expect.stringMatching(/on hold/) })],
      },
    });
  });

  it('reports a 429 as ERP_RATE_LIMITED with Retry-After, and posts once when the ERP answers again', async () => {
    rig.sandbox.state.faults.configure({ errorRate: 1, errorStatus: 429, retryAfterSeconds: 7 });
    const limited = await rig.dialect.post(payable('throttled'), ctx).catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: 'ERP_RATE_LIMITED', httpStatus: 429, retryable: true, retryAfterMs: 7000 });
    expect(limited).toMatchObject({ details: { vendorCode: 'RateLimitExceededError' } });
    rig.sandbox.state.faults.configure({});
    const posted = await rig.dialect.post(payable('throttled'), ctx);
    expect(
      invoices()
        .filter((i) => i.bill_no === 'throttled')
        .map((i) => i.name),
    ).toEqual([posted.documentId]);
  });
});
