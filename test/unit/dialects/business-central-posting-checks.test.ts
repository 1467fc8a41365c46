/**
 * What Business Central already holds under a posting's number must be that posting, and what BC refuses
 * must reach a person with BC's words:
 * - a revision of a report (journal or purchase invoice) re-coded or re-split with the same total is
 *   ERP_CONFLICT naming what differs, never "posted" with the old document; the same lines still are;
 * - Code fields (document number, vendor invoice number) are upper case in BC, so a replay after BC refused
 *   the post (a date outside the allowed posting dates) finds its own waiting lines and posts once;
 * - an expense journal needs a balancing account unless its lines balance; BC refuses a document out of
 *   balance;
 * - a purchase invoice cancelled or corrected in BC, or pending approval, is not "posted";
 * - an expense report as a payable is owed to the employee's vendor; checks that refuse it before anything is
 *   written release the ledger's marker.
 */
import { createDialect, type ErpDialect, type PostingRequest } from '../../../lib/erp/dialect';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { postExpenseReport, POST_OPERATION } from '../../../lib/posting/post-expense';
import { documentLedgerKey } from '../../../lib/posting/idempotent-write';
import { ledgerKey, type FinanceStore } from '../../../lib/reliability/store';
import { bcStoreOf, guidOf, type BcCompany } from '../../../lib/sandbox/business-central/store';
import { approvedReport, storeFolder } from '../posting/fixtures';
import { ctx, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const BALANCING_ACCOUNT = '2910';

const CONFIG = {
  name: 'bc',
  dialect: 'business-central',
  company: 'FS-DEMO',
  auth: { type: 'none' as const },
  options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production' },
};

interface Line {
  amount: string;
  account: string;
  costCenter?: string;
}

function posting(kind: 'journal' | 'payable', externalReference: string, lines: Line[]): PostingRequest {
  return {
    kind,
    externalReference,
    employeeId: 'E1010',
    ...(kind === 'payable' ? { supplierId: 'SUP-1002' } : {}),
    postingDate: today(),
    currency: 'EUR',
    lines: lines.map((line, i) => ({
      lineId: String(i + 1),
      amount: eur(line.amount),
      dimensions: { glAccount: line.account, ...(line.costCenter ? { costCenter: line.costCenter } : {}) },
      description: `line ${i + 1}`,
    })),
  };
}

function demoCompany(rig: DialectRig): BcCompany {
  return [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
}

const companyPath = (company: BcCompany) =>
  `/v2.0/contoso.onmicrosoft.com/Production/api/v2.0/companies(${company.id})`;

describe('Business Central: a revision with the same total is not the posting BC holds', () => {
  let rig: DialectRig;
  let company: BcCompany;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    company = demoCompany(rig);
  });
  afterAll(() => rig.close());

  const entriesOf = (number: string) => company.generalLedgerEntries.filter((e) => e.documentNumber === number);
  const v1: Line[] = [
    { amount: '100.00', account: '6000', costCenter: 'CC-100' },
    { amount: '50.00', account: '6010', costCenter: 'CC-100' },
  ];

  it('journal: lines moved to another cost center and account are ERP_CONFLICT naming them; the same lines are posted', async () => {
    const first = await rig.dialect.post(posting('journal', 'ramp:rev-1', v1), ctx);
    expect(first).toMatchObject({ status: 'posted', number: 'RAMP:REV-1' });
    const booked = entriesOf('RAMP:REV-1').length;

    const recoded = posting('journal', 'ramp:rev-1', [{ amount: '150.00', account: '6020', costCenter: 'CC-200' }]);
    const refused = rig.dialect.post(recoded, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(refused).rejects.toThrow(
      /with the posting's total 150\.00 EUR, but not its lines: .*G\/L account 6020 with DEPARTMENT CC-200 holds 0\.00 EUR where the posting has 150\.00 EUR/,
    );
    await expect(rig.dialect.findPosting!(recoded, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    expect(entriesOf('RAMP:REV-1')).toHaveLength(booked);

    // The same version again is the posting BC holds.
    await expect(rig.dialect.post(posting('journal', 'ramp:rev-1', v1), ctx)).resolves.toMatchObject({
      status: 'posted',
      number: 'RAMP:REV-1',
    });
    expect(entriesOf('RAMP:REV-1')).toHaveLength(booked);
  });

  it('journal: a line moved to another expense account with the same cost center and amount is a difference', async () => {
    await rig.dialect.post(posting('journal', 'ramp:rev-2', v1), ctx);
    const moved = posting('journal', 'ramp:rev-2', [
      { amount: '100.00', account: '6000', costCenter: 'CC-100' },
      { amount: '50.00', account: '6000', costCenter: 'CC-100' },
    ]);
    const refused = rig.dialect.post(moved, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    await expect(refused).rejects.toThrow(/50\.00 EUR on G\/L account 6010 \(category Expense\)/);
  });

  it('journal: amounts shifted between lines (same accounts, same total) are a difference', async () => {
    await rig.dialect.post(posting('journal', 'ramp:rev-3', v1), ctx);
    const shifted = posting('journal', 'ramp:rev-3', [
      { amount: '90.00', account: '6000', costCenter: 'CC-100' },
      { amount: '60.00', account: '6010', costCenter: 'CC-100' },
    ]);
    await expect(rig.dialect.post(shifted, ctx)).rejects.toThrow(
      /G\/L account 6000 with DEPARTMENT CC-100 holds 100\.00 EUR where the posting has 90\.00 EUR/,
    );
  });

  it('journal: VAT that BC split out onto a balance sheet account still is this posting', async () => {
    const vat = posting('journal', 'ramp:rev-vat', [{ amount: '119.00', account: '6000', costCenter: 'CC-100' }]);
    await rig.dialect.post(vat, ctx);
    // As BC books a gross 119.00 with 19 % VAT: 100.00 on the expense account, 19.00 on an input VAT account.
    const accounts = company.master.get('accounts')!;
    accounts.push({ id: guidOf('account', company.name, '2500'), number: '2500', category: 'Liabilities' });
    const expense = entriesOf('RAMP:REV-VAT').find((e) => e.accountNumber === '6000')!;
    expense.debitAmount = 100;
    company.generalLedgerEntries.push({ ...expense, id: guidOf('vat', 'rev'), accountNumber: '2500', debitAmount: 19 });
    try {
      await expect(rig.dialect.post(vat, ctx)).resolves.toMatchObject({ status: 'posted', total: eur('119.00') });
      // ... but not with the gross moved to another cost center.
      const moved = posting('journal', 'ramp:rev-vat', [{ amount: '119.00', account: '6000', costCenter: 'CC-200' }]);
      await expect(rig.dialect.post(moved, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    } finally {
      accounts.pop();
    }
  });

  it('purchase invoice: a re-coded line with the same total is ERP_CONFLICT, as a draft and once posted', async () => {
    const first = posting('payable', 'ramp:rev-inv', v1);
    const recoded = posting('payable', 'ramp:rev-inv', [
      { amount: '100.00', account: '6000', costCenter: 'CC-100' },
      { amount: '50.00', account: '6020', costCenter: 'CC-100' },
    ]);
    // A draft of version 1 (an attempt cut off before BC's post action).
    const draft = await rig.http.request<{ id: string }>({
      method: 'POST',
      path: `${companyPath(company)}/purchaseInvoices`,
      body: {
        vendorNumber: 'SUP-1002',
        vendorInvoiceNumber: 'RAMP:REV-INV',
        pricesIncludeTax: true,
        purchaseInvoiceLines: first.lines.map((line) => ({
          lineType: 'Account',
          lineObjectNumber: line.dimensions.glAccount,
          quantity: 1,
          unitCost: Number(line.amount.amount),
          dimensionSetLines: [{ code: 'DEPARTMENT', valueCode: 'CC-100' }],
        })),
      },
    });
    const refused = rig.dialect.post(recoded, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(refused).rejects.toThrow(
      /draft purchase invoice .* not as this posting: no line of 50\.00 on G\/L account 6020 .*a line of 50 on G\/L account 6010 .*correct the draft/,
    );
    expect(company.purchaseInvoices.get(draft.data.id)!.header.status).toBe('Draft');

    await expect(rig.dialect.post(first, ctx)).resolves.toMatchObject({ status: 'posted', total: eur('150.00') });
    await expect(rig.dialect.findPosting!(recoded, ctx)).rejects.toThrow(/post this version by hand/);
    await expect(rig.dialect.findPosting!(first, ctx)).resolves.toMatchObject({ status: 'posted' });
  });
});

describe('Business Central: refusals at posting, replays, balancing and cancelled invoices', () => {
  const folder = storeFolder('bc-checks');
  let rig: DialectRig;
  let company: BcCompany;
  let store: FinanceStore;

  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    company = demoCompany(rig);
  });
  beforeEach(() => {
    store = folder.open(Date.now);
  });
  afterEach(() => bcStoreOf(rig.sandbox.state).setAllowedPostingDates({}));
  afterAll(async () => {
    await rig.close();
    await folder.cleanup();
  });

  /** A dialect of its own: the configured batch is read once per dialect. */
  const freshDialect = (): ErpDialect =>
    createDialect('business-central', rig.http, { ...CONFIG, baseUrl: rig.sandbox.url });
  const input = (document: unknown) => ({
    document,
    approval: { state: 'approved' },
    correlationId: 'corr-bc',
    now: new Date(),
  });

  it("a post outside the allowed posting dates reaches the caller as ERP_REJECTED with BC's text; the replay posts once", async () => {
    // A settle wait as in production: a replay must not need one after a refusal.
    const writer = new LedgerWriter(store, { ownerPrefix: 'bc', settleAfterMs: 60_000 });
    const report = approvedReport({ sourceRef: { system: 'ramp', id: 'tx-2', version: 1 } }); // dated 2026-03-10
    const settings = { kind: 'journal' as const, postingDate: 'document' as const, requireApproval: true };
    bcStoreOf(rig.sandbox.state).setAllowedPostingDates({ from: '2026-04-01' });

    const refused = await postExpenseReport(writer, rig.dialect, input(report), settings);
    expect(refused).toMatchObject({ outcome: 'refused', error: { code: 'ERP_REJECTED', httpStatus: 400 } });
    if (refused.outcome !== 'refused') throw new Error('expected a refusal');
    expect(refused.error.message).toContain('The Posting Date is not within your range of allowed posting dates');
    const documentNumber = company.journalLines.map((line) => String(line.documentNumber));
    expect(documentNumber).toHaveLength(2); // BC keeps the inserted lines, upper-cased
    expect(documentNumber[1]).toBe(documentNumber[0]);
    expect(documentNumber[0]).toBe(documentNumber[0].toUpperCase());

    // The period opens; the replay takes the waiting lines as its own and posts them, once.
    bcStoreOf(rig.sandbox.state).setAllowedPostingDates({ from: '2026-03-01' });
    const linePostsBefore = rig.http.exchanges.filter(
      (e) => e.request.method === 'POST' && e.request.path.endsWith('/journalLines'),
    ).length;
    const replay = await postExpenseReport(writer, rig.dialect, input(report), settings);
    expect(replay).toMatchObject({ outcome: 'posted', via: 'written' });
    expect(
      rig.http.exchanges.filter((e) => e.request.method === 'POST' && e.request.path.endsWith('/journalLines')).length,
    ).toBe(linePostsBefore);
    const entries = company.generalLedgerEntries.filter((e) => e.documentNumber === documentNumber[0]);
    expect(entries.filter((e) => e.accountNumber !== BALANCING_ACCOUNT).map((e) => e.debitAmount)).toEqual([240, 35.5]);
    expect(company.journalLines).toEqual([]);
    expect(await postExpenseReport(writer, rig.dialect, input(report), settings)).toMatchObject({ via: 'duplicate' });
  });

  it('a purchase invoice dated outside the allowed posting dates stays a draft, and is posted once allowed', async () => {
    bcStoreOf(rig.sandbox.state).setAllowedPostingDates({ to: '2020-12-31' });
    const payable = posting('payable', 'ramp:closed-inv', [{ amount: '20.00', account: '6400' }]);
    await expect(rig.dialect.post(payable, ctx)).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 400,
      message: expect.stringContaining('not within your range of allowed posting dates'),
    });
    bcStoreOf(rig.sandbox.state).setAllowedPostingDates({});
    await expect(rig.dialect.post(payable, ctx)).resolves.toMatchObject({ status: 'posted' });
    const invoices = [...company.purchaseInvoices.values()].filter(
      (i) => i.header.vendorInvoiceNumber === 'RAMP:CLOSED-INV',
    );
    expect(invoices.map((i) => i.header.status)).toEqual(['Open']);
  });

  it('refuses an expense journal without a balancing account before writing, unless its lines balance', async () => {
    const expenses = company.journals.get(company.journalId)!;
    const original = { ...expenses };
    Object.assign(expenses, { balancingAccountId: '00000000-0000-0000-0000-000000000000', balancingAccountNumber: '' });
    try {
      const before = rig.http.exchanges.length;
      const refused = freshDialect().post(
        posting('journal', 'ramp:no-bal', [{ amount: '40.00', account: '6000' }]),
        ctx,
      );
      await expect(refused).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        retryable: false,
        details: { journal: 'EXPENSES', written: false },
      });
      await expect(refused).rejects.toThrow(
        /batch EXPENSES has no balancing account, .*refuses a document out of balance\. Set a G\/L account .* as its balancing account/,
      );
      expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);

      // A posting whose own lines balance (a reclassification) needs none.
      const balanced = posting('journal', 'ramp:bal', [
        { amount: '25.00', account: '6000' },
        { amount: '-25.00', account: '6010' },
      ]);
      await expect(freshDialect().post(balanced, ctx)).resolves.toMatchObject({ status: 'posted' });
    } finally {
      Object.assign(expenses, original);
    }
  });

  it('the simulator refuses to post a document out of balance, as BC does', async () => {
    const path = `${companyPath(company)}/journals`;
    const batch = await rig.http.request<{ id: string }>({
      method: 'POST',
      path,
      body: { code: 'NOBAL', displayName: 'no balancing account' },
    });
    await rig.http.request({
      method: 'POST',
      path: `${path}(${batch.data.id})/journalLines`,
      body: { accountNumber: '6000', documentNumber: 'ramp:one-sided', amount: 40, postingDate: today() },
    });
    const lines = await rig.http.request<{ value: Array<{ documentNumber: string }> }>({
      method: 'GET',
      path: `${path}(${batch.data.id})/journalLines`,
    });
    expect(lines.data.value.map((line) => line.documentNumber)).toEqual(['RAMP:ONE-SIDED']);
    await expect(
      rig.http.request({ method: 'POST', path: `${path}(${batch.data.id})/Microsoft.NAV.post` }),
    ).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      message: expect.stringContaining('Document No. RAMP:ONE-SIDED is out of balance by 40'),
    });
    expect(company.generalLedgerEntries.filter((e) => e.documentNumber === 'RAMP:ONE-SIDED')).toEqual([]);
  });

  it('a purchase invoice cancelled or corrected in BC, or pending approval, is not "posted"', async () => {
    const payable = posting('payable', 'ramp:cancel-1', [{ amount: '70.00', account: '6400' }]);
    const posted = await rig.dialect.post(payable, ctx);
    const invoice = company.purchaseInvoices.get(posted.documentId)!;
    for (const status of ['Canceled', 'Corrective']) {
      invoice.header.status = status;
      const refused = rig.dialect.post(payable, ctx);
      await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false, details: { status } });
      await expect(refused).rejects.toThrow(/(cancelled|corrected) in Business Central .*Post the report by hand/);
      await expect(rig.dialect.findPosting!(payable, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    }
    invoice.header.status = 'In_x0020_Review';
    await expect(rig.dialect.post(payable, ctx)).rejects.toThrow(/pending approval/);
    expect(
      [...company.purchaseInvoices.values()].filter((i) => i.header.vendorInvoiceNumber === 'RAMP:CANCEL-1'),
    ).toHaveLength(1);
    invoice.header.status = 'Open';
  });

  it("posts an expense report as a payable to the employee's vendor; without one, releases the ledger marker", async () => {
    const writer = new LedgerWriter(store, { ownerPrefix: 'bc', settleAfterMs: 60_000 });
    const report = approvedReport({ sourceRef: { system: 'ramp', id: 'tx-pay', version: 1 } }); // employee E1011
    const settings = { kind: 'payable' as const, postingDate: 'today' as const, requireApproval: true };
    const key = ledgerKey(documentLedgerKey(report, POST_OPERATION));
    for (let attempt = 0; attempt < 2; attempt += 1) {
      // The second attempt meets the same refusal, not "ended without an answer ... may still be applying it".
      const failed = postExpenseReport(writer, rig.dialect, input(report), settings);
      await expect(failed).rejects.toMatchObject({
        code: 'ERP_REJECTED',
        details: { vendorCode: 'NO_EMPLOYEE_VENDOR', written: false },
      });
      await expect(failed).rejects.toThrow(/has no vendor E1011 for employee E1011/);
      expect(await store.ledgerGet(key)).toBeUndefined();
    }
    const vendors = company.master.get('vendors')!;
    vendors.push({
      id: guidOf('vendor', company.name, 'E1011'),
      number: 'E1011',
      displayName: 'Employee E1011',
      blocked: '_x0020_',
    });
    try {
      await expect(postExpenseReport(writer, rig.dialect, input(report), settings)).resolves.toMatchObject({
        outcome: 'posted',
        erp: { documentType: 'payable', status: 'posted' },
      });
      const invoices = [...company.purchaseInvoices.values()].filter((i) => i.header.vendorNumber === 'E1011');
      expect(invoices).toHaveLength(1);
    } finally {
      vendors.pop();
    }
  });
});
