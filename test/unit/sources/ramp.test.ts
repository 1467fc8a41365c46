/**
 * The Ramp profile. The webhook payload is the "Reimbursement Event" example of Ramp's webhook guide; the
 * reimbursement follows the `Reimbursement` example of Ramp's developer API OpenAPI file (amount 484.46 USD
 * in two line items of 43446 and 5000 cents), with its coding selections typed as cost center / GL account
 * and an employee_id added.
 */
import { createRampProfile, type RampProfileOptions } from '../../../lib/sources/profiles/ramp';
import type { ExpenseReport } from '../../../lib/model/types';
import { financeErrorOf } from './helpers';

type Json = Record<string, any>;

function webhook(): Json {
  return {
    id: 'b572f759-9e89-4f77-c614-0d929fdcfb7d',
    type: 'reimbursements.ready_to_sync',
    created_at: '2025-04-01T12:05:00Z',
    business_id: '945c7d8f-6c35-4d63-9c1c-79e67c9cee73',
    object: { id: '8bc2e447-f894-4d23-9c15-2e8f7b6a3c1d' },
  };
}

function selection(type: string, externalId: string, externalCode: string): Json {
  return {
    id: '07b4ce4d-2750-412e-aef4-6b7815f1411c',
    external_id: externalId,
    external_code: externalCode,
    name: `${type} ${externalCode}`,
    type,
    category_info: { id: '0c0d0bcc-8716-4e05-a651-4ad5e64d2b3e', external_id: type, name: type, type },
  };
}

function reimbursement(): Json {
  return {
    id: 'd47ba06e-14ac-4a7b-89b4-4775412ba545',
    amount: 484.46,
    currency: 'USD',
    direction: 'BUSINESS_TO_USER',
    type: 'OUT_OF_POCKET',
    state: 'REIMBURSED',
    employee_id: 'E1004',
    user_id: '7979392e-8d41-4f97-815b-ccd7584802bf',
    user_email: 'dwight@dundermilflin.com',
    user_full_name: 'Dwight Schrute',
    memo: 'Airfare for business travel',
    merchant: 'Delta Airlines',
    transaction_date: '2022-08-19',
    submitted_at: '2023-08-20T00:00:00+00:00',
    receipts: [],
    accounting_field_selections: [selection('COST_CENTER', 'CC-200', '200'), selection('SUBSIDIARY', '425', 'LP')],
    line_items: [
      {
        accounting_field_selections: [selection('GL_ACCOUNT', '6100', 'Travel')],
        amount: { amount: 43446, currency_code: 'USD' },
      },
      {
        accounting_field_selections: [
          selection('GL_ACCOUNT', '6300', 'Fees'),
          selection('COST_CENTER', 'CC-300', '300'),
          selection('PROJECT', 'P-1003', 'Offsite'),
        ],
        amount: { amount: 5000, currency_code: 'USD' },
        memo: 'Seat upgrade',
      },
    ],
  };
}

function map(change: (value: Json) => void = () => undefined, options: RampProfileOptions = {}): ExpenseReport {
  const value = reimbursement();
  change(value);
  return createRampProfile({ company: 'FS-DEMO', ...options }).toCanonical(value) as ExpenseReport;
}

