/**
 * ERPNext's budget check over the Cost Center tree and at the precision ERPNext stores budgets, in the dialect's
 * funds check and in the simulator's check on submit [S erpnext budget.py]:
 * - a charge on a cost center is checked against the Budgets of the cost center and of every group above it
 *   (validate_expense_against_budget: lft <= lft and rgt >= rgt); the strictest decides;
 * - each of those Budgets counts the actuals of the charged cost center (and those below it) and the open
 *   orders of the charged cost center (get_actual_expense, get_ordered_amount take the document's cost center);
 * - an equally distributed Budget holds three-decimal months (1000.00 / 12 = 83.333), summed and compared
 *   unrounded: six months are 499.998, so 499.99 fits and 500.00 exceeds by 0.002.
 */
import type { BudgetCheckRequest } from '../../../lib/model/types';
import { erpnextStoreOf, type ErpnextStore } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
/** The sandbox's budgets are for the calendar year of its clock: 2026. */
const NOW = new Date('2026-06-15T10:00:00Z');

type Doc = Record<string, unknown> & { name: string; doctype: string };

/** The Account document name of an account number ("6400 - Marketing and events - FSD"). */
function accountOf(store: ErpnextStore, number: string): string {
  const found = [...store.table('Account').values()].find(
    (a) => a.company === 'FS-DEMO' && a.account_number === number,
  );
  if (!found) throw new Error(`no account ${number}`);
  return found.name;
}

/**
 * A submitted 2026 Budget of `amount` on cost center `costCenter` (document name) and account `number`, spread
 * over its months as `monthly`, with the actions on orders given; the seeded Budgets of that cost center and
 * account are removed first.
 */
function putBudget(
  store: ErpnextStore,
  name: string,
  costCenter: string,
  number: string,
  amount: number,
  monthly: number,
  actions: { annual: string; monthly: string },
): Doc {
  const account = accountOf(store, number);
  const budgets = store.table('Budget');
  const template = [...budgets.values()].find(
    (b) => b.budget_against === 'Cost Center' && b.from_fiscal_year === '2026',
  );
  if (!template) throw new Error('no seeded 2026 Budget');
  for (const b of [...budgets.values()])
    if (b.cost_center === costCenter && b.account === account) budgets.delete(b.name);
  const rows = (template.budget_distribution as Doc[]).map((row) => ({ ...row, parent: name, amount: monthly }));
  return store.put({
    ...structuredClone(template),
    name,
    cost_center: costCenter,
    account,
    budget_amount: amount,
    budget_distribution: rows,
    applicable_on_purchase_order: 1,
    action_if_annual_budget_exceeded_on_po: actions.annual,
    action_if_accumulated_monthly_budget_exceeded_on_po: actions.monthly,
    action_if_annual_budget_exceeded: actions.annual,
    action_if_accumulated_monthly_budget_exceeded: actions.monthly,
  });
}

