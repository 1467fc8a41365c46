/**
 * The Business Central dialect over real HTTP against the sandbox's BC simulator, with Entra-style OAuth2
 * client credentials: purchase orders (deep insert, If-Match, delete as cancel, lookup through the custom
 * reference page), postings (journal and purchase invoice, once), budgets computed from budget entries,
 * actuals and open orders, master data paging, and BC's errors kept in the pack's codes.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import type { PurchaseOrder } from '../../../lib/model/types';
import { bcStoreOf } from '../../../lib/sandbox/business-central/store';
import { line } from '../purchasing/fixtures';
import { ctx, currentPeriod, startDialectRig, today, UnreadableAnswer, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const CLIENT = { clientId: 'bc-app', clientSecret: 'bc-secret-value' };

/** Fails every order line write (POST or PATCH) from the `from`th on: with a refusal (400), or with `failure`. */
class RefusingLines implements ErpHttp {
  #lines = 0;
  constructor(
    private readonly inner: ErpHttp,
    private readonly from: number,
    private readonly failure = () =>
      new FinanceError('ERP_REJECTED', 'ERP "bc" answered 400: The G/L Account 6300 is blocked.', { httpStatus: 400 }),
  ) {}

  request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const lineWrite =
      (request.method === 'POST' || request.method === 'PATCH') && request.path.includes('/purchaseOrderLines');
    if (lineWrite && ++this.#lines >= this.from) {
      return Promise.reject(this.failure());
    }
    return this.inner.request<T>(request);
  }
}

function bcConnection(referenceApi?: string) {
  return (url: string) => ({
    name: 'bc',
    dialect: 'business-central',
    company: 'FS-DEMO',
    auth: {
      type: 'oauth2' as const,
      tokenUrl: `${url}/contoso.onmicrosoft.com/oauth2/v2.0/token`,
      scope: 'https://api.businesscentral.dynamics.com/.default',
      clientAuth: 'body' as const,
      ...CLIENT,
    },
    options: {
      tenant: 'contoso.onmicrosoft.com',
      environment: 'Production',
      ...(referenceApi ? { referenceApi } : {}),
    },
  });
}

function purchaseOrder(externalReference: string, overrides: Partial<PurchaseOrder> = {}): PurchaseOrder {
  const lines = [
    line({
      lineId: 'L1',
      quantity: '2',
      unitPrice: eur('150.00'),
      amount: eur('300.00'),
      accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
    }),
    line({ lineId: 'L2', description: 'Split line', quantity: '1', unitPrice: eur('100.00'), amount: eur('100.00') }),
  ];
  return {
    docType: 'PurchaseOrder',
    sourceRef: { system: 'coupa', id: externalReference, version: 1 },
    externalReference,
    supplierId: 'SUP-1001',
    orderDate: today(),
    currency: 'EUR',
    total: eur('400.00'),
    lines,
    ...overrides,
  };
}

