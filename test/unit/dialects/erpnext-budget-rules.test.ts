/**
 * ERPNext's own budget rules (budget.py validate_expense_against_budget, compare_expense_with_budget), in the
 * dialect's funds check and in the simulator's check on submit:
 * - orders count over the Budget's whole range, not up to the checked month; the annual comparison runs too;
 * - an expense report (Journal Entry / Purchase Invoice) compares actuals only, an order adds open orders;
 * - a Budget of 0 is not checked; a Warn comparison overrun does not make the check exceeded while ERPNext would
 *   not refuse the document, its message says by how much;
 * - the simulator checks a project Budget of the charged account only, not one of another account.
 */
import type { BudgetCheckRequest } from '../../../lib/model/types';
import { erpnextStoreOf, type ErpnextStore } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const cents = (m: { amount: string }) => BigInt(m.amount.replace('.', ''));
const text = (minor: bigint) => `${minor / 100n}.${String(minor % 100n).padStart(2, '0')}`;
/** The sandbox's budgets are for the calendar year of its clock: 2026. */
const NOW = new Date('2026-06-15T10:00:00Z');

type Doc = Record<string, unknown>;

function budgetOf(store: ErpnextStore, costCenter: string, account: string): Doc {
  const found = [...store.table('Budget').values()].find(
    (b) => b.cost_center === `${costCenter} - FSD` && String(b.account).startsWith(`${account} `),
  );
  if (!found) throw new Error(`no budget for ${costCenter} / ${account}`);
  return found;
}

