import { FinanceError } from '../../../lib/errors';
import { SCHEMA_BY_DOC_TYPE } from '../../../lib/model/schemas';
import type { ExpenseReport, Money } from '../../../lib/model/types';
import {
  assertValid,
  isDocType,
  summariseViolations,
  validateDocument,
  type ValidationResult,
  type Violation,
} from '../../../lib/model/validate';

const clone = <T>(value: T): any => JSON.parse(JSON.stringify(value));
const expenseReport = () => clone(SCHEMA_BY_DOC_TYPE.ExpenseReport.examples[0]);
const purchaseOrder = () => clone(SCHEMA_BY_DOC_TYPE.PurchaseOrder.examples[0]);
const requisition = () => clone(SCHEMA_BY_DOC_TYPE.Requisition.examples[0]);
const m = (amount: string, currency = 'EUR'): Money => ({ amount, currency });

function errorsOf(result: ValidationResult): Violation[] {
  if (result.valid) throw new Error('expected the document to be invalid');
  return result.errors;
}

/** A one-line report in `currency` with the given line amounts and total. */
function reportWith(amounts: string[], total: string, currency = 'EUR'): any {
  const report = expenseReport();
  report.total = m(total, currency);
  report.lines = amounts.map((amount, index) => ({
    lineId: String(index + 1),
    date: '2026-11-24',
    amount: m(amount, currency),
    dimensions: { costCenter: 'CC-100' },
  }));
  delete report.policyExceptions;
  return report;
}

/** A purchase order with one line: quantity x unitPrice = amount, charged by the given splits. */
function orderWith(
  line: { quantity: string; unitPrice: string; amount: string; splits: any[] },
  currency = 'EUR',
): any {
  const order = purchaseOrder();
  order.currency = currency;
  order.total = m(line.amount, currency);
  order.lines = [
    {
      lineId: '1',
      description: 'Consulting',
      quantity: line.quantity,
      unitPrice: m(line.unitPrice, currency),
      amount: m(line.amount, currency),
      accountAssignments: line.splits,
    },
  ];
  return order;
}
const byPercent = (...percents: string[]) =>
  percents.map((percent) => ({ dimensions: { costCenter: 'CC-100' }, percent }));
const byAmount = (...amounts: string[]) =>
  amounts.map((amount) => ({ dimensions: { costCenter: 'CC-100' }, amount: m(amount) }));

