import { aggregateCharges, budgetKey, chargesOf, dateOf, periodOf, splitAmounts } from '../../../lib/budget';
import { localDate } from '../../../lib/model/calendar';
import { documentDate } from '../../../lib/posting/expense-posting';
import { FinanceError } from '../../../lib/errors';
import { eur, expenseLine, expenseReport, orderLine, purchaseOrder, requisition } from './documents';

const TODAY = '2026-04-02';

describe('charges of a document', () => {
  it('charges each expense line in the period of its own date', () => {
    const report = expenseReport(
      [
        expenseLine('L1', '40.00', { costCenter: 'CC-300', glAccount: '6010' }, '2026-02-27'),
        expenseLine('L2', '60.00', { costCenter: 'CC-300', glAccount: '6010', department: 'D1' }, '2026-03-02'),
      ],
      '100.00',
      '2026-03-03T08:00:00+01:00',
    );
    expect(chargesOf(report, { periodFrom: 'line', today: TODAY })).toEqual([
      {
        lineId: 'L1',
        period: '2026-02',
        dimensions: { costCenter: 'CC-300', glAccount: '6010' },
        amount: eur('40.00'),
      },
      {
        lineId: 'L2',
        period: '2026-03',
        dimensions: { costCenter: 'CC-300', glAccount: '6010' },
        amount: eur('60.00'),
      },
    ]);
    expect(chargesOf(report, { periodFrom: 'document', today: TODAY }).map((charge) => charge.period)).toEqual([
      '2026-03',
      '2026-03',
    ]);
  });

  it("reads the submission date on the host's calendar, where the posting date is read too", () => {
    const submittedAt = '2026-03-31T23:30:00-05:00';
    const report = expenseReport([expenseLine('L1', '1.00', { costCenter: 'CC-100' })], '1.00', submittedAt);
    const postingDay = documentDate(report); // what finance-post books it on with the "document" rule
    expect(postingDay).toBe(localDate(new Date(submittedAt)));
    expect(chargesOf(report, { periodFrom: 'document', today: TODAY })[0].period).toBe(postingDay.slice(0, 7));
  });

  it('uses the latest expense date for a report without a submission date (where finance-post posts it), the check date for a requisition', () => {
    const report = expenseReport(
      [
        expenseLine('L1', '1.00', { costCenter: 'CC-100' }, '2026-02-27'),
        expenseLine('L2', '2.00', { costCenter: 'CC-100' }, '2026-03-10'),
      ],
      '3.00',
    );
    expect(documentDate(report)).toBe('2026-03-10');
    expect(chargesOf(report, { periodFrom: 'document', today: TODAY }).map((charge) => charge.period)).toEqual([
      '2026-03',
      '2026-03',
    ]);
    const order = requisition(
      [orderLine('1', '1', '5.00', '5.00', [{ dimensions: { costCenter: 'CC-500' }, percent: '100' }])],
      '5.00',
    );
    expect(chargesOf(order, { periodFrom: 'document', today: TODAY })[0].period).toBe('2026-04');
  });

  it('uses an order line need-by date for line periods, else the order date', () => {
    const order = purchaseOrder(
      [
        orderLine('1', '1', '10.00', '10.00', [{ dimensions: { costCenter: 'CC-500' }, percent: '100' }], '2026-06-15'),
        orderLine('2', '1', '20.00', '20.00', [{ dimensions: { costCenter: 'CC-500' }, percent: '100' }]),
      ],
      '30.00',
    );
    expect(chargesOf(order, { periodFrom: 'line', today: TODAY }).map((charge) => charge.period)).toEqual([
      '2026-06',
      '2026-03',
    ]);
    expect(chargesOf(order, { periodFrom: 'document', today: TODAY }).map((charge) => charge.period)).toEqual([
      '2026-03',
      '2026-03',
    ]);
  });

  it('splits an order line by percent so the parts add up to the line exactly', () => {
    const line = orderLine('1', '3', '333.33', '999.99', [
      { dimensions: { costCenter: 'CC-400', glAccount: '6200' }, percent: '33.33' },
      { dimensions: { costCenter: 'CC-400', glAccount: '6210' }, percent: '33.33' },
      { dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '33.34' },
    ]);
    // 999.99 x 33.33 % = 333.2967 (twice), x 33.34 % = 333.3967: all round down to 999.97, and the two cents
    // left go to the largest remainders (.6667 beats .6666), so the parts still add up to 999.99.
    expect(splitAmounts(line, '/lines/0')).toEqual([eur('333.30'), eur('333.30'), eur('333.39')]);
    const charges = chargesOf(purchaseOrder([line], '999.99'), { periodFrom: 'document', today: TODAY });
    expect(charges.map((charge) => charge.amount.amount)).toEqual(['333.30', '333.30', '333.39']);
  });

  it('takes amount splits as given, and a single split without either as the whole line', () => {
    const byAmount = orderLine('1', '1', '100.00', '100.00', [
      { dimensions: { costCenter: 'CC-400' }, amount: eur('70.01') },
      { dimensions: { project: 'PRJ-2001' }, amount: eur('29.99') },
    ]);
    expect(splitAmounts(byAmount, '/lines/0')).toEqual([eur('70.01'), eur('29.99')]);
    const whole = orderLine('1', '2', '50.00', '100.00', [{ dimensions: { costCenter: 'CC-400' } }]);
    expect(splitAmounts(whole, '/lines/0')).toEqual([eur('100.00')]);
  });

  it('refuses splits that mix percentages and amounts', () => {
    const mixed = orderLine('1', '1', '100.00', '100.00', [
      { dimensions: { costCenter: 'CC-400' }, percent: '50' },
      { dimensions: { costCenter: 'CC-500' }, amount: eur('50.00') },
    ]);
    expect(() => splitAmounts(mixed, '/lines/0')).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_INVALID',
        message: expect.stringContaining('/lines/0/accountAssignments mixes'),
      }),
    );
  });
});

