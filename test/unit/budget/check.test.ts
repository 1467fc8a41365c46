import {
  CHECKED_AT_CREATION,
  budgetDocumentOf,
  budgetSettings,
  checkDocumentBudget,
  mapBounded,
  type BudgetCheckOptions,
} from '../../../lib/budget';
import type { BudgetAvailability, CallContext } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import { fromMinorUnits, minorOf } from '../../../lib/model/money';
import type { BudgetCheckRequest } from '../../../lib/model/types';
import { validateDocument } from '../../../lib/model/validate';
import { eur, expenseLine, expenseReport, orderLine, requisition } from './documents';

/**
 * An ERP that answers from a table of monthly budgets and spent amounts, like the sandbox, and records what it
 * was asked. The HTTP path to the real sandbox is covered by test/node/finance-budget-check.test.ts.
 */
class BudgetTable {
  readonly calls: Array<{ request: BudgetCheckRequest; ctx: CallContext }> = [];
  inFlight = 0;
  maxInFlight = 0;
  failWith?: FinanceError;

  constructor(private readonly budgets: Record<string, { budget: string; spent?: string }>) {}

  async checkBudget(request: BudgetCheckRequest, ctx: CallContext): Promise<BudgetAvailability> {
    this.calls.push({ request, ctx });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight -= 1;
    if (this.failWith) throw this.failWith;
    const key = [request.costCenter, request.glAccount, request.project].filter(Boolean).join('/');
    const entry = this.budgets[key];
    if (entry === undefined) {
      throw new FinanceError('ERP_NOT_FOUND', `ERP "sandbox" answered 404: No budget for ${key}.`, {
        httpStatus: 404,
        details: { vendorCode: 'NO_BUDGET' },
      });
    }
    const budget = eur(entry.budget);
    const spent = eur(entry.spent ?? '0.00');
    const available = fromMinorUnits(minorOf(budget) - minorOf(spent), 'EUR');
    return {
      budget,
      actuals: spent,
      commitments: eur('0.00'),
      available,
      requested: request.amount,
      period: request.period,
      status: minorOf(request.amount) > minorOf(available) ? 'exceeded' : 'within',
      erpMessages: [],
    };
  }
}

/** What an open purchase order ordered in March 2026 holds on CC-400 and `glAccount`. */
const marchCharge = (lineId: string, glAccount: string, amount: string) => ({
  lineId,
  period: '2026-03',
  dimensions: { costCenter: 'CC-400', glAccount },
  amount: eur(amount),
});

const OPTIONS: BudgetCheckOptions = {
  warningPercent: 90,
  noBudget: 'exceeded',
  periodFrom: 'line',
  correlationId: 'corr-42',
  now: () => Date.parse('2026-03-20T10:00:00Z'),
};

