/**
 * Business Central postings that must never book part of a document, a changed amount or the wrong currency:
 * - a journal goes through a batch of its own, so `Microsoft.NAV.post` (which posts the whole batch) cannot
 *   book another report's leftover lines, and a retry inserts only the lines an earlier attempt did not;
 * - a journal found in the G/L with another total than the posting is an error for a person, not "posted";
 * - amounts and quantities beyond the 15 digits a JSON number carries are refused before anything is sent;
 * - journals and budget checks in a currency other than the company's local currency are refused, because
 *   BC books journal lines and keeps budgets in that currency only.
 */
import { createDialect, type ErpDialect, type PostingRequest } from '../../../lib/erp/dialect';
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { FinanceError } from '../../../lib/errors';
import type { PurchaseOrder } from '../../../lib/model/types';
import { bcStoreOf, type BcCompany } from '../../../lib/sandbox/business-central/store';
import { line } from '../purchasing/fixtures';
import { ctx, currentPeriod, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const BALANCING_ACCOUNT = '2910';

const CONFIG = {
  name: 'bc',
  dialect: 'business-central',
  company: 'FS-DEMO',
  auth: { type: 'none' as const },
  options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production' },
};

/** Lets requests through, except the ones a rule picks: those fail with a 503 before reaching the ERP. */
class FailingHttp implements ErpHttp {
  readonly rules: Array<{ matches: (request: ErpRequest) => boolean; nth: number; seen: number }> = [];
  readonly sent: ErpRequest[] = [];
  constructor(private readonly inner: ErpHttp) {}

  failNth(nth: number, matches: (request: ErpRequest) => boolean): void {
    this.rules.push({ matches, nth, seen: 0 });
  }

  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    for (const rule of this.rules) {
      if (!rule.matches(request)) continue;
      rule.seen += 1;
      if (rule.seen === rule.nth) {
        throw new FinanceError('ERP_UNAVAILABLE', 'injected 503 before the ERP', { httpStatus: 503, retryable: true });
      }
    }
    this.sent.push(request);
    return this.inner.request<T>(request);
  }
}

