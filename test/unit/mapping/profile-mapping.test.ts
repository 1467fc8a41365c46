import { getProfile } from '../../../lib/sources/profiles';
import { createConcurProfile } from '../../../lib/sources/profiles/concur';
import { mapWithProfile, type MappingOutcome } from '../../../lib/mapping';
import type { Violation } from '../../../lib/model/violations';
import {
  canonicalReport,
  cloudEvent,
  CONCUR_OPTIONS,
  concurSampleEntries,
  concurSampleReport,
  type Json,
} from './samples';

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function errorsOf(outcome: MappingOutcome): Violation[] {
  if (outcome.valid) throw new Error('expected the mapping to be invalid');
  return outcome.errors;
}

describe('mapping with the CloudEvents profile', () => {
  const profile = getProfile('cloudevents');
  const target = { docType: 'ExpenseReport' as const };

  it('takes the canonical document out of a structured CloudEvent', () => {
    const outcome = mapWithProfile(profile, cloudEvent(), undefined, target);
    expect(outcome).toEqual({ valid: true, docType: 'ExpenseReport', docId: 'ER-1001', document: canonicalReport() });
  });

  it('passes a payload that intake already unwrapped', () => {
    const outcome = mapWithProfile(profile, canonicalReport(), undefined, target);
    expect(outcome).toMatchObject({ valid: true, docId: 'ER-1001' });
  });

  it('takes the type from the document when the target is auto', () => {
    const requisition = {
      docType: 'Requisition',
      sourceRef: { system: 'coupa', id: '4711' },
      requisitionId: '4711',
      requesterId: 'E1016',
      supplierId: 'SUP-1001',
      state: 'approved',
      currency: 'EUR',
      total: { amount: '100.00', currency: 'EUR' },
      lines: [
        {
          lineId: '1',
          description: 'Toner',
          quantity: '4',
          unitPrice: { amount: '25.00', currency: 'EUR' },
          amount: { amount: '100.00', currency: 'EUR' },
          accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '100' }],
        },
      ],
    };
    const outcome = mapWithProfile(profile, cloudEvent(requisition), undefined, { docType: 'auto' });
    expect(outcome).toMatchObject({ valid: true, docType: 'Requisition', docId: '4711' });
    // The configured type is a promise about the output: a requisition is not an expense report.
    expect(errorsOf(mapWithProfile(profile, requisition, undefined, target))).toEqual([
      {
        path: '/docType',
        rule: 'docType',
        message: expect.stringContaining('"Requisition" document but this node expects ExpenseReport'),
      },
    ]);
  });

  it('lists every violation of an invalid document and leaves the payload untouched', () => {
    const report = canonicalReport();
    report.lines[0].amount = { amount: 150, currency: 'EUR' };
    report.lines[1].amount.currency = 'eur';
    delete report.employeeId;
    report.state = 'A_PEND';
    const payload = cloudEvent(report);
    const before = clone(payload);

    const errors = errorsOf(mapWithProfile(profile, payload, undefined, target));
    expect(errors.map((error) => `${error.path} ${error.rule}`).sort()).toEqual([
      '/employeeId required',
      '/lines/0/amount/amount type',
      '/lines/1/amount/currency pattern',
      '/state enum',
    ]);
    expect(errors.find((error) => error.rule === 'type')?.message).toContain('decimal strings');
    expect(payload).toEqual(before);
  });

  it('reports a broken envelope as one source violation', () => {
    const event = cloudEvent();
    event.specversion = '0.3';
    expect(errorsOf(mapWithProfile(profile, event, undefined, target))).toEqual([
      { path: '/specversion', rule: 'sourceShape', message: expect.stringContaining('must be "1.0"') },
    ]);
  });

  it('normalises a source status code the sender forwarded', () => {
    const report = canonicalReport();
    report.state = 'A_PEND';
    const outcome = mapWithProfile(profile, cloudEvent(report), undefined, { ...target, stateSystem: 'concur' });
    expect(outcome).toMatchObject({ valid: true, document: { state: 'pending_approval' } });
    expect(report.state).toBe('A_PEND');
  });
});