describe('checkDocumentBudget', () => {
  it('asks once per budget key with the summed amount and combines the answers into msg.budget', async () => {
    const erp = new BudgetTable({
      'CC-300/6010': { budget: '300.00' },
      'CC-300/6000': { budget: '800.00', spent: '100.00' },
    });
    const report = expenseReport(
      [
        expenseLine('L1', '150.00', { costCenter: 'CC-300', glAccount: '6010' }),
        expenseLine('L2', '120.00', { costCenter: 'CC-300', glAccount: '6010' }),
        expenseLine('L3', '50.00', { costCenter: 'CC-300', glAccount: '6000' }),
      ],
      '320.00',
    );
    const budget = await checkDocumentBudget(erp, report, OPTIONS);

    // The document's kind goes along: an ERP may judge an expense (actuals only) otherwise than an order.
    expect(erp.calls.map(({ request }) => request)).toEqual([
      {
        company: 'FS-DEMO',
        costCenter: 'CC-300',
        glAccount: '6010',
        period: '2026-03',
        amount: eur('270.00'),
        documentType: 'ExpenseReport',
      },
      {
        company: 'FS-DEMO',
        costCenter: 'CC-300',
        glAccount: '6000',
        period: '2026-03',
        amount: eur('50.00'),
        documentType: 'ExpenseReport',
      },
    ]);
    expect(erp.calls.every(({ ctx }) => ctx.correlationId === 'corr-42')).toBe(true);
    // The top level is the deciding budget's, named by its key: 270.00 of the meals budget's 300.00.
    expect(budget).toEqual({
      status: 'warning',
      key: 'costCenter=CC-300,glAccount=6010@2026-03',
      requested: eur('270.00'),
      available: eur('300.00'),
      budget: eur('300.00'),
      currency: 'EUR',
      period: '2026-03',
      checkedAt: '2026-03-20T10:00:00.000Z',
      erpMessages: [],
      checks: [
        {
          key: 'costCenter=CC-300,glAccount=6010@2026-03',
          dimensions: { costCenter: 'CC-300', glAccount: '6010' },
          period: '2026-03',
          requested: eur('270.00'),
          available: eur('300.00'),
          budget: eur('300.00'),
          status: 'warning',
          lineIds: ['L1', 'L2'],
        },
        {
          key: 'costCenter=CC-300,glAccount=6000@2026-03',
          dimensions: { costCenter: 'CC-300', glAccount: '6000' },
          period: '2026-03',
          requested: eur('50.00'),
          available: eur('700.00'),
          budget: eur('800.00'),
          status: 'within',
          lineIds: ['L3'],
        },
      ],
    });
    // msg.budget as a whole, key and checks included, is what the canonical schema describes.
    expect(validateDocument('BudgetCheckResult', budget)).toMatchObject({ valid: true });
  });

  it('is exceeded when the project budget is short even though the cost center has room', async () => {
    const erp = new BudgetTable({
      'CC-400/6200': { budget: '5000.00' },
      'PRJ-2003': { budget: '5000.00', spent: '4990.00' },
    });
    const report = expenseReport(
      [expenseLine('L1', '10.01', { costCenter: 'CC-400', glAccount: '6200', project: 'PRJ-2003' })],
      '10.01',
    );
    const budget = await checkDocumentBudget(erp, report, OPTIONS);
    expect(budget.checks.map((check) => [check.key, check.status])).toEqual([
      ['project=PRJ-2003@2026-03', 'exceeded'],
      ['costCenter=CC-400,glAccount=6200@2026-03', 'within'],
    ]);
    expect(budget).toMatchObject({
      status: 'exceeded',
      key: 'project=PRJ-2003@2026-03',
      requested: eur('10.01'),
      available: eur('10.00'),
    });
  });

  it('checks each percent split of a requisition against its own budget, in the check period', async () => {
    const erp = new BudgetTable({
      'CC-400/6200': { budget: '5000.00' },
      'CC-400/6210': { budget: '9000.00' },
      'CC-500/6100': { budget: '1500.00' },
    });
    const order = requisition(
      [
        orderLine('1', '3', '333.33', '999.99', [
          { dimensions: { costCenter: 'CC-400', glAccount: '6200' }, percent: '33.33' },
          { dimensions: { costCenter: 'CC-400', glAccount: '6210' }, percent: '33.33' },
          { dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '33.34' },
        ]),
      ],
      '999.99',
    );
    const budget = await checkDocumentBudget(erp, order, OPTIONS);
    expect(
      erp.calls.map(({ request }) => [request.costCenter, request.glAccount, request.period, request.amount.amount]),
    ).toEqual([
      ['CC-400', '6200', '2026-03', '333.30'],
      ['CC-400', '6210', '2026-03', '333.30'],
      ['CC-500', '6100', '2026-03', '333.39'],
    ]);
    // All within: the budget with the least money left afterwards (1,500.00 - 333.39) decides.
    expect(budget).toMatchObject({
      status: 'within',
      key: 'costCenter=CC-500,glAccount=6100@2026-03',
      requested: eur('333.39'),
      available: eur('1500.00'),
    });
  });

  it('checks only the change of a revision whose purchase order the ERP already counts, never below zero', async () => {
    const erp = new BudgetTable({
      'CC-400/6200': { budget: '1000.00', spent: '600.00' },
      'CC-400/6210': { budget: '50.00' },
    });
    const revision = requisition(
      [
        orderLine('1', '3', '333.33', '999.99', [
          { dimensions: { costCenter: 'CC-400', glAccount: '6200' }, percent: '100' },
        ]),
        orderLine('2', '1', '10.00', '10.00', [
          { dimensions: { costCenter: 'CC-400', glAccount: '6210' }, percent: '100' },
        ]),
      ],
      '1009.99',
    );
    // Without the earlier version's PO taken off, its 600.00 counts twice: 999.99 > 400.00 available.
    expect((await checkDocumentBudget(erp, revision, OPTIONS)).status).toBe('exceeded');
    erp.calls.length = 0;
    const committed = {
      orderDate: '2026-03-05',
      charges: [marchCharge('1', '6200', '600.00'), marchCharge('2', '6210', '25.00')],
    };
    const budget = await checkDocumentBudget(erp, revision, { ...OPTIONS, committed });
    expect(erp.calls.map(({ request }) => [request.costCenter, request.glAccount, request.amount.amount])).toEqual([
      ['CC-400', '6200', '399.99'],
      ['CC-400', '6210', '0.00'],
    ]);
    // 600.00 + 399.99 of 1,000.00 consumed: near the limit, not over it. The top-level requested is the
    // deciding budget's after netting (the change), like its checks[] entry, not the document's 1,009.99.
    expect(budget).toMatchObject({
      status: 'warning',
      key: 'costCenter=CC-400,glAccount=6200@2026-03',
      requested: eur('399.99'),
      available: eur('400.00'),
    });
  });

  it('lets a revision that lowers its purchase order through a budget its order has already overspent', async () => {
    // 1,000.00 budget; the open PO of 1,000.00 and 100.00 of actuals: 100.00 overspent. The revision lowers the PO.
    const erp = new BudgetTable({ 'CC-400/6200': { budget: '1000.00', spent: '1100.00' } });
    const lowered = requisition(
      [orderLine('1', '1', '900.00', '900.00', [{ dimensions: { costCenter: 'CC-400', glAccount: '6200' } }])],
      '900.00',
    );
    const committed = {
      orderDate: '2026-03-05',
      charges: [marchCharge('1', '6200', '1000.00')],
    };
    const budget = await checkDocumentBudget(erp, lowered, { ...OPTIONS, committed });
    expect(erp.calls.map(({ request }) => request.amount.amount)).toEqual(['0.00']);
    expect(budget.status).toBe('within');
    // A revision that raises it is still refused.
    const raised = requisition(
      [orderLine('1', '1', '1000.01', '1000.01', [{ dimensions: { costCenter: 'CC-400', glAccount: '6200' } }])],
      '1000.01',
    );
    expect((await checkDocumentBudget(erp, raised, { ...OPTIONS, committed })).status).toBe('exceeded');
  });

  it("checks a revision after a month end in its purchase order's month, where the ERP keeps the commitment", async () => {
    const erp = new BudgetTable({ 'CC-400/6200': { budget: '1000.00', spent: '600.00' } });
    const revision = requisition(
      [
        orderLine('1', '3', '333.33', '999.99', [
          { dimensions: { costCenter: 'CC-400', glAccount: '6200' }, percent: '100' },
        ]),
      ],
      '999.99',
    );
    // Ordered on 31 March for 600.00; the revision is checked on 1 April.
    const committed = {
      orderDate: '2026-03-31',
      charges: [marchCharge('1', '6200', '600.00')],
    };
    const firstOfApril = { ...OPTIONS, now: () => Date.parse('2026-04-01T08:00:00Z'), committed };
    await checkDocumentBudget(erp, revision, firstOfApril);
    expect(erp.calls.map(({ request }) => [request.period, request.amount.amount])).toEqual([['2026-03', '399.99']]);
    erp.calls.length = 0;
    // A requisition without a purchase order is still charged in the month it is checked.
    await checkDocumentBudget(erp, revision, { ...firstOfApril, committed: undefined });
    expect(erp.calls.map(({ request }) => [request.period, request.amount.amount])).toEqual([['2026-04', '999.99']]);
  });

  it("checks a project line against its account's project budget where the ERP keeps them per account", async () => {
    // Probe of finding 3: PRJ-2001 has a large Budget on 6000 and 100.00 on 6100; a line of 500.00 on 6100.
    const budgets = {
      '6000/PRJ-2001': { budget: '220000.00' },
      '6100/PRJ-2001': { budget: '100.00' },
      'CC-100/6100': { budget: '8000.00' },
      'PRJ-2001': { budget: '220100.00' },
    };
    const perAccount = Object.assign(new BudgetTable(budgets), { projectBudgetsPerAccount: true });
    const report = expenseReport(
      [expenseLine('L1', '500.00', { costCenter: 'CC-100', glAccount: '6100', project: 'PRJ-2001' })],
      '500.00',
    );
    const budget = await checkDocumentBudget(perAccount, report, OPTIONS);
    expect(perAccount.calls.map(({ request }) => request)).toEqual([
      {
        company: 'FS-DEMO',
        project: 'PRJ-2001',
        glAccount: '6100',
        period: '2026-03',
        amount: eur('500.00'),
        documentType: 'ExpenseReport',
      },
      {
        company: 'FS-DEMO',
        costCenter: 'CC-100',
        glAccount: '6100',
        period: '2026-03',
        amount: eur('500.00'),
        documentType: 'ExpenseReport',
      },
    ]);
    expect(budget).toMatchObject({
      status: 'exceeded',
      key: 'glAccount=6100,project=PRJ-2001@2026-03',
      requested: eur('500.00'),
      available: eur('100.00'),
      budget: eur('100.00'),
    });
    // An ERP with one project budget over all accounts is asked for the project as a whole, as before.
    const pooled = new BudgetTable(budgets);
    expect((await checkDocumentBudget(pooled, report, OPTIONS)).status).toBe('within');
    expect(pooled.calls[0].request).toEqual({
      company: 'FS-DEMO',
      project: 'PRJ-2001',
      period: '2026-03',
      amount: eur('500.00'),
      documentType: 'ExpenseReport',
    });
  });

  it('nets a commitment on the same per-account project keys as the revision', async () => {
    const perAccount = Object.assign(
      new BudgetTable({
        '6200/PRJ-2001': { budget: '1000.00', spent: '600.00' },
        'CC-400/6200': { budget: '9000.00' },
      }),
      { projectBudgetsPerAccount: true },
    );
    const revision = requisition(
      [
        orderLine('1', '1', '700.00', '700.00', [
          { dimensions: { costCenter: 'CC-400', glAccount: '6200', project: 'PRJ-2001' } },
        ]),
      ],
      '700.00',
    );
    const committed = {
      orderDate: '2026-03-05',
      charges: [
        {
          ...marchCharge('1', '6200', '600.00'),
          dimensions: { costCenter: 'CC-400', glAccount: '6200', project: 'PRJ-2001' },
        },
      ],
    };
    const budget = await checkDocumentBudget(perAccount, revision, { ...OPTIONS, committed });
    expect(budget.checks.map((check) => [check.key, check.requested.amount, check.status])).toEqual([
      ['glAccount=6200,project=PRJ-2001@2026-03', '100.00', 'within'],
      ['costCenter=CC-400,glAccount=6200@2026-03', '100.00', 'within'],
    ]);
  });

  it('is decided by a budget the ERP has, not by a key without one treated as within (msg.budget names its key)', async () => {
    // Probe of finding 10: with "no budget = within" the unbudgeted key's 0.00 figures were reported.
    const erp = new BudgetTable({ 'CC-100/6300': { budget: '8000.00' } });
    const report = expenseReport(
      [expenseLine('L1', '500.00', { costCenter: 'CC-100', glAccount: '6300', project: 'PRJ-NONE' })],
      '500.00',
    );
    const budget = await checkDocumentBudget(erp, report, { ...OPTIONS, noBudget: 'within' });
    expect(budget).toMatchObject({
      status: 'within',
      key: 'costCenter=CC-100,glAccount=6300@2026-03',
      requested: eur('500.00'),
      available: eur('8000.00'),
      budget: eur('8000.00'),
      erpMessages: [expect.objectContaining({ code: 'NO_BUDGET', severity: 'info' })],
    });
    // With "no budget = exceeded" the unbudgeted project is why the document is exceeded: it decides, without
    // made-up figures.
    const strict = await checkDocumentBudget(erp, report, OPTIONS);
    expect(strict).toMatchObject({ status: 'exceeded', key: 'project=PRJ-NONE@2026-03', requested: eur('500.00') });
    expect(strict).not.toHaveProperty('available');
  });

  it("adds what the commitment lookup says to msg.budget's messages", async () => {
    const erp = new BudgetTable({ 'CC-300/6010': { budget: '300.00' } });
    const report = expenseReport([expenseLine('L1', '1.00', { costCenter: 'CC-300', glAccount: '6010' })], '1.00');
    const note = { code: 'COMMITMENT_NOT_NETTED', severity: 'warning' as const, text: 'checked in full' };
    const budget = await checkDocumentBudget(erp, report, { ...OPTIONS, commitmentMessages: [note] });
    expect(budget.erpMessages).toEqual([note]);
  });

  it('applies the configured behaviour when the ERP has no budget, and says so', async () => {
    const report = expenseReport([expenseLine('L1', '12.00', { costCenter: 'CC-300', glAccount: '6200' })], '12.00');
    const strict = await checkDocumentBudget(new BudgetTable({}), report, OPTIONS);
    // The ERP gave no figures: the top level has none, its check the 0.00 stand-ins, marked noBudget.
    expect(strict).not.toHaveProperty('available');
    expect(strict).not.toHaveProperty('budget');
    expect(strict.checks).toEqual([
      expect.objectContaining({ available: eur('0.00'), budget: eur('0.00'), status: 'exceeded', noBudget: true }),
    ]);
    expect(strict).toMatchObject({
      status: 'exceeded',
      key: 'costCenter=CC-300,glAccount=6200@2026-03',
      requested: eur('12.00'),
      erpMessages: [
        {
          code: 'NO_BUDGET',
          severity: 'error',
          text: 'The ERP has no budget for costCenter CC-300, glAccount 6200 in 2026-03; treated as exceeded: no budget means no money.',
        },
      ],
    });
    const lenient = await checkDocumentBudget(new BudgetTable({}), report, { ...OPTIONS, noBudget: 'within' });
    expect(lenient).toMatchObject({ status: 'within', erpMessages: [{ code: 'NO_BUDGET', severity: 'info' }] });
  });

  it('asks nothing of an ERP that checks at the write, and says so: status deferred, no figures', async () => {
    const erp = new BudgetTable({ 'CC-300/6010': { budget: '1.00' } });
    const atCreation = Object.assign(erp, { name: 'sap', budgetControl: 'at-creation' as const });
    const report = expenseReport(
      [
        expenseLine('L1', '150.00', { costCenter: 'CC-300', glAccount: '6010' }),
        expenseLine('L2', '50.00', { costCenter: 'CC-100', glAccount: '6000' }),
      ],
      '200.00',
    );
    const budget = await checkDocumentBudget(atCreation, report, OPTIONS);
    expect(erp.calls).toEqual([]);
    expect(budget).toEqual({
      status: 'deferred',
      requested: eur('200.00'),
      currency: 'EUR',
      period: '2026-03',
      checkedAt: '2026-03-20T10:00:00.000Z',
      erpMessages: [expect.objectContaining({ code: CHECKED_AT_CREATION, severity: 'info' })],
      checks: [],
    });
    expect(budget.erpMessages[0].text).toMatch(/sap.*no funds check call.*budget_exceeded/);
    // It is a valid msg.budget for the canonical schema.
    expect(validateDocument('BudgetCheckResult', budget)).toMatchObject({ valid: true });
    // The same ERP answering a check call (the default) is asked, and over budget here.
    const asked = await checkDocumentBudget(new BudgetTable({ 'CC-300/6010': { budget: '1.00' } }), report, {
      ...OPTIONS,
      noBudget: 'within',
    });
    expect(asked.status).toBe('exceeded');
  });

  it('throws technical failures as they are, for done(err)', async () => {
    const erp = new BudgetTable({ 'CC-300/6010': { budget: '300.00' } });
    erp.failWith = new FinanceError('ERP_UNAVAILABLE', 'ERP "sandbox" answered 503.', {
      httpStatus: 503,
      retryable: true,
    });
    const report = expenseReport([expenseLine('L1', '1.00', { costCenter: 'CC-300', glAccount: '6010' })], '1.00');
    await expect(checkDocumentBudget(erp, report, OPTIONS)).rejects.toBe(erp.failWith);

    const notFound = new FinanceError('ERP_NOT_FOUND', 'Unknown company FS-NOPE.', {
      details: { vendorCode: 'UNKNOWN_COMPANY' },
    });
    erp.failWith = notFound;
    await expect(checkDocumentBudget(erp, report, OPTIONS)).rejects.toBe(notFound);
  });

  it('keeps at most maxParallel checks in flight', async () => {
    const budgets = Object.fromEntries(
      ['CC-100', 'CC-200', 'CC-300', 'CC-400', 'CC-500', 'CC-600'].map((cc) => [cc, { budget: '100.00' }]),
    );
    const erp = new BudgetTable(budgets);
    const lines = Object.keys(budgets).map((cc, index) => expenseLine(`L${index}`, '1.00', { costCenter: cc }));
    const budget = await checkDocumentBudget(erp, expenseReport(lines, '6.00'), { ...OPTIONS, maxParallel: 2 });
    expect(erp.calls).toHaveLength(6);
    expect(erp.maxInFlight).toBe(2);
    expect(budget.checks.map((check) => check.dimensions.costCenter)).toEqual(Object.keys(budgets));
  });
});

