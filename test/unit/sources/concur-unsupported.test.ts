/**
 * Concur expenses the pack cannot map right are refused by name, never posted with a wrong amount, account or
 * cost center: cash advances (reimbursed again), itemizations (booked whole to the parent's type), allocations
 * (charged whole to one cost center) and VAT (booked gross), and any approved report whose mapped reimbursement
 * differs from Concur's amountDueEmployee. The flags are EntryGet fields of the v3.0 Entries swagger; the report
 * is shaped like ReportDetails of v4.reports.markdown.
 */
import { createConcurProfile, type ConcurProfileOptions } from '../../../lib/sources/profiles/concur';
import { mapWithProfile } from '../../../lib/mapping/profile-mapping';
import type { ExpenseReport } from '../../../lib/model/types';
import { financeErrorOf, readSpec } from './helpers';

type Json = Record<string, any>;

const usd = (value: number): Json => ({ value, currencyCode: 'USD' });

/** An approved report of 100.00 USD that owes the employee `due`. */
function report(o: Json = {}): Json {
  return {
    reportId: 'R1',
    name: 'March',
    currencyCode: 'USD',
    userId: 'u1',
    approvalStatusId: 'A_APPR',
    paymentStatusId: 'P_NOTP',
    reportVersion: 1,
    approvedAmount: usd(100),
    claimedAmount: usd(100),
    amountCompanyPaid: usd(0),
    amountDueEmployee: usd(100),
    personalAmount: usd(0),
    reportTotal: usd(100),
    customData: [{ id: 'custom1', value: 'CC100', isValid: true, listItemUrl: null }],
    ...o,
  };
}

function entry(id: string, o: Json = {}): Json {
  return {
    ID: id,
    ReportID: 'R1',
    ExpenseTypeCode: 'MEALS',
    TransactionDate: '2024-03-10T00:00:00',
    PostedAmount: 100,
    ApprovedAmount: 100,
    PaymentTypeID: 'CASH',
    IsPersonal: false,
    ...o,
  };
}

const OPTIONS: ConcurProfileOptions = { costCenterField: 'custom1', glAccountByExpenseType: { MEALS: '6200' } };

function map(body: Json, lines: Json[], options: ConcurProfileOptions = OPTIONS): ExpenseReport {
  return createConcurProfile(options).toCanonical(body, { lines }) as ExpenseReport;
}

/** The one violation of a mapping that must fail, after checking it is a non-retryable mapping error. */
function refusal(
  body: Json,
  lines: Json[],
  options: ConcurProfileOptions = OPTIONS,
): { path: string; message: string } {
  const error = financeErrorOf(() => map(body, lines, options));
  expect([error.code, error.retryable]).toEqual(['SCHEMA_INVALID', false]);
  const outcome = mapWithProfile(createConcurProfile(options), body, lines, { docType: 'ExpenseReport' });
  if (outcome.valid) throw new Error('expected the mapping to be invalid, but it is valid');
  expect(outcome.errors).toHaveLength(1);
  return outcome.errors[0];
}

describe('the flags Concur documents', () => {
  it('has them on EntryGet, with the data in other APIs', () => {
    const entryGet = (JSON.parse(readSpec('concur-v3.0-Entries.swagger.json')) as Json).models.EntryGet.properties;
    expect(entryGet.HasAppliedCashAdvance.description).toContain('cash advance applied');
    expect(entryGet.HasItemizations.description).toContain('GET /expense/itemizations');
    expect(entryGet.AllocationType.description).toContain('P - partial allocation, F - full allocation');
    expect(entryGet.HasVAT.description).toContain('VAT data');
    // No tax amount on the expense, and no allocations or itemizations embedded in it.
    expect(Object.keys(entryGet).filter((key) => /tax|vat|allocation|itemiz/i.test(key))).toEqual([
      'AllocationType',
      'HasItemizations',
      'HasVAT',
      'TaxReceiptType',
    ]);
  });
});

