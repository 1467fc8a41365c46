/**
 * Which Business Central G/L budget entries a budget check reads: one G/L budget name (BC companies keep
 * several: an approved budget, a forecast), the entries of exactly the requested cost center or project (a
 * department's budget does not take in the budgets of projects inside it), and a budget kept by year (BC's
 * Year view dates it 1 January) compared year to date instead of "no budget" after January.
 */
import { BUDGET_YEAR_TO_DATE } from '../../../lib/erp/business-central/dialect';
import { bcStoreOf, type BcCompany } from '../../../lib/sandbox/business-central/store';
import { line } from '../purchasing/fixtures';
import { ctx, currentPeriod, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

function connection(options: Record<string, string> = {}) {
  return {
    name: 'bc',
    dialect: 'business-central',
    company: 'FS-DEMO',
    auth: { type: 'none' as const },
    options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production', ...options },
  };
}

function demoCompany(rig: DialectRig): BcCompany {
  return [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
}

let entryNo = 900000;
function addEntry(
  company: BcCompany,
  entry: { budgetName?: string; glAccountNo: string; budgetDate: string; budgetAmount: number },
  dimensions: Record<string, string>,
): void {
  entryNo += 1;
  company.budgetEntries.push({
    id: `test-entry-${entryNo}`,
    entryNo,
    budgetName: 'FS-BUDGET',
    ...entry,
    dimensionSetID: company.dimensionSetOf(dimensions),
  });
}

describe('Business Central budget check: G/L budget names', () => {
  let rig: DialectRig;
  afterEach(() => rig.close());

  /** Every entry of the month copied under FORECAST with twice the amount. */
  function addForecast(): string {
    const period = currentPeriod();
    const company = demoCompany(rig);
    for (const entry of company.budgetEntries.filter((e) => String(e.budgetDate).startsWith(period))) {
      entryNo += 1;
      company.budgetEntries.push({
        ...entry,
        id: `forecast-${entryNo}`,
        entryNo,
        budgetName: 'FORECAST',
        budgetAmount: Number(entry.budgetAmount) * 2,
      });
    }
    return period;
  }

  it('refuses to add up entries under several budget names when none is configured, naming them', async () => {
    rig = await startDialectRig(() => connection());
    const period = currentPeriod();
    const request = { costCenter: 'CC-100', glAccount: '6300', period, amount: eur('1.00') };
    expect((await rig.dialect.checkBudget(request, ctx)).budget).toEqual(eur('8000.00')); // the seed: FS-BUDGET only
    addForecast();
    await expect(rig.dialect.checkBudget(request, ctx)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      retryable: false,
      message: expect.stringMatching(/2 budget names \(FORECAST, FS-BUDGET\).*Budget name/),
      details: { budgetNames: ['FORECAST', 'FS-BUDGET'] },
    });
  });

  it('reads only the configured budget name (upper case, as BC keeps Code fields)', async () => {
    rig = await startDialectRig(() => connection({ budgetName: 'forecast' }));
    const period = addForecast();
    const request = { costCenter: 'CC-100', glAccount: '6300', period, amount: eur('1.00') };
    expect((await rig.dialect.checkBudget(request, ctx)).budget).toEqual(eur('16000.00'));
    const query = rig.http.exchanges.map((e) => e.request.query?.$filter).find((f) => /budgetName/.test(String(f)));
    expect(query).toMatch(/budgetName eq 'FORECAST'/);
  });

  it('names the configured budget when it has no entries', async () => {
    rig = await startDialectRig(() => connection({ budgetName: 'BUDGET2026' }));
    const request = { costCenter: 'CC-100', glAccount: '6300', period: currentPeriod(), amount: eur('1.00') };
    await expect(rig.dialect.checkBudget(request, ctx)).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
      message: expect.stringContaining('in budget BUDGET2026'),
      details: { vendorCode: 'NO_BUDGET' },
    });
  });

  it('does not refuse when each check finds one name (department budgets and project budgets kept apart)', async () => {
    rig = await startDialectRig(() => connection());
    const period = currentPeriod();
    const company = demoCompany(rig);
    addEntry(
      company,
      { budgetName: 'PROJECTS', glAccountNo: '6300', budgetDate: `${period}-01`, budgetAmount: 700 },
      { PROJECT: 'PRJ-9100' },
    );
    const project = await rig.dialect.checkBudget({ project: 'PRJ-9100', period, amount: eur('1.00') }, ctx);
    expect(project.budget).toEqual(eur('700.00'));
    const costCenter = { costCenter: 'CC-100', glAccount: '6300', period, amount: eur('1.00') };
    expect((await rig.dialect.checkBudget(costCenter, ctx)).budget).toEqual(eur('8000.00'));
  });
});