/** The simulator's company FS-DEMO, whose journals and G/L the tests look at directly. */
function demoCompany(rig: DialectRig): BcCompany {
  return [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
}

/** The API path of `company` on the simulator, for requests made around the dialect. */
const companyPath = (company: BcCompany) =>
  `/v2.0/contoso.onmicrosoft.com/Production/api/v2.0/companies(${company.id})`;

const isLinePost = (request: ErpRequest) => request.method === 'POST' && request.path.endsWith('/journalLines');

function journal(externalReference: string, amounts: string[], accounts = ['6000', '6010', '6020']): PostingRequest {
  return {
    kind: 'journal',
    externalReference,
    employeeId: 'E1010',
    postingDate: today(),
    currency: 'EUR',
    lines: amounts.map((amount, i) => ({
      lineId: String(i + 1),
      amount: eur(amount),
      dimensions: { costCenter: 'CC-100', glAccount: accounts[i % accounts.length] },
      description: `line ${i + 1}`,
    })),
  };
}

describe('Business Central journal postings: whole documents only', () => {
  let rig: DialectRig;
  let http: FailingHttp;
  let dialect: ErpDialect;
  let company: BcCompany;

  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    company = demoCompany(rig);
  });
  afterAll(() => rig.close());
  beforeEach(() => {
    http = new FailingHttp(rig.http);
    dialect = createDialect('business-central', http, { ...CONFIG, baseUrl: rig.sandbox.url });
  });

  /** What the G/L booked for a document on its expense accounts (without the balancing entries), in cents. */
  function bookedCents(documentNumber: string): bigint {
    return (
      company.generalLedgerEntries
        // BC keeps the document number (a Code field) in upper case.
        .filter((e) => e.documentNumber === documentNumber.toUpperCase() && e.accountNumber !== BALANCING_ACCOUNT)
        .reduce((sum, e) => sum + cents(e.debitAmount) - cents(e.creditAmount), 0n)
    );
  }

  it('inserts only the missing lines when a retry finds some of them waiting, and posts all of them', async () => {
    const posting = journal('concur:RPT-7001', ['120.50', '30.25', '500.00']);
    http.failNth(2, isLinePost);
    await expect(dialect.post(posting, ctx)).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true });
    expect(bookedCents('concur:RPT-7001')).toBe(0n);

    // The ledger's retry: the lookup finds nothing, so it writes again.
    expect(await dialect.findByReference('posting', posting.externalReference, ctx)).toBeNull();
    const before = http.sent.length;
    const posted = await dialect.post(posting, ctx);
    expect(posted).toMatchObject({ status: 'posted', total: eur('650.75') });
    expect(bookedCents('concur:RPT-7001')).toBe(65075n);
    expect(http.sent.slice(before).filter(isLinePost)).toHaveLength(2);
    expect(company.journalLines).toEqual([]);
  });

  it("never posts another report's leftover lines with its own (one batch per posting)", async () => {
    const a = journal('concur:RPT-A', ['100.00', '200.00', '300.00']);
    const b = journal('concur:RPT-B', ['50.00']);
    http.failNth(2, isLinePost);
    await expect(dialect.post(a, ctx)).rejects.toMatchObject({ retryable: true });
    await expect(dialect.post(b, ctx)).resolves.toMatchObject({ total: eur('50.00') });
    expect(bookedCents('concur:RPT-B')).toBe(5000n);
    expect(bookedCents('concur:RPT-A')).toBe(0n);
    expect(await dialect.findByReference('posting', a.externalReference, ctx)).toBeNull();

    await expect(dialect.post(a, ctx)).resolves.toMatchObject({ total: eur('600.00') });
    expect(bookedCents('concur:RPT-A')).toBe(60000n);
    // The posting's own batches are removed once posted; the configured batch stays.
    expect([...company.journals.values()].map((j) => j.code)).toEqual(['EXPENSES']);
  });

  it('refuses, before writing, a configured batch that balances to an account API v2.0 gives no G/L id', async () => {
    const expenses = company.journals.get(company.journalId)!;
    const original = { ...expenses };
    // A bank account as the balancing account: BC shows its number, but balancingAccountId is a G/L account's.
    Object.assign(expenses, {
      balancingAccountId: '00000000-0000-0000-0000-000000000000',
      balancingAccountNumber: 'BANK-01',
    });
    try {
      const before = http.sent.length;
      const refused = dialect.post(journal('concur:RPT-BANK', ['10.00']), ctx);
      await expect(refused).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        retryable: false,
        details: { journal: 'EXPENSES', balancingAccountNumber: 'BANK-01' },
      });
      await expect(refused).rejects.toThrow(/balances to account BANK-01, which is not a G\/L account/);
      expect(http.sent.slice(before).filter((request) => request.method !== 'GET')).toEqual([]);
      expect(bookedCents('concur:RPT-BANK')).toBe(0n);
    } finally {
      Object.assign(expenses, original);
    }
  });

  it('reports a journal posted in part as an error for a person, and the lookup carries its total', async () => {
    const posting = journal('concur:RPT-PART', ['100.00', '200.00']);
    http.failNth(2, isLinePost);
    await expect(dialect.post(posting, ctx)).rejects.toMatchObject({ retryable: true });
    // Someone posts the half-filled batch in Business Central.
    const batch = [...company.journals.values()].find((j) => j.code !== 'EXPENSES')!;
    await rig.http.request({
      method: 'POST',
      path: `${companyPath(company)}/journals(${batch.id})/Microsoft.NAV.post`,
    });
    expect(bookedCents('concur:RPT-PART')).toBe(10000n);

    const again = dialect.post(posting, ctx);
    await expect(again).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(again).rejects.toThrow(/total 100\.00 EUR, but the posting totals 300\.00 EUR: it was posted in part/);
    expect(bookedCents('concur:RPT-PART')).toBe(10000n);
    expect(await dialect.findByReference('posting', posting.externalReference, ctx)).toMatchObject({
      total: eur('100.00'),
    });
    // The ledger's lookup after a crash (findPosting) says the same, rather than "found".
    await expect(dialect.findPosting!(posting, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    const whole = journal('concur:RPT-WHOLE', ['10.00']);
    await dialect.post(whole, ctx);
    expect(await dialect.findPosting!(whole, ctx)).toMatchObject({ status: 'posted', total: eur('10.00') });
  });

  it('takes a waiting line to which Business Central added a default dimension for the line it is', async () => {
    const posting = journal('concur:RPT-DIM', ['25.00', '75.00']);
    http.failNth(2, isLinePost);
    await expect(dialect.post(posting, ctx)).rejects.toMatchObject({ retryable: true });
    // BC applies the G/L account's default dimensions to the line it inserted.
    const waiting = company.journalLines.find((l) => l.documentNumber === 'CONCUR:RPT-DIM')!;
    const dimensions = company.journalLineDimensions.get(String(waiting.id)) ?? [];
    company.journalLineDimensions.set(String(waiting.id), [
      ...dimensions,
      { id: 'default-dim', code: 'AREA', valueCode: '30' },
    ]);
    await expect(dialect.post(posting, ctx)).resolves.toMatchObject({ total: eur('100.00') });
    expect(bookedCents('concur:RPT-DIM')).toBe(10000n);
  });

  it('does not take a waiting line with another tax code for a line of the posting', async () => {
    const withTax = (taxCode: string) => {
      const posting = journal('concur:RPT-TAX', ['119.00', '20.00']);
      posting.lines[0].taxCode = taxCode;
      return posting;
    };
    http.failNth(2, isLinePost);
    await expect(dialect.post(withTax('DE-19'), ctx)).rejects.toMatchObject({ retryable: true });
    // The tax code was corrected before the retry: posting the waiting DE-19 line would book the wrong VAT.
    const refused = dialect.post(withTax('DE-7'), ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    expect(bookedCents('concur:RPT-TAX')).toBe(0n);
  });

  it('refuses to post a batch holding a line that is not part of the posting', async () => {
    const first = journal('concur:RPT-CHG', ['10.00', '20.00']);
    http.failNth(2, isLinePost);
    await expect(dialect.post(first, ctx)).rejects.toMatchObject({ retryable: true });
    // The report changed before the retry: the waiting 10.00 line is no line of it any more.
    const changed = journal('concur:RPT-CHG', ['11.00', '20.00']);
    const refused = dialect.post(changed, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(refused).rejects.toThrow(/holds 1 line\(s\) that are not part of document CONCUR:RPT-CHG/);
    expect(bookedCents('concur:RPT-CHG')).toBe(0n);
  });
});

describe('Business Central journal postings after an upgrade', () => {
  let rig: DialectRig;
  let company: BcCompany;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    company = demoCompany(rig);
  });
  afterAll(() => rig.close());

  it("stops for a person when the report's lines wait in the shared batch, where an earlier version put them", async () => {
    const expenses = [...company.journals.values()].find((j) => j.code === 'EXPENSES')!;
    await rig.http.request({
      method: 'POST',
      path: `${companyPath(company)}/journals(${expenses.id})/journalLines`,
      body: {
        accountType: 'G_x002F_L_x0020_Account',
        accountNumber: '6000',
        postingDate: today(),
        documentNumber: 'concur:RPT-OLD',
        amount: 40,
        description: 'line 1',
      },
    });
    const before = rig.http.exchanges.length;
    const refused = rig.dialect.post(journal('concur:RPT-OLD', ['40.00', '60.00']), ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(refused).rejects.toThrow(
      /1 line\(s\) of document CONCUR:RPT-OLD wait in the general journal batch EXPENSES.*Nothing was posted/,
    );
    expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);
    expect(company.generalLedgerEntries.filter((e) => e.documentNumber === 'CONCUR:RPT-OLD')).toEqual([]);
  });

  it('reads the configured batch once per connection, not on every posting', async () => {
    const before = rig.http.exchanges.length;
    await rig.dialect.post(journal('concur:RPT-C1', ['1.00']), ctx);
    await rig.dialect.post(journal('concur:RPT-C2', ['2.00']), ctx);
    const readsOfExpenses = rig.http.exchanges
      .slice(before)
      .filter((e) => e.request.method === 'GET' && /code eq 'EXPENSES'/.test(JSON.stringify(e.request.query ?? {})));
    expect(readsOfExpenses.length).toBeLessThanOrEqual(1);
  });
});