describe('a cash advance (defect: reimbursed again)', () => {
  it('refuses the expense naming the report, the expense and what to do', () => {
    const violation = refusal(report({ amountDueEmployee: usd(40) }), [entry('E1', { HasAppliedCashAdvance: true })]);
    expect(violation.path).toBe('/0/HasAppliedCashAdvance');
    expect(violation.message).toContain('expense E1 of report R1 has a cash advance applied');
    expect(violation.message).toContain('cash advances are not supported');
    expect(violation.message).toContain('post report R1 by hand');
  });

  it('refuses it before approval too, when there is no amountDueEmployee to check, and when excluding', () => {
    const pending = report({ approvalStatusId: 'A_PEND', approvedAmount: usd(0), amountDueEmployee: usd(0) });
    expect(refusal(pending, [entry('E1', { HasAppliedCashAdvance: true })]).path).toBe('/0/HasAppliedCashAdvance');
    const noDue = report();
    delete noDue.amountDueEmployee;
    expect(refusal(noDue, [entry('E1', { HasAppliedCashAdvance: true })]).path).toBe('/0/HasAppliedCashAdvance');
    const exclude = { ...OPTIONS, companyPaidExpenses: 'exclude' as const };
    expect(refusal(report(), [entry('E1', { HasAppliedCashAdvance: true })], exclude).path).toBe(
      '/0/HasAppliedCashAdvance',
    );
  });

  it('maps an expense whose HasAppliedCashAdvance is false', () => {
    expect(map(report(), [entry('E1', { HasAppliedCashAdvance: false })]).total.amount).toBe('100.00');
  });
});

describe('amountDueEmployee after approval, whatever companyPaidExpenses says', () => {
  it('refuses a reimbursement that differs from it, naming both figures and the likely causes', () => {
    // Concur netted 60.00 (a cash advance applied at report level, personal card charges): it owes 40.00.
    const violation = refusal(report({ amountDueEmployee: usd(40) }), [entry('E1')]);
    expect(violation.path).toBe('/amountDueEmployee');
    expect(violation.message).toContain(
      'is 40.00 USD but the expenses mapped for reimbursement add up to 100.00 USD, so report R1 would reimburse',
    );
    expect(violation.message).toContain('cash advance');
    expect(violation.message).toContain('personal charges on a company card');
    expect(violation.message).toContain('paymentTypePayer');
  });

  it('maps when the figures agree', () => {
    expect(map(report(), [entry('E1')]).total).toEqual({ amount: '100.00', currency: 'USD' });
  });

  it('does not check a paid report, which may show 0 still due: its payment event maps as before', () => {
    for (const amountDueEmployee of [usd(0), usd(40)]) {
      const paid = map(report({ paymentStatusId: 'P_PAID', amountDueEmployee }), [entry('E1')]);
      expect(paid).toMatchObject({ state: 'paid', total: { amount: '100.00', currency: 'USD' } });
    }
  });

  it('does not check before approval, nor when Concur leaves it out', () => {
    // The spec's sample (not submitted) shows amountDueEmployee 0 beside a claim of 525.
    const pending = report({ approvalStatusId: 'A_PEND', amountDueEmployee: usd(0) });
    expect(map(pending, [entry('E1')]).total.amount).toBe('100.00');
    const absent = report();
    delete absent.amountDueEmployee;
    expect(map(absent, [entry('E1')]).total.amount).toBe('100.00');
    expect(map(report({ amountDueEmployee: null }), [entry('E1')]).total.amount).toBe('100.00');
  });
});

describe('allocations not passed (defect: charged whole to the expense cost center)', () => {
  it.each(['P', 'F'])('refuses AllocationType %s without allocations, naming what to fetch', (type) => {
    const violation = refusal(report(), [entry('E1', { AllocationType: type })]);
    expect(violation.path).toBe('/0/AllocationType');
    expect(violation.message).toContain('expense E1 of report R1 is split across cost centers');
    expect(violation.message).toContain('GET /api/v3.0/expense/allocations?reportID=R1');
    expect(violation.message).toContain("the finance-map node's Allocations property is empty");
    expect(violation.message).toContain('post report R1 by hand');
  });

  it('refuses an unknown AllocationType rather than guess', () => {
    expect(refusal(report(), [entry('E1', { AllocationType: 'X' })]).path).toBe('/0/AllocationType');
  });

  it('maps expenses without allocations (N, null or absent)', () => {
    const lines = [
      entry('E1', { AllocationType: 'N', PostedAmount: 50, ApprovedAmount: 50 }),
      entry('E2', { AllocationType: null, PostedAmount: 30, ApprovedAmount: 30 }),
      entry('E3', { PostedAmount: 20, ApprovedAmount: 20 }),
    ];
    expect(map(report(), lines).lines.map((line) => line.dimensions.costCenter)).toEqual(['CC100', 'CC100', 'CC100']);
  });

  it('leaves an excluded company-paid expense alone: it is not mapped', () => {
    const body = report({ approvedAmount: usd(150), claimedAmount: usd(150), amountDueEmployee: usd(100) });
    const card = entry('E2', { PaymentTypeID: 'CBCP', PostedAmount: 50, ApprovedAmount: 50, AllocationType: 'F' });
    const mapped = map(body, [entry('E1'), card], { ...OPTIONS, companyPaidExpenses: 'exclude' });
    expect(mapped.lines.map((line) => line.lineId)).toEqual(['E1']);
  });
});

