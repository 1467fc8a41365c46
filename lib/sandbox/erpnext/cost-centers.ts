/**
 * The Cost Center tree of the ERPNext simulator. ERPNext keeps cost centers as a nested set under the company's
 * root group (named after the company, `is_group` 1): each has `parent_cost_center`, `lft` and `rgt`, a group
 * holds the ones whose lft / rgt lie within its own [S erpnext cost_center.json, frappe utils/nestedset.py].
 * The budget check walks it as budget.py does: a charge on a cost center is checked against the Budgets of the
 * cost center and of every group above it, and the actual expense of a Budget's check is the GL entries of the
 * charged cost center and every one below it [S budget.py validate_expense_against_budget, get_actual_expense].
 */
type Doc = Record<string, unknown> & { name: string; doctype: string };

/** What this module needs of the store (lib/sandbox/erpnext/api.ts ErpnextStore). */
interface CostCenterTable {
  table(doctype: string): Map<string, Doc>;
}

/** Numbers lft / rgt of the company's cost centers from their parent_cost_center (frappe rebuild_tree). */
export function renumberCostCenters(store: CostCenterTable, company: string): void {
  const centers = [...store.table('Cost Center').values()].filter((c) => c.company === company);
  const children = new Map<string, Doc[]>();
  for (const center of centers) {
    const parent = String(center.parent_cost_center ?? '');
    children.set(parent, [...(children.get(parent) ?? []), center]);
  }
  let next = 1;
  const visit = (center: Doc, depth: number): void => {
    if (depth > centers.length) throw new Error(`Cost Center ${center.name} is its own ancestor`);
    center.lft = next++;
    for (const child of (children.get(center.name) ?? []).sort((a, b) => a.name.localeCompare(b.name)))
      visit(child, depth + 1);
    center.rgt = next++;
  };
  for (const root of (children.get('') ?? []).sort((a, b) => a.name.localeCompare(b.name))) visit(root, 0);
}

/** Whether cost center `upper` is `lower` or a group above it (lft <= lft and rgt >= rgt). */
export function isAncestorOrSelf(store: CostCenterTable, upper: unknown, lower: unknown): boolean {
  if (upper === lower) return true;
  const table = store.table('Cost Center');
  const a = table.get(String(upper));
  const b = table.get(String(lower));
  if (!a || !b) return false;
  return Number(a.lft) <= Number(b.lft) && Number(a.rgt) >= Number(b.rgt);
}