describe('aggregation by budget key', () => {
  it('sums lines that share a key exactly, in minor units', () => {
    // 0.10 + 0.20 is 0.30000000000000004 in floating point; the check must ask for exactly 0.30.
    const charges = chargesOf(
      expenseReport(
        [
          expenseLine('L1', '0.10', { costCenter: 'CC-300', glAccount: '6010' }),
          expenseLine('L2', '0.20', { costCenter: 'CC-300', glAccount: '6010' }),
          expenseLine('L3', '5.00', { costCenter: 'CC-300', glAccount: '6000' }),
        ],
        '5.30',
      ),
      { periodFrom: 'line', today: TODAY },
    );
    expect(aggregateCharges(charges, 'EUR')).toEqual([
      {
        key: 'costCenter=CC-300,glAccount=6010@2026-03',
        dimensions: { costCenter: 'CC-300', glAccount: '6010' },
        period: '2026-03',
        amount: eur('0.30'),
        lineIds: ['L1', 'L2'],
      },
      {
        key: 'costCenter=CC-300,glAccount=6000@2026-03',
        dimensions: { costCenter: 'CC-300', glAccount: '6000' },
        period: '2026-03',
        amount: eur('5.00'),
        lineIds: ['L3'],
      },
    ]);
  });

  it('checks a line with a project against the project and against its cost center', () => {
    const charges = chargesOf(
      expenseReport(
        [
          expenseLine('L1', '100.00', { costCenter: 'CC-400', glAccount: '6200', project: 'PRJ-2001' }),
          expenseLine('L2', '50.00', { project: 'PRJ-2001' }),
          expenseLine('L3', '25.00', { costCenter: 'CC-400' }),
        ],
        '175.00',
      ),
      { periodFrom: 'line', today: TODAY },
    );
    expect(aggregateCharges(charges, 'EUR').map(({ key, amount, lineIds }) => [key, amount.amount, lineIds])).toEqual([
      ['project=PRJ-2001@2026-03', '150.00', ['L1', 'L2']],
      ['costCenter=CC-400,glAccount=6200@2026-03', '100.00', ['L1']],
      ['costCenter=CC-400@2026-03', '25.00', ['L3']],
    ]);
  });

  it("checks a project line against its account's project budget where the ERP keeps project budgets per account", () => {
    // ERPNext keeps one Budget per project and account; a line on 6100 must not draw on the Budget for 6000.
    const charges = chargesOf(
      expenseReport(
        [
          expenseLine('L1', '100.00', { costCenter: 'CC-400', glAccount: '6200', project: 'PRJ-2001' }),
          expenseLine('L2', '500.00', { costCenter: 'CC-400', glAccount: '6100', project: 'PRJ-2001' }),
          expenseLine('L3', '50.00', { project: 'PRJ-2001' }),
          expenseLine('L4', '20.00', { costCenter: 'CC-400', glAccount: '6100', project: 'PRJ-2001' }),
        ],
        '670.00',
      ),
      { periodFrom: 'line', today: TODAY },
    );
    const keys = (model?: { projectBudgetsPerAccount?: boolean }) =>
      aggregateCharges(charges, 'EUR', model).map(({ key, dimensions, amount, lineIds }) => [
        key,
        dimensions,
        amount.amount,
        lineIds,
      ]);
    expect(keys({ projectBudgetsPerAccount: true })).toEqual([
      ['glAccount=6200,project=PRJ-2001@2026-03', { project: 'PRJ-2001', glAccount: '6200' }, '100.00', ['L1']],
      ['costCenter=CC-400,glAccount=6200@2026-03', { costCenter: 'CC-400', glAccount: '6200' }, '100.00', ['L1']],
      ['glAccount=6100,project=PRJ-2001@2026-03', { project: 'PRJ-2001', glAccount: '6100' }, '520.00', ['L2', 'L4']],
      ['costCenter=CC-400,glAccount=6100@2026-03', { costCenter: 'CC-400', glAccount: '6100' }, '520.00', ['L2', 'L4']],
      // Without a G/L account, a project line can only be checked against the project as a whole.
      ['project=PRJ-2001@2026-03', { project: 'PRJ-2001' }, '50.00', ['L3']],
    ]);
    // An ERP with one project budget over all accounts (the sandbox, the default) pools them.
    expect(keys()[0]).toEqual([
      'project=PRJ-2001@2026-03',
      { project: 'PRJ-2001' },
      '670.00',
      ['L1', 'L2', 'L3', 'L4'],
    ]);
    expect(keys({ projectBudgetsPerAccount: false })).toEqual(keys());
  });

  it('keeps periods apart: a budget is per month', () => {
    const charges = chargesOf(
      expenseReport(
        [
          expenseLine('L1', '10.00', { costCenter: 'CC-300', glAccount: '6010' }, '2026-02-28'),
          expenseLine('L2', '10.00', { costCenter: 'CC-300', glAccount: '6010' }, '2026-03-01'),
        ],
        '20.00',
      ),
      { periodFrom: 'line', today: TODAY },
    );
    expect(aggregateCharges(charges, 'EUR').map((request) => request.key)).toEqual([
      'costCenter=CC-300,glAccount=6010@2026-02',
      'costCenter=CC-300,glAccount=6010@2026-03',
    ]);
  });

  it('sums the splits of several order lines on the same key', () => {
    const order = purchaseOrder(
      [
        orderLine('1', '1', '100.00', '100.00', [
          { dimensions: { costCenter: 'CC-400', glAccount: '6200' }, percent: '66.67' },
          { dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '33.33' },
        ]),
        orderLine('2', '1', '0.01', '0.01', [
          { dimensions: { costCenter: 'CC-400', glAccount: '6200' }, percent: '50' },
          { dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '50' },
        ]),
      ],
      '100.01',
    );
    const requests = aggregateCharges(chargesOf(order, { periodFrom: 'document', today: TODAY }), 'EUR');
    // 66.67 + 0.01 (the single cent goes to the first of two equal remainders) and 33.33 + 0.00.
    expect(requests.map((request) => request.amount.amount)).toEqual(['66.68', '33.33']);
  });

  it('refuses a line charged to neither a cost center nor a project', () => {
    const charges = chargesOf(
      expenseReport([expenseLine('L9', '10.00', { glAccount: '6010', department: 'D1' })], '10.00'),
      { periodFrom: 'line', today: TODAY },
    );
    let error: unknown;
    try {
      aggregateCharges(charges, 'EUR');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(FinanceError);
    expect(error).toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('Line "L9" is charged to neither'),
    });
  });

  it('names keys readably and in a fixed order', () => {
    expect(budgetKey({ glAccount: '6010', costCenter: 'CC-300' }, '2026-03')).toBe(
      'costCenter=CC-300,glAccount=6010@2026-03',
    );
    expect(budgetKey({ project: 'PRJ-2002' }, '2026-12')).toBe('project=PRJ-2002@2026-12');
  });
});

