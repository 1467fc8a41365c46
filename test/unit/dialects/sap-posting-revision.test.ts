/**
 * SAP supplier invoices against the SAP simulator, beyond the totals: a revision whose G/L items differ from the
 * invoice SAP holds under the Reference (same total, other accounts or cost centers) is an ERP_CONFLICT naming
 * what differs, never "posted"; DocumentDate is the document's own date, PostingDate the posting date; and a
 * posting period that is not open is refused as SAP does (F5/201), reaching the caller as ERP_REJECTED with
 * SAP's message, after which the replay posts once when the period is open.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect, type PostingRequest } from '../../../lib/erp/dialect';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { postExpenseReport } from '../../../lib/posting/post-expense';
import { sapStoreOf } from '../../../lib/sandbox/sap/api';
import { approvedReport, storeFolder } from '../posting/fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';
import { sapConnection } from './sap-fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

function posting(reference: string, lines: Array<[string, string, string]>): PostingRequest {
  return {
    kind: 'journal',
    externalReference: reference,
    employeeId: 'E1017',
    postingDate: '2026-03-10',
    currency: 'EUR',
    lines: lines.map(([amount, costCenter, glAccount], i) => ({
      lineId: String(i + 1),
      amount: eur(amount),
      dimensions: { costCenter, glAccount },
      description: `line ${i + 1}`,
    })),
  };
}

/** Passes requests on; answers G/L accounts of supplier invoice items with SAP's leading zeros (ALPHA). */
class AlphaAccounts implements ErpHttp {
  constructor(private readonly inner: ErpHttp) {}
  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const response = await this.inner.request<T>(request);
    const results = (response.data as { d?: { results?: Array<Record<string, any>> } } | undefined)?.d?.results;
    for (const invoice of results ?? []) {
      for (const item of invoice.to_SupplierInvoiceItemGLAcct?.results ?? []) {
        item.GLAccount = String(item.GLAccount).padStart(10, '0');
      }
    }
    return response;
  }
}

/** Passes requests on; answers supplier invoices without their G/L items, as a service without the navigation. */
class NoItems implements ErpHttp {
  constructor(private readonly inner: ErpHttp) {}
  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const response = await this.inner.request<T>(request);
    const results = (response.data as { d?: { results?: Array<Record<string, any>> } } | undefined)?.d?.results;
    for (const invoice of results ?? []) delete invoice.to_SupplierInvoiceItemGLAcct;
    return response;
  }
}

