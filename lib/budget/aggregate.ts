/**
 * Turns a document's charges into ERP funds checks: each charge counts against every budget it falls under
 * (the sandbox ERP, like most ERPs, keeps budgets per cost center and GL account and, separately, per
 * project), and charges that share a budget key and period are summed, exactly, in minor units, so the ERP
 * is asked once per key for the document's whole demand on it.
 *
 * Whether a project's budget is one amount for all its accounts or one per G/L account is the ERP's: ERPNext
 * keeps a Budget per account (its check picks the Budgets of the expense's account only), Business Central's
 * G/L budget entries are each on one account; the sandbox ERP keeps one project budget over all accounts. The
 * key must match the ERP's budget, or lines on different accounts are pooled into a budget that is not theirs.
 */
import { FinanceError } from '../errors';
import { sum } from '../model/money';
import type { Money } from '../model/types';
import type { BudgetDimensions, BudgetRequest, Charge } from './types';

/** How the ERP keeps budgets, as far as the keys depend on it (ErpDialect.projectBudgetsPerAccount). */
export interface BudgetKeyModel {
  /**
   * True when the ERP keeps a project's budget per G/L account: a project charge with a G/L account is then
   * checked against that account's project budget only. Absent or false: one project budget over all accounts.
   */
  projectBudgetsPerAccount?: boolean;
}

/**
 * The budgets a charge counts against: its project's (with the GL account when it has one and the ERP keeps
 * project budgets per account), and its cost center's (with the GL account when it has one). A charge with
 * neither cannot be checked: that is a coding error in the source.
 */
export function budgetKeysOf(charge: Charge, model: BudgetKeyModel = {}): BudgetDimensions[] {
  const { costCenter, glAccount, project } = charge.dimensions;
  const keys: BudgetDimensions[] = [];
  if (project !== undefined) {
    keys.push(
      model.projectBudgetsPerAccount === true && glAccount !== undefined ? { project, glAccount } : { project },
    );
  }
  if (costCenter !== undefined) keys.push(glAccount === undefined ? { costCenter } : { costCenter, glAccount });
  if (keys.length === 0) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `Line "${charge.lineId}" is charged to neither a cost center nor a project, so no budget can be checked ` +
        'for it. Code it to a cost center (with a GL account) or a project in the source system.',
      { details: { lineId: charge.lineId } },
    );
  }
  return keys;
}

/** A stable, readable key: "costCenter=CC-300,glAccount=6010@2026-03", "glAccount=6100,project=PRJ-2001@2026-11". */
export function budgetKey(dimensions: BudgetDimensions, period: string): string {
  const parts = (['costCenter', 'glAccount', 'project'] as const)
    .filter((name) => dimensions[name] !== undefined)
    .map((name) => `${name}=${dimensions[name] as string}`);
  return `${parts.join(',')}@${period}`;
}

/** One request per budget key and period, in the order the keys first appear in the document. */
export function aggregateCharges(
  charges: readonly Charge[],
  currency: string,
  model: BudgetKeyModel = {},
): BudgetRequest[] {
  const groups = new Map<
    string,
    { dimensions: BudgetDimensions; period: string; amounts: Money[]; lineIds: string[] }
  >();
  for (const charge of charges) {
    for (const dimensions of budgetKeysOf(charge, model)) {
      const key = budgetKey(dimensions, charge.period);
      let group = groups.get(key);
      if (group === undefined) {
        group = { dimensions, period: charge.period, amounts: [], lineIds: [] };
        groups.set(key, group);
      }
      group.amounts.push(charge.amount);
      if (!group.lineIds.includes(charge.lineId)) group.lineIds.push(charge.lineId);
    }
  }
  return [...groups].map(([key, group]) => ({
    key,
    dimensions: group.dimensions,
    period: group.period,
    amount: sum(group.amounts, currency),
    lineIds: group.lineIds,
  }));
}