describe('schema violations in plain words', () => {
  test('a broken document yields every violation with its JSON path and a plain message', () => {
    const report = expenseReport();
    report.state = 'waiting';
    report.lines[0].amount.amount = 240;
    report.lines[0].recieptAttached = true;
    report.lines[0].date = '2026-13-01';
    delete report.lines[1].date;
    report.lines[1].amount.currency = 'eur';
    const errors = errorsOf(validateDocument('ExpenseReport', report));
    expect(errors).toEqual(
      expect.arrayContaining([
        {
          path: '/state',
          rule: 'enum',
          message:
            '/state must be one of "draft", "submitted", "pending_approval", "approved", "rejected", "returned", ' +
            '"escalated", "cancelled", "posted", "paid" (got "waiting").',
        },
        {
          path: '/lines/0/amount/amount',
          rule: 'type',
          message:
            '/lines/0/amount/amount must be a string, not a number: write amounts as decimal strings such as ' +
            '"12.50", because JSON numbers are floats and lose cents.',
        },
        {
          path: '/lines/0/recieptAttached',
          rule: 'additionalProperties',
          message: expect.stringMatching(
            /^\/lines\/0 has a field "recieptAttached" that is not allowed \(check the spelling; allowed fields: .*receiptAttached/,
          ),
        },
        {
          path: '/lines/0/date',
          rule: 'format',
          message: '/lines/0/date must be a date in the form YYYY-MM-DD such as 2026-11-27 (got "2026-13-01").',
        },
        { path: '/lines/1/date', rule: 'required', message: '/lines/1 is missing the required field "date".' },
        {
          path: '/lines/1/amount/currency',
          rule: 'pattern',
          message: '/lines/1/amount/currency must be a 3-letter ISO 4217 code such as EUR (got "eur").',
        },
      ]),
    );
    expect(errors).toHaveLength(6);
  });

  test('a missing amount names the line it is missing from', () => {
    const report = expenseReport();
    delete report.lines[0].amount;
    expect(errorsOf(validateDocument('ExpenseReport', report))).toEqual([
      { path: '/lines/0/amount', rule: 'required', message: '/lines/0 is missing the required field "amount".' },
    ]);
  });

  test('a missing top-level field is reported against the document', () => {
    const report = expenseReport();
    delete report.reportId;
    expect(errorsOf(validateDocument('ExpenseReport', report))).toEqual([
      { path: '/reportId', rule: 'required', message: 'The document is missing the required field "reportId".' },
    ]);
  });

  test('numbers instead of strings are refused with the hint, wherever money sits', () => {
    const order = purchaseOrder();
    order.lines[0].unitPrice.amount = 1000;
    order.total.amount = 1100.0;
    const errors = errorsOf(validateDocument('PurchaseOrder', order));
    expect(errors.map((e) => [e.path, e.rule])).toEqual([
      ['/total/amount', 'type'],
      ['/lines/0/unitPrice/amount', 'type'],
    ]);
    for (const error of errors) expect(error.message).toContain('write amounts as decimal strings such as "12.50"');
  });

  test('amount strings that are not decimals are refused by the pattern', () => {
    const errors = errorsOf(validateDocument('Money', m('1,234.00')));
    expect(errors).toEqual([
      {
        path: '/amount',
        rule: 'pattern',
        message: '/amount must be a decimal string such as "12.50" (got "1,234.00").',
      },
    ]);
  });

  test('wrong types, consts, empty lists, empty strings and minimums read plainly', () => {
    const report = expenseReport();
    report.docType = 'Requisition';
    report.lines = [];
    report.employeeId = '';
    report.sourceRef.version = -1;
    report.lines = [];
    report.name = 42;
    const errors = errorsOf(validateDocument('ExpenseReport', report));
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: '/docType', rule: 'const', message: '/docType must be "ExpenseReport" (got "Requisition").' },
        { path: '/lines', rule: 'minItems', message: '/lines must have at least 1 item(s).' },
        { path: '/employeeId', rule: 'minLength', message: '/employeeId must not be empty.' },
        {
          path: '/sourceRef/version',
          rule: 'minimum',
          message: '/sourceRef/version must be at least 0 (got the number -1).',
        },
        { path: '/name', rule: 'type', message: '/name must be a string, not a number.' },
      ]),
    );
  });

  test('a document that is not an object', () => {
    for (const value of [null, [], 'report', 12]) {
      const [error] = errorsOf(validateDocument('ExpenseReport', value));
      expect(error.path).toBe('');
      expect(error.rule).toBe('type');
      expect(error.message).toMatch(/^The document must be an object, not (null|a list|a string|a number)\.$/);
    }
  });

  test('a split with both or neither of percent and amount', () => {
    const both = orderWith({ quantity: '1', unitPrice: '100.00', amount: '100.00', splits: byPercent('100') });
    both.lines[0].accountAssignments[0].amount = m('100.00');
    const neither = orderWith({ quantity: '1', unitPrice: '100.00', amount: '100.00', splits: [{ dimensions: {} }] });
    for (const order of [both, neither]) {
      expect(errorsOf(validateDocument('PurchaseOrder', order))).toEqual([
        {
          path: '/lines/0/accountAssignments/0',
          rule: 'oneOf',
          message: '/lines/0/accountAssignments/0 must have exactly one of the fields "percent" or "amount".',
        },
      ]);
    }
  });

  test('field names with "/" or "~" are escaped in the JSON pointer', () => {
    const report = expenseReport();
    report.lines[0].dimensions['cost/center~1'] = 'CC-1';
    const [error] = errorsOf(validateDocument('ExpenseReport', report));
    expect(error.path).toBe('/lines/0/dimensions/cost~1center~01');
  });

  test('formats, patterns and unique items of master data and envelopes', () => {
    const employee = clone(SCHEMA_BY_DOC_TYPE.Employee.examples[0]);
    employee.email = 'not-an-address';
    expect(errorsOf(validateDocument('Employee', employee))[0].message).toBe(
      '/email must be an e-mail address such as jana.novak@example.com (got "not-an-address").',
    );
    const supplier = clone(SCHEMA_BY_DOC_TYPE.Supplier.examples[0]);
    supplier.taxCodes = ['DE19', 'DE19'];
    supplier.country = 'Germany';
    expect(errorsOf(validateDocument('Supplier', supplier)).map((e) => e.message)).toEqual([
      '/country must be a 2-letter ISO 3166 country code such as DE (got "Germany").',
      '/taxCodes must not list the same value twice (items 0 and 1 are equal).',
    ]);
    const envelope = clone(SCHEMA_BY_DOC_TYPE.FinanceEnvelope.examples[0]);
    envelope.attempt = 0;
    envelope.time = '27.11.2026 09:14';
    expect(errorsOf(validateDocument('FinanceEnvelope', envelope)).map((e) => e.message)).toEqual([
      '/time must be a date and time with a time zone such as 2026-11-27T09:14:03Z (got "27.11.2026 09:14").',
      '/attempt must be at least 1 (got the number 0).',
    ]);
    const request = clone(SCHEMA_BY_DOC_TYPE.BudgetCheckRequest.examples[0]);
    request.period = '2026-13';
    expect(errorsOf(validateDocument('BudgetCheckRequest', request))[0].message).toBe(
      '/period must be a fiscal period in the form YYYY-MM such as 2026-11 (got "2026-13").',
    );
  });

  test('an unknown document type is a violation, not a crash', () => {
    expect(errorsOf(validateDocument('Invoice', {}))).toEqual([
      {
        path: '',
        rule: 'docType',
        message: expect.stringContaining(
          '"Invoice" is not a document type finance-sync knows; use one of ExpenseReport',
        ),
      },
    ]);
    expect(isDocType('Invoice')).toBe(false);
    expect(isDocType('toString')).toBe(false);
    expect(isDocType('PurchaseOrder')).toBe(true);
  });
});

