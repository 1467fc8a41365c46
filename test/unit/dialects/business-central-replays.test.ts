/**
 * What Business Central holds under a posting's number, found again on a replay, is that posting only when it
 * holds each of its lines (lib/erp/business-central/journal-comparison.ts and purchase-invoice.ts):
 * - with VAT split out of journal lines, an amount moved between two lines that keeps both the net and the
 *   gross totals is a difference: each line's tax counts for that line;
 * - a cost center taken off a line (journal or purchase invoice) is a difference, though BC still holds it;
 * - lines an attempt at another version left in the document's own journal batch are named one by one (Line
 *   No.) for a person to delete, and are not deleted by the pack (another version may be inserting them now).
 */
import { createDialect, type ErpDialect, type PostingRequest } from '../../../lib/erp/dialect';
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { FinanceError } from '../../../lib/errors';
import { bcStoreOf, guidOf, type BcCompany } from '../../../lib/sandbox/business-central/store';
import { ctx, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

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

/** Lets requests through, except the nth one a rule picks: it fails with a 503 before reaching the ERP. */
class FailingHttp implements ErpHttp {
  readonly rules: Array<{ matches: (request: ErpRequest) => boolean; nth: number; seen: number }> = [];
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
    return this.inner.request<T>(request);
  }
}

const isLinePost = (request: ErpRequest) => request.method === 'POST' && request.path.endsWith('/journalLines');