describe('ERPNext budgets over the cost center tree and with three-decimal months', () => {
  let rig: DialectRig;
  let store: ErpnextStore;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection(), { now: () => NOW });
    store = erpnextStoreOf(rig.sandbox.state);
  });
  afterAll(() => rig.close());

  const order = (reference: string, amount: string, costCenter: string, glAccount: string) =>
    rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder(reference, {
        orderDate: '2026-06-10',
        total: eur(amount),
        lines: [
          line({
            lineId: 'O',
            quantity: '1',
            unitPrice: eur(amount),
            amount: eur(amount),
            accountAssignments: [{ dimensions: { costCenter, glAccount } }],
          }),
        ],
      }),
      ctx,
    );

  describe('a Budget on a group cost center', () => {
    beforeAll(() => {
      // CC-GRP groups CC-500 and CC-600; CC-500's own Budget (10,000.00) is looser than the group's (300.00).
      store.addCostCenterGroup('FS-DEMO', 'CC-GRP', ['CC-500', 'CC-600']);
      putBudget(store, 'BUDGET-TREE-OWN', 'CC-500 - FSD', '6400', 10000, 1000, { annual: 'Stop', monthly: 'Ignore' });
      putBudget(store, 'BUDGET-TREE-GROUP', 'CC-GRP - FSD', '6400', 300, 25, { annual: 'Stop', monthly: 'Ignore' });
      for (const b of [...store.table('Budget').values()])
        if (b.cost_center === 'CC-600 - FSD' && String(b.account).startsWith('6400 '))
          store.table('Budget').delete(b.name);
    });

    it('controls a charge on its child: the funds check takes the strictest of the own and the group Budget', async () => {
      const request: BudgetCheckRequest = {
        costCenter: 'CC-500',
        glAccount: '6400',
        period: '2026-06',
        amount: eur('300.00'),
      };
      const fits = await rig.dialect.checkBudget(request, ctx);
      expect(fits).toMatchObject({ status: 'within', budget: eur('300.00'), available: eur('300.00') });
      const over = await rig.dialect.checkBudget({ ...request, amount: eur('300.01') }, ctx);
      expect(over.status).toBe('exceeded');
      expect(over.budget).toEqual(eur('300.00'));
      expect(over.erpMessages).toContainEqual(
        expect.objectContaining({
          code: 'BUDGET_STOP',
          severity: 'error',
          text: expect.stringMatching(
            /^Budget BUDGET-TREE-GROUP: Annual Budget for Account 6400 .* against Cost Center CC-GRP - FSD is 300\.00\. It will be exceeded by 0\.01/,
          ),
        }),
      );
      // The child's own Budget is checked too, and fits.
      expect(over.erpMessages).toContainEqual(
        expect.objectContaining({
          code: 'BUDGET_STOP',
          severity: 'info',
          text: expect.stringMatching(/^Budget BUDGET-TREE-OWN: /),
        }),
      );
    });

    it('simulator: refuses an order on the child that the group Budget (Stop) cannot take, naming the group', async () => {
      await expect(order('tree-first', '250.00', 'CC-500', '6400')).resolves.toMatchObject({ action: 'created' });
      const after = await rig.dialect.checkBudget(
        { costCenter: 'CC-500', glAccount: '6400', period: '2026-06', amount: eur('50.00') },
        ctx,
      );
      expect(after).toMatchObject({ status: 'within', commitments: eur('250.00'), available: eur('50.00') });
      const refused = await order('tree-second', '60.00', 'CC-500', '6400').catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ERP_REJECTED', details: { vendorCode: 'BudgetError' } });
      expect((refused as Error).message).toMatch(
        /Annual Budget for Account 6400 .* against Cost Center CC-GRP - FSD is 300\.00\. It will be exceeded by 10\.00/,
      );
    });

    it("counts the charged cost center's own orders against the group Budget, as ERPNext does (not its siblings')", async () => {
      // get_ordered_amount / get_actual_expense filter by the document's cost center: CC-500's 250.00 order does
      // not count for a charge on CC-600, though both are below CC-GRP.
      const sibling = await rig.dialect.checkBudget(
        { costCenter: 'CC-600', glAccount: '6400', period: '2026-06', amount: eur('300.00') },
        ctx,
      );
      expect(sibling).toMatchObject({ status: 'within', budget: eur('300.00'), commitments: eur('0.00') });
      await expect(order('tree-sibling', '300.00', 'CC-600', '6400')).resolves.toMatchObject({ action: 'created' });
    });
  });

  describe('an equally distributed Budget (three-decimal months)', () => {
    beforeAll(() => {
      putBudget(store, 'BUDGET-EQUAL', 'CC-100 - FSD', '6500', 1000, 0, { annual: 'Ignore', monthly: 'Stop' });
      store.distributeEqually('BUDGET-EQUAL');
    });

    it('holds 83.333 a month, as ERPNext computes it', () => {
      const rows = store.table('Budget').get('BUDGET-EQUAL')!.budget_distribution as Doc[];
      expect(rows).toHaveLength(12);
      expect(rows.every((row) => row.amount === 83.333 && row.percent === 8.333)).toBe(true);
    });

    it('compares the accumulated 499.998 exactly: 499.99 fits, 500.00 exceeds by 0.002; figures rounded down', async () => {
      const request: BudgetCheckRequest = {
        costCenter: 'CC-100',
        glAccount: '6500',
        period: '2026-06',
        amount: eur('499.99'),
      };
      const fits = await rig.dialect.checkBudget(request, ctx);
      expect(fits).toMatchObject({ status: 'within', budget: eur('499.99'), available: eur('499.99') });
      expect(fits.erpMessages).toContainEqual(
        expect.objectContaining({
          text: expect.stringMatching(/Accumulated Monthly Budget .* is 499\.998\. 499\.998 left/),
        }),
      );
      const over = await rig.dialect.checkBudget({ ...request, amount: eur('500.00') }, ctx);
      expect(over.status).toBe('exceeded');
      expect(over.erpMessages).toContainEqual(
        expect.objectContaining({ code: 'BUDGET_STOP', text: expect.stringMatching(/It will be exceeded by 0\.002;/) }),
      );
    });

    it('simulator: takes an order of 499.99 and refuses 0.01 more, exceeded by 0.002', async () => {
      await expect(order('equal-first', '499.99', 'CC-100', '6500')).resolves.toMatchObject({ action: 'created' });
      const refused = await order('equal-second', '0.01', 'CC-100', '6500').catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ERP_REJECTED', details: { vendorCode: 'BudgetError' } });
      expect((refused as Error).message).toMatch(
        /Accumulated Monthly Budget for Account 6500 .* is 499\.998\. It will be exceeded by 0\.002\./,
      );
    });
  });
});