describe('ERPNext budget rules in the funds check and the simulator', () => {
  let rig: DialectRig;
  let store: ErpnextStore;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection(), { now: () => NOW });
    store = erpnextStoreOf(rig.sandbox.state);
  });
  afterAll(() => rig.close());

  const order = (
    reference: string,
    date: string,
    amount: string,
    costCenter: string,
    glAccount: string,
    project?: string,
  ) =>
    rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder(reference, {
        orderDate: date,
        total: eur(amount),
        lines: [
          line({
            lineId: 'O',
            quantity: '1',
            unitPrice: eur(amount),
            amount: eur(amount),
            accountAssignments: [{ dimensions: { costCenter, glAccount, ...(project ? { project } : {}) } }],
          }),
        ],
      }),
      ctx,
    );
  const journal = (reference: string, date: string, amount: string, costCenter: string, glAccount: string) =>
    rig.dialect.post(
      {
        kind: 'journal',
        externalReference: reference,
        employeeId: 'E1010',
        postingDate: date,
        currency: 'EUR',
        lines: [{ lineId: '1', amount: eur(amount), dimensions: { costCenter, glAccount } }],
      },
      ctx,
    );

  it('counts an order dated after the checked month, within the Budget, and compares the whole year (annual, Stop)', async () => {
    const request = { costCenter: 'CC-400', glAccount: '6200', period: '2026-06', amount: eur('1.00') };
    const before = await rig.dialect.checkBudget(request, ctx);
    await order('rules-september', '2026-09-10', '40.00', 'CC-400', '6200');
    const after = await rig.dialect.checkBudget(request, ctx);
    expect(cents(after.commitments) - cents(before.commitments)).toBe(4000n);
    // The annual comparison (Stop) decides: the whole year's budget_amount; asking for more is exceeded.
    const budget = budgetOf(store, 'CC-400', '6200');
    expect(cents(after.budget)).toBe(BigInt(Math.round(Number(budget.budget_amount) * 100)));
    const over = await rig.dialect.checkBudget({ ...request, amount: eur(text(cents(after.available) + 1n)) }, ctx);
    expect(over.status).toBe('exceeded');
    expect(over.erpMessages).toContainEqual(
      expect.objectContaining({
        code: 'BUDGET_STOP',
        severity: 'error',
        text: expect.stringMatching(/Annual Budget for Account 6200 .* It will be exceeded by 0\.01; .*refuses/),
      }),
    );
  });

  it('compares an expense report with actuals only: open orders are not counted against it', async () => {
    const request: BudgetCheckRequest = {
      costCenter: 'CC-400',
      glAccount: '6210',
      period: '2026-06',
      amount: eur('1.00'),
    };
    await order('rules-open-order', '2026-06-05', '25.00', 'CC-400', '6210');
    // ERPNext's default for actual expenses (the seed warns, so that approved reports post): both checks then
    // take their figures from the annual Stop comparison, and differ by the open order only.
    budgetOf(store, 'CC-400', '6210').action_if_annual_budget_exceeded = 'Stop';
    const asOrder = await rig.dialect.checkBudget(request, ctx);
    const asExpense = await rig.dialect.checkBudget(
      { ...request, documentType: 'ExpenseReport' } as BudgetCheckRequest,
      ctx,
    );
    expect(cents(asOrder.commitments)).toBeGreaterThanOrEqual(2500n);
    expect(asExpense.commitments).toEqual(eur('0.00'));
    expect(cents(asExpense.available) - cents(asOrder.available)).toBe(cents(asOrder.commitments));
  });

  it('does not check a Budget of 0 (ERPNext skips it): no budget, naming it', async () => {
    const budget = budgetOf(store, 'CC-600', '6500');
    const amount = budget.budget_amount;
    budget.budget_amount = 0;
    try {
      const refused = await rig.dialect
        .checkBudget({ costCenter: 'CC-600', glAccount: '6500', period: '2026-06', amount: eur('1.00') }, ctx)
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'ERP_NOT_FOUND',
        details: { vendorCode: 'NO_BUDGET', unchecked: [`${String(budget.name)} (its amount is 0)`] },
      });
    } finally {
      budget.budget_amount = amount;
    }
  });

  it('takes a Warn overrun of the monthly budget as within while the annual (Stop) one fits, saying by how much', async () => {
    const request = { costCenter: 'CC-200', glAccount: '6020', period: '2026-06', amount: eur('1.00') };
    const first = await rig.dialect.checkBudget(request, ctx);
    const monthly = first.erpMessages.find((m) => m.code === 'BUDGET_WARN')!;
    const left = /is ([\d.]+)\. ([\d.]+) left/.exec(monthly.text)!;
    const asking = text(BigInt(left[2].replace('.', '')) + 500n);
    const warned = await rig.dialect.checkBudget({ ...request, amount: eur(asking) }, ctx);
    expect(warned.status).toBe('within');
    expect(cents(warned.available)).toBeGreaterThan(cents(eur(asking)));
    expect(warned.erpMessages).toContainEqual(
      expect.objectContaining({
        code: 'BUDGET_WARN',
        severity: 'warning',
        text: expect.stringMatching(
          /Accumulated Monthly Budget .* It will be exceeded by 5\.00; .*accepts the document with a warning/,
        ),
      }),
    );
    // A Stop on the monthly comparison makes the same request exceeded, with the monthly figures.
    const budget = budgetOf(store, 'CC-200', '6020');
    budget.action_if_accumulated_monthly_budget_exceeded_on_po = 'Stop';
    try {
      const stopped = await rig.dialect.checkBudget({ ...request, amount: eur(asking) }, ctx);
      expect(stopped.status).toBe('exceeded');
      expect(stopped.budget).toEqual(eur(left[1]));
    } finally {
      budget.action_if_accumulated_monthly_budget_exceeded_on_po = 'Warn';
    }
  });

  it('simulator: refuses an order whose later-dated orders of the same Budget leave no room (orders over the whole range)', async () => {
    // CC-300 stops orders over its accumulated monthly budget.
    const june = BigInt(
      Math.round(
        (budgetOf(store, 'CC-300', '6010').budget_distribution as Array<{ start_date: string; amount: number }>)
          .filter((row) => row.start_date <= '2026-06-30')
          .reduce((sum, row) => sum + row.amount, 0) * 100,
      ),
    );
    await expect(order('rules-cc300-december', '2026-12-01', '10.00', 'CC-300', '6010')).resolves.toMatchObject({
      action: 'created',
    });
    const refused = await order('rules-cc300-june', '2026-06-10', text(june - 500n), 'CC-300', '6010').catch(
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', details: { vendorCode: 'BudgetError' } });
    expect((refused as Error).message).toMatch(
      /Accumulated Monthly Budget for Account 6010 .* It will be exceeded by 5\.00/,
    );
  });

  it('simulator: a journal is checked against actuals only, not open orders', async () => {
    const budget = budgetOf(store, 'CC-500', '6600');
    await order('rules-6600-order', '2026-06-02', '30.00', 'CC-500', '6600');
    // Stop on both, so only which amounts are compared decides.
    budget.action_if_accumulated_monthly_budget_exceeded = 'Stop';
    budget.action_if_accumulated_monthly_budget_exceeded_on_po = 'Stop';
    try {
      const request = { costCenter: 'CC-500', glAccount: '6600', period: '2026-06', amount: eur('1.00') };
      const asExpense = await rig.dialect.checkBudget(
        { ...request, documentType: 'ExpenseReport' } as BudgetCheckRequest,
        ctx,
      );
      const monthlyLeft = /Accumulated Monthly Budget .* ([\d.]+) left/.exec(
        asExpense.erpMessages.find((m) => m.code === 'BUDGET_STOP' && /Monthly/.test(m.text))!.text,
      )!;
      // All that is left of the month for actuals: fits only when the open order does not count.
      await expect(
        journal('rules-6600-journal', '2026-06-03', monthlyLeft[1], 'CC-500', '6600'),
      ).resolves.toMatchObject({
        status: 'posted',
      });
    } finally {
      budget.action_if_accumulated_monthly_budget_exceeded = 'Warn';
      budget.action_if_accumulated_monthly_budget_exceeded_on_po = 'Warn';
    }
  });

  it('simulator: does not check a Budget of 0, as ERPNext skips it', async () => {
    const budget = budgetOf(store, 'CC-300', '6000');
    const amount = budget.budget_amount;
    budget.budget_amount = 0;
    try {
      await expect(order('rules-cc300-zero', '2026-06-12', '90000.00', 'CC-300', '6000')).resolves.toMatchObject({
        action: 'created',
      });
    } finally {
      budget.budget_amount = amount;
    }
  });

  it("simulator: checks a project's Budget of the charged account, not another account's", async () => {
    const project = [...store.table('Budget').values()].find(
      (b) => b.project === 'PRJ-2001' && b.company === 'FS-DEMO',
    )!;
    const account6100 = [...store.table('Account').values()].find(
      (a) => a.company === 'FS-DEMO' && a.account_number === '6100',
    )!;
    const small = JSON.parse(JSON.stringify(project)) as Doc & { name: string; doctype: string };
    Object.assign(small, {
      name: 'BUDGET-PRJ-6100-SMALL',
      account: account6100.name,
      budget_amount: 100,
      action_if_annual_budget_exceeded_on_po: 'Stop',
      budget_distribution: (small.budget_distribution as Doc[]).map((row) => ({
        ...row,
        amount: 8,
      })),
    });
    store.put(small);
    try {
      const refused = await order('rules-project-6100', '2026-06-10', '500.00', 'CC-100', '6100', 'PRJ-2001').catch(
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ code: 'ERP_REJECTED', details: { vendorCode: 'BudgetError' } });
      expect((refused as Error).message).toMatch(
        /Annual Budget for Account 6100 .* against Project PRJ-2001 is 100\.00/,
      );
    } finally {
      store.table('Budget').delete(small.name);
    }
  });
});
