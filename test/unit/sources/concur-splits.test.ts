/**
 * Itemized and allocated Concur expenses, mapped into one line per business itemization and per allocation.
 * Itemizations are shaped like ItemizationGet of the v3.0 Itemizations swagger (developer.concur.com
 * build/swagger-converter/v3.0/Itemizations.swagger.json), allocations like AllocationGet of
 * concur-v3.0-Allocations.swagger.json; the report like ReportDetails of v4.reports.markdown.
 */
import { createConcurProfile, type ConcurProfileOptions } from '../../../lib/sources/profiles/concur';
import { mapWithProfile } from '../../../lib/mapping/profile-mapping';
import type { MappingContext } from '../../../lib/sources/profiles/profile';
import type { ExpenseReport } from '../../../lib/model/types';
import { readSpec } from './helpers';

type Json = Record<string, any>;

const usd = (value: number): Json => ({ value, currencyCode: 'USD' });

function report(total: number, o: Json = {}): Json {
  return {
    reportId: 'R1',
    currencyCode: 'USD',
    userId: 'u1',
    approvalStatusId: 'A_APPR',
    paymentStatusId: 'P_NOTP',
    approvedAmount: usd(total),
    claimedAmount: usd(total),
    amountDueEmployee: usd(total),
    customData: [{ id: 'custom1', value: 'CC-REPORT', listItemUrl: null }],
    ...o,
  };
}

const pending = (claimed: number, o: Json = {}) =>
  report(claimed, { approvalStatusId: 'A_PEND', approvedAmount: usd(0), amountDueEmployee: usd(0), ...o });

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
    AllocationType: 'N',
    ...o,
  };
}

function itemization(id: string, o: Json = {}): Json {
  return {
    ID: id,
    EntryID: 'E1',
    ReportID: 'R1',
    ExpenseTypeCode: 'LODNG',
    TransactionDate: '2024-03-11T00:00:00',
    TransactionAmount: 100,
    PostedAmount: 100,
    ApprovedAmount: 100,
    IsPersonal: false,
    AllocationType: 'N',
    HasVAT: false,
    ...o,
  };
}

function allocation(id: string, percentage: string, costCenter: string | undefined, o: Json = {}): Json {
  return {
    ID: id,
    EntryID: 'E1',
    Percentage: percentage,
    IsHidden: false,
    IsPercentEdited: true,
    ...(costCenter !== undefined && { Custom1: { Code: costCenter, Value: `${costCenter} name`, Type: 'List' } }),
    ...o,
  };
}

const OPTIONS: ConcurProfileOptions = {
  costCenterField: 'custom1',
  projectField: 'custom2',
  glAccountByExpenseType: { MEALS: '6200', LODNG: '6300', ROOMTAX: '6310', PHONE: '6400' },
};

function map(body: Json, context: MappingContext, options: ConcurProfileOptions = OPTIONS): ExpenseReport {
  return createConcurProfile(options).toCanonical(body, context) as ExpenseReport;
}

/** The one violation of a mapping that must fail, as finance-map reports it. */
function refusal(body: Json, context: MappingContext, options: ConcurProfileOptions = OPTIONS) {
  const { lines, ...separate } = context;
  const outcome = mapWithProfile(createConcurProfile(options), body, lines, { docType: 'ExpenseReport' }, separate);
  if (outcome.valid) throw new Error('expected the mapping to be invalid, but it is valid');
  expect(outcome.errors).toHaveLength(1);
  return outcome.errors[0];
}

const summary = (mapped: ExpenseReport) =>
  mapped.lines.map((line) => [line.lineId, line.amount.amount, line.dimensions.costCenter, line.dimensions.glAccount]);

describe('the shapes Concur documents', () => {
  it('has percentages as text and no amount on an allocation', () => {
    const spec = JSON.parse(readSpec('concur-v3.0-Allocations.swagger.json')) as Json;
    const allocationGet = spec.models.AllocationGet.properties;
    expect(allocationGet.Percentage.type).toBe('string');
    expect(allocationGet.EntryID.type).toBe('string');
    expect(allocationGet.IsHidden.type).toBe('Boolean?');
    expect(Object.keys(allocationGet).filter((key) => /amount/i.test(key))).toEqual([]);
  });
});

