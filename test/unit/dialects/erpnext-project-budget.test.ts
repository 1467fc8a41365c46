/**
 * ERPNext keeps one Budget per account, for a project too: a project with a Budget on two accounts is a normal
 * setup. Each Budget counts the GL entries and orders of its own account only (as ERPNext's own check does), so
 * a project's spend is counted once, not once per Budget.
 */
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { erpnextConnection } from './erpnext-fixtures';
import { ctx, currentPeriod, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

describe('ERPNext budget check of a project with a Budget on two accounts', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  it('counts an expense once, against the Budget of its account', async () => {
    const period = currentPeriod();
    const store = erpnextStoreOf(rig.sandbox.state);
    const budgets = [...store.table('Budget').values()].filter(
      (b) => b.project === 'PRJ-2001' && b.company === 'FS-DEMO',
    );
    expect(budgets).toHaveLength(1);
    const accountOf = (number: string) =>
      [...store.table('Account').values()].find((a) => a.company === 'FS-DEMO' && a.account_number === number)!;
    const budgetAccount = String(accountOf('6000').name);
    expect(budgets[0].account).toBe(budgetAccount);
    // A second Budget of 0.00 for the project, on 6100.
    const second = JSON.parse(JSON.stringify(budgets[0])) as Record<string, unknown> & {
      name: string;
      doctype: string;
    };
    second.name = 'BUDGET-PRJ-6100';
    second.account = accountOf('6100').name;
    second.budget_amount = 0;
    second.budget_distribution = (second.budget_distribution as Array<Record<string, unknown>>).map((d) => ({
      ...d,
      parent: second.name,
      amount: 0,
    }));
    store.put(second);

    const request = { project: 'PRJ-2001', period, amount: eur('100.00') };
    const before = await rig.dialect.checkBudget(request, ctx);
    await rig.dialect.post(
      {
        kind: 'journal',
        externalReference: 'project-budget-two-accounts',
        employeeId: 'E1010',
        postingDate: `${period}-02`,
        currency: 'EUR',
        lines: [
          {
            lineId: '1',
            amount: eur('500.00'),
            dimensions: { project: 'PRJ-2001', costCenter: 'CC-100', glAccount: '6000' },
          },
        ],
      },
      ctx,
    );
    const after = await rig.dialect.checkBudget(request, ctx);
    const minor = (m: { amount: string }) => BigInt(m.amount.replace('.', ''));
    expect(after.budget).toEqual(before.budget);
    expect(minor(after.actuals) - minor(before.actuals)).toBe(50000n);
    expect(minor(before.available) - minor(after.available)).toBe(50000n);
  });
});