describe('mapBounded', () => {
  it('returns results in item order whatever order they finish in', async () => {
    const delays = [3, 1, 2, 0];
    const results = await mapBounded(delays, 2, async (ticks, index) => {
      for (let tick = 0; tick < ticks; tick += 1) await new Promise((resolve) => setImmediate(resolve));
      return index * 10;
    });
    expect(results).toEqual([0, 10, 20, 30]);
  });

  it('starts nothing new after a failure and throws the first one', async () => {
    const started: number[] = [];
    const run = mapBounded([0, 1, 2, 3, 4], 2, async (item) => {
      started.push(item);
      await new Promise((resolve) => setImmediate(resolve));
      if (item === 0) throw new Error('first');
      if (item === 1) throw new Error('second');
      return item;
    });
    await expect(run).rejects.toThrow('first');
    expect(started).toEqual([0, 1]);
  });
});

describe('the document a budget check accepts', () => {
  it('is a valid canonical document', () => {
    const report = expenseReport([expenseLine('L1', '1.00', { costCenter: 'CC-100' })], '1.00');
    expect(budgetDocumentOf(report)).toBe(report);
  });

  it.each([
    [undefined, 'its docType is missing'],
    [{ docType: 'Invoice' }, 'its docType is "Invoice"'],
    ['ER-1', 'its docType is missing'],
  ])('refuses %p with SCHEMA_INVALID', (payload, message) => {
    expect(() => budgetDocumentOf(payload)).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining(message) }),
    );
  });

  it('refuses an invalid document with every violation in the details', () => {
    const report = expenseReport([expenseLine('L1', '1.00', { costCenter: 'CC-100' })], '2.00') as unknown as Record<
      string,
      unknown
    >;
    delete report.employeeId;
    let error: FinanceError | undefined;
    try {
      budgetDocumentOf(report);
    } catch (thrown) {
      error = thrown as FinanceError;
    }
    expect(error?.code).toBe('SCHEMA_INVALID');
    expect(error?.details?.violations).toEqual([expect.objectContaining({ path: '/employeeId', rule: 'required' })]);
  });
});