describe('mapping with the Concur profile (spec sample)', () => {
  const profile = getProfile('concur', CONCUR_OPTIONS);
  const target = { docType: 'ExpenseReport' as const };

  it('maps the v4 report sample with its expenses into a valid expense report', () => {
    const outcome = mapWithProfile(profile, concurSampleReport(), concurSampleEntries(), target);
    if (!outcome.valid) throw new Error(JSON.stringify(outcome.errors));
    expect(outcome.docId).toBe('764428DD6A664AF0BFCB');
    expect(outcome.document).toMatchObject({
      docType: 'ExpenseReport',
      sourceRef: { system: 'concur', id: '764428DD6A664AF0BFCB' },
      employeeId: '32c2fcc3-b2e8-4907-9672-5b3f49b1c643',
      company: 'FS-DEMO',
      state: 'draft',
      total: { amount: '525.00', currency: 'USD' },
      lines: [
        { amount: { amount: '400.00', currency: 'USD' }, dimensions: { costCenter: 'CC-500', glAccount: '6100' } },
        { amount: { amount: '125.00', currency: 'USD' }, dimensions: { costCenter: 'CC-500', glAccount: '6600' } },
      ],
    });
  });

  it('maps a report whose expenses travel inside the payload', () => {
    const report: Json = concurSampleReport();
    report.expenses = concurSampleEntries().Items;
    expect(mapWithProfile(profile, report, report.expenses, target)).toMatchObject({ valid: true });
  });

  it('reports missing expenses, a wrong amount type and a partial page as source violations', () => {
    expect(errorsOf(mapWithProfile(profile, concurSampleReport(), undefined, target))).toEqual([
      { path: '', rule: 'sourceShape', message: expect.stringContaining('Concur expenses /: are missing') },
    ]);

    const report = concurSampleReport();
    report.claimedAmount.value = '525.00';
    expect(errorsOf(mapWithProfile(profile, report, concurSampleEntries(), target))[0]).toMatchObject({
      path: '/claimedAmount/value',
    });

    const page = concurSampleEntries();
    page.NextPage = 'https://us.api.concursolutions.com/api/v3.0/expense/entries?offset=2';
    expect(errorsOf(mapWithProfile(profile, concurSampleReport(), page, target))[0]).toMatchObject({
      path: '/NextPage',
      rule: 'sourceShape',
    });
  });

  it('gives a currency or amount violation a JSON pointer as its path and names the document in the message', () => {
    const lowerCase = concurSampleReport();
    lowerCase.currencyCode = 'usd';
    const negativeClaim = concurSampleReport();
    negativeClaim.claimedAmount.value = -525;
    const negativeEntry = concurSampleEntries();
    negativeEntry.Items[0].PostedAmount = -400;
    const cases: Array<[Json, Json, string, string]> = [
      [lowerCase, concurSampleEntries(), '/currencyCode', 'Concur expense report /currencyCode: "usd"'],
      [negativeClaim, concurSampleEntries(), '/claimedAmount/value', 'Concur expense report /claimedAmount/value:'],
      [concurSampleReport(), negativeEntry, '/Items/0/PostedAmount', 'Concur expenses /Items/0/PostedAmount:'],
    ];
    for (const [report, entries, path, message] of cases) {
      expect(errorsOf(mapWithProfile(profile, report, entries, target))).toEqual([
        { path, rule: expect.any(String), message: expect.stringContaining(message) },
      ]);
    }
  });

  it('reports expenses that do not add up to the claimed amount', () => {
    const entries = concurSampleEntries();
    entries.Items[1].PostedAmount = 124.99;
    const [violation] = errorsOf(mapWithProfile(profile, concurSampleReport(), entries, target));
    expect(violation.message).toContain('add up to 524.99 USD');
  });
});