describe('Business Central amounts and currencies', () => {
  let rig: DialectRig;
  let company: BcCompany;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    company = demoCompany(rig);
  });
  afterAll(() => rig.close());

  const writes = (from: number) => rig.http.exchanges.slice(from).filter((e) => e.request.method !== 'GET');

  it('refuses an amount a JSON number cannot carry exactly, before anything is written', async () => {
    const huge = '90071992547409.93'; // Number() would make it ...09.94
    const one = [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }];
    const before = rig.http.exchanges.length;
    await expect(rig.dialect.post(journal('huge-journal', [huge]), ctx)).rejects.toMatchObject({
      code: 'INVALID_AMOUNT',
    });
    await expect(
      rig.dialect.post({ ...journal('huge-payable', [huge]), kind: 'payable', supplierId: 'SUP-1002' }, ctx),
    ).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
    const po: PurchaseOrder = {
      docType: 'PurchaseOrder',
      sourceRef: { system: 'coupa', id: 'huge-po', version: 1 },
      externalReference: 'huge-po',
      supplierId: 'SUP-1001',
      orderDate: today(),
      currency: 'EUR',
      total: eur(huge),
      lines: [line({ lineId: 'L1', quantity: '1', unitPrice: eur(huge), amount: eur(huge), accountAssignments: one })],
    };
    await expect(rig.dialect.upsertPurchaseOrder(po, ctx)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
    const manyDigits = {
      ...po,
      lines: [line({ lineId: 'L1', quantity: '1.0000000000000001', accountAssignments: one })],
    };
    await expect(rig.dialect.upsertPurchaseOrder(manyDigits, ctx)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
    expect(writes(before)).toEqual([]);
  });

  it('refuses a journal in another currency than the local one: BC would book it as local currency', async () => {
    const before = rig.http.exchanges.length;
    const usd = journal('usd-journal', ['100.00']);
    usd.currency = 'USD';
    usd.lines[0].amount = { amount: '100.00', currency: 'USD' };
    const refused = rig.dialect.post(usd, ctx);
    await expect(refused).rejects.toMatchObject({
      code: 'CURRENCY_MISMATCH',
      retryable: false,
      details: { currency: 'USD', localCurrency: 'EUR' },
    });
    await expect(refused).rejects.toThrow(/local currency EUR .*post it as a payable/);
    expect(writes(before)).toEqual([]);
    expect(company.generalLedgerEntries.filter((e) => e.documentNumber === 'USD-JOURNAL')).toEqual([]);
  });

  it('sends the currency of a payable, which a purchase invoice can carry', async () => {
    const usd: PostingRequest = {
      kind: 'payable',
      externalReference: 'usd-invoice-1',
      supplierId: 'SUP-1002',
      postingDate: today(),
      currency: 'USD',
      lines: [{ lineId: '1', amount: { amount: '100.00', currency: 'USD' }, dimensions: { glAccount: '6400' } }],
    };
    // The simulator keeps no exchange rates, so it refuses to book a foreign-currency invoice (BC does so too
    // when the currency has no exchange rate); a BC company with rates books it in USD.
    await expect(rig.dialect.post(usd, ctx)).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 400,
      message: expect.stringContaining("Currency Code='USD'"),
    });
    const create = rig.http.exchanges.find(
      (e) => e.request.method === 'POST' && e.request.path.endsWith('/purchaseInvoices'),
    );
    expect(create?.request.body).toMatchObject({ currencyCode: 'USD' });
  });

  it('refuses a budget check in another currency than the local one of the budgets and actuals', async () => {
    const request = { costCenter: 'CC-500', glAccount: '6100', period: currentPeriod() };
    await expect(rig.dialect.checkBudget({ ...request, amount: eur('100.00') }, ctx)).resolves.toMatchObject({
      budget: { currency: 'EUR' },
    });
    const yen = rig.dialect.checkBudget({ ...request, amount: { amount: '100000', currency: 'JPY' } }, ctx);
    await expect(yen).rejects.toMatchObject({
      code: 'CURRENCY_MISMATCH',
      details: { currency: 'JPY', localCurrency: 'EUR' },
    });
    await expect(yen).rejects.toThrow(/budgets and actuals in its local currency EUR/);
  });

  it('refuses to add an open order in another currency to the local-currency budget figures', async () => {
    const period = currentPeriod();
    const request = { costCenter: 'CC-500', glAccount: '6100', period, amount: eur('1.00') };
    await expect(rig.dialect.checkBudget(request, ctx)).resolves.toMatchObject({ status: 'within' });
    const usd = (amount: string) => ({ amount, currency: 'USD' });
    const order: PurchaseOrder = {
      docType: 'PurchaseOrder',
      sourceRef: { system: 'coupa', id: 'usd-po', version: 1 },
      externalReference: 'usd-po',
      supplierId: 'SUP-1001',
      orderDate: `${period}-03`,
      currency: 'USD',
      total: usd('5.00'),
      lines: [
        line({
          lineId: 'U1',
          quantity: '1',
          unitPrice: usd('5.00'),
          amount: usd('5.00'),
          accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
        }),
      ],
    };
    await rig.dialect.upsertPurchaseOrder(order, ctx);
    const check = rig.dialect.checkBudget(request, ctx);
    await expect(check).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH', details: { currency: 'USD' } });
    await expect(check).rejects.toThrow(/open purchase order .* in USD on this budget/);
  });
});

function cents(value: unknown): bigint {
  const [units, fraction = ''] = String(value ?? 0).split('.');
  const sign = units.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(units.replace('-', '')) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2)));
}