describe('VAT (defect: reclaimable VAT booked as expense)', () => {
  it('refuses an expense with VAT data by default, saying how to map it gross', () => {
    const violation = refusal(report(), [entry('E1', { HasVAT: true, TaxReceiptType: 'T' })]);
    expect(violation.path).toBe('/0/HasVAT');
    expect(violation.message).toContain('expense E1 of report R1 carries VAT data');
    expect(violation.message).toContain('set the profile option vatExpenses to "gross"');
    expect(violation.message).toContain('post report R1 by hand');
  });

  it('maps it gross, without a tax code, when vatExpenses is "gross"', () => {
    const mapped = map(report(), [entry('E1', { HasVAT: true })], { ...OPTIONS, vatExpenses: 'gross' });
    expect(mapped.lines).toEqual([
      expect.objectContaining({ amount: { amount: '100.00', currency: 'USD' }, dimensions: expect.anything() }),
    ]);
    expect(mapped.lines[0]).not.toHaveProperty('taxCode');
    expect(map(report(), [entry('E1', { HasVAT: false })]).total.amount).toBe('100.00');
    expect(refusal(report(), [entry('E1', { HasVAT: true })], { ...OPTIONS, vatExpenses: 'refuse' }).path).toBe(
      '/0/HasVAT',
    );
  });

  it.each([['net'], [true], ['']])('takes only "refuse" or "gross" (%j)', (value) => {
    if (value === '') {
      expect(() => createConcurProfile({ vatExpenses: '' as never })).not.toThrow();
      return;
    }
    const error = financeErrorOf(() => createConcurProfile({ vatExpenses: value as never }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('"vatExpenses" must be one of refuse, gross');
  });
});

describe('itemized expenses (defect: misleading "all pages" error, then booked whole to the parent type)', () => {
  // A 200.00 hotel bill itemized into 150.00 room and a 50.00 personal minibar: Concur claims 150.00.
  const hotel = (o: Json = {}) =>
    entry('E1', { ExpenseTypeCode: 'LODNG', PostedAmount: 200, ApprovedAmount: 150, HasItemizations: true, ...o });
  const totals = {
    approvedAmount: usd(150),
    claimedAmount: usd(150),
    personalAmount: usd(50),
    amountDueEmployee: usd(150),
  };

  it.each([
    // Approved: the parent's ApprovedAmount 150.00 matches the report, so only the flag tells (it mapped 150.00
    // whole to LODNG).
    ['approved', report(totals), hotel()],
    // Pending: PostedAmount 200.00 against a claim of 150.00 (it blamed missing pages).
    [
      'pending',
      report({ ...totals, approvalStatusId: 'A_PEND', approvedAmount: usd(0) }),
      hotel({ ApprovedAmount: null }),
    ],
  ])('refuses the parent when %s and its itemizations were not passed', (_state, body, parent) => {
    const violation = refusal(body, [parent]);
    expect(violation.path).toBe('/0/HasItemizations');
    expect(violation.message).toContain('expense E1 of report R1 is itemized');
    expect(violation.message).toContain('its itemizations were not passed');
    expect(violation.message).toContain('GET /api/v3.0/expense/itemizations?reportID=R1');
    expect(violation.message).toContain('post report R1 by hand');
    expect(violation.message).not.toContain('all pages');
  });

  it('names an excluded company-paid itemized expense when the totals differ, not missing pages', () => {
    const exclude = { ...OPTIONS, companyPaidExpenses: 'exclude' as const };
    const card = hotel({ PaymentTypeID: 'CBCP', ApprovedAmount: null });
    const pending = report({
      ...totals,
      approvalStatusId: 'A_PEND',
      claimedAmount: usd(250),
      amountDueEmployee: usd(100),
    });
    const violation = refusal(pending, [entry('E0'), card], exclude);
    expect(violation.path).toBe('/1/HasItemizations');
    expect(violation.message).not.toContain('all pages');
    // When they agree the card expense is simply left out.
    const agreeing = report({ approvedAmount: usd(250), claimedAmount: usd(250), amountDueEmployee: usd(100) });
    expect(map(agreeing, [entry('E0'), hotel({ PaymentTypeID: 'CBCP' })], exclude).total.amount).toBe('100.00');
  });
});