describe('allocated expenses', () => {
  it('splits 100.00 into 33.33 / 33.33 / 33.34, one line per allocation charged to its cost center', () => {
    const allocations = [
      allocation('A1', '33.33', 'CC-1'),
      allocation('A2', '33.33', undefined, { Custom1: { Value: 'CC-2' } }),
      allocation('A3', '33.34', 'CC-3'),
    ];
    const mapped = map(report(100), { lines: [entry('E1', { AllocationType: 'F' })], allocations });
    expect(summary(mapped)).toEqual([
      ['E1/A1', '33.33', 'CC-1', '6200'],
      ['E1/A2', '33.33', 'CC-2', '6200'],
      ['E1/A3', '33.34', 'CC-3', '6200'],
    ]);
    expect(mapped.total.amount).toBe('100.00');
  });

  it('splits in minor units by largest remainder, so the parts add up to the amount exactly', () => {
    // 10.00 x 33.33 % = 3.333: floors 3.33 each, and the one cent left goes to the largest remainder (33.34 %).
    const allocations = [
      allocation('A1', '33.33', 'CC-1'),
      allocation('A2', '33.33', 'CC-2'),
      allocation('A3', '33.34', 'CC-3'),
    ];
    const ten = map(report(10), {
      lines: [entry('E1', { AllocationType: 'F', PostedAmount: 10, ApprovedAmount: 10 })],
      allocations,
    });
    expect(ten.lines.map((line) => line.amount.amount)).toEqual(['3.33', '3.33', '3.34']);
    // 0.01 in halves: the cent goes to the first allocation by ID.
    const cent = map(report(0.01), {
      lines: [entry('E1', { AllocationType: 'P', PostedAmount: 0.01, ApprovedAmount: 0.01 })],
      allocations: [allocation('A2', '50', 'CC-2'), allocation('A1', '50.00', 'CC-1')],
    });
    expect(summary(cent)).toEqual([
      ['E1/A1', '0.01', 'CC-1', '6200'],
      ['E1/A2', '0.00', 'CC-2', '6200'],
    ]);
  });

  it('reads percentages as decimals, never floats: 33.333 + 33.333 + 33.334 is 100', () => {
    const mapped = map(report(100), {
      lines: [entry('E1', { AllocationType: 'F' })],
      allocations: [
        allocation('A1', '33.333', 'CC-1'),
        allocation('A2', '33.333', 'CC-2'),
        allocation('A3', '33.334', 'CC-3'),
      ],
    });
    expect(mapped.lines.map((line) => line.amount.amount)).toEqual(['33.33', '33.33', '33.34']);
  });

  it('gives the same lines, ids and cents whatever order the allocations come in (re-deliveries)', () => {
    const allocations = [
      allocation('A1', '33.33', 'CC-1'),
      allocation('A2', '33.33', 'CC-2'),
      allocation('A3', '33.34', 'CC-3'),
    ];
    const lines = [entry('E1', { AllocationType: 'F', PostedAmount: 10, ApprovedAmount: 10 })];
    const first = map(report(10), { lines, allocations });
    const again = map(report(10), { lines, allocations: { Items: [...allocations].reverse() } });
    expect(again.lines).toEqual(first.lines);
  });

  it("falls back to the expense's cost center when an allocation has none, and splits only allocated expenses", () => {
    const mapped = map(report(150), {
      lines: [
        entry('E1', { AllocationType: 'P', Custom1: { Code: 'CC-OWN' } }),
        entry('E2', { PostedAmount: 50, ApprovedAmount: 50 }),
      ],
      allocations: [
        allocation('A1', '60', 'CC-1'),
        // A hidden allocation is still part of the split (it carries the rest of the percentage).
        allocation('A2', '40', undefined, { IsHidden: true }),
        // E2 is not allocated (AllocationType N): a hidden 100 % allocation of it does not split it.
        allocation('A9', '100', 'CC-9', { EntryID: 'E2', IsHidden: true }),
      ],
    });
    expect(summary(mapped)).toEqual([
      ['E1/A1', '60.00', 'CC-1', '6200'],
      ['E1/A2', '40.00', 'CC-OWN', '6200'],
      ['E2', '50.00', 'CC-REPORT', '6200'],
    ]);
  });

  it('still leaves out an excluded company-paid expense when an allocated one is split into more lines', () => {
    const body = report(150, { amountDueEmployee: usd(100) });
    const lines = [
      entry('E1', { AllocationType: 'F' }),
      entry('E2', { PaymentTypeID: 'CBCP', PostedAmount: 50, ApprovedAmount: 50 }),
    ];
    const allocations = [allocation('A1', '50', 'CC-1'), allocation('A2', '50', 'CC-2')];
    const mapped = map(body, { lines, allocations }, { ...OPTIONS, companyPaidExpenses: 'exclude' });
    expect(mapped.lines.map((line) => line.lineId)).toEqual(['E1/A1', 'E1/A2']);
    expect(mapped.total.amount).toBe('100.00');
    // And what the employee is owed is still checked against those lines.
    const owed = report(150, { amountDueEmployee: usd(90) });
    const violation = refusal(owed, { lines, allocations }, { ...OPTIONS, companyPaidExpenses: 'exclude' });
    expect(violation.path).toBe('/amountDueEmployee');
  });

  it('refuses percentages that do not add up to 100, naming them', () => {
    const violation = refusal(report(100), {
      lines: [entry('E1', { AllocationType: 'F' })],
      allocations: [allocation('A1', '33.33', 'CC-1'), allocation('A2', '33.33', 'CC-2')],
    });
    expect(violation.path).toBe('/0/Percentage');
    expect(violation.message).toContain('add up to 66.66 percent, not 100');
    expect(violation.message).toContain('expense E1 of report R1');
  });

  it.each([['abc'], ['-10'], ['1e2'], [null]])('refuses the percentage %p', (percentage) => {
    const violation = refusal(report(100), {
      lines: [entry('E1', { AllocationType: 'F' })],
      allocations: [allocation('A1', '100', 'CC-1', { Percentage: percentage })],
    });
    expect(violation.path).toBe('/0/Percentage');
    expect(violation.message).toContain('not a percentage such as');
  });

  it('refuses an allocated expense without allocations among those passed, and a page of several', () => {
    const lines = [entry('E1', { AllocationType: 'F' })];
    const none = refusal(report(100), { lines, allocations: [allocation('A1', '100', 'CC-1', { EntryID: 'E7' })] });
    expect(none.message).toContain('Concur allocations /: have none with EntryID "E1"');
    const page = refusal(report(100), {
      lines,
      allocations: { Items: [allocation('A1', '100', 'CC-1')], NextPage: 'https://x/next' },
    });
    expect(page.path).toBe('/NextPage');
  });

  it('names the property to fill when the allocations were not passed', () => {
    const violation = refusal(report(100), {
      lines: [entry('E1', { AllocationType: 'F' })],
      sources: { allocations: 'msg.payload.allocations' },
    });
    expect(violation.path).toBe('/0/AllocationType');
    expect(violation.message).toContain(
      "put them in msg.payload.allocations (the finance-map node's Allocations property)",
    );
  });
});