describe('SAP supplier invoices: lines, dates and posting periods', () => {
  let rig: DialectRig;
  const folder = storeFolder('sap-posting-revision');
  beforeAll(async () => {
    rig = await startDialectRig(sapConnection());
  });
  afterAll(async () => {
    await rig.close();
    await folder.cleanup();
  });
  const company = () => rig.sandbox.state.companies.get('FS-DEMO')!;
  const posts = () =>
    rig.http.exchanges.filter((e) => e.request.method === 'POST' && e.request.path.endsWith('/A_SupplierInvoice'));

  it('refuses a revision with the same total but other G/L items, naming what differs', async () => {
    const v1 = posting('concur:RPT-RECODE', [
      ['100.00', 'CC-400', '6000'],
      ['50.00', 'CC-400', '6010'],
    ]);
    const v2 = posting('concur:RPT-RECODE', [['150.00', 'CC-100', '6020']]);
    const posted = await rig.dialect.post(v1, ctx);
    const before = posts().length;
    const refused = await rig.dialect.post(v2, { ...ctx, idempotencyKey: 'v2' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: {
        supplierInvoice: posted.documentId,
        booked: eur('150.00'),
        expected: eur('150.00'),
        differences: expect.arrayContaining([
          { glAccount: '6000', costCenter: 'CC-400', booked: eur('100.00'), expected: null },
          { glAccount: '6010', costCenter: 'CC-400', booked: eur('50.00'), expected: null },
          { glAccount: '6020', costCenter: 'CC-100', booked: null, expected: eur('150.00') },
        ]),
      },
    });
    expect((refused as Error).message).toContain(
      'G/L account 6000, cost center CC-400: 100.00 EUR in SAP, none in this posting',
    );
    expect((refused as Error).message).toContain(
      'G/L account 6020, cost center CC-100: none in SAP, 150.00 EUR in this posting',
    );
    expect((refused as Error).message).toMatch(/Nothing was posted\. Do not retry/);
    expect(posts().length).toBe(before);
    // The lookup read the invoice's G/L items.
    const lookup = rig.http.exchanges
      .filter((e) => e.request.method === 'GET' && e.request.path.endsWith('/A_SupplierInvoice'))
      .at(-1);
    expect(lookup?.request.query).toMatchObject({ $expand: 'to_SupplierInvoiceItemGLAcct' });
    // The ledger's lookup says the same; the version SAP holds is found.
    await expect(rig.dialect.findPosting!(v2, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    expect(await rig.dialect.findPosting!(v1, ctx)).toMatchObject({ number: posted.number });
  });

  it('a moved amount between two cost centers is a conflict too', async () => {
    const v1 = posting('concur:RPT-MOVE', [
      ['100.00', 'CC-400', '6000'],
      ['50.00', 'CC-100', '6000'],
    ]);
    const v2 = posting('concur:RPT-MOVE', [
      ['90.00', 'CC-400', '6000'],
      ['60.00', 'CC-100', '6000'],
    ]);
    await rig.dialect.post(v1, ctx);
    await expect(rig.dialect.post(v2, ctx)).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      message: expect.stringContaining(
        'G/L account 6000, cost center CC-400: 100.00 EUR in SAP, 90.00 EUR in this posting',
      ),
    });
  });

  it('the same lines and total are the posting SAP holds, also split differently or answered with leading zeros', async () => {
    const v1 = posting('concur:RPT-SAME', [
      ['100.00', 'CC-400', '6000'],
      ['50.00', 'CC-400', '6010'],
    ]);
    const posted = await rig.dialect.post(v1, ctx);
    const before = posts().length;
    const split = posting('concur:RPT-SAME', [
      ['60.00', 'CC-400', '6000'],
      ['50.00', 'CC-400', '6010'],
      ['40.00', 'CC-400', '6000'],
    ]);
    expect(await rig.dialect.post(split, ctx)).toMatchObject({ documentId: posted.documentId, status: 'posted' });
    const alpha = createDialect('sap', new AlphaAccounts(rig.http), {
      ...sapConnection()(),
      baseUrl: rig.sandbox.url,
    });
    expect(await alpha.post(v1, ctx)).toMatchObject({ documentId: posted.documentId });
    expect(posts().length).toBe(before);
  });

  it('does not take an invoice whose G/L items it cannot read for this posting', async () => {
    const v1 = posting('concur:RPT-NOITEMS', [['30.00', 'CC-400', '6000']]);
    await rig.dialect.post(v1, ctx);
    const blind = createDialect('sap', new NoItems(rig.http), { ...sapConnection()(), baseUrl: rig.sandbox.url });
    await expect(blind.post(v1, ctx)).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      message: expect.stringContaining('cannot tell whether that invoice is this posting'),
    });
  });

  it('sends the document date as DocumentDate and the posting date as PostingDate', async () => {
    const dated = { ...posting('concur:RPT-DATES', [['20.00', 'CC-400', '6000']]), documentDate: '2026-03-02' };
    await rig.dialect.post(dated, ctx);
    expect(posts().at(-1)?.request.body).toMatchObject({
      DocumentDate: `/Date(${Date.parse('2026-03-02T00:00:00Z')})/`,
      PostingDate: `/Date(${Date.parse('2026-03-10T00:00:00Z')})/`,
    });
    // Without a document date (what lib/posting sends today), both are the posting date.
    await rig.dialect.post(posting('concur:RPT-NODATE', [['20.00', 'CC-400', '6000']]), ctx);
    expect(posts().at(-1)?.request.body).toMatchObject({
      DocumentDate: `/Date(${Date.parse('2026-03-10T00:00:00Z')})/`,
      PostingDate: `/Date(${Date.parse('2026-03-10T00:00:00Z')})/`,
    });
  });

  it("refuses a posting period that is not open with SAP's F5/201, as ERP_REJECTED", async () => {
    const closed = await fetch(`${rig.sandbox.url}/_sandbox/companies/FS-DEMO/posting-periods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '2026-04', to: '2026-05' }),
    });
    expect(closed.status).toBe(200);
    try {
      const refused = await rig.dialect
        .post(posting('concur:RPT-CLOSED', [['20.00', 'CC-400', '6000']]), ctx)
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'ERP_REJECTED',
        httpStatus: 400,
        details: {
          erpMessages: [{ code: 'F5/201', severity: 'error', text: 'Posting period 003 2026 is not open' }],
        },
      });
      expect((refused as Error).message).toContain('Posting period 003 2026 is not open');
      // The open period posts.
      const open = { ...posting('concur:RPT-OPEN', [['20.00', 'CC-400', '6000']]), postingDate: '2026-04-01' };
      await expect(rig.dialect.post(open, ctx)).resolves.toMatchObject({ status: 'posted' });
    } finally {
      company().openPostingPeriods();
    }
  });

  it('the refusal reaches postExpenseReport as ERP_REJECTED; the replay after the period is opened posts once', async () => {
    const writer = new LedgerWriter(folder.open(Date.now), { ownerPrefix: 'test', settleAfterMs: 0 });
    const settings = { kind: 'journal' as const, postingDate: 'document' as const, requireApproval: false };
    const report = approvedReport({
      sourceRef: { system: 'concur', id: 'RPT-PERIOD', version: 1 },
      reportId: 'RPT-PERIOD',
      employeeId: 'E1017',
      submittedAt: '2026-03-10T12:00:00Z',
    });
    const input = (correlationId: string) => ({
      document: report,
      approval: undefined,
      correlationId,
      now: new Date(),
    });
    const invoices = () =>
      [...sapStoreOf(rig.sandbox.state).invoices.values()].filter((i) => i.InvoicingParty === 'E1017').length;
    const before = invoices();
    company().openPostingPeriods({ from: '2026-11', to: '2026-12' });
    try {
      const first = await postExpenseReport(writer, rig.dialect, input('c1'), settings);
      expect(first).toMatchObject({ outcome: 'refused', error: { code: 'ERP_REJECTED', httpStatus: 400 } });
      expect(first.outcome === 'refused' && first.error.message).toContain('Posting period 003 2026 is not open');
      expect(invoices()).toBe(before);
      company().openPostingPeriods({ from: '2026-03', to: '2026-12' });
      const replay = await postExpenseReport(writer, rig.dialect, input('c2'), settings);
      expect(replay).toMatchObject({ outcome: 'posted', via: 'written', erp: { httpStatus: 201 } });
      const again = await postExpenseReport(writer, rig.dialect, input('c3'), settings);
      expect(again).toMatchObject({ outcome: 'posted', via: 'duplicate' });
      expect(invoices()).toBe(before + 1);
    } finally {
      company().openPostingPeriods();
    }
  });
});
