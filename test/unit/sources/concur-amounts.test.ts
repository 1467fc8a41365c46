/**
 * Which money the Concur profile maps: the approved amount once a report is approved (an approver may cut an
 * expense), and only what the employee is owed (company-paid expenses are never reimbursed to them). The
 * report is the GET sample of v4.reports.markdown; the expenses are shaped like EntryGet of the v3.0 Entries
 * swagger. Each case also goes through the posting request, because that is where a wrong amount costs money.
 */
import { createConcurProfile, type ConcurProfileOptions } from '../../../lib/sources/profiles/concur';
import { mapWithProfile } from '../../../lib/mapping/profile-mapping';
import { expensePostingRequest } from '../../../lib/posting/expense-posting';
import type { ExpenseReport } from '../../../lib/model/types';
import { financeErrorOf, readSpec } from './helpers';

type Json = Record<string, any>;

function sampleReport(): Json {
  const block = /200 OK\n\n(\{[\s\S]*?\n\})\n```/.exec(readSpec('v4.reports.markdown'));
  if (!block) throw new Error('report sample not found in v4.reports.markdown');
  return JSON.parse(block[1]) as Json;
}

const usd = (value: number): Json => ({ value, currencyCode: 'USD' });

/**
 * The sample report (claimed 525.00 USD) in a given approval status. The sample is not submitted and shows
 * amountDueEmployee 0; once submitted Concur owes the employee the claim, 525.00 unless a case says otherwise.
 */
function report(approvalStatusId: string, amounts: Json = {}): Json {
  return { ...sampleReport(), approvalStatusId, amountDueEmployee: usd(525), ...amounts };
}

/** E1 400 and E2 125 as the employee claimed them (PostedAmount), plus what the approver let through. */
function entries(e1: Json = {}, e2: Json = {}): Json {
  const base = { ReportID: '764428DD6A664AF0BFCB', IsPersonal: false };
  return {
    Items: [
      { ...base, ID: 'E1', ExpenseTypeCode: 'OFCSP', TransactionDate: '2020-03-11', PostedAmount: 400, ...e1 },
      { ...base, ID: 'E2', ExpenseTypeCode: 'MISCS', TransactionDate: '2020-03-12', PostedAmount: 125, ...e2 },
    ],
    NextPage: null,
  };
}

function map(body: Json, lines: Json, options: ConcurProfileOptions = {}): ExpenseReport {
  return createConcurProfile(options).toCanonical(body, { lines }) as ExpenseReport;
}

/** The amounts a payable posting of the mapped report would credit the employee with. */
function payable(body: Json, lines: Json, options: ConcurProfileOptions = {}): string[] {
  const outcome = mapWithProfile(createConcurProfile(options), body, lines, { docType: 'ExpenseReport' });
  if (!outcome.valid) throw new Error(`not valid: ${JSON.stringify(outcome)}`);
  const request = expensePostingRequest(outcome.document as ExpenseReport, {
    kind: 'payable',
    postingDate: 'document',
    now: new Date('2020-04-01T12:00:00Z'),
  });
  return request.lines.map((line) => line.amount.amount);
}

/** The one violation a mapping that must fail reports. */
function violationOf(body: Json, lines: Json, options: ConcurProfileOptions = {}): { path: string; message: string } {
  const outcome = mapWithProfile(createConcurProfile(options), body, lines, { docType: 'ExpenseReport' });
  if (outcome.valid) throw new Error('expected the mapping to be invalid, but it is valid');
  expect(outcome.errors).toHaveLength(1);
  return outcome.errors[0];
}

describe('the amounts Concur documents', () => {
  it('has the approved and payment fields the profile reads, where the profile reads them', () => {
    const entry = (JSON.parse(readSpec('concur-v3.0-Entries.swagger.json')) as Json).models.EntryGet.properties;
    expect(entry.ApprovedAmount.description).toBe('The approved amount of the expense entry, in the report currency.');
    expect(entry.PostedAmount.description).toBe('The amount of the expense entry, in the report currency.');
    expect(Object.keys(entry)).toEqual(expect.arrayContaining(['PaymentTypeID', 'PaymentTypeName']));
    const markdown = readSpec('v4.reports.markdown');
    expect(markdown).toContain(
      '|`approvedAmount`|[`Amount`](#amount-schema)|-|**Required** The total amount of approved',
    );
    expect(markdown).toContain(
      '|`amountDueEmployee`|[`Amount`](#amount-schema)|-|**Required** The amount that the company owes the employee.|',
    );
  });
});

describe('the Concur profile after approval (defect: the claimed amount was posted)', () => {
  // The approver cut E2 from 125 to 100: Concur reports approvedAmount 500 and amountNotApproved 25.
  const cut = (): Json =>
    report('A_APPR', { approvedAmount: usd(500), amountNotApproved: usd(25), amountDueEmployee: usd(500) });

  it('maps and posts the approved amounts, not the claim', () => {
    const mapped = map(cut(), entries({ ApprovedAmount: 400 }, { ApprovedAmount: 100 }));
    expect(mapped.state).toBe('approved');
    expect(mapped.total).toEqual({ amount: '500.00', currency: 'USD' });
    expect(mapped.lines.map((line) => line.amount.amount)).toEqual(['400.00', '100.00']);
    expect(payable(cut(), entries({ ApprovedAmount: 400 }, { ApprovedAmount: 100 }))).toEqual(['400.00', '100.00']);
  });

  it('maps the approved amounts of a paid report too', () => {
    const paid = { ...cut(), paymentStatusId: 'P_PAID' };
    const mapped = map(paid, entries({ ApprovedAmount: 400 }, { ApprovedAmount: 100 }));
    expect([mapped.state, mapped.total.amount]).toEqual(['paid', '500.00']);
  });

  it('refuses expenses whose approved amounts do not add up to the report approvedAmount, naming it', () => {
    // Expenses read before the approver's cut: they still show 125 approved for E2.
    const violation = violationOf(cut(), entries({ ApprovedAmount: 400 }, { ApprovedAmount: 125 }));
    expect(violation.path).toBe('/approvedAmount');
    expect(violation.message).toContain('approved amounts of the non-personal expenses add up to 525.00 USD');
    expect(violation.message).toContain("the report's approvedAmount is 500.00 USD");
    expect(violation.message).toContain('pass every expense of report 764428DD6A664AF0BFCB');
  });

  it('takes PostedAmount for an expense without ApprovedAmount, still checked against approvedAmount', () => {
    expect(map(report('A_APPR'), entries()).total.amount).toBe('525.00');
    const violation = violationOf(report('A_APPR', { approvedAmount: usd(500) }), entries());
    expect(violation.path).toBe('/approvedAmount');
  });

  it('keeps the claim before approval: nothing is approved yet', () => {
    const pending = report('A_PEND');
    expect(map(pending, entries({ ApprovedAmount: 400 }, { ApprovedAmount: 100 })).total.amount).toBe('525.00');
    const violation = violationOf(report('A_PEND', { claimedAmount: usd(500) }), entries());
    expect(violation.path).toBe('/claimedAmount');
  });

  it('rejects an approvedAmount in another currency than the report, naming it', () => {
    const error = financeErrorOf(() =>
      map(report('A_APPR', { approvedAmount: { value: 525, currencyCode: 'EUR' } }), entries()),
    );
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(
      'Concur expense report /approvedAmount/currencyCode: is "EUR" but the report currency',
    );
  });

  it('rejects a missing approvedAmount on an approved report', () => {
    const body = report('A_APPR');
    delete body.approvedAmount;
    expect(financeErrorOf(() => map(body, entries())).message).toContain('Concur expense report /approvedAmount:');
  });
});

describe('the Concur profile with company-paid expenses (defect: they were reimbursed to the employee)', () => {
  // E1 was charged to a company-billed, company-paid card; E2 was cash. Concur owes the employee 125.
  const mixed = (): Json => report('A_APPR', { amountCompanyPaid: usd(400), amountDueEmployee: usd(125) });
  const card = { PaymentTypeID: 'CBCP', PaymentTypeName: 'Company Paid' };
  const cash = { PaymentTypeID: 'CASH', PaymentTypeName: 'Cash' };

  it('refuses them by default, naming the expense and what to configure', () => {
    const violation = violationOf(mixed(), entries(card, cash));
    expect(violation.path).toBe('/Items/0/PaymentTypeID');
    expect(violation.message).toContain('Concur expenses /Items/0/PaymentTypeID: is "CBCP"');
    expect(violation.message).toContain('reimburse the employee for money they did not spend');
    expect(violation.message).toContain('card feed');
    expect(violation.message).toContain('companyPaidExpenses to "exclude"');
  });

  it.each(['IBCP', 'COPD'])('treats the standard code %s as company-paid', (code) => {
    expect(violationOf(mixed(), entries({ PaymentTypeID: code }, cash)).path).toBe('/Items/0/PaymentTypeID');
  });

  it('posts only what the employee is owed when company-paid expenses are excluded', () => {
    const options: ConcurProfileOptions = { companyPaidExpenses: 'exclude' };
    const mapped = map(mixed(), entries(card, cash), options);
    expect(mapped.total).toEqual({ amount: '125.00', currency: 'USD' });
    expect(mapped.lines.map((line) => line.lineId)).toEqual(['E2']);
    expect(payable(mixed(), entries(card, cash), options)).toEqual(['125.00']);
  });

  it('checks what is left against amountDueEmployee after approval', () => {
    const body = report('A_APPR', { amountDueEmployee: usd(100) });
    const violation = violationOf(body, entries(card, cash), { companyPaidExpenses: 'exclude' });
    expect(violation.path).toBe('/amountDueEmployee');
    expect(violation.message).toContain('is 100.00 USD but the expenses the employee paid add up to 125.00 USD');
    expect(violation.message).toContain('paymentTypePayer');
  });

  it('still checks all non-personal expenses, company-paid ones included, against the report total', () => {
    const body = report('A_APPR', { approvedAmount: usd(125), amountDueEmployee: usd(125) });
    expect(violationOf(body, entries(card, cash), { companyPaidExpenses: 'exclude' }).path).toBe('/approvedAmount');
  });

  it('refuses a report of company-paid expenses only when they are excluded: nothing is owed', () => {
    const violation = violationOf(mixed(), entries(card, card), { companyPaidExpenses: 'exclude' });
    expect(violation.message).toContain('were all paid by the company, so nothing is owed to the employee');
  });

  it('refuses an unknown payment type instead of guessing who paid, and takes it from paymentTypePayer', () => {
    const mastercard = { PaymentTypeID: '1022', PaymentTypeName: 'Mastercard' };
    const violation = violationOf(mixed(), entries(mastercard, cash));
    expect(violation.path).toBe('/Items/0/PaymentTypeID');
    expect(violation.message).toContain('is "1022" ("Mastercard"), a payment type this profile does not know');
    expect(violation.message).toContain('{ "1022": "company" }');

    const excluded: ConcurProfileOptions = { paymentTypePayer: { '1022': 'company' }, companyPaidExpenses: 'exclude' };
    expect(payable(mixed(), entries(mastercard, cash), excluded)).toEqual(['125.00']);
    const own: ConcurProfileOptions = { paymentTypePayer: { '1022': 'employee' } };
    expect(map(report('A_APPR'), entries(mastercard, cash), own).total.amount).toBe('525.00');
  });

  it("reimburses the employee's own money: cash, individually paid cards and no payment type (Cash)", () => {
    const mapped = map(report('A_APPR'), entries({ PaymentTypeID: 'IBIP' }, cash));
    expect(mapped.lines.map((line) => line.amount.amount)).toEqual(['400.00', '125.00']);
    expect(map(report('A_APPR'), entries()).lines).toHaveLength(2);
  });

  it('does not take prototype names for payment types', () => {
    expect(violationOf(mixed(), entries({ PaymentTypeID: 'constructor' }, cash)).path).toBe('/Items/0/PaymentTypeID');
  });

  it.each([
    [{ paymentTypePayer: { '1022': 'card' } }, 'paymentTypePayer.1022'],
    [{ paymentTypePayer: ['1022'] }, 'paymentTypePayer'],
    [{ companyPaidExpenses: 'drop' }, 'companyPaidExpenses'],
  ])('rejects %j as a configuration error', (options, option) => {
    const error = financeErrorOf(() => createConcurProfile(options as unknown as ConcurProfileOptions));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`"${option}"`);
  });
});