describe('money rules after the schema', () => {
  test('"0.10" + "0.20" lines make a total of exactly "0.30"', () => {
    expect(validateDocument('ExpenseReport', reportWith(['0.10', '0.20'], '0.30'))).toEqual({ valid: true });
  });

  test('lines that do not add up to the total', () => {
    expect(errorsOf(validateDocument('ExpenseReport', reportWith(['0.10', '0.20'], '0.31')))).toEqual([
      {
        path: '/total/amount',
        rule: 'total',
        message:
          '/total/amount is 0.31 but the lines add up to 0.30 EUR; the total must equal the sum of the lines exactly.',
      },
    ]);
  });

  test('JPY has no decimals: "100.5" JPY is refused, "100" JPY accepted', () => {
    expect(validateDocument('ExpenseReport', reportWith(['100'], '100', 'JPY'))).toEqual({ valid: true });
    expect(errorsOf(validateDocument('ExpenseReport', reportWith(['100.5'], '100.5', 'JPY')))).toEqual([
      {
        path: '/total/amount',
        rule: 'precision',
        message: '/total/amount "100.5" has 1 decimal(s) but JPY has none; round the amount in the source system.',
      },
      {
        path: '/lines/0/amount/amount',
        rule: 'precision',
        message:
          '/lines/0/amount/amount "100.5" has 1 decimal(s) but JPY has none; round the amount in the source system.',
      },
    ]);
  });

  test('KWD has three decimals', () => {
    expect(validateDocument('ExpenseReport', reportWith(['1.250', '0.125'], '1.375', 'KWD'))).toEqual({ valid: true });
    const errors = errorsOf(validateDocument('ExpenseReport', reportWith(['1.2505'], '1.2505', 'KWD')));
    expect(errors.map((e) => e.rule)).toEqual(['precision', 'precision']);
    expect(errors[1].message).toContain('has 4 decimal(s) but KWD has only 3');
  });

  test('an amount with fewer decimals than its currency has is refused, naming the canonical form', () => {
    expect(errorsOf(validateDocument('ExpenseReport', reportWith(['12.5', '7'], '19.50')))).toEqual([
      {
        path: '/lines/0/amount/amount',
        rule: 'canonical',
        message: '/lines/0/amount/amount "12.5" must be written with 2 decimals for EUR: "12.50".',
      },
      {
        path: '/lines/1/amount/amount',
        rule: 'canonical',
        message: '/lines/1/amount/amount "7" must be written with 2 decimals for EUR: "7.00".',
      },
    ]);
    expect(errorsOf(validateDocument('Money', m('1.25', 'KWD')))[0].message).toBe(
      '/amount "1.25" must be written with 3 decimals for KWD: "1.250".',
    );
  });

  test('leading zeros and a minus sign on zero are refused, naming the canonical form', () => {
    const cases: Array<[string, string, string]> = [
      ['001469.80', 'EUR', '/amount "001469.80" must be written without leading zeros: "1469.80".'],
      ['00.50', 'EUR', '/amount "00.50" must be written without leading zeros: "0.50".'],
      ['0100', 'JPY', '/amount "0100" must be written without leading zeros: "100".'],
      ['-0.00', 'EUR', '/amount "-0.00" must be written as zero, without a minus sign: "0.00".'],
      ['-0', 'JPY', '/amount "-0" must be written as zero, without a minus sign: "0".'],
      ['-00.00', 'EUR', '/amount "-00.00" must be written without leading zeros: "0.00".'],
    ];
    for (const [amount, currency, message] of cases) {
      expect(errorsOf(validateDocument('Money', m(amount, currency)))).toEqual([
        { path: '/amount', rule: 'canonical', message },
      ]);
    }
  });

  test('canonical amounts pass, including zero, amounts below one and allowed negative ones', () => {
    for (const [amount, currency] of [
      ['0.00', 'EUR'],
      ['0.05', 'EUR'],
      ['10.00', 'EUR'],
      ['1469.80', 'EUR'],
      ['0', 'JPY'],
      ['100', 'JPY'],
      ['0.125', 'KWD'],
      ['999999999999999999.99', 'EUR'],
    ]) {
      expect([amount, validateDocument('Money', m(amount, currency))]).toEqual([amount, { valid: true }]);
    }
    const overspent = clone(SCHEMA_BY_DOC_TYPE.BudgetCheckResult.examples[0]);
    overspent.available.amount = '-0.50';
    expect(validateDocument('BudgetCheckResult', overspent)).toEqual({ valid: true });
    overspent.available.amount = '-0.5';
    expect(errorsOf(validateDocument('BudgetCheckResult', overspent)).map((e) => [e.path, e.rule])).toEqual([
      ['/available/amount', 'canonical'],
    ]);
  });

  test('over-precise EUR amounts are refused', () => {
    const errors = errorsOf(validateDocument('Money', m('10.005')));
    expect(errors).toEqual([
      {
        path: '/amount',
        rule: 'precision',
        message: '/amount "10.005" has 3 decimal(s) but EUR has only 2; round the amount in the source system.',
      },
    ]);
  });

  test('negative amounts are refused', () => {
    const errors = errorsOf(validateDocument('ExpenseReport', reportWith(['-5.00', '10.00'], '5.00')));
    expect(errors).toEqual([
      {
        path: '/lines/0/amount/amount',
        rule: 'negative',
        message: '/lines/0/amount/amount "-5.00" is negative; only zero or positive amounts are accepted here.',
      },
    ]);
    expect(errorsOf(validateDocument('Money', m('-0.00'))).map((e) => e.rule)).toEqual(['canonical']);
  });

  test('an overspent budget may show negative funds available, but the request may not be negative', () => {
    const result = clone(SCHEMA_BY_DOC_TYPE.BudgetCheckResult.examples[0]);
    expect(result.available.amount).toBe('-120.00');
    expect(validateDocument('BudgetCheckResult', result)).toEqual({ valid: true });
    result.requested.amount = '-1.00';
    expect(errorsOf(validateDocument('BudgetCheckResult', result)).map((e) => [e.path, e.rule])).toEqual([
      ['/requested/amount', 'negative'],
    ]);
  });

  test('unknown currencies are refused wherever they appear', () => {
    const errors = errorsOf(validateDocument('ExpenseReport', reportWith(['1.00'], '1.00', 'XYZ')));
    expect(errors).toEqual([
      {
        path: '/total/currency',
        rule: 'currency',
        message: '/total/currency "XYZ" is not an active ISO 4217 currency code; use a code such as EUR, USD or JPY.',
      },
      expect.objectContaining({ path: '/lines/0/amount/currency', rule: 'currency' }),
    ]);
    const supplier = clone(SCHEMA_BY_DOC_TYPE.Supplier.examples[0]);
    supplier.currency = 'XAU';
    expect(errorsOf(validateDocument('Supplier', supplier))).toEqual([
      expect.objectContaining({ path: '/currency', rule: 'currency' }),
    ]);
    const order = purchaseOrder();
    order.currency = 'ABC';
    expect(errorsOf(validateDocument('PurchaseOrder', order)).map((e) => [e.path, e.rule])).toEqual(
      expect.arrayContaining([['/currency', 'currency']]),
    );
  });

  test('a line in another currency than the report is a mismatch, and no total is computed across currencies', () => {
    const report = reportWith(['10.00', '5.00'], '15.00');
    report.lines[1].amount.currency = 'USD';
    expect(errorsOf(validateDocument('ExpenseReport', report))).toEqual([
      {
        path: '/lines/1/amount/currency',
        rule: 'currencyMismatch',
        message:
          '/lines/1/amount/currency is USD but the report total is in EUR; convert the amount to EUR in the source system.',
      },
    ]);
  });

  test('requisition and purchase order amounts must be in the document currency', () => {
    const order = purchaseOrder();
    order.lines[1].unitPrice.currency = 'USD';
    order.lines[0].accountAssignments[2].amount.currency = 'GBP';
    expect(errorsOf(validateDocument('PurchaseOrder', order)).map((e) => [e.path, e.rule])).toEqual([
      ['/lines/0/accountAssignments/2/amount/currency', 'currencyMismatch'],
      ['/lines/1/unitPrice/currency', 'currencyMismatch'],
    ]);
    const req = requisition();
    req.currency = 'USD';
    expect(errorsOf(validateDocument('Requisition', req))[0]).toEqual({
      path: '/total/currency',
      rule: 'currencyMismatch',
      message: '/total/currency is EUR but the document is in USD; convert the amount to USD in the source system.',
    });
  });

  test('a line amount must be quantity x unit price, rounded half away from zero', () => {
    expect(
      validateDocument(
        'PurchaseOrder',
        orderWith({ quantity: '1.5', unitPrice: '106.33', amount: '159.50', splits: byPercent('100') }),
      ),
    ).toEqual({ valid: true });
    expect(
      validateDocument(
        'PurchaseOrder',
        orderWith({ quantity: '3', unitPrice: '10.01', amount: '30.03', splits: byPercent('100') }),
      ),
    ).toEqual({ valid: true });
    expect(
      errorsOf(
        validateDocument(
          'PurchaseOrder',
          orderWith({ quantity: '1.5', unitPrice: '106.33', amount: '159.49', splits: byPercent('100') }),
        ),
      ),
    ).toEqual([
      {
        path: '/lines/0/amount/amount',
        rule: 'lineAmount',
        message:
          '/lines/0/amount/amount is 159.49 but quantity 1.5 x unit price 106.33 EUR is 159.50 (rounded half away from zero).',
      },
    ]);
  });

  test('a quantity x unit price beyond 18 digits is a located violation, not a thrown error', () => {
    const result = validateDocument(
      'PurchaseOrder',
      orderWith({ quantity: '1000', unitPrice: '999999999999999999.99', amount: '1.00', splits: byPercent('100') }),
    );
    expect(errorsOf(result)).toContainEqual({
      path: '/lines/0/amount/amount',
      rule: 'lineAmount',
      message: expect.stringMatching(
        /^\/lines\/0\/quantity: 1000 x 999999999999999999.99 EUR is .*more than the 18 whole digits/,
      ),
    });
  });

  test('lines of an order must add up to its total', () => {
    const order = purchaseOrder();
    order.total.amount = '1100.01';
    expect(errorsOf(validateDocument('PurchaseOrder', order))).toEqual([
      expect.objectContaining({
        path: '/total/amount',
        rule: 'total',
        message: expect.stringContaining('the lines add up to 1100.00 EUR'),
      }),
    ]);
  });

  test('100.00 split by amount as 33.34 / 33.33 / 33.33 adds up exactly', () => {
    const order = orderWith({
      quantity: '1',
      unitPrice: '100.00',
      amount: '100.00',
      splits: byAmount('33.34', '33.33', '33.33'),
    });
    expect(validateDocument('PurchaseOrder', order)).toEqual({ valid: true });
  });

  test('amount splits that miss the line by a cent are refused', () => {
    const order = orderWith({
      quantity: '1',
      unitPrice: '100.00',
      amount: '100.00',
      splits: byAmount('33.33', '33.33', '33.33'),
    });
    expect(errorsOf(validateDocument('PurchaseOrder', order))).toEqual([
      {
        path: '/lines/0/accountAssignments',
        rule: 'split',
        message:
          '/lines/0/accountAssignments amounts add up to 99.99 but the line amount is 100.00 EUR; the splits must add up to the line exactly.',
      },
    ]);
  });

  test('percent splits must add up to exactly 100', () => {
    expect(
      validateDocument(
        'PurchaseOrder',
        orderWith({
          quantity: '1',
          unitPrice: '100.00',
          amount: '100.00',
          splits: byPercent('33.34', '33.33', '33.33'),
        }),
      ),
    ).toEqual({ valid: true });
    expect(
      validateDocument(
        'PurchaseOrder',
        orderWith({ quantity: '1', unitPrice: '100.00', amount: '100.00', splits: byPercent('12.5', '87.50') }),
      ),
    ).toEqual({ valid: true });
    for (const [percents, sum] of [
      [['33.33', '33.33', '33.33'], '99.99'],
      [['60', '50'], '110.00'],
      [['100', '0.01'], '100.01'],
    ] as const) {
      const order = orderWith({ quantity: '1', unitPrice: '100.00', amount: '100.00', splits: byPercent(...percents) });
      expect(errorsOf(validateDocument('PurchaseOrder', order))).toEqual([
        {
          path: '/lines/0/accountAssignments',
          rule: 'split',
          message: `/lines/0/accountAssignments percentages add up to ${sum}, not 100; they must add up to exactly 100.`,
        },
      ]);
    }
  });

  test('over-precise or negative percentages are refused by the schema', () => {
    for (const percent of ['33.333', '-10', '50%', '']) {
      const order = orderWith({ quantity: '1', unitPrice: '100.00', amount: '100.00', splits: byPercent(percent) });
      expect(errorsOf(validateDocument('PurchaseOrder', order))[0]).toMatchObject({
        path: '/lines/0/accountAssignments/0/percent',
        rule: 'pattern',
      });
    }
  });

  test('splits of one line must all be percentages or all amounts', () => {
    const splits = [...byPercent('50'), ...byAmount('50.00')];
    const order = orderWith({ quantity: '1', unitPrice: '100.00', amount: '100.00', splits });
    expect(errorsOf(validateDocument('PurchaseOrder', order))).toEqual([
      {
        path: '/lines/0/accountAssignments',
        rule: 'split',
        message:
          '/lines/0/accountAssignments mixes percentages and amounts; give every split of a line as a percent or every split as an amount.',
      },
    ]);
  });

  test('requisitions get the same line, split and total rules', () => {
    const req = requisition();
    req.lines[1].accountAssignments[0].percent = '66.66';
    expect(errorsOf(validateDocument('Requisition', req))).toEqual([
      expect.objectContaining({ path: '/lines/1/accountAssignments', rule: 'split' }),
    ]);
  });

  test('line ids are unique and policy exceptions point at existing lines', () => {
    const report = expenseReport();
    report.lines[1].lineId = '1';
    report.lines[1].policyExceptions[0].lineId = '1';
    report.policyExceptions = [{ code: 'LATE', message: 'Submitted late', lineId: '9' }];
    expect(errorsOf(validateDocument('ExpenseReport', report))).toEqual([
      {
        path: '/lines/1/lineId',
        rule: 'uniqueLineId',
        message: '/lines/1/lineId "1" is already used by /lines/0; every line needs its own lineId.',
      },
      {
        path: '/policyExceptions/0/lineId',
        rule: 'lineReference',
        message:
          '/policyExceptions/0/lineId "9" names no line of this report; use the lineId of one of its lines or leave it out.',
      },
    ]);
  });

  test('messages quote at most 40 characters of a line id or a field name; the path stays whole', () => {
    const long = 'x'.repeat(50_000);
    const cut = `"${'x'.repeat(40)}..."`;
    const report = expenseReport();
    report.lines[0].lineId = long;
    report.lines[1].lineId = long;
    delete report.lines[1].policyExceptions;
    report.policyExceptions = [{ code: 'LATE', message: 'Submitted late', lineId: `${long}y` }];
    report.lines[0][long] = true;
    const [unknownField] = errorsOf(validateDocument('ExpenseReport', report));
    expect(unknownField).toEqual({
      path: `/lines/0/${long}`,
      rule: 'additionalProperties',
      message: expect.stringMatching(
        new RegExp(`^/lines/0 has a field ${cut.replace(/\./g, '\\.')} that is not allowed`),
      ),
    });
    delete report.lines[0][long];
    const errors = errorsOf(validateDocument('ExpenseReport', report));
    expect(errors.map((error) => error.message)).toEqual([
      `/lines/1/lineId ${cut} is already used by /lines/0; every line needs its own lineId.`,
      `/policyExceptions/0/lineId ${cut} names no line of this report; use the lineId of one of its lines or leave it out.`,
    ]);
    expect(unknownField.message.length).toBeLessThan(1000);
  });
});

