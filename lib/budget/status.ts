/**
 * Budget status per key and for the whole document. All comparisons are exact, in minor units:
 * - exceeded: the document asks for more than is available (or the ERP says so: it is the authority), unless it
 *   asks for nothing;
 * - warning: it fits, but afterwards at least `warningPercent` of the budget is consumed;
 * - within: otherwise.
 * The document's status is the worst of its keys (exceeded > warning > within). `deferred` (the ERP checks
 * at the write, see check.ts) is never a key's status; it ranks with within so it never hides a worse one.
 */
import { add, compare, minorOf, subtract } from '../model/money';
import type { BudgetStatus, Money } from '../model/types';
import type { BudgetKeyCheck } from './types';

const RANK: Readonly<Record<BudgetStatus, number>> = { within: 0, deferred: 0, warning: 1, exceeded: 2 };

export interface BudgetFigures {
  budget: Money;
  available: Money;
  requested: Money;
  /** The ERP's own verdict, when it gives one. */
  erpStatus?: 'within' | 'exceeded';
}

export function keyStatus(figures: BudgetFigures, warningPercent: number): BudgetStatus {
  // Asking for nothing (a revision that lowers an amount, netted in check.ts) consumes nothing: it fits even
  // an overspent budget, whose ERP may answer "exceeded" to any request, and refusing it would keep the
  // higher commitment in the ERP.
  if (minorOf(figures.requested) <= 0n) return 'within';
  if (figures.erpStatus === 'exceeded' || compare(figures.requested, figures.available) > 0) return 'exceeded';
  // Consumed after this document = what was consumed before (budget - available) + what it asks for.
  const consumedAfter = minorOf(add(subtract(figures.budget, figures.available), figures.requested));
  const budget = minorOf(figures.budget);
  if (budget > 0n && consumedAfter * 100n >= budget * BigInt(warningPercent)) return 'warning';
  return 'within';
}

export function worstStatus(statuses: readonly BudgetStatus[]): BudgetStatus {
  return statuses.reduce<BudgetStatus>((worst, status) => (RANK[status] > RANK[worst] ? status : worst), 'within');
}

/**
 * The check that decides the document's outcome: the worst status; among equals, one with a budget in the ERP
 * before one without (whose 0.00 figures are stand-ins: with "no budget = within" it would otherwise always
 * have the least money left and hide the budget that does limit the document); then the least money left.
 * A check without a budget decides only when its status is worse than every budgeted one's (no budget =
 * exceeded), or when no key has a budget.
 */
export function decidingCheck(checks: readonly BudgetKeyCheck[]): BudgetKeyCheck {
  const headroom = (check: BudgetKeyCheck): bigint => minorOf(check.available) - minorOf(check.requested);
  return checks.reduce((decider, check) => {
    const rank = RANK[check.status] - RANK[decider.status];
    if (rank !== 0) return rank > 0 ? check : decider;
    const budgeted = Number(check.noBudget !== true) - Number(decider.noBudget !== true);
    if (budgeted !== 0) return budgeted > 0 ? check : decider;
    return headroom(check) < headroom(decider) ? check : decider;
  });
}