describe('finance-budget-check settings', () => {
  it('defaults to 90 %, no budget means exceeded, periods from lines', () => {
    expect(budgetSettings({})).toEqual({
      warningPercent: 90,
      noBudget: 'exceeded',
      periodFrom: 'line',
      netOwnCommitment: true,
      // Missing from a node saved before reserving existed: it checks without reserving, as before.
      reserveFunds: false,
      reserveHoldMs: 72 * 3_600_000,
    });
    expect(
      budgetSettings({ warningPercent: '75', noBudget: 'within', periodFrom: 'document', netOwnCommitment: false }),
    ).toEqual({
      warningPercent: 75,
      noBudget: 'within',
      periodFrom: 'document',
      netOwnCommitment: false,
      reserveFunds: false,
      reserveHoldMs: 72 * 3_600_000,
    });
    expect(budgetSettings({ netOwnCommitment: 'false' }).netOwnCommitment).toBe(false);
    expect(budgetSettings({ netOwnCommitment: true }).netOwnCommitment).toBe(true);
  });

  it.each([
    [{ warningPercent: '0' }, 'Warning threshold (%) must be a whole number from 1 to 100'],
    [{ warningPercent: '90.5' }, 'Warning threshold (%) must be a whole number'],
    [{ noBudget: 'ignore' }, 'Without a budget is "ignore"'],
    [{ periodFrom: 'posting' }, 'Budget period from is "posting"'],
  ])('refuses %p', (settings, message) => {
    expect(() => budgetSettings(settings)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) }),
    );
  });
});
