/**
 * The SAP S/4HANA dialect (API_PURCHASEORDER_PROCESS_SRV, OData v2) over real HTTP against the sandbox's SAP
 * simulator: CSRF token and cookies (fetched once, again after a 403), deep insert, PATCH with If-Match,
 * deletion as cancel, lookup by CorrespncExternalReference, availability control and errordetails kept.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import { sapStoreOf } from '../../../lib/sandbox/sap/api';
import { ctx, startDialectRig, today, UnreadableAnswer, type DialectRig } from './harness';
import { line, sapConnection, sapPurchaseOrder } from './sap-fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

/** Passes requests on, but refuses (400) every item POST from the `from`th on, as SAP would a blocked account. */
class RefusingItems implements ErpHttp {
  #items = 0;
  constructor(
    private readonly inner: ErpHttp,
    private readonly from: number,
  ) {}

  request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    if (request.method === 'POST' && request.path.endsWith('/to_PurchaseOrderItem') && ++this.#items >= this.from) {
      return Promise.reject(
        new FinanceError('ERP_REJECTED', 'ERP "sap" answered 400: G/L account 6300 is blocked for posting', {
          httpStatus: 400,
        }),
      );
    }
    return this.inner.request<T>(request);
  }
}

describe('SAP S/4HANA dialect against the SAP simulator', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(sapConnection());
  });
  afterAll(() => rig.close());

  it('creates a purchase order in one deep insert with the CSRF token and cookies, and finds it by Your Reference', async () => {
    const reference = 'coupa:PurchaseOrder:PO-9001:1';
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    expect(created).toMatchObject({ action: 'created', dialect: 'sap', documentType: 'purchaseOrder' });
    expect(created.documentId).toMatch(/^45\d{8}$/);
    const [fetch, post] = rig.http.exchanges.filter((e) => e.request.headers?.['X-CSRF-Token']);
    expect(fetch.request).toMatchObject({ method: 'GET', path: '/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/' });
    expect(fetch.request.headers?.['X-CSRF-Token']).toBe('Fetch');
    expect(post.request.method).toBe('POST');
    expect(post.request.headers?.['X-CSRF-Token']).toBe(fetch.response?.headers['x-csrf-token']);
    expect(post.request.headers?.Cookie).toMatch(/SAP_SESSIONID_SIM_100=[0-9a-f]+; sap-usercontext=sap-client=100/);
    expect(rig.http.exchanges.every((e) => e.request.query?.['sap-client'] === '100')).toBe(true);
    const body = post.request.body as {
      CorrespncExternalReference: string;
      to_PurchaseOrderItem: { results: Array<{ to_AccountAssignment: { results: unknown[] } }> };
    };
    expect(body.CorrespncExternalReference).toMatch(/^FS[A-Z2-7]{10}$/);
    expect(body.to_PurchaseOrderItem.results.map((item) => item.to_AccountAssignment.results.length)).toEqual([1, 2]);

    expect((await rig.dialect.findByReference('purchaseOrder', reference, ctx))?.documentId).toBe(created.documentId);
    const held = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    expect(held).toMatchObject({ supplierId: 'SUP-1001', total: eur('400.00'), status: 'open', orderDate: today() });
    expect(held.lines.map((l) => [l.lineId, l.quantity, l.amount.amount])).toEqual([
      ['10', '2', '300.00'],
      ['20', '1', '100.00'],
    ]);
    expect(held.lines[1].accountAssignments.map((a) => [a.dimensions.costCenter, a.amount?.amount])).toEqual([
      ['CC-400', '60.00'],
      ['CC-500', '40.00'],
    ]);
  });

  it('says that a create answered in an unknown shape most likely took effect, and the order is there', async () => {
    const reference = 'coupa:PurchaseOrder:PO-9009:1';
    const unreadable = new UnreadableAnswer(rig.http, (request) => request.method === 'POST', { d: {} });
    const dialect = createDialect('sap', unreadable, { baseUrl: rig.sandbox.url, ...sapConnection()() });
    const error = await dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx).catch((e: unknown) => e);
    expect(unreadable.used).toBe(true);
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: false });
    expect((error as Error).message).toMatch(/If this was the answer to a write, the write most likely took effect/);
    expect(await rig.dialect.findByReference('purchaseOrder', reference, ctx)).toBeDefined();
  });

  it('fetches the token once for many writes, and again (once) after a 403 when the session expired', async () => {
    const store = sapStoreOf(rig.sandbox.state);
    const fetchesBefore = rig.http.exchanges.filter((e) => e.request.headers?.['X-CSRF-Token'] === 'Fetch').length;
    await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('csrf-1'), ctx);
    await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('csrf-2'), ctx);
    expect(rig.http.exchanges.filter((e) => e.request.headers?.['X-CSRF-Token'] === 'Fetch').length).toBe(
      fetchesBefore,
    );
    store.expireSessions();
    const rejectedBefore = store.counters.csrfRejected;
    await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('csrf-3'), ctx);
    expect(store.counters.csrfRejected).toBe(rejectedBefore + 1);
    expect(rig.http.exchanges.filter((e) => e.request.headers?.['X-CSRF-Token'] === 'Fetch').length).toBe(
      fetchesBefore + 1,
    );
    expect(await rig.dialect.findByReference('purchaseOrder', 'csrf-3', ctx)).not.toBeNull();
  });

  it('writes nothing for a replay, PATCHes with If-Match, replaces changed items, and reports a stale ETag', async () => {
    const reference = 'coupa:PurchaseOrder:PO-9002:1';
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    expect(await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx)).toMatchObject({
      action: 'unchanged',
      version: created.version,
    });
    const before = rig.http.exchanges.length;
    const changed = await rig.dialect.upsertPurchaseOrder(
      sapPurchaseOrder(reference, { orderDate: '2026-01-15' }),
      ctx,
    );
    expect(changed.action).toBe('updated');
    const patch = rig.http.exchanges.slice(before).find((e) => e.request.method === 'PATCH');
    expect(patch?.request).toMatchObject({
      ifMatch: created.version,
      body: { PurchaseOrderDate: `/Date(${Date.parse('2026-01-15T00:00:00Z')})/` },
    });
    await expect(
      rig.dialect.patchPurchaseOrder(created.documentId, { orderDate: '2026-02-01' }, created.version!, ctx),
    ).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      httpStatus: 412,
    });
    const lines = [
      line({
        lineId: 'N1',
        description: 'Monitor',
        quantity: '3',
        unitPrice: eur('99.50'),
        amount: eur('298.50'),
        accountAssignments: [{ dimensions: { costCenter: 'CC-200', glAccount: '6000', project: 'PRJ-2001' } }],
      }),
    ];
    const patched = await rig.dialect.patchPurchaseOrder(created.documentId, { lines }, changed.version!, ctx);
    expect(patched.lines).toEqual([
      expect.objectContaining({
        lineId: '30',
        description: 'Monitor',
        quantity: '3',
        amount: eur('298.50'),
        accountAssignments: [{ dimensions: { glAccount: '6000', costCenter: 'CC-200', project: 'PRJ-2001' } }],
      }),
    ]);
    const order = sapStoreOf(rig.sandbox.state).snapshot().purchaseOrders as Array<{
      PurchaseOrder: string;
      items: Array<{ PurchasingDocumentDeletionCode: string }>;
    }>;
    expect(
      order.find((o) => o.PurchaseOrder === created.documentId)?.items.map((i) => i.PurchasingDocumentDeletionCode),
    ).toEqual(['L', 'L', '']);
  });

  it('puts the order back as it was (date and items) when SAP refuses an item part-way through a change', async () => {
    const reference = 'coupa:PurchaseOrder:PO-9005:1';
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    const before = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    // Version 2: another date, L1's quantity changed (its item patched), L2 removed (its item deleted), and an
    // item on a WBS element SAP does not know (projects are not read from SAP, so only SAP can refuse it).
    const revision = sapPurchaseOrder(reference, {
      orderDate: '2026-01-20',
      lines: [
        line({
          lineId: 'L1',
          quantity: '3',
          unitPrice: eur('150.00'),
          amount: eur('450.00'),
          accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
        }),
        line({ lineId: 'L3', accountAssignments: [{ dimensions: { glAccount: '6300', project: 'WBS-NOPE' } }] }),
      ],
    });
    const refused = await rig.dialect.upsertPurchaseOrder(revision, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 400 });
    expect((refused as FinanceError).details).not.toHaveProperty('restored');
    const after = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    // L1's item was patched back in place; L2's deleted item came back under a new number (SAP never reuses one
    // nor takes a deletion indicator back through this API); everything else is as before.
    expect(after.lines.map((each) => each.lineId)).toEqual(['10', '30']);
    const content = (po: typeof before) => ({
      ...po,
      erpRef: undefined,
      lines: po.lines.map((each) => ({ ...each, lineId: undefined })),
    });
    expect(content(after)).toEqual(content(before));
    expect(after).toMatchObject({ supplierId: 'SUP-1001', orderDate: today(), total: eur('400.00') });
    // A later revision of the same lines finds them again by their key: nothing to write.
    expect((await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx)).action).toBe('unchanged');
  });

  it('says so when an order cannot be put back after a refused change', async () => {
    const reference = 'coupa:PurchaseOrder:PO-9006:1';
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    // From the second item of the change on, SAP refuses every item: the old ones cannot be added back either.
    const dialect = createDialect('sap', new RefusingItems(rig.http, 2), {
      baseUrl: rig.sandbox.url,
      ...sapConnection()(),
    });
    // L2 removed, L3 and L4 added: L4 is refused, and so is L2 when it is added back.
    const revision = sapPurchaseOrder(reference, { orderDate: '2026-01-20' });
    revision.lines = [
      revision.lines[0],
      line({ lineId: 'L3', description: 'Added 3' }),
      line({ lineId: 'L4', description: 'Added 4' }),
    ];
    const refused = await dialect.upsertPurchaseOrder(revision, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 400, details: { restored: false } });
    expect((refused as Error).message).toMatch(
      new RegExp(`could not be put back .*check purchase order ${created.documentId} in SAP`),
    );
    // The date went back before the items were tried.
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).orderDate).toBe(today());
  });

  it('keeps the letter case of Your Reference: references that differ only in case are two purchase orders', async () => {
    const lower = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('PO-abc'), ctx);
    const upper = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('PO-ABC', { supplierId: 'SUP-1002' }), ctx);
    expect(upper.action).toBe('created');
    expect(upper.documentId).not.toBe(lower.documentId);
    const sent = rig.http.exchanges
      .filter((e) => e.request.method === 'POST' && e.request.path.endsWith('/A_PurchaseOrder'))
      .map((e) => (e.request.body as { CorrespncExternalReference: string }).CorrespncExternalReference);
    expect(sent.slice(-2)).toEqual(['PO-abc', 'PO-ABC']);
    expect(await rig.dialect.getPurchaseOrder(lower.documentId, ctx)).toMatchObject({
      externalReference: 'PO-abc',
      supplierId: 'SUP-1001',
    });
    expect((await rig.dialect.findByReference('purchaseOrder', 'PO-ABC', ctx))?.documentId).toBe(upper.documentId);
  });

  it('cancels by deleting the purchase order (deletion code L); a second cancel sends nothing', async () => {
    const reference = 'coupa:PurchaseOrder:PO-9003:1';
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    expect(await rig.dialect.cancelPurchaseOrder({ externalReference: reference }, ctx)).toMatchObject({
      documentId: created.documentId,
      status: 'cancelled',
    });
    const before = rig.http.exchanges.length;
    expect(
      await rig.dialect.cancelPurchaseOrder({ externalReference: reference, documentId: created.documentId }, ctx),
    ).toMatchObject({ status: 'cancelled' });
    expect(rig.http.exchanges.slice(before).map((e) => e.request.method)).toEqual(['GET']);
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).status).toBe('cancelled');
    await expect(rig.dialect.cancelPurchaseOrder({ externalReference: 'never' }, ctx)).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
    });
  });

  it('maps an availability-control refusal (BP/604) to a budget result and keeps innererror.errordetails', async () => {
    const overBudget = sapPurchaseOrder('avc-1', {
      lines: [
        line({
          lineId: 'A',
          quantity: '1',
          unitPrice: eur('5000.00'),
          amount: eur('5000.00'),
          accountAssignments: [{ dimensions: { costCenter: 'CC-300', glAccount: '6010' } }],
        }),
      ],
    });
    const error = await rig.dialect.upsertPurchaseOrder(overBudget, ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 400,
      details: {
        vendorCode: 'BP/604',
        erpMessages: [expect.objectContaining({ code: 'BP/604', severity: 'error' })],
        budget: { status: 'exceeded', erpMessages: [expect.objectContaining({ code: 'BP/604' })] },
      },
    });
    expect((error as Error).message).toMatch(/budget for fiscal year \d{4} was exceeded by 4700\.00 EUR/);
    const blocked = await rig.dialect
      .upsertPurchaseOrder(sapPurchaseOrder('blocked-1', { supplierId: 'SUP-1009' }), ctx)
      .catch((e: unknown) => e);
    expect(blocked).toMatchObject({
      code: 'ERP_REJECTED',
      details: {
        vendorCode: 'ME/045',
        erpMessages: [{ code: 'ME/045', severity: 'error', text: 'Supplier SUP-1009 is blocked for purchasing' }],
      },
    });
    expect((blocked as { details: Record<string, unknown> }).details.budget).toBeUndefined();
  });

  it('has no funds check call (budget control at creation) and passes 429 on as retryable', async () => {
    expect(rig.dialect.budgetControl).toBe('at-creation');
    await expect(
      rig.dialect.checkBudget({ costCenter: 'CC-100', period: '2026-01', amount: eur('1.00') }, ctx),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    rig.sandbox.state.faults.configure({ errorRate: 1, errorStatus: 429, retryAfterSeconds: 3 });
    try {
      await expect(rig.dialect.findByReference('purchaseOrder', 'x', ctx)).rejects.toMatchObject({
        code: 'ERP_RATE_LIMITED',
        retryAfterMs: 3000,
      });
      await expect(rig.dialect.listMasterData('suppliers', {}, ctx)).rejects.toMatchObject({
        code: 'ERP_RATE_LIMITED',
      });
    } finally {
      rig.sandbox.state.faults.configure({});
    }
  });

  it('lists suppliers, cost centers and G/L accounts from their SAP services, page by page', async () => {
    const all = async (kind: 'suppliers' | 'costCenters' | 'glAccounts', limit: number) => {
      const items = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await rig.dialect.listMasterData(kind, { cursor, limit }, ctx);
        items.push(...page.items);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 50);
      return { items, pages };
    };
    const suppliers = await all('suppliers', 3);
    expect(suppliers.pages).toBeGreaterThan(1);
    expect(suppliers.items.find((s) => s.id === 'SUP-1001')).toMatchObject({
      name: 'Buerobedarf Mueller GmbH',
      status: 'active',
    });
    expect(suppliers.items.find((s) => s.id === 'SUP-1009')).toMatchObject({ status: 'blocked' });
    const reads = rig.http.exchanges.filter(
      (e) => e.request.path.endsWith('/A_Supplier') && e.request.query?.$top === 3,
    );
    // Paged by key: ordered by Supplier, the next page after the last Supplier read (no $skip).
    expect(reads[0].request).toMatchObject({
      path: '/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_Supplier',
      query: { $top: 3, $orderby: 'Supplier asc', 'sap-client': '100' },
    });
    expect(reads[0].request.query?.$filter).toBeUndefined();
    expect(reads.every((read) => read.request.query?.$skip === undefined)).toBe(true);
    const lastOfFirst = (reads[0].response?.data as { d: { results: Array<{ Supplier: string }> } }).d.results[2];
    expect(reads[1].request.query?.$filter).toBe(`Supplier gt '${lastOfFirst.Supplier}'`);
    expect(new Set(suppliers.items.map((s) => s.id)).size).toBe(suppliers.items.length);

    const centers = await all('costCenters', 4);
    expect(centers.items.map((c) => c.id)).toEqual(expect.arrayContaining(['CC-100', 'CC-400']));
    expect(centers.items.find((c) => c.id === 'CC-100')).toMatchObject({ name: 'Finance and Management', open: true });
    const centerRead = rig.http.exchanges.find((e) => e.request.path.endsWith('/A_CostCenter'));
    expect(centerRead?.request.query).toMatchObject({
      $filter: `CompanyCode eq 'FS01' and ValidityStartDate le datetime'${today()}T00:00:00' and ValidityEndDate ge datetime'${today()}T00:00:00'`,
      $orderby: 'CostCenter asc',
      $expand: 'to_Text',
    });

    const accounts = await all('glAccounts', 500);
    expect(accounts.pages).toBe(1);
    expect(accounts.items.find((a) => a.id === '6999')).toMatchObject({ open: false, type: 'expense' });
    expect(accounts.items.find((a) => a.id === '0650')).toMatchObject({ type: 'asset', open: true });
    // Delta: only accounts changed since then (LastChangeDateTime), none here after the newest one.
    const newest = accounts.items
      .map((a) => a.modifiedAt)
      .sort()
      .at(-1) as string;
    const delta = await rig.dialect.listMasterData('glAccounts', { modifiedSince: newest }, ctx);
    expect(delta.items.map((a) => a.modifiedAt)).toEqual([newest]);
    const deltaRead = rig.http.exchanges.at(-1);
    expect(deltaRead?.request.query?.$filter).toBe(
      `ChartOfAccounts eq 'YCOA' and LastChangeDateTime ge datetimeoffset'${newest}'`,
    );
  });

  it('leaves employees, projects and tax codes to SAP, saying so (not published)', async () => {
    for (const kind of ['employees', 'projects', 'taxCodes'] as const) {
      await expect(rig.dialect.listMasterData(kind, {}, ctx)).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        details: { kind, notPublished: true },
      });
    }
  });

  it('posts an expense report once as a supplier invoice with G/L items, found again by its Reference', async () => {
    const reference = 'cloudevents:urn:finance-sync:samples:RPT-777';
    const posting = {
      kind: 'journal' as const,
      externalReference: reference,
      employeeId: 'E1017',
      postingDate: today(),
      currency: 'EUR',
      lines: [
        {
          lineId: '1',
          amount: eur('120.50'),
          dimensions: { costCenter: 'CC-400', glAccount: '6000' },
          description: 'Train',
        },
        {
          lineId: '2',
          amount: eur('30.00'),
          dimensions: { costCenter: 'CC-400', glAccount: '6010' },
          description: 'x'.repeat(80),
        },
      ],
    };
    const fetchesBefore = rig.http.exchanges.filter((e) => e.request.headers?.['X-CSRF-Token'] === 'Fetch').length;
    const posted = await rig.dialect.post(posting, ctx);
    expect(posted).toMatchObject({ dialect: 'sap', documentType: 'posting', status: 'posted', total: eur('150.50') });
    expect(posted.number).toMatch(/^51\d{8}$/);
    expect(posted.documentId).toBe(`${posted.number}/${today().slice(0, 4)}`);
    const post = rig.http.exchanges.find(
      (e) => e.request.method === 'POST' && e.request.path.endsWith('/A_SupplierInvoice'),
    );
    // Its own service's CSRF token (one more fetch), with the session cookie.
    expect(rig.http.exchanges.filter((e) => e.request.headers?.['X-CSRF-Token'] === 'Fetch').length).toBe(
      fetchesBefore + 1,
    );
    expect(post?.request.path).toBe('/sap/opu/odata/sap/API_SUPPLIERINVOICE_PROCESS_SRV/A_SupplierInvoice');
    const body = post?.request.body as Record<string, any>;
    expect(body).toMatchObject({
      CompanyCode: 'FS01',
      InvoicingParty: 'E1017',
      InvoiceGrossAmount: '150.50',
      DocumentCurrency: 'EUR',
      TaxIsCalculatedAutomatically: false,
    });
    expect(body.SupplierInvoiceIDByInvcgParty).toMatch(/^FS[A-Z2-7]{14}$/);
    expect(body.to_SupplierInvoiceItemGLAcct.results).toEqual([
      expect.objectContaining({
        SupplierInvoiceItem: '0001',
        GLAccount: '6000',
        CostCenter: 'CC-400',
        SupplierInvoiceItemAmount: '120.50',
        DebitCreditCode: 'S',
      }),
      expect.objectContaining({ SupplierInvoiceItem: '0002', SupplierInvoiceItemText: 'x'.repeat(50) }),
    ]);

    // Again: found by its Reference, nothing posted twice.
    const writesBefore = rig.http.exchanges.filter((e) => e.request.method === 'POST').length;
    expect(await rig.dialect.post(posting, ctx)).toMatchObject({ documentId: posted.documentId });
    expect(rig.http.exchanges.filter((e) => e.request.method === 'POST').length).toBe(writesBefore);
    expect(await rig.dialect.findByReference('posting', reference, ctx)).toMatchObject({ number: posted.number });
    expect(await rig.dialect.findByReference('posting', 'never-posted', ctx)).toBeNull();
    const invoices = (sapStoreOf(rig.sandbox.state).snapshot().supplierInvoices as unknown[]).length;
    expect(invoices).toBe(1);
  });

  it('does not answer "posted" for a revised report whose Reference holds an invoice with other amounts', async () => {
    const base = {
      kind: 'journal' as const,
      externalReference: 'concur:RPT-REV-1',
      employeeId: 'E1017',
      postingDate: today(),
      currency: 'EUR',
    };
    const item = (lineId: string, amount: string) => ({
      lineId,
      amount: eur(amount),
      dimensions: { costCenter: 'CC-400', glAccount: '6000' },
    });
    const v1 = { ...base, lines: [item('1', '100.00')] };
    const v2 = { ...base, lines: [item('1', '100.00'), item('2', '80.00')] };
    const posted = await rig.dialect.post(v1, ctx);
    const writes = rig.http.exchanges.filter((e) => e.request.method === 'POST').length;
    const refused = await rig.dialect.post(v2, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { supplierInvoice: posted.documentId, booked: eur('100.00'), expected: eur('180.00') },
    });
    expect((refused as Error).message).toMatch(/for 100\.00 EUR.*this posting is 180\.00 EUR.*Do not retry/);
    expect(rig.http.exchanges.filter((e) => e.request.method === 'POST').length).toBe(writes);
    // The ledger's lookup says the same; the version that was posted is found.
    await expect(rig.dialect.findPosting!(v2, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    expect(await rig.dialect.findPosting!(v1, ctx)).toMatchObject({ number: posted.number, total: eur('100.00') });
  });

  it("sends the supplier invoice Reference upper-cased as SAP keeps it, and takes no other party's invoice for posted", async () => {
    const posting = (externalReference: string, employeeId: string) => ({
      kind: 'journal' as const,
      externalReference,
      employeeId,
      postingDate: today(),
      currency: 'EUR',
      lines: [{ lineId: '1', amount: eur('42.00'), dimensions: { costCenter: 'CC-400', glAccount: '6000' } }],
    });
    const posted = await rig.dialect.post(posting('concur:rpt-9', 'E1017'), ctx);
    const sent = rig.http.exchanges.filter(
      (e) => e.request.method === 'POST' && e.request.path.endsWith('/A_SupplierInvoice'),
    );
    expect((sent.at(-1)?.request.body as Record<string, unknown>).SupplierInvoiceIDByInvcgParty).toBe('CONCUR:RPT-9');
    // Another employee's report whose reference differs only in case meets the same Reference, same amount.
    await expect(rig.dialect.post(posting('concur:RPT-9', 'E1010'), ctx)).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      details: { supplierInvoice: posted.documentId, bookedInvoicingParty: 'E1017', invoicingParty: 'E1010' },
    });
  });

  it("refuses postings SAP would refuse, before or at the write, with SAP's messages", async () => {
    const base = { kind: 'journal' as const, postingDate: today(), currency: 'EUR' };
    const line = (glAccount: string) => ({
      lineId: '1',
      amount: eur('10.00'),
      dimensions: { costCenter: 'CC-100', glAccount },
    });
    await expect(rig.dialect.post({ ...base, externalReference: 'p-1', lines: [line('6000')] }, ctx)).rejects.toThrow(
      /employeeId/,
    );
    const blocked = await rig.dialect
      .post({ ...base, externalReference: 'p-2', employeeId: 'E1017', lines: [line('6999')] }, ctx)
      .catch((e: unknown) => e);
    expect(blocked).toMatchObject({
      code: 'ERP_REJECTED',
      details: {
        erpMessages: [expect.objectContaining({ code: 'MEPO/000', text: 'G/L account 6999 is blocked for posting' })],
      },
    });
    const stranger = await rig.dialect
      .post({ ...base, externalReference: 'p-3', employeeId: 'X999', lines: [line('6000')] }, ctx)
      .catch((e: unknown) => e);
    expect(stranger).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 400 });
  });

  it('refuses lines SAP cannot hold before any write', async () => {
    const before = rig.http.exchanges.length;
    await expect(
      rig.dialect.upsertPurchaseOrder(
        sapPurchaseOrder('long', { lines: [line({ description: 'x'.repeat(41) })] }),
        ctx,
      ),
    ).rejects.toThrow(/SAP keeps 40/);
    await expect(
      rig.dialect.upsertPurchaseOrder(
        sapPurchaseOrder('nodim', { lines: [line({ accountAssignments: [{ dimensions: { glAccount: '6000' } }] })] }),
        ctx,
      ),
    ).rejects.toThrow(/cost center or a project/);
    expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);
  });

  it("finds a purchase order and a supplier invoice whose reference holds a quote (OData literal, '' inside)", async () => {
    const reference = "coupa:O'B-1";
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    expect(created.action).toBe('created');
    const lookup = rig.http.exchanges.filter((e) => e.request.method === 'GET' && e.request.query?.$filter);
    expect(lookup.at(-1)?.request.query?.$filter).toBe(
      "CorrespncExternalReference eq 'coupa:O''B-1' and CompanyCode eq 'FS01'",
    );
    expect((await rig.dialect.findByReference('purchaseOrder', reference, ctx))?.documentId).toBe(created.documentId);
    // The retry of the create finds it instead of refusing it as a bad request.
    const again = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference), ctx);
    expect(again).toMatchObject({ action: 'unchanged', documentId: created.documentId });

    const posting = {
      kind: 'journal' as const,
      externalReference: "coupa:O'B",
      employeeId: 'E1017',
      postingDate: today(),
      currency: 'EUR',
      lines: [{ lineId: '1', amount: eur('12.50'), dimensions: { costCenter: 'CC-400', glAccount: '6000' } }],
    };
    const posted = await rig.dialect.post(posting, ctx);
    expect((await rig.dialect.post(posting, ctx)).documentId).toBe(posted.documentId);
    expect((await rig.dialect.findByReference('posting', "coupa:O'B", ctx))?.documentId).toBe(posted.documentId);
  });
});