function demoCompany(rig: DialectRig): BcCompany {
  return [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
}

const companyPath = (company: BcCompany) =>
  `/v2.0/contoso.onmicrosoft.com/Production/api/v2.0/companies(${company.id})`;

describe('Business Central: a replay compares each line of the posting with what BC holds', () => {
  let rig: DialectRig;
  let company: BcCompany;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    company = demoCompany(rig);
    // An input VAT account, where BC books the tax it splits out of a gross journal amount.
    company.master
      .get('accounts')!
      .push({ id: guidOf('account', company.name, '2500'), number: '2500', category: 'Liabilities' });
  });
  afterAll(() => rig.close());

  const entriesOf = (number: string) => company.generalLedgerEntries.filter((e) => e.documentNumber === number);

  /**
   * Rebooks a posted document as BC books gross amounts with VAT: the expense entry holds the net, and the
   * tax is an entry on the VAT account right after it (before the balancing entry), with the line's dimensions.
   */
  function splitVat(number: string, netByAccount: Record<string, number>): void {
    for (const expense of entriesOf(number).filter((e) => netByAccount[String(e.accountNumber)] !== undefined)) {
      const tax = Number(expense.debitAmount) - netByAccount[String(expense.accountNumber)];
      expense.debitAmount = netByAccount[String(expense.accountNumber)];
      const id = guidOf('vat', number, String(expense.accountNumber));
      company.generalLedgerEntries.push({
        ...expense,
        id,
        entryNumber: Number(expense.entryNumber) + 0.5,
        accountNumber: '2500',
        debitAmount: Number(tax.toFixed(2)),
      });
      company.generalLedgerEntryDimensions.set(id, company.generalLedgerEntryDimensions.get(String(expense.id)) ?? []);
    }
  }

  const v1: Line[] = [
    { amount: '119.00', account: '6000', costCenter: 'CC-100' },
    { amount: '59.50', account: '6010', costCenter: 'CC-100' },
  ];

  it('journal with VAT split out: an amount shifted between lines (same net and gross totals) is ERP_CONFLICT', async () => {
    await rig.dialect.post(posting('journal', 'ramp:vat-shift', v1), ctx);
    splitVat('RAMP:VAT-SHIFT', { '6000': 100, '6010': 50 });
    const booked = entriesOf('RAMP:VAT-SHIFT').length;

    // The same lines again are the posting BC holds: each line's net and tax add up to its gross.
    await expect(rig.dialect.post(posting('journal', 'ramp:vat-shift', v1), ctx)).resolves.toMatchObject({
      status: 'posted',
      total: eur('178.50'),
    });
    // 10.00 moved from the first line to the second: both totals stay, the net per account too.
    const shifted = posting('journal', 'ramp:vat-shift', [
      { amount: '109.00', account: '6000', costCenter: 'CC-100' },
      { amount: '69.50', account: '6010', costCenter: 'CC-100' },
    ]);
    const refused = rig.dialect.post(shifted, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(refused).rejects.toThrow(
      /G\/L account 6000 with DEPARTMENT CC-100 holds 100\.00 EUR and 19\.00 EUR tax split out of it where the posting has 109\.00 EUR \(gross, tax included\)/,
    );
    await expect(rig.dialect.findPosting!(shifted, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    expect(entriesOf('RAMP:VAT-SHIFT')).toHaveLength(booked);
  });

  it('journal: a cost center taken off a line is ERP_CONFLICT, though BC still holds it on the entry', async () => {
    const first = posting('journal', 'ramp:dim-off', [{ amount: '80.00', account: '6000', costCenter: 'CC-100' }]);
    await rig.dialect.post(first, ctx);
    const booked = entriesOf('RAMP:DIM-OFF').length;
    const without = posting('journal', 'ramp:dim-off', [{ amount: '80.00', account: '6000' }]);
    const refused = rig.dialect.post(without, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(refused).rejects.toThrow(
      /80\.00 EUR on G\/L account 6000 with DEPARTMENT CC-100, which no line of the posting has; G\/L account 6000 with no dimensions holds 0\.00 EUR where the posting has 80\.00 EUR/,
    );
    await expect(rig.dialect.findPosting!(without, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    await expect(rig.dialect.findPosting!(first, ctx)).resolves.toMatchObject({ status: 'posted' });
    expect(entriesOf('RAMP:DIM-OFF')).toHaveLength(booked);
  });

  it('purchase invoice: a cost center taken off a line is ERP_CONFLICT; the same lines are the posting', async () => {
    const first = posting('payable', 'ramp:inv-dim-off', [{ amount: '40.00', account: '6000', costCenter: 'CC-100' }]);
    await expect(rig.dialect.post(first, ctx)).resolves.toMatchObject({ status: 'posted' });
    const without = posting('payable', 'ramp:inv-dim-off', [{ amount: '40.00', account: '6000' }]);
    const refused = rig.dialect.post(without, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await expect(refused).rejects.toThrow(
      /no line of 40\.00 on G\/L account 6000 with no dimensions; a line of 40 on G\/L account 6000 with DEPARTMENT CC-100 that the posting does not have/,
    );
    await expect(rig.dialect.findPosting!(first, ctx)).resolves.toMatchObject({ status: 'posted' });
  });
});

describe("Business Central: lines of another version waiting in the document's batch", () => {
  let rig: DialectRig;
  let company: BcCompany;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    company = demoCompany(rig);
  });
  afterAll(() => rig.close());

  it('names each line to delete by its Line No., deletes none itself, and posts once they are gone', async () => {
    const http = new FailingHttp(rig.http);
    const dialect: ErpDialect = createDialect('business-central', http, { ...CONFIG, baseUrl: rig.sandbox.url });
    const lines = (amounts: string[]) =>
      amounts.map((amount, i) => ({ amount, account: ['6000', '6010', '6020'][i], costCenter: 'CC-100' }));
    http.failNth(3, isLinePost);
    await expect(
      dialect.post(posting('journal', 'ramp:old-lines', lines(['10.00', '20.00', '30.00'])), ctx),
    ).rejects.toMatchObject({ retryable: true });
    const waiting = company.journalLines.filter((line) => line.documentNumber === 'RAMP:OLD-LINES');
    expect(waiting.map((line) => line.lineNumber)).toEqual([10000, 20000]);

    // The report changed before the retry: neither waiting line is a line of it now.
    const changed = posting('journal', 'ramp:old-lines', lines(['11.00', '21.00', '30.00']));
    const refused = dialect.post(changed, ctx);
    await expect(refused).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: {
        foreignLines: [
          expect.objectContaining({ lineNumber: 10000, accountNumber: '6000', amount: 10 }),
          expect.objectContaining({ lineNumber: 20000, accountNumber: '6010', amount: 20 }),
        ],
      },
    });
    await expect(refused).rejects.toThrow(
      /holds 2 line\(s\) that are not part of document RAMP:OLD-LINES as it is posted now: Line No\. 10000 \(document RAMP:OLD-LINES, G\/L account 6000, amount 10, .*\); Line No\. 20000 .*batch FS[0-9A-F]{8}, and delete those lines \(Line No\. 10000, 20000\) and no other.*does not delete them itself/,
    );
    expect(company.journalLines.filter((line) => line.documentNumber === 'RAMP:OLD-LINES')).toHaveLength(2);
    expect(company.generalLedgerEntries.filter((e) => e.documentNumber === 'RAMP:OLD-LINES')).toEqual([]);

    // The person deletes exactly those lines, as the message says; the replay posts this version whole.
    for (const line of waiting) {
      const path = `${companyPath(company)}/journals(${String(line.journalId)})/journalLines(${String(line.id)})`;
      const { data } = await rig.http.request<Record<string, unknown>>({ method: 'GET', path });
      await rig.http.request({ method: 'DELETE', path, ifMatch: String(data['@odata.etag']) });
    }
    await expect(dialect.post(changed, ctx)).resolves.toMatchObject({ status: 'posted', total: eur('62.00') });
  });
});