describe('Business Central dialect against the BC simulator', () => {
  let rig: DialectRig;

  beforeAll(async () => {
    rig = await startDialectRig(bcConnection('finsync/finance/v1.0'), { auth: { type: 'oauth2', ...CLIENT } });
  });
  afterAll(() => rig.close());

  it('creates a purchase order with its lines in one deep insert and finds it by its reference', async () => {
    const reference = 'coupa:PurchaseOrder:PO-7781:1-and-a-long-tail-beyond-35';
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    expect(created).toMatchObject({ action: 'created', dialect: 'business-central', documentType: 'purchaseOrder' });
    expect(created.documentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.version).toMatch(/^W\/"/);
    const posts = rig.http.exchanges.filter(
      (e) => e.request.method === 'POST' && e.request.path.endsWith('/purchaseOrders'),
    );
    expect(posts).toHaveLength(1);
    expect(posts[0].request.path).toMatch(
      /^\/v2\.0\/contoso\.onmicrosoft\.com\/Production\/api\/finsync\/finance\/v1\.0\/companies\([0-9a-f-]{36}\)\/purchaseOrders$/,
    );
    const body = posts[0].request.body as { yourReference: string; purchaseOrderLines: unknown[] };
    expect(body.yourReference).toHaveLength(35);
    // The 60/40 split of L2 becomes two BC lines.
    expect(body.purchaseOrderLines).toHaveLength(3);

    const found = await rig.dialect.findByReference('purchaseOrder', reference, ctx);
    expect(found?.documentId).toBe(created.documentId);
    const held = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    expect(held.total).toEqual(eur('400.00'));
    expect(held.lines.map((l) => [l.lineId, l.amount.amount, l.accountAssignments.length])).toEqual([
      ['L1', '300.00', 1],
      ['L2', '100.00', 2],
    ]);
    expect(held.lines[1].accountAssignments.map((a) => [a.dimensions.costCenter, a.amount?.amount])).toEqual([
      ['CC-400', '60.00'],
      ['CC-500', '40.00'],
    ]);
  });

  it('writes nothing for a replay, PATCHes with If-Match on a change, and reports a stale version as 412', async () => {
    const reference = 'coupa:PurchaseOrder:PO-7782:1';
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    const again = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    expect(again).toMatchObject({ action: 'unchanged', documentId: created.documentId, version: created.version });

    const before = rig.http.exchanges.length;
    const changed = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference, { orderDate: '2026-01-15' }), ctx);
    expect(changed.action).toBe('updated');
    expect(changed.version).not.toBe(created.version);
    const patch = rig.http.exchanges.slice(before).find((e) => e.request.method === 'PATCH');
    expect(patch?.request.ifMatch).toBe(created.version);
    expect(patch?.request.body).toEqual({ orderDate: '2026-01-15' });

    const stale = rig.dialect.patchPurchaseOrder(
      created.documentId,
      { orderDate: '2026-02-01' },
      created.version!,
      ctx,
    );
    await expect(stale).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      httpStatus: 412,
      details: { vendorCode: 'Request_EntityChanged' },
    });

    const lines = [
      line({
        lineId: 'L9',
        quantity: '3',
        unitPrice: eur('10.00'),
        amount: eur('30.00'),
        accountAssignments: [{ dimensions: { costCenter: 'CC-200', glAccount: '6000', project: 'PRJ-2001' } }],
      }),
    ];
    const patched = await rig.dialect.patchPurchaseOrder(created.documentId, { lines }, changed.version!, ctx);
    expect(patched.total).toEqual(eur('30.00'));
    expect(patched.lines).toEqual([
      expect.objectContaining({
        lineId: 'L9',
        quantity: '3',
        unitPrice: eur('10.00'),
        accountAssignments: [{ dimensions: { glAccount: '6000', costCenter: 'CC-200', project: 'PRJ-2001' } }],
      }),
    ]);
  });

  it('puts the order back as it was (vendor, date and lines) when BC refuses a line part-way through a change', async () => {
    const reference = 'coupa:PurchaseOrder:PO-7785:1';
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    const before = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    // Version 2: another vendor and date, L1's quantity changed, and a line with a VAT group BC does not know (tax
    // codes are not in BC's published master data, so only BC can refuse it): refused after the old lines went.
    const revision = purchaseOrder(reference, {
      supplierId: 'SUP-1002',
      orderDate: '2026-01-20',
      lines: [
        line({
          lineId: 'L1',
          quantity: '3',
          unitPrice: eur('150.00'),
          amount: eur('450.00'),
          accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
        }),
        line({
          lineId: 'L3',
          taxCode: 'VAT-XX',
          accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
        }),
      ],
    });
    const refused = await rig.dialect.upsertPurchaseOrder(revision, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 400 });
    expect((refused as FinanceError).details).not.toHaveProperty('restored');
    const after = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    expect({ ...after, erpRef: undefined }).toEqual({ ...before, erpRef: undefined });
    expect(after).toMatchObject({ supplierId: 'SUP-1001', orderDate: today(), total: eur('400.00') });
  });

  it('says that a create answered in an unknown shape most likely took effect, and the order is there', async () => {
    const reference = 'coupa:PurchaseOrder:PO-7789:1';
    const unreadable = new UnreadableAnswer(
      rig.http,
      (request) => request.method === 'POST' && request.path.endsWith('/purchaseOrders'),
    );
    const dialect = createDialect('business-central', unreadable, {
      baseUrl: rig.sandbox.url,
      ...bcConnection('finsync/finance/v1.0')(rig.sandbox.url),
    });
    const error = await dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx).catch((e: unknown) => e);
    expect(unreadable.used).toBe(true);
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: false });
    expect((error as Error).message).toMatch(/shape this dialect does not know \(no id\)/);
    expect((error as Error).message).toMatch(/If this was the answer to a write, the write most likely took effect/);
    expect(await rig.dialect.findByReference('purchaseOrder', reference, ctx)).toBeDefined();
  });

  it('says so when an order cannot be put back after a refused change', async () => {
    const reference = 'coupa:PurchaseOrder:PO-7786:1';
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    // From the second line write of the change on (L1's PATCH passes, L3's POST is refused), BC refuses every
    // line write: L1's old quantity cannot be put back either.
    const dialect = createDialect('business-central', new RefusingLines(rig.http, 2), {
      baseUrl: rig.sandbox.url,
      ...bcConnection('finsync/finance/v1.0')(rig.sandbox.url),
    });
    const revision = purchaseOrder(reference, { supplierId: 'SUP-1002' });
    revision.lines = [
      { ...revision.lines[0], quantity: '3', amount: eur('450.00') },
      line({ lineId: 'L3', accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }] }),
    ];
    const refused = await dialect.upsertPurchaseOrder(revision, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 400, details: { restored: false } });
    expect((refused as Error).message).toMatch(/could not be put back .*check purchase order \d+ in Business Central/);
    // The vendor went back before the lines were tried.
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).supplierId).toBe('SUP-1001');
  });

  it('leaves a change cut off by a 503 part-way to its retry: nothing is put back, the error is thrown as it came', async () => {
    const reference = 'coupa:PurchaseOrder:PO-7787:1';
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    const unavailable = new FinanceError('ERP_UNAVAILABLE', 'ERP "bc" answered 503.', {
      httpStatus: 503,
      retryable: true,
    });
    const dialect = createDialect('business-central', new RefusingLines(rig.http, 1, () => unavailable), {
      baseUrl: rig.sandbox.url,
      ...bcConnection('finsync/finance/v1.0')(rig.sandbox.url),
    });
    const revision = purchaseOrder(reference, { supplierId: 'SUP-1002' });
    revision.lines[0] = { ...revision.lines[0], quantity: '3', amount: eur('450.00') };
    await expect(dialect.upsertPurchaseOrder(revision, ctx)).rejects.toBe(unavailable);
    // The line POST may have been applied: the retry of the whole change (same header, all lines) finishes it.
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).supplierId).toBe('SUP-1002');
    const retried = await rig.dialect.upsertPurchaseOrder(revision, ctx);
    expect(await rig.dialect.getPurchaseOrder(retried.documentId, ctx)).toMatchObject({
      supplierId: 'SUP-1002',
      total: eur('550.00'), // L1 now 3 x 150.00, L2 100.00
    });
  });

  it('cancels by deleting the unposted order with If-Match, and a second cancel still succeeds', async () => {
    const reference = 'coupa:PurchaseOrder:PO-7783:1';
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    const cancelled = await rig.dialect.cancelPurchaseOrder({ externalReference: reference }, ctx);
    expect(cancelled).toMatchObject({ documentId: created.documentId, status: 'cancelled' });
    const deletion = rig.http.exchanges.find(
      (e) => e.request.method === 'DELETE' && e.request.path.endsWith(`(${created.documentId})`),
    );
    expect(deletion?.request.ifMatch).toMatch(/^W\/"/);
    expect(await rig.dialect.findByReference('purchaseOrder', reference, ctx)).toBeNull();
    await expect(
      rig.dialect.cancelPurchaseOrder({ externalReference: reference, documentId: created.documentId }, ctx),
    ).resolves.toMatchObject({ status: 'cancelled' });
    await expect(rig.dialect.cancelPurchaseOrder({ externalReference: 'never-created' }, ctx)).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
    });
  });

  it('posts an expense as a journal once: lines, the post action, and found again by document number', async () => {
    const posting = {
      kind: 'journal' as const,
      externalReference: 'cloudevents:urn:finance-sync:samples:RPT-000123',
      employeeId: 'E1010',
      postingDate: today(),
      currency: 'EUR',
      lines: [
        {
          lineId: '1',
          amount: eur('120.50'),
          dimensions: { costCenter: 'CC-100', glAccount: '6000' },
          description: 'Train',
        },
        {
          lineId: '2',
          amount: eur('30.25'),
          dimensions: { costCenter: 'CC-100', glAccount: '6010', project: 'PRJ-2001' },
        },
      ],
    };
    const first = await rig.dialect.post(posting, ctx);
    expect(first).toMatchObject({ documentType: 'posting', status: 'posted' });
    expect(first.number).toHaveLength(20);
    const second = await rig.dialect.post(posting, ctx);
    expect(second.number).toBe(first.number);
    const company = [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
    const entries = company.generalLedgerEntries.filter((e) => e.documentNumber === first.number);
    expect(entries).toHaveLength(4); // two lines, each with its balancing entry
    expect(company.journalLines).toHaveLength(0);
    expect((await rig.dialect.findByReference('posting', posting.externalReference, ctx))?.number).toBe(first.number);
  });

  it('posts a payable as a purchase invoice once, keyed by vendorInvoiceNumber', async () => {
    const posting = {
      kind: 'payable' as const,
      externalReference: 'coupa:Invoice:INV-55:1',
      supplierId: 'SUP-1002',
      postingDate: today(),
      currency: 'EUR',
      lines: [{ lineId: '1', amount: eur('999.99'), dimensions: { costCenter: 'CC-300', glAccount: '6400' } }],
    };
    const first = await rig.dialect.post(posting, ctx);
    const second = await rig.dialect.post(posting, ctx);
    expect(second.documentId).toBe(first.documentId);
    expect(first.total).toEqual(eur('999.99'));
    const company = [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
    const invoices = [...company.purchaseInvoices.values()].filter(
      (i) => i.header.vendorInvoiceNumber === posting.externalReference.toUpperCase(),
    );
    expect(invoices.map((i) => i.header.status)).toEqual(['Open']);
  });

  describe('a payable found under its vendor invoice number', () => {
    let reference = 'concur:RPT-7000';
    beforeEach(() => {
      reference = reference.replace(/\d+$/, (n) => String(Number(n) + 1)); // the simulator keeps its invoices
    });
    const payable = (amount: string) => ({
      kind: 'payable' as const,
      externalReference: reference,
      supplierId: 'SUP-1002',
      postingDate: today(),
      currency: 'EUR',
      lines: [{ lineId: '1', amount: eur(amount), dimensions: { costCenter: 'CC-300', glAccount: '6400' } }],
    });
    /** Posts `posting` with BC's post action failing unsent: the invoice stays a draft, as after a cut-off attempt. */
    async function leaveDraft(posting: ReturnType<typeof payable>): Promise<void> {
      const failingPost: ErpHttp = {
        request: (request) =>
          request.path.endsWith('/Microsoft.NAV.post')
            ? Promise.reject(new FinanceError('ERP_TIMEOUT', 'no answer', { retryable: true }))
            : rig.http.request(request),
      };
      const dialect = createDialect('business-central', failingPost, {
        baseUrl: rig.sandbox.url,
        ...bcConnection('finsync/finance/v1.0')(rig.sandbox.url),
      });
      await expect(dialect.post(posting, ctx)).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    }
    const statuses = () =>
      [
        ...[...bcStoreOf(rig.sandbox.state).companies.values()]
          .find((c) => c.name === 'FS-DEMO')!
          .purchaseInvoices.values(),
      ]
        .filter((i) => i.header.vendorInvoiceNumber === reference.toUpperCase())
        .map((i) => i.header.status);

    it('a draft left by an earlier attempt is not taken for posted by the lookup; the write posts it', async () => {
      await leaveDraft(payable('120.00'));
      expect(await rig.dialect.findPosting!(payable('120.00'), ctx)).toBeNull();
      const posted = await rig.dialect.post(payable('120.00'), ctx);
      expect(posted).toMatchObject({ status: 'posted', total: eur('120.00') });
      expect(statuses()).toEqual(['Open']);
    });

    it('one with another total (an earlier version of the report) is ERP_CONFLICT, and a draft of it is not posted', async () => {
      await leaveDraft(payable('120.00'));
      const conflict = {
        code: 'ERP_CONFLICT',
        retryable: false,
        details: { held: eur('120.00'), expected: eur('180.00') },
      };
      await expect(rig.dialect.post(payable('180.00'), ctx)).rejects.toMatchObject(conflict);
      await expect(rig.dialect.findPosting!(payable('180.00'), ctx)).rejects.toMatchObject(conflict);
      expect(statuses()).toEqual(['Draft']);
      await rig.dialect.post(payable('120.00'), ctx);
      await expect(rig.dialect.findPosting!(payable('180.00'), ctx)).rejects.toThrow(
        /it totals 120.00 EUR, the posting 180.00 EUR/,
      );
    });
  });

  it('computes the budget from G/L budget entries minus actuals minus open purchase orders', async () => {
    const period = currentPeriod();
    const request = { costCenter: 'CC-500', glAccount: '6100', period, amount: eur('100.00') };
    const before = await rig.dialect.checkBudget(request, ctx);
    expect(before.status).toBe('within');
    await rig.dialect.post(
      {
        kind: 'journal',
        externalReference: 'budget-actual-1',
        postingDate: `${period}-02`,
        currency: 'EUR',
        lines: [{ lineId: '1', amount: eur('40.10'), dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
      },
      ctx,
    );
    await rig.dialect.upsertPurchaseOrder(
      purchaseOrder('budget-commitment-1', {
        orderDate: `${period}-03`,
        lines: [
          line({
            lineId: 'C1',
            quantity: '1',
            unitPrice: eur('9.90'),
            amount: eur('9.90'),
            accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
          }),
        ],
      }),
      ctx,
    );
    const after = await rig.dialect.checkBudget(request, ctx);
    expect(after.budget).toEqual(before.budget);
    expect(BigInt(after.actuals.amount.replace('.', '')) - BigInt(before.actuals.amount.replace('.', ''))).toBe(4010n);
    expect(BigInt(after.commitments.amount.replace('.', '')) - BigInt(before.commitments.amount.replace('.', ''))).toBe(
      990n,
    );
    expect(BigInt(before.available.amount.replace('.', '')) - BigInt(after.available.amount.replace('.', ''))).toBe(
      5000n,
    );
    const huge = await rig.dialect.checkBudget({ ...request, amount: eur('1000000.00') }, ctx);
    expect(huge.status).toBe('exceeded');
    await expect(rig.dialect.checkBudget({ ...request, costCenter: 'CC-999' }, ctx)).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
      details: { vendorCode: 'NO_BUDGET' },
    });
  });

  it('counts an open order in the budget for the quantity not invoiced yet', async () => {
    const period = currentPeriod();
    const request = { costCenter: 'CC-500', glAccount: '6100', period, amount: eur('1.00') };
    const committed = async () =>
      BigInt((await rig.dialect.checkBudget(request, ctx)).commitments.amount.replace('.', ''));
    const before = await committed();
    const created = await rig.dialect.upsertPurchaseOrder(
      purchaseOrder('budget-commitment-invoiced', {
        orderDate: `${period}-04`,
        lines: [
          line({
            lineId: 'C1',
            quantity: '3',
            unitPrice: eur('10.00'),
            amount: eur('30.00'),
            accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
          }),
        ],
      }),
      ctx,
    );
    expect(await committed()).toBe(before + 3000n);
    const company = [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
    const orderLine = company.purchaseOrders.get(created.documentId)!.lines[0];
    // One of three invoiced: its 10.00 is in the G/L through the posted invoice, so 20.00 is still committed.
    orderLine.invoicedQuantity = 1;
    expect(await committed()).toBe(before + 2000n);
    orderLine.invoicedQuantity = 3;
    expect(await committed()).toBe(before);
  });

  it('pages master data through @odata.nextLink with Prefer: odata.maxpagesize', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await rig.dialect.listMasterData('suppliers', { limit: 3, cursor }, ctx);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBeGreaterThan(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain('SUP-1009');
    const all = await rig.dialect.listMasterData('suppliers', {}, ctx);
    expect(all.items.map((item) => item.id)).toEqual(seen);
    expect(all.items.find((item) => item.id === 'SUP-1009')).toMatchObject({ status: 'blocked' });
    const costCenters = await rig.dialect.listMasterData('costCenters', {}, ctx);
    expect(costCenters.items.map((item) => item.id)).toEqual(expect.arrayContaining(['CC-100', 'CC-600']));
    expect(costCenters.items.map((item) => item.id)).not.toContain('PRJ-2001');
    const later = await rig.dialect.listMasterData('suppliers', { modifiedSince: '2999-01-01T00:00:00Z' }, ctx);
    expect(later.items).toEqual([]);
  });

  it("keeps BC's error code and message: a blocked vendor, an unknown account, and 429 with Retry-After", async () => {
    const blocked = rig.dialect.upsertPurchaseOrder(purchaseOrder('blocked-1', { supplierId: 'SUP-1009' }), ctx);
    await expect(blocked).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 400,
      details: { vendorCode: 'Application_DialogException' },
    });
    await expect(blocked).rejects.toThrow(/Vendor SUP-1009 is blocked/);
    const badAccount = purchaseOrder('bad-account-1', {
      lines: [line({ lineId: 'X', accountAssignments: [{ dimensions: { glAccount: '9999' } }] })],
    });
    await expect(rig.dialect.upsertPurchaseOrder(badAccount, ctx)).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      details: { vendorCode: 'Application_RecordNotFound' },
    });
    rig.sandbox.state.faults.configure({ errorRate: 1, errorStatus: 429, retryAfterSeconds: 7 });
    try {
      await expect(rig.dialect.listMasterData('employees', {}, ctx)).rejects.toMatchObject({
        code: 'ERP_RATE_LIMITED',
        retryable: true,
        retryAfterMs: 7000,
        details: { vendorCode: 'Application_TooManyRequests' },
      });
    } finally {
      rig.sandbox.state.faults.configure({});
    }
  });

  it('refuses a PO line without a G/L account or with a description BC cannot hold, before any call', async () => {
    const before = rig.http.exchanges.length;
    const noAccount = purchaseOrder('no-account', {
      lines: [line({ accountAssignments: [{ dimensions: { costCenter: 'CC-100' } }] })],
    });
    await expect(rig.dialect.upsertPurchaseOrder(noAccount, ctx)).rejects.toThrow(/G\/L account/);
    const long = purchaseOrder('long-text', { lines: [line({ description: 'x'.repeat(101) })] });
    await expect(rig.dialect.upsertPurchaseOrder(long, ctx)).rejects.toBeInstanceOf(FinanceError);
    expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);
  });
});

describe('Business Central dialect without the custom reference page', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(bcConnection());
  });
  afterAll(() => rig.close());

  it('uses the standard purchaseOrders of API v2.0 and cannot look a PO up by reference (the ledger guards)', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder('std-1'), ctx);
    const post = rig.http.exchanges.find((e) => e.request.method === 'POST');
    expect(post?.request.path).toMatch(/\/api\/v2\.0\/companies\([^)]+\)\/purchaseOrders$/);
    expect(post?.request.body).not.toHaveProperty('yourReference');
    expect(await rig.dialect.findByReference('purchaseOrder', 'std-1', ctx)).toBeNull();
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).externalReference).toBe('');
  });

  it('says which setting is missing', () => {
    const make = (options: Record<string, string>) => () =>
      createDialect('business-central', rig.http, { name: 'bc', company: 'FS-DEMO', options });
    expect(make({ tenant: 't' })).toThrow(/environment \(e\.g\. Production or Sandbox\) is required/);
    expect(make({ environment: 'Production' })).toThrow(/tenant/);
    expect(make({ tenant: 't', environment: 'P', referenceApi: 'nonsense' })).toThrow(/publisher/);
  });
});