describe('Business Central budget check: cost center and project dimensions of budget entries', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(() => connection());
    const period = currentPeriod();
    const company = demoCompany(rig);
    const at = { budgetDate: `${period}-01` };
    // A department's budget, and a project's budget inside the department.
    addEntry(company, { ...at, glAccountNo: '6300', budgetAmount: 1000 }, { DEPARTMENT: 'CC-998' });
    addEntry(company, { ...at, glAccountNo: '6300', budgetAmount: 400 }, { DEPARTMENT: 'CC-998', PROJECT: 'PRJ-9001' });
    addEntry(company, { ...at, glAccountNo: '6300', budgetAmount: 300 }, { PROJECT: 'PRJ-9001' });
    addEntry(company, { ...at, glAccountNo: '6100', budgetAmount: 50 }, { PROJECT: 'PRJ-9001' });
    // A budget kept only by department and project together.
    addEntry(company, { ...at, glAccountNo: '6300', budgetAmount: 200 }, { DEPARTMENT: 'CC-997', PROJECT: 'PRJ-9002' });
    addEntry(company, { ...at, glAccountNo: '6300', budgetAmount: 250 }, { DEPARTMENT: 'CC-997', PROJECT: 'PRJ-9003' });
  });
  afterAll(() => rig.close());

  const check = (request: { costCenter?: string; project?: string; glAccount?: string }) =>
    rig.dialect.checkBudget({ ...request, period: currentPeriod(), amount: eur('1.00') }, ctx).then((a) => a.budget);

  it("a cost center's budget leaves out the budgets of projects inside it", async () => {
    expect(await check({ costCenter: 'CC-998', glAccount: '6300' })).toEqual(eur('1000.00'));
    expect(await check({ costCenter: 'CC-998' })).toEqual(eur('1000.00'));
  });

  it("a project's budget, with and without the line's G/L account, leaves out its entries under a department", async () => {
    expect(await check({ project: 'PRJ-9001', glAccount: '6300' })).toEqual(eur('300.00'));
    expect(await check({ project: 'PRJ-9001', glAccount: '6100' })).toEqual(eur('50.00'));
    expect(await check({ project: 'PRJ-9001' })).toEqual(eur('350.00'));
  });

  it('a budget kept only by department and project is added up over the other dimension', async () => {
    expect(await check({ costCenter: 'CC-997', glAccount: '6300' })).toEqual(eur('450.00'));
    expect(await check({ project: 'PRJ-9002', glAccount: '6300' })).toEqual(eur('200.00'));
    expect(await check({ project: 'PRJ-9003' })).toEqual(eur('250.00'));
  });
});

describe('Business Central budget check: a budget kept by year', () => {
  let rig: DialectRig;
  const year = currentPeriod().slice(0, 4);
  beforeAll(async () => {
    rig = await startDialectRig(() => connection());
    const company = demoCompany(rig);
    // BC's G/L Budget page viewed by Year: the year's amount on 1 January.
    addEntry(
      company,
      { glAccountNo: '6300', budgetDate: `${year}-01-01`, budgetAmount: 12000 },
      { DEPARTMENT: 'CC-600' },
    );
    // Budget entries on 1 January and in June: not kept by year.
    addEntry(
      company,
      { glAccountNo: '6300', budgetDate: `${year}-01-01`, budgetAmount: 100 },
      { DEPARTMENT: 'CC-996' },
    );
    addEntry(
      company,
      { glAccountNo: '6300', budgetDate: `${year}-06-01`, budgetAmount: 100 },
      { DEPARTMENT: 'CC-996' },
    );
    await rig.dialect.post(
      {
        kind: 'journal',
        externalReference: 'budget-year-1',
        postingDate: `${year}-02-10`,
        currency: 'EUR',
        lines: [
          { lineId: '1', amount: eur('500.00'), dimensions: { costCenter: 'CC-600', glAccount: '6300' } },
          { lineId: '2', amount: eur('70.00'), dimensions: { costCenter: 'CC-100', glAccount: '6300' } },
        ],
      },
      ctx,
    );
    await rig.dialect.upsertPurchaseOrder(
      {
        docType: 'PurchaseOrder',
        sourceRef: { system: 'coupa', id: 'budget-year-po', version: 1 },
        externalReference: 'budget-year-po',
        supplierId: 'SUP-1001',
        orderDate: `${year}-03-05`,
        currency: 'EUR',
        total: eur('40.00'),
        lines: [
          line({
            lineId: 'Y1',
            quantity: '1',
            unitPrice: eur('40.00'),
            amount: eur('40.00'),
            accountAssignments: [{ dimensions: { costCenter: 'CC-600', glAccount: '6300' } }],
          }),
        ],
      },
      ctx,
    );
  });
  afterAll(() => rig.close());

  const check = (costCenter: string, month: string) =>
    rig.dialect.checkBudget({ costCenter, glAccount: '6300', period: `${year}-${month}`, amount: eur('1.00') }, ctx);

  it.each(['01', '03', '12'])('compares the year budget year to date in %s', async (month) => {
    const answer = await check('CC-600', month);
    const spent =
      month === '01' ? { actuals: '0.00', commitments: '0.00' } : { actuals: '500.00', commitments: '40.00' };
    expect(answer).toMatchObject({
      budget: eur('12000.00'),
      actuals: eur(spent.actuals),
      commitments: eur(spent.commitments),
      period: `${year}-${month}`,
      status: 'within',
    });
    expect(answer.erpMessages).toEqual([
      expect.objectContaining({
        code: BUDGET_YEAR_TO_DATE,
        severity: 'info',
        text: expect.stringContaining(`${year}-01-01`),
      }),
    ]);
  });

  it('keeps a monthly budget month by month: earlier months are not counted', async () => {
    const march = await check('CC-100', '03');
    expect(march.actuals).toEqual(eur('0.00'));
    expect(march.erpMessages).toEqual([]);
    expect((await check('CC-100', '02')).actuals).toEqual(eur('70.00'));
  });

  it('a budget with entries on other days than 1 January is monthly: no budget in a month without entries', async () => {
    expect((await check('CC-996', '01')).budget).toEqual(eur('100.00'));
    await expect(check('CC-996', '03')).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
      details: { vendorCode: 'NO_BUDGET' },
    });
  });
});
