/**
 * ERPNext budget checks by the company's Fiscal Year documents, not the calendar year: a company whose fiscal
 * year runs April to March (named "2026-2027", ERPNext's usual naming) finds its Budget, counts actuals and
 * orders from April 1st, and a Budget spanning two fiscal years applies in both. The fiscal years are read once
 * per connection and kept; a date in no fiscal year is ERP_NOT_FOUND (NO_FISCAL_YEAR), not "no budget".
 */
import { createDialect } from '../../../lib/erp/dialect';
import { FISCAL_YEARS_REREAD_MS, FISCAL_YEARS_TTL_MS } from '../../../lib/erp/erpnext/dialect';
import { erpnextStoreOf, type ErpnextStore } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const minor = (m: { amount: string }) => BigInt(m.amount.replace('.', ''));
/** The sandbox's budgets are for the calendar year of its clock: 2026. */
const NOW = new Date('2026-06-15T10:00:00Z');

function budgetOf(store: ErpnextStore, costCenter: string, fiscalYear: string, account = '6100') {
  const budget = [...store.table('Budget').values()].find(
    (b) =>
      b.cost_center === costCenter && b.from_fiscal_year === fiscalYear && String(b.account).startsWith(`${account} `),
  );
  if (!budget) throw new Error(`no sandbox budget for ${costCenter} in ${fiscalYear}`);
  return budget;
}

/** The sum of a Budget's distribution rows from `from` to `to` (periods), in cents. */
function distributed(budget: Record<string, unknown>, from: string, to: string): bigint {
  return (budget.budget_distribution as Array<{ start_date: string; amount: number }>)
    .filter((row) => row.start_date.slice(0, 7) >= from && row.start_date.slice(0, 7) <= to)
    .reduce((sum, row) => sum + BigInt(Math.round(row.amount * 100)), 0n);
}