describe('the Ramp profile envelope', () => {
  const profile = createRampProfile();

  it('reads the documented reimbursement webhook', () => {
    expect(profile.envelopeOf(webhook())).toEqual({
      id: 'b572f759-9e89-4f77-c614-0d929fdcfb7d',
      source: 'ramp:945c7d8f-6c35-4d63-9c1c-79e67c9cee73',
      type: 'ramp.reimbursements.ready_to_sync',
      subject: '8bc2e447-f894-4d23-9c15-2e8f7b6a3c1d',
      time: '2025-04-01T12:05:00Z',
      docType: 'ExpenseReport',
      docId: '8bc2e447-f894-4d23-9c15-2e8f7b6a3c1d',
    });
    expect(profile.signatureScheme).toBe('ramp');
    expect(profile.embedsCanonical).toBe(false);
  });

  it('reads a timestamp without offset as UTC, as Ramp documents', () => {
    expect(profile.envelopeOf({ ...webhook(), created_at: '2022-04-28T21:36:29.604020' }).time).toBe(
      '2022-04-28T21:36:29.604020Z',
    );
  });

  it('refuses events about other resources, and explains the verification challenge', () => {
    const error = financeErrorOf(() => profile.envelopeOf({ ...webhook(), type: 'transactions.cleared' }));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain('Ramp webhook /type: is "transactions.cleared"');
    const challenge = financeErrorOf(() => profile.envelopeOf({ ...webhook(), type: 'webhooks.verification' }));
    expect(challenge.message).toContain('/developer/v1/webhooks/{id}/verify');
  });

  it.each([
    ['/id', (event: Json) => delete event.id],
    ['/business_id', (event: Json) => (event.business_id = null)],
    ['/object', (event: Json) => (event.object = 'd47ba06e')],
    ['/object/id', (event: Json) => (event.object = {})],
    ['/created_at', (event: Json) => (event.created_at = 1712000000)],
  ])('rejects a webhook with a bad %s, naming it', (path, change) => {
    const event = webhook();
    change(event);
    const error = financeErrorOf(() => profile.envelopeOf(event));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(`Ramp webhook ${path}:`);
  });
});