describe('itemized expenses', () => {
  // A 200.00 hotel bill: room 120.00 and room tax 30.00 for business, a 50.00 minibar personal. Concur claims 150.
  const hotel = (o: Json = {}) =>
    entry('E1', {
      ExpenseTypeCode: 'LODNG',
      PostedAmount: 200,
      ApprovedAmount: 150,
      HasItemizations: true,
      Custom1: { Code: 'CC-HOTEL' },
      VendorDescription: 'Hotel Adlon',
      ...o,
    });
  const items = (o: { room?: Json; tax?: Json; minibar?: Json } = {}) => [
    itemization('I1', { PostedAmount: 120, ApprovedAmount: 120, ...o.room }),
    itemization('I2', {
      ExpenseTypeCode: 'ROOMTAX',
      PostedAmount: 30,
      ApprovedAmount: 30,
      Custom1: { Code: 'CC-TAX' },
      ...o.tax,
    }),
    itemization('I3', {
      ExpenseTypeCode: 'MINIBAR',
      PostedAmount: 50,
      ApprovedAmount: 0,
      IsPersonal: true,
      ...o.minibar,
    }),
  ];

  it("maps the business itemizations, each with its own GL account and cost center, else the expense's", () => {
    const mapped = map(report(150), { lines: [hotel()], itemizations: items() });
    expect(summary(mapped)).toEqual([
      ['E1/I1', '120.00', 'CC-HOTEL', '6300'],
      ['E1/I2', '30.00', 'CC-TAX', '6310'],
    ]);
    expect(mapped.lines[0]).toMatchObject({ date: '2024-03-11', expenseType: 'LODNG', merchant: 'Hotel Adlon' });
    expect(mapped.total.amount).toBe('150.00');
  });

  it('leaves personal itemizations out: they are not reimbursed', () => {
    const mapped = map(report(150), { lines: [hotel()], itemizations: { Items: items() } });
    expect(mapped.lines.map((line) => line.lineId)).not.toContain('E1/I3');
  });

  it('posts claimed amounts until approval and approved amounts from approval on', () => {
    // The approver cut the room to 100.00: approved 130, claimed 150.
    const cut = items({ room: { ApprovedAmount: 100 } });
    const claimed = map(pending(150), { lines: [hotel({ ApprovedAmount: null })], itemizations: cut });
    expect(claimed.lines.map((line) => line.amount.amount)).toEqual(['120.00', '30.00']);
    const approved = map(report(130), { lines: [hotel({ ApprovedAmount: 130 })], itemizations: cut });
    expect(approved.lines.map((line) => line.amount.amount)).toEqual(['100.00', '30.00']);
  });

  it("keeps the report's checks: amountDueEmployee must still match the itemized lines", () => {
    const violation = refusal(report(150, { amountDueEmployee: usd(140) }), {
      lines: [hotel()],
      itemizations: items(),
    });
    expect(violation.path).toBe('/amountDueEmployee');
  });

  it("refuses itemizations that do not add up to the expense's business part, naming both figures", () => {
    const violation = refusal(pending(150), {
      lines: [hotel({ ApprovedAmount: null })],
      itemizations: items({ tax: { PostedAmount: 20 } }),
    });
    expect(violation.message).toContain('the business itemizations add up to 140.00 USD');
    expect(violation.message).toContain(
      "the expense's business part is 150.00 USD (its PostedAmount 200.00 less 50.00",
    );
  });

  it('refuses an itemized expense with none of its itemizations passed', () => {
    const violation = refusal(report(150), {
      lines: [hotel()],
      itemizations: items().map((item) => ({ ...item, EntryID: 'E9' })),
    });
    expect(violation.message).toContain('have none with EntryID "E1"');
  });

  it('names the property to fill when the itemizations were not passed', () => {
    const violation = refusal(report(150), {
      lines: [hotel()],
      sources: { itemizations: 'msg.payload.itemizations' },
    });
    expect(violation.path).toBe('/0/HasItemizations');
    expect(violation.message).toContain(
      "put them in msg.payload.itemizations (the finance-map node's Itemizations property)",
    );
  });

  it('splits an allocated itemization by its own allocations', () => {
    const mapped = map(report(150), {
      lines: [hotel({ AllocationType: 'P' })],
      itemizations: items({ room: { AllocationType: 'F' } }),
      allocations: [
        allocation('A2', '50', 'CC-2', { EntryID: 'I1' }),
        allocation('A1', '50', 'CC-1', { EntryID: 'I1' }),
      ],
    });
    expect(summary(mapped)).toEqual([
      ['E1/I1/A1', '60.00', 'CC-1', '6300'],
      ['E1/I1/A2', '60.00', 'CC-2', '6300'],
      ['E1/I2', '30.00', 'CC-TAX', '6310'],
    ]);
  });

  it('refuses an expense allocated as a whole while none of its itemizations is', () => {
    const violation = refusal(report(150), {
      lines: [hotel({ AllocationType: 'F' })],
      itemizations: items(),
      allocations: [allocation('A1', '100', 'CC-1')],
    });
    expect(violation.path).toBe('/0/AllocationType');
    expect(violation.message).toContain('none of the business itemizations of expense E1 of report R1 is allocated');
  });

  it('refuses a business itemization with VAT data under vatExpenses "refuse"', () => {
    const violation = refusal(report(150), { lines: [hotel()], itemizations: items({ tax: { HasVAT: true } }) });
    expect(violation.path).toBe('/1/HasVAT');
    expect(violation.message).toContain('itemization I2 of expense E1 of report R1 carries VAT data');
  });

  it('refuses itemizations of another report', () => {
    const violation = refusal(report(150), { lines: [hotel()], itemizations: items({ room: { ReportID: 'R2' } }) });
    expect(violation.path).toBe('/0/ReportID');
  });

  it('gives the same lines whatever order the itemizations come in (re-deliveries)', () => {
    const first = map(report(150), { lines: [hotel()], itemizations: items() });
    const again = map(report(150), { lines: [hotel()], itemizations: items().reverse() });
    expect(new Set(again.lines.map((line) => JSON.stringify(line)))).toEqual(
      new Set(first.lines.map((line) => JSON.stringify(line))),
    );
  });
});