describe('ERPNext budget checks by Fiscal Year documents', () => {
  let rig: DialectRig;
  let store: ErpnextStore;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection(), { now: () => NOW });
    store = erpnextStoreOf(rig.sandbox.state);
  });
  afterAll(() => rig.close());
  afterEach(() => jest.restoreAllMocks());

  const fiscalYearReads = () =>
    rig.http.exchanges.filter((e) => e.request.method === 'GET' && e.request.path.includes('Fiscal%20Year')).length;

  it('serves calendar Fiscal Years named by the year by default, and April-March years named "2026-2027" when set', () => {
    expect(store.table('Fiscal Year').get('2026')).toMatchObject({
      year_start_date: '2026-01-01',
      year_end_date: '2026-12-31',
      disabled: 0,
      companies: [],
    });
    store.setFiscalYearStart(4);
    expect(store.table('Fiscal Year').has('2026')).toBe(false);
    expect(store.table('Fiscal Year').get('2026-2027')).toMatchObject({
      year_start_date: '2026-04-01',
      year_end_date: '2027-03-31',
    });
    // The calendar year's budget months split at April: Jan-Mar in 2025-2026, Apr-Dec in 2026-2027.
    expect(distributed(budgetOf(store, 'CC-500 - FSD', '2025-2026'), '2026-01', '2026-12')).toBeGreaterThan(0n);
    expect(budgetOf(store, 'CC-500 - FSD', '2026-2027').budget_distribution).toHaveLength(9);
  });

  it('finds the Budget of an April-March fiscal year and counts its budget, actuals and orders from April 1st', async () => {
    // March (the old fiscal year) and April/May (this one): a journal and an order in each.
    const charge = (reference: string, date: string, amount: string) =>
      rig.dialect.post(
        {
          kind: 'journal',
          externalReference: reference,
          employeeId: 'E1010',
          postingDate: date,
          currency: 'EUR',
          lines: [{ lineId: '1', amount: eur(amount), dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
        },
        ctx,
      );
    const order = (reference: string, date: string, amount: string) =>
      rig.dialect.upsertPurchaseOrder(
        erpnextPurchaseOrder(reference, {
          orderDate: date,
          total: eur(amount),
          lines: [
            line({
              lineId: 'F',
              quantity: '1',
              unitPrice: eur(amount),
              amount: eur(amount),
              accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' } }],
            }),
          ],
        }),
        ctx,
      );
    await charge('fy-journal-march', '2026-03-20', '7.50');
    await charge('fy-journal-april', '2026-04-02', '2.00');
    await order('fy-order-march', '2026-03-25', '3.00');
    await order('fy-order-may', '2026-05-05', '1.00');

    const request = { costCenter: 'CC-500', glAccount: '6100', period: '2026-06', amount: eur('10.00') };
    const june = await rig.dialect.checkBudget(request, ctx);
    const thisYear = budgetOf(store, 'CC-500 - FSD', '2026-2027');
    // The annual comparison (Stop) decides: the whole year's budget; the monthly one (Warn) is a message.
    expect(minor(june.budget)).toBe(distributed(thisYear, '2026-04', '2027-03'));
    const accumulated = distributed(thisYear, '2026-04', '2026-06');
    expect(june.erpMessages).toContainEqual(
      expect.objectContaining({
        text: expect.stringContaining(
          `Accumulated Monthly Budget for Account 6100 - Office supplies - FSD against Cost Center CC-500 - FSD is ${accumulated / 100n}.${String(accumulated % 100n).padStart(2, '0')}`,
        ),
      }),
    );
    expect(june.actuals).toEqual(eur('2.00'));
    expect(june.commitments).toEqual(eur('1.00'));
    expect(june.status).toBe('within');
    const budgetList = rig.http.exchanges.filter((e) => e.request.path === '/api/resource/Budget').at(-1)!;
    expect(JSON.parse(String(budgetList.request.query!.filters))).toEqual(
      expect.arrayContaining([
        ['from_fiscal_year', 'in', expect.arrayContaining(['2026-2027'])],
        ['to_fiscal_year', 'in', expect.arrayContaining(['2026-2027'])],
      ]),
    );
    const glList = rig.http.exchanges.filter((e) => e.request.path === '/api/resource/GL%20Entry').at(-1)!;
    expect(JSON.parse(String(glList.request.query!.filters))).toContainEqual(['posting_date', '>=', '2026-04-01']);

    // March belongs to the fiscal year 2025-2026: its budget, its journal and its order, nothing of April.
    const march = await rig.dialect.checkBudget({ ...request, period: '2026-03' }, ctx);
    expect(minor(march.budget)).toBe(distributed(budgetOf(store, 'CC-500 - FSD', '2025-2026'), '2025-04', '2026-03'));
    expect(march.actuals).toEqual(eur('7.50'));
    expect(march.commitments).toEqual(eur('3.00'));

    // The simulator's own check on submit counts by the same fiscal year: CC-300 (Stop) takes an order for all
    // of January to March in March, then one for all of April in April (March is another fiscal year), and
    // stops an order over what April has, although January to April together would hold it.
    const cc300 = (reference: string, date: string, cents: bigint) => {
      const amount = eur(`${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`);
      return rig.dialect.upsertPurchaseOrder(
        erpnextPurchaseOrder(reference, {
          orderDate: date,
          total: amount,
          lines: [
            line({
              lineId: 'O',
              quantity: '1',
              unitPrice: amount,
              amount,
              accountAssignments: [{ dimensions: { costCenter: 'CC-300', glAccount: '6010' } }],
            }),
          ],
        }),
        ctx,
      );
    };
    const q1 = distributed(budgetOf(store, 'CC-300 - FSD', '2025-2026', '6010'), '2026-01', '2026-03');
    const april = distributed(budgetOf(store, 'CC-300 - FSD', '2026-2027', '6010'), '2026-04', '2026-04');
    await expect(cc300('fy-cc300-march', '2026-03-30', q1)).resolves.toMatchObject({ action: 'created' });
    await expect(cc300('fy-cc300-april', '2026-04-10', april)).resolves.toMatchObject({ action: 'created' });
    const refused = await cc300('fy-cc300-over', '2026-04-11', 1n).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', details: { vendorCode: 'BudgetError' } });
  });

  it('applies a Budget that spans two fiscal years in both, counting from the start of the first', async () => {
    const first = budgetOf(store, 'CC-500 - FSD', '2025-2026');
    const second = budgetOf(store, 'CC-500 - FSD', '2026-2027');
    store.table('Budget').delete(second.name);
    first.to_fiscal_year = '2026-2027';
    try {
      const june = await rig.dialect.checkBudget(
        { costCenter: 'CC-500', glAccount: '6100', period: '2026-06', amount: eur('1.00') },
        ctx,
      );
      expect(minor(june.budget)).toBe(distributed(first, '2025-04', '2027-03'));
      // From 2025-04-01: the March journal and order count too.
      expect(june.actuals).toEqual(eur('9.50'));
      expect(june.commitments).toEqual(eur('4.00'));
    } finally {
      first.to_fiscal_year = '2025-2026';
      store.put(second);
    }
  });

  it('reads the Fiscal Years once per connection and keeps them: a check costs no extra request until they expire', async () => {
    const dialect = createDialect('erpnext', rig.http, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
    const request = { costCenter: 'CC-500', glAccount: '6100', period: '2026-06', amount: eur('1.00') };
    const reads = fiscalYearReads();
    await dialect.checkBudget(request, ctx);
    expect(fiscalYearReads()).toBe(reads + 1);
    const before = rig.http.exchanges.length;
    await dialect.checkBudget({ ...request, period: '2026-05' }, ctx);
    // The cost center tree (for the Budgets of the groups above it), the Budget list, then the Budget, its GL
    // entries and its orders: nothing else.
    expect(rig.http.exchanges.slice(before).map((e) => decodeURIComponent(e.request.path))).toEqual([
      '/api/resource/Cost Center',
      '/api/resource/Budget',
      expect.stringMatching(/^\/api\/resource\/Budget\/BUDGET-/),
      '/api/resource/GL Entry',
      '/api/resource/Purchase Order',
    ]);
    const later = Date.now() + FISCAL_YEARS_TTL_MS;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    await dialect.checkBudget(request, ctx);
    expect(fiscalYearReads()).toBe(reads + 2);
  });

  it('refuses a date in no fiscal year with ERP_NOT_FOUND naming the date, and sees the year once it is created', async () => {
    const dialect = createDialect('erpnext', rig.http, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
    const request = { costCenter: 'CC-500', glAccount: '6100', period: '2026-06', amount: eur('1.00') };
    const year = store.table('Fiscal Year').get('2026-2027')!;
    store.table('Fiscal Year').delete(year.name);
    try {
      const error = await dialect.checkBudget(request, ctx).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERP_NOT_FOUND', details: { vendorCode: 'NO_FISCAL_YEAR' } });
      expect((error as Error).message).toMatch(/no active Fiscal Year for company FS-DEMO that holds 2026-06-30/);
      expect((error as Error).message).toMatch(/Create it in ERPNext/);
    } finally {
      store.put(year);
    }
    // Read again for a date the kept list lacks (not more often than FISCAL_YEARS_REREAD_MS).
    const reads = fiscalYearReads();
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + FISCAL_YEARS_REREAD_MS);
    expect((await dialect.checkBudget(request, ctx)).status).toBe('within');
    expect(fiscalYearReads()).toBe(reads + 1);
  });

  it('takes only the years of its company: a year listing another company in Fiscal Year Company is not its', async () => {
    store.setFiscalYearStart(1);
    store.setFiscalYearStart(4, ['FS-JP']);
    expect(store.table('Fiscal Year').get('2026')).toMatchObject({ companies: [{ company: 'FS-DEMO' }] });
    expect(store.table('Fiscal Year').get('2026-2027')).toMatchObject({ companies: [{ company: 'FS-JP' }] });
    const dialect = createDialect('erpnext', rig.http, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
    const june = await dialect.checkBudget(
      { costCenter: 'CC-500', glAccount: '6100', period: '2026-06', amount: eur('1.00') },
      ctx,
    );
    expect(minor(june.budget)).toBe(distributed(budgetOf(store, 'CC-500 - FSD', '2026'), '2026-01', '2026-12'));
    await expect(
      dialect.checkBudget({ costCenter: 'CC-600', glAccount: '6100', period: '2026-06', amount: eur('1.00') }, ctx),
    ).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
      details: { vendorCode: 'NO_BUDGET' },
      message: expect.stringMatching(/in fiscal year 2026\.$/),
    });
  });
});