describe('periods', () => {
  it("is the month of a date, or of a date-time on the host's calendar, and today is the host's day", () => {
    expect(periodOf('2026-12-31', '/lines/0/date')).toBe('2026-12');
    expect(periodOf('2026-12-31', '/lines/0/date', 'Pacific/Kiritimati')).toBe('2026-12'); // a date is a day
    // 23:30 on 31 March in New York, written in UTC by the source: March there, April in Berlin.
    expect(periodOf('2026-04-01T03:30:00Z', '/submittedAt', 'America/New_York')).toBe('2026-03');
    expect(periodOf('2026-04-01T03:30:00Z', '/submittedAt', 'Europe/Berlin')).toBe('2026-04');
    expect(periodOf('2026-01-01T00:30:00+02:00', '/submittedAt', 'Europe/Athens')).toBe('2026-01');
    expect(periodOf('2026-01-01T00:30:00+02:00', '/submittedAt', 'UTC')).toBe('2025-12');
    expect(dateOf(Date.parse('2026-03-31T23:59:59Z'), 'UTC')).toBe('2026-03-31');
    expect(dateOf(Date.parse('2026-03-31T23:59:59Z'), 'Asia/Tokyo')).toBe('2026-04-01');
  });

  it('refuses something that is not a date, naming where it came from', () => {
    expect(() => periodOf('31.03.2026', '/lines/2/date')).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_INVALID',
        message: expect.stringContaining('/lines/2/date "31.03.2026"'),
      }),
    );
    expect(() => periodOf('2026-13-01', '/orderDate')).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
  });
});
