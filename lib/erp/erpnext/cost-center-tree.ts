/**
 * The Cost Center tree of ERPNext (a nested set: lft / rgt [S cost_center.json, frappe NestedSet]) as the budget
 * check walks it. validate_expense_against_budget takes, for an expense on a cost center, the Budgets of the
 * cost center and of every group above it (`lft <= lft and rgt >= rgt`), and get_actual_expense counts the GL
 * entries of the expense's cost center and every cost center below it (`lft >= lft and rgt <= rgt`) [S erpnext
 * budget.py]; get_ordered_amount counts orders on the expense's cost center itself.
 */
import type { CallContext } from '../dialect';
import type { ErpnextContext } from './context';

export interface CostCenterFamily {
  /** The cost center and the groups above it: the cost centers whose Budgets apply. */
  ancestors: string[];
  /** The cost center and the ones below it: whose GL entries count as its actuals. */
  subtree: string[];
}

/**
 * The family of cost center `name` (a document name), from one read of the company's cost centers (name, lft,
 * rgt); a cost center the list does not hold, or without lft / rgt, is alone.
 */
export async function costCenterFamily(erp: ErpnextContext, name: string, ctx: CallContext): Promise<CostCenterFamily> {
  const rows = await erp.api.list(
    'Cost Center',
    { filters: [['company', '=', erp.company]], fields: ['name', 'lft', 'rgt'], limit: 0 },
    ctx,
  );
  const self = rows.find((row) => row.name === name);
  const lft = self?.lft;
  const rgt = self?.rgt;
  if (typeof lft !== 'number' || typeof rgt !== 'number') return { ancestors: [name], subtree: [name] };
  const within = (row: Record<string, unknown>, low: number, high: number) =>
    typeof row.lft === 'number' && typeof row.rgt === 'number' && row.lft >= low && row.rgt <= high;
  return {
    ancestors: rows
      .filter((row) => within({ lft, rgt }, Number(row.lft), Number(row.rgt)))
      .map((row) => String(row.name)),
    subtree: rows.filter((row) => within(row, lft, rgt)).map((row) => String(row.name)),
  };
}