describe('the Ramp reimbursement mapping', () => {
  it('maps a reimbursement with coded line items', () => {
    expect(map()).toEqual({
      docType: 'ExpenseReport',
      sourceRef: { system: 'ramp', id: 'd47ba06e-14ac-4a7b-89b4-4775412ba545' },
      reportId: 'd47ba06e-14ac-4a7b-89b4-4775412ba545',
      businessPurpose: 'Airfare for business travel',
      employeeId: 'E1004',
      company: 'FS-DEMO',
      submittedAt: '2023-08-20T00:00:00+00:00',
      state: 'paid',
      total: { amount: '484.46', currency: 'USD' },
      lines: [
        {
          lineId: 'd47ba06e-14ac-4a7b-89b4-4775412ba545-1',
          date: '2022-08-19',
          expenseType: 'OUT_OF_POCKET',
          merchant: 'Delta Airlines',
          receiptAttached: false,
          description: 'Airfare for business travel',
          amount: { amount: '434.46', currency: 'USD' },
          dimensions: { costCenter: 'CC-200', glAccount: '6100' },
        },
        {
          lineId: 'd47ba06e-14ac-4a7b-89b4-4775412ba545-2',
          date: '2022-08-19',
          expenseType: 'OUT_OF_POCKET',
          merchant: 'Delta Airlines',
          receiptAttached: false,
          description: 'Seat upgrade',
          amount: { amount: '50.00', currency: 'USD' },
          // The line's own coding wins over the reimbursement's.
          dimensions: { costCenter: 'CC-300', glAccount: '6300', project: 'P-1003' },
        },
      ],
    });
  });

  it('makes one line of a reimbursement without line items', () => {
    const report = map((value) => {
      delete value.line_items;
      value.receipts = ['3aa9eed1-c793-4b52-a502-e7f2a7e4c1b2'];
    });
    expect(report.lines).toEqual([
      expect.objectContaining({
        lineId: 'd47ba06e-14ac-4a7b-89b4-4775412ba545-1',
        amount: { amount: '484.46', currency: 'USD' },
        dimensions: { costCenter: 'CC-200' },
        receiptAttached: true,
      }),
    ]);
  });

  it('maps the reimbursement states', () => {
    const cases: [string, string][] = [
      ['DRAFT', 'draft'],
      ['PENDING', 'pending_approval'],
      ['APPROVED', 'approved'],
      ['AWAITING_PAYMENT', 'approved'],
      ['EXPORT_FAILED', 'approved'],
      ['REIMBURSED_VIA_PUSH', 'paid'],
      ['REJECTED', 'rejected'],
      ['CANCELED', 'cancelled'],
    ];
    for (const [state, expected] of cases) {
      expect([state, map((value) => (value.state = state)).state]).toEqual([state, expected]);
    }
    for (const state of ['ON_HOLD', 'toString']) {
      const error = financeErrorOf(() => map((value) => (value.state = state)));
      expect(error.message).toContain(`Ramp reimbursement /state: "${state}" is not a reimbursement state`);
    }
  });

  it('takes the employee id from the configured field', () => {
    expect(map(undefined, { employeeIdFrom: 'user_email' }).employeeId).toBe('dwight@dundermilflin.com');
    const error = financeErrorOf(() => map((value) => delete value.employee_id));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain('/employee_id: is missing');
    expect(error.message).toContain('employeeIdFrom');
  });

  it('uses the external code instead of the external id when configured', () => {
    const report = map(undefined, { dimensionKey: 'external_code' });
    expect(report.lines[0].dimensions).toEqual({ costCenter: '200', glAccount: 'Travel' });
    const error = financeErrorOf(() =>
      map((value) => delete value.line_items[0].accounting_field_selections[0].external_code, {
        dimensionKey: 'external_code',
      }),
    );
    expect(error.message).toContain('/line_items/0/accounting_field_selections/0/external_code: is missing');
  });

  it('rejects a float artefact in the amount instead of rounding it', () => {
    const error = financeErrorOf(() => map((value) => (value.amount = 0.1 + 0.2)));
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('/amount: 0.30000000000000004 has 17 decimals but USD has 2');
  });

  it('rejects line items that do not add up to the amount', () => {
    const error = financeErrorOf(() => map((value) => (value.line_items[1].amount.amount = 4999)));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain('/line_items: add up to 484.45 USD but the reimbursement amount is 484.46 USD');
  });

  it('rejects a payback from the employee', () => {
    const error = financeErrorOf(() => map((value) => (value.direction = 'USER_TO_BUSINESS')));
    expect(error.message).toContain('/direction: is USER_TO_BUSINESS');
  });

  it.each([
    ['/id', (value: Json) => delete value.id],
    ['/transaction_date', (value: Json) => (value.transaction_date = '19.08.2022')],
    ['/accounting_field_selections', (value: Json) => (value.accounting_field_selections = 'CC-200')],
    ['/line_items/1/amount', (value: Json) => (value.line_items[1].amount = 50)],
    ['/line_items/1/amount/currency_code', (value: Json) => (value.line_items[1].amount.currency_code = 'EUR')],
    ['/submitted_at', (value: Json) => (value.submitted_at = 'last week')],
  ])('rejects a reimbursement with a bad %s, naming it', (path, change) => {
    const error = financeErrorOf(() => map(change));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(`Ramp reimbursement ${path}:`);
    expect(error.message).toContain('GET https://api.ramp.com/developer/v1/reimbursements/{id}');
  });

  it('rejects unknown currencies and fractional minor units', () => {
    expect(financeErrorOf(() => map((value) => (value.currency = 'usd'))).code).toBe('UNKNOWN_CURRENCY');
    const error = financeErrorOf(() => map((value) => (value.line_items[0].amount.amount = 43445.5)));
    expect(error.code).toBe('INVALID_AMOUNT');
    expect(error.message).toContain('/line_items/0/amount/amount');
  });
});

describe('Ramp profile options', () => {
  it('rejects unknown choices as configuration errors', () => {
    for (const options of [{ employeeIdFrom: 'email' }, { dimensionKey: 'name' }, { company: 7 }]) {
      const error = financeErrorOf(() => createRampProfile(options as unknown as RampProfileOptions));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain(`"${Object.keys(options)[0]}"`);
    }
  });
});