describe('assertValid', () => {
  test('passes a valid document and narrows its type', () => {
    const doc: unknown = expenseReport();
    assertValid('ExpenseReport', doc);
    const report: ExpenseReport = doc;
    expect(report.total.amount).toBe('275.50');
  });

  test('throws SCHEMA_INVALID with the first violations in the message and all of them in details', () => {
    const report = reportWith(['1.001', '2.002', '3.003', '4.004'], '10.010');
    let caught: unknown;
    try {
      assertValid('ExpenseReport', report);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FinanceError);
    const error = caught as FinanceError;
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      /^ExpenseReport is not valid: \/total\/amount "10\.010" has 3 decimal\(s\) but EUR has only 2; .* \(and 2 more\)\.$/,
    );
    const violations = error.details?.violations as Violation[];
    expect(violations).toHaveLength(5);
    expect(error.details?.docType).toBe('ExpenseReport');
  });

  test('summariseViolations joins messages and counts the rest', () => {
    const v = (message: string): Violation => ({ path: '', rule: 'x', message });
    expect(summariseViolations([v('a is wrong.'), v('b is wrong.')])).toBe('a is wrong; b is wrong.');
    expect(summariseViolations([v('a.'), v('b.'), v('c.'), v('d.')], 2)).toBe('a; b (and 2 more).');
  });
});