describe('mapping with the Ramp profile', () => {
  const profile = getProfile('ramp', { company: 'FS-DEMO' });

  function reimbursement(): Json {
    return {
      id: 'd47ba06e-14ac-4a7b-89b4-4775412ba545',
      amount: 84.5,
      currency: 'EUR',
      direction: 'BUSINESS_TO_USER',
      type: 'OUT_OF_POCKET',
      state: 'PENDING',
      employee_id: 'E1017',
      memo: 'Team lunch',
      merchant: 'Trattoria Roma',
      transaction_date: '2026-03-04',
      receipts: ['r1'],
      accounting_field_selections: [
        { id: 'a', external_id: 'CC-400', external_code: '400', name: 'Engineering', type: 'COST_CENTER' },
        { id: 'b', external_id: '6010', external_code: '6010', name: 'Meals', type: 'GL_ACCOUNT' },
      ],
    };
  }

  it('maps a reimbursement without line items into a one-line report', () => {
    const outcome = mapWithProfile(profile, reimbursement(), undefined, { docType: 'ExpenseReport' });
    expect(outcome).toMatchObject({
      valid: true,
      docId: 'd47ba06e-14ac-4a7b-89b4-4775412ba545',
      document: {
        state: 'pending_approval',
        total: { amount: '84.50', currency: 'EUR' },
        lines: [
          { amount: { amount: '84.50', currency: 'EUR' }, dimensions: { costCenter: 'CC-400', glAccount: '6010' } },
        ],
      },
    });
  });

  it('gives a currency or amount violation a JSON pointer as its path and names the document in the message', () => {
    const target = { docType: 'ExpenseReport' as const };
    expect(errorsOf(mapWithProfile(profile, { ...reimbursement(), currency: 'XYZ' }, undefined, target))).toEqual([
      { path: '/currency', rule: 'currency', message: expect.stringContaining('Ramp reimbursement /currency: "XYZ"') },
    ]);
    expect(errorsOf(mapWithProfile(profile, { ...reimbursement(), amount: -84.5 }, undefined, target))).toEqual([
      { path: '/amount', rule: 'amount', message: expect.stringContaining('Ramp reimbursement /amount: "-84.5"') },
    ]);
  });

  it('reports an unknown state as a source violation', () => {
    const value = reimbursement();
    value.state = 'ON_ICE';
    expect(errorsOf(mapWithProfile(profile, value, undefined, { docType: 'ExpenseReport' }))).toEqual([
      {
        path: '/state',
        rule: 'sourceShape',
        message: expect.stringContaining('"ON_ICE" is not a reimbursement state'),
      },
    ]);
  });

  it('rethrows a failure that is not about the document', () => {
    const broken = {
      ...profile,
      toCanonical: () => {
        throw new Error('disk on fire');
      },
    };
    expect(() => mapWithProfile(broken, reimbursement(), undefined, { docType: 'ExpenseReport' })).toThrow(
      'disk on fire',
    );
  });
});

describe('itemizations and allocations served apart from the Concur report', () => {
  const report = (): Record<string, any> => ({
    reportId: 'R1',
    currencyCode: 'USD',
    userId: 'u1',
    approvalStatusId: 'A_PEND',
    claimedAmount: { value: 100, currencyCode: 'USD' },
  });
  const lines = [
    {
      ID: 'E1',
      ReportID: 'R1',
      ExpenseTypeCode: 'MEALS',
      TransactionDate: '2024-03-10',
      PostedAmount: 100,
      AllocationType: 'F',
    },
  ];
  const allocations = [
    { ID: 'A1', EntryID: 'E1', Percentage: '50', Custom1: { Code: 'CC-1' } },
    { ID: 'A2', EntryID: 'E1', Percentage: '50', Custom1: { Code: 'CC-2' } },
  ];
  const profile = createConcurProfile({ costCenterField: 'custom1' });

  it('hands them to the profile with the property they came from', () => {
    const outcome = mapWithProfile(profile, report(), lines, { docType: 'ExpenseReport' }, { allocations });
    if (!outcome.valid) throw new Error(JSON.stringify(outcome.errors));
    expect((outcome.document as { lines: { lineId: string }[] }).lines.map((line) => line.lineId)).toEqual([
      'E1/A1',
      'E1/A2',
    ]);
    const missing = mapWithProfile(
      profile,
      report(),
      lines,
      { docType: 'ExpenseReport' },
      { sources: { allocations: 'msg.splits' } },
    );
    expect(missing.valid).toBe(false);
    if (missing.valid) return;
    expect(missing.errors[0].message).toContain('put them in msg.splits');
  });
});
